/* check_shard.c - the shard function of dw_shard.
 *
 * Pinned values come from an independent implementation (Python), so a
 * change of the function, which would reshuffle every fleet across its
 * hosts, fails here; and going from n to n + 1 shards moves only the
 * meters that the new shard takes, about 1/(n + 1) of them. */
#include "dw_shard.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* --- shards --------------------------------------------------------------- */

typedef struct shard_case {
  const char *id;
  unsigned count;
  unsigned want;
} shard_case_t;

/* From an independent Python implementation: FNV-1a 64 of the ID's
 * bytes (the published vectors: "" 0xcbf29ce484222325, "a"
 * 0xaf63dc4c8601ec8c, "foobar" 0x85944171f73967e8), then jump consistent
 * hashing (Lamping and Veach, 2014) into count buckets. */
static const shard_case_t shard_cases[] = {
    {"", 3, 1},
    {"", 1024, 266},
    {"a", 3, 2},
    {"a", 1024, 163},
    {"foobar", 7, 5},
    {"foobar", 1024, 635},
    {"125fd56", 3, 0},
    {"125fd56", 1024, 999},
    {"SM-000001", 3, 0},
    {"SM-000001", 7, 0},
    {"AB.12/x", 1024, 477},
    {"caf\xc3\xa9", 3, 0},
    {"caf\xc3\xa9", 7, 4},
    {"125fd56", 1, 0},
    {"a", 2, 1},
};

START_TEST(test_shard_pinned) {
  const shard_case_t *c = &shard_cases[_i];
  ck_assert_msg(dw_shard_of(c->id, c->count) == c->want,
                "case %d: shard(\"%s\", %u) = %u, want %u", _i, c->id, c->count,
                dw_shard_of(c->id, c->count), c->want);
}
END_TEST

/* Three hosts with Shard 0 3, 1 3 and 2 3 over the same 10,000 IDs: each
 * ID is fetched by exactly one host, and each host gets roughly a third. */
START_TEST(test_shard_distribution) {
  enum { IDS = 10000, HOSTS = 3 };
  unsigned per_host[HOSTS] = {0};
  for (int i = 0; i < IDS; i++) {
    char id[32];
    snprintf(id, sizeof(id), "%08x-%d", (unsigned)i * 2654435761u, i);
    unsigned takers = 0;
    for (unsigned host = 0; host < HOSTS; host++) {
      if (dw_shard_of(id, HOSTS) == host) {
        takers++;
        per_host[host]++;
      }
    }
    ck_assert_msg(takers == 1, "%s taken by %u hosts", id, takers);
    ck_assert_uint_eq(dw_shard_of(id, HOSTS), dw_shard_of(id, HOSTS));
  }
  ck_assert_uint_eq(per_host[0] + per_host[1] + per_host[2], IDS);
  for (unsigned host = 0; host < HOSTS; host++) {
    ck_assert_msg(per_host[host] >= IDS * 25 / 100 &&
                      per_host[host] <= IDS * 42 / 100,
                  "host %u has %u of %d", host, per_host[host], IDS);
  }
}
END_TEST

/* Outside the documented domain the answer is still shard 0. */
START_TEST(test_shard_degenerate) {
  ck_assert_uint_eq(dw_shard_of(NULL, 3), 0);
  ck_assert_uint_eq(dw_shard_of("125fd56", 0), 0);
  ck_assert_uint_eq(dw_shard_of("125fd56", 1), 0);
}
END_TEST

/* Adding a host moves only what the new host takes, about its share:
 * every other host keeps every meter it had. */
START_TEST(test_shard_growth_moves_little) {
  enum { IDS = 20000 };
  for (unsigned n = 1; n <= 40; n += (n < 8 ? 1 : 8)) {
    unsigned moved = 0;
    for (int i = 0; i < IDS; i++) {
      char id[32];
      snprintf(id, sizeof(id), "SM-%06d", i);
      unsigned before = dw_shard_of(id, n), after = dw_shard_of(id, n + 1);
      ck_assert_msg(after == before || after == n,
                    "%s moved from %u to %u of %u", id, before, after, n + 1);
      moved += after != before;
    }
    double share = (double)moved / IDS, want = 1.0 / (n + 1);
    ck_assert_msg(share > 0.85 * want && share < 1.15 * want,
                  "%u -> %u shards moved %.4f of the meters, want about %.4f",
                  n, n + 1, share, want);
  }
}
END_TEST

static Suite *shard_suite(void) {
  Suite *s = suite_create("shard");
  TCase *tc = tcase_create("shard");
  tcase_add_loop_test(tc, test_shard_pinned, 0,
                      sizeof(shard_cases) / sizeof(shard_cases[0]));
  tcase_add_test(tc, test_shard_distribution);
  tcase_add_test(tc, test_shard_degenerate);
  tcase_add_test(tc, test_shard_growth_moves_little);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(shard_suite()); }
