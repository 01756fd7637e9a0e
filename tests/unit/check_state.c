/* check_state.c - what an account remembers across restarts: the byte
 * codec (dw_bytes), the payload (dw_state) and the file (dw_statefile).
 *
 * The payload must come back exactly (samples, marks, failures, times on
 * the wall clock), keep only what is still configured, clamp times a
 * jumped clock would leave far ahead, and refuse every damaged file
 * without crashing; the file must be replaced atomically or not at all.
 * Rosters are filled from the decoder fixtures, so the size measured here
 * is a real meter's. */
#include "dw_bytes.h"
#include "dw_cache.h"
#include "dw_config.h"
#include "dw_decode.h"
#include "dw_json.h"
#include "dw_keep.h"
#include "dw_roster.h"
#include "dw_state.h"
#include "dw_statefile.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(text) ((char *)(text))
#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WALL0 1796083200000LL /* 2026-12-01, Unix ms */

/* --- dw_bytes ------------------------------------------------------------- */

static const double value_cases[] = {
    0,     1,        -1,    27.01,   0.001,       -0.125, 253900,
    101.9, 1e-9,     1e300, -4.1e12, 3.9e12,      0.1,    2.675,
    NAN,   INFINITY, -1e-3, 123.45,  1234567.891,
};

START_TEST(values_come_back_exactly) {
  dw_bytes_t b = {0};
  ck_assert_int_eq(dw_bytes_put_value(&b, value_cases[_i]), 0);
  dw_reader_t rd = {.p = b.data, .end = b.data + b.len};
  double v = dw_bytes_get_value(&rd);
  ck_assert_ptr_null(rd.why);
  ck_assert(rd.p == rd.end);
  if (isnan(value_cases[_i]))
    ck_assert(isnan(v));
  else
    ck_assert_msg(v == value_cases[_i], "%.17g came back as %.17g",
                  value_cases[_i], v);
  dw_bytes_free(&b);
}
END_TEST

/* Values of the API's kind (three decimals at most) take few bytes. */
START_TEST(api_values_are_short) {
  dw_bytes_t b = {0};
  ck_assert_int_eq(dw_bytes_put_value(&b, 27.01), 0);
  ck_assert_uint_le(b.len, 3);
  b.len = 0;
  ck_assert_int_eq(dw_bytes_put_value(&b, 253900), 0);
  ck_assert_uint_le(b.len, 5);
  b.len = 0;
  ck_assert_int_eq(dw_bytes_put_value(&b, 1.0 / 3), 0);
  ck_assert_uint_eq(b.len, 9);
  dw_bytes_free(&b);
}
END_TEST

START_TEST(varints_at_their_edges) {
  static const uint64_t cases[] = {
      0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX, 1ull << 63};
  dw_bytes_t b = {0};
  for (size_t i = 0; i < LEN(cases); i++)
    ck_assert_int_eq(dw_bytes_put_varint(&b, cases[i]), 0);
  ck_assert_int_eq(dw_bytes_put_svarint(&b, INT64_MIN), 0);
  ck_assert_int_eq(dw_bytes_put_svarint(&b, -1), 0);
  dw_reader_t rd = {.p = b.data, .end = b.data + b.len};
  for (size_t i = 0; i < LEN(cases); i++)
    ck_assert(dw_bytes_get_varint(&rd) == cases[i]);
  ck_assert(dw_bytes_unzigzag(dw_bytes_get_varint(&rd)) == INT64_MIN);
  ck_assert(dw_bytes_unzigzag(dw_bytes_get_varint(&rd)) == -1);
  ck_assert_ptr_null(rd.why);
  /* past the end: 0 and a reason, never a read beyond */
  ck_assert(dw_bytes_get_varint(&rd) == 0);
  ck_assert_ptr_nonnull(rd.why);
  dw_bytes_free(&b);
}
END_TEST

/* A count larger than the bytes left is refused before any allocation. */
START_TEST(a_count_cannot_exceed_what_is_left) {
  dw_bytes_t b = {0};
  ck_assert_int_eq(dw_bytes_put_varint(&b, 1000000), 0);
  ck_assert_int_eq(dw_bytes_put(&b, "abc", 3), 0);
  dw_reader_t rd = {.p = b.data, .end = b.data + b.len};
  ck_assert_uint_eq(dw_bytes_get_count(&rd, SIZE_MAX), 0);
  ck_assert_ptr_nonnull(rd.why);
  dw_bytes_free(&b);
}
END_TEST

/* --- rosters to save ------------------------------------------------------ */

static const long refresh_ms[DW_RES_COUNT] = {
    900000,   900000,   3600000,  3600000,  21600000,
    21600000, 21600000, 21600000, 21600000, 3600000};
static const dw_state_limits_t limits = {.refresh_ms = refresh_ms,
                                         .backoff_max_ms = 3600000};

/* A roster of meters ids[0..n) with the given resources, all periods. */
static dw_roster_t roster_of(const char *const *ids, size_t n,
                             uint32_t resources) {
  dw_meter_cfg_t meters[8];
  ck_assert_uint_le(n, LEN(meters));
  for (size_t i = 0; i < n; i++)
    meters[i] = (dw_meter_cfg_t){.id = S(ids[i]),
                                 .instance = S(ids[i]),
                                 .resources = resources,
                                 .periods = DW_PERIOD_ALL};
  dw_account_cfg_t cfg = {.name = S("acc"),
                          .meters = meters,
                          .meters_len = n,
                          .resources = resources,
                          .periods = DW_PERIOD_ALL};
  dw_roster_t r;
  ck_assert_int_eq(dw_roster_build(&r, &cfg, NULL), 0);
  return r;
}

static char *read_fixture(dw_resource_t res, size_t *len) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s/contract.json", FIXTURES_DIR,
           dw_resource_info(res)->slug);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s", path);
  static char buf[1 << 20];
  *len = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  return buf;
}

/* Fills every slot from its resource's contract fixture, as a fetch
 * would: decoded, sealed, month marks adopted, the first month sent. */
static void fill_from_fixtures(dw_roster_t *r) {
  for (size_t i = 0; i < r->slots_len; i++) {
    dw_slot_t *s = &r->slots[i];
    size_t len;
    const char *body = read_fixture((dw_resource_t)s->resource, &len);
    dw_dec_t *d =
        dw_dec_create((dw_resource_t)s->resource, &dw_json_default_limits);
    ck_assert_int_eq(dw_dec_feed(d, body, len), 0);
    ck_assert_int_eq(dw_dec_finish(d, dw_cache_add, &s->cache), 0);
    dw_dec_destroy(d);
    ck_assert_int_eq(dw_cache_seal(&s->cache), 0);
    ck_assert_int_eq(dw_months_adopt(&s->months, &s->cache), 0);
    for (size_t k = 0; k < s->months.len; k++)
      s->months.marks[k].month = 2026 * 12 + (int)(k % 3);
    s->next_due_ms = 1000 + (int64_t)i * 1000;
  }
}

/* Two slots' samples are equal, one by one. */
static void assert_same_cache(const dw_cache_t *a, const dw_cache_t *b) {
  ck_assert_uint_eq(a->len, b->len);
  dw_cache_iter_t ia = dw_cache_begin(a), ib = dw_cache_begin(b);
  dw_sample_t x, y;
  bool lx, ly;
  while (dw_cache_next(&ia, &x, &lx, NULL)) {
    ck_assert(dw_cache_next(&ib, &y, &ly, NULL));
    ck_assert_int_eq(x.type, y.type);
    ck_assert_int_eq(x.label, y.label);
    ck_assert_int_eq(x.month, y.month);
    ck_assert_int_eq(lx, ly);
    ck_assert_str_eq(x.appliance ? x.appliance : "-",
                     y.appliance ? y.appliance : "-");
    for (size_t v = 0; v < x.values_len; v++)
      ck_assert(x.values[v] == y.values[v] ||
                (isnan(x.values[v]) && isnan(y.values[v])));
  }
}

/* Encodes r at (mono 0, WALL0), decodes at now into a fresh roster of
 * the same meters, which is returned. */
static dw_roster_t round_trip(const dw_roster_t *r, const char *const *ids,
                              size_t n, uint32_t resources, dw_state_now_t now,
                              dw_state_account_t *acct) {
  dw_bytes_t b = {0};
  dw_state_account_t saved = *acct;
  ck_assert_int_eq(
      dw_state_encode(&b, "acc", &saved, r,
                      (dw_state_now_t){.mono_ms = 0, .wall_ms = WALL0}),
      0);
  dw_roster_t restored, live = roster_of(ids, n, resources);
  char why[128];
  int rc = dw_state_decode(b.data, b.len, "acc", now, &limits, &restored, acct,
                           why, sizeof(why));
  ck_assert_msg(rc == 0, "%s", why);
  dw_roster_adopt(&live, &restored);
  dw_roster_free(&restored);
  dw_bytes_free(&b);
  return live;
}

/* --- dw_state ------------------------------------------------------------- */

START_TEST(a_roster_comes_back_as_it_was) {
  const char *ids[] = {"m1", "m2"};
  dw_roster_t r = roster_of(ids, 2, DW_RES_ALL);
  fill_from_fixtures(&r);
  r.slots[3].failures = 4;
  r.meters[1].last_ok_ms = -5000;
  r.meters[1].health.failing = true;
  r.meters[1].health.notified = true;
  dw_state_account_t acct = {.paused_until_ms = 30000,
                             .throttles = 2,
                             .token_failures = 3,
                             .token_retry_at_ms = 60000};
  dw_roster_t back =
      round_trip(&r, ids, 2, DW_RES_ALL,
                 (dw_state_now_t){.mono_ms = 0, .wall_ms = WALL0}, &acct);
  ck_assert_uint_eq(back.slots_len, r.slots_len);
  for (size_t i = 0; i < r.slots_len; i++) {
    const dw_slot_t *a = &r.slots[i], *b = &back.slots[i];
    assert_same_cache(&a->cache, &b->cache);
    ck_assert_uint_eq(a->failures, b->failures);
    ck_assert_int_eq(a->next_due_ms, b->next_due_ms);
    ck_assert_uint_eq(a->months.len, b->months.len);
    for (size_t k = 0; k < a->months.len; k++) {
      ck_assert_uint_eq(a->months.marks[k].key, b->months.marks[k].key);
      ck_assert_int_eq(a->months.marks[k].month, b->months.marks[k].month);
    }
    /* restored values go out once in the first cycle */
    ck_assert(b->unsent == (b->cache.len > 0));
  }
  ck_assert_int_eq(back.meters[0].last_ok_ms, 0);
  ck_assert_int_eq(back.meters[1].last_ok_ms, -5000);
  ck_assert(back.meters[1].health.failing && back.meters[1].health.notified);
  ck_assert_int_eq(acct.paused_until_ms, 30000);
  ck_assert_uint_eq(acct.throttles, 2);
  ck_assert_uint_eq(acct.token_failures, 3);
  ck_assert_int_eq(acct.token_retry_at_ms, 60000);
  dw_roster_free(&r);
  dw_roster_free(&back);
}
END_TEST

/* Times are kept as wall-clock time: after a restart 10 s later (a new
 * boot's monotonic clock at 50 ms) a slot due in 60 s is due in 50 s. */
START_TEST(due_times_are_wall_clock_times) {
  const char *ids[] = {"m1"};
  dw_roster_t r = roster_of(ids, 1, 1u << DW_RES_SAVINGS);
  r.slots[0].next_due_ms = 60000;
  r.slots[0].failures = 1; /* worth saving without a cache */
  dw_state_account_t acct = {.paused_until_ms = 20000};
  dw_roster_t back = round_trip(
      &r, ids, 1, 1u << DW_RES_SAVINGS,
      (dw_state_now_t){.mono_ms = 50, .wall_ms = WALL0 + 10000}, &acct);
  ck_assert_int_eq(back.slots[0].next_due_ms, 50 + 50000);
  ck_assert_int_eq(acct.paused_until_ms, 50 + 10000);
  dw_roster_free(&r);
  dw_roster_free(&back);
}
END_TEST

/* A clock that jumped back ten days: nothing waits longer than its
 * refresh interval or BackoffMax; a pause that ended is over; a last
 * success is never in the future. */
START_TEST(a_clock_that_jumped_is_survived) {
  const char *ids[] = {"m1"};
  dw_roster_t r = roster_of(ids, 1, 1u << DW_RES_COSTS);
  for (size_t i = 0; i < r.slots_len; i++)
    r.slots[i].next_due_ms = 600000;
  r.meters[0].last_ok_ms = -1000;
  dw_state_account_t acct = {.paused_until_ms = 1000};
  dw_state_now_t back_in_time = {.mono_ms = 0,
                                 .wall_ms = WALL0 - 10 * 86400000LL};
  dw_roster_t back =
      round_trip(&r, ids, 1, 1u << DW_RES_COSTS, back_in_time, &acct);
  for (size_t i = 0; i < back.slots_len; i++)
    ck_assert_int_le(back.slots[i].next_due_ms, 3600000);
  ck_assert_int_le(acct.paused_until_ms, 3600000);
  ck_assert_int_le(back.meters[0].last_ok_ms, 0);
  ck_assert_int_ne(back.meters[0].last_ok_ms, 0); /* 0 would be "never" */
  dw_roster_free(&back);
  /* and forward: everything is due at once */
  acct = (dw_state_account_t){.paused_until_ms = 1000};
  dw_state_now_t later = {.mono_ms = 7, .wall_ms = WALL0 + 86400000LL};
  back = round_trip(&r, ids, 1, 1u << DW_RES_COSTS, later, &acct);
  for (size_t i = 0; i < back.slots_len; i++)
    ck_assert_int_le(back.slots[i].next_due_ms, 7);
  ck_assert_int_le(acct.paused_until_ms, 7);
  dw_roster_free(&r);
  dw_roster_free(&back);
}
END_TEST

/* Meters, resources and periods no longer configured are left behind. */
START_TEST(what_is_no_longer_configured_is_dropped) {
  const char *ids[] = {"m1", "m2", "m3"};
  dw_roster_t r = roster_of(ids, 3, DW_RES_ALL);
  fill_from_fixtures(&r);
  dw_bytes_t b = {0};
  dw_state_account_t acct = {0};
  ck_assert_int_eq(
      dw_state_encode(&b, "acc", &acct, &r, (dw_state_now_t){0, WALL0}), 0);
  const char *kept[] = {"m3", "m1"};
  uint32_t resources = 1u << DW_RES_COSTS | 1u << DW_RES_SAVINGS;
  dw_roster_t live = roster_of(kept, 2, resources), restored;
  char why[128];
  ck_assert_int_eq(dw_state_decode(b.data, b.len, "acc",
                                   (dw_state_now_t){0, WALL0}, &limits,
                                   &restored, &acct, why, sizeof(why)),
                   0);
  dw_roster_adopt(&live, &restored);
  dw_roster_free(&restored); /* m2 and the other resources: freed */
  ck_assert_uint_eq(live.meters_len, 2);
  ck_assert_uint_eq(live.slots_len, 2 * 7);
  for (size_t i = 0; i < live.slots_len; i++) {
    ck_assert_uint_gt(live.slots[i].cache.len, 0);
    ck_assert(live.slots[i].unsent);
  }
  dw_roster_free(&live);
  dw_roster_free(&r);
  dw_bytes_free(&b);
}
END_TEST

/* Every cut of a payload, and every payload with one byte changed, is
 * decoded without a crash or a leak (valgrind and ASan runs of this
 * suite watch); a cut one is always refused. */
START_TEST(a_damaged_payload_never_crashes) {
  const char *ids[] = {"m1"};
  dw_roster_t r = roster_of(ids, 1, DW_RES_ALL);
  fill_from_fixtures(&r);
  dw_bytes_t b = {0};
  dw_state_account_t acct = {.throttles = 1};
  ck_assert_int_eq(
      dw_state_encode(&b, "acc", &acct, &r, (dw_state_now_t){0, WALL0}), 0);
  dw_roster_free(&r);
  char why[128];
  for (size_t len = 0; len < b.len; len++) {
    why[0] = '\0';
    ck_assert_int_eq(dw_state_decode(b.data, len, "acc",
                                     (dw_state_now_t){0, WALL0}, &limits, &r,
                                     &acct, why, sizeof(why)),
                     -EINVAL);
    ck_assert_uint_eq(r.slots_len, 0);
    ck_assert_str_ne(why, "");
  }
  unsigned char *copy = malloc(b.len);
  for (size_t i = 0; i < b.len; i += 1 + b.len / 700) {
    memcpy(copy, b.data, b.len);
    copy[i] ^= 0xa5;
    if (dw_state_decode(copy, b.len, "acc", (dw_state_now_t){0, WALL0}, &limits,
                        &r, &acct, why, sizeof(why)) == 0)
      dw_roster_free(&r);
  }
  free(copy);
  dw_bytes_free(&b);
}
END_TEST

START_TEST(another_accounts_state_is_refused) {
  const char *ids[] = {"m1"};
  dw_roster_t r = roster_of(ids, 1, 1u << DW_RES_COSTS);
  dw_bytes_t b = {0};
  dw_state_account_t acct = {0};
  ck_assert_int_eq(
      dw_state_encode(&b, "other", &acct, &r, (dw_state_now_t){0, WALL0}), 0);
  dw_roster_free(&r);
  char why[128];
  ck_assert_int_eq(dw_state_decode(b.data, b.len, "acc",
                                   (dw_state_now_t){0, WALL0}, &limits, &r,
                                   &acct, why, sizeof(why)),
                   -EINVAL);
  ck_assert_str_eq(why, "it is another account's");
  dw_bytes_free(&b);
}
END_TEST

/* A meter with every resource and period, filled from the contract's
 * examples, fits in well under 4 KiB; 100 of them in 100 times that. */
START_TEST(a_meter_takes_under_4_kib) {
  const char *ids[] = {"SM-000001", "SM-000002", "SM-000003", "SM-000004"};
  dw_roster_t r = roster_of(ids, 4, DW_RES_ALL);
  fill_from_fixtures(&r);
  dw_bytes_t b = {0};
  dw_state_account_t acct = {0};
  ck_assert_int_eq(
      dw_state_encode(&b, "acc", &acct, &r, (dw_state_now_t){0, WALL0}), 0);
  size_t per_meter = b.len / 4;
  printf("state: %zu bytes per meter (%zu slots each)\n", per_meter,
         r.slots_len / 4);
  ck_assert_uint_lt(per_meter, 4096);
  dw_roster_free(&r);
  dw_bytes_free(&b);
}
END_TEST

/* --- dw_statefile --------------------------------------------------------- */

static char dir[] = "/tmp/check_state.XXXXXX";
static char path[256];

static void files_setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/acc.state", dir);
}

static void files_teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
  memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void write_raw(const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

START_TEST(a_file_comes_back_and_is_private) {
  char why[128];
  ck_assert_int_eq(dw_statefile_write(path, "payload", 7, why, sizeof(why)), 0);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(st.st_size, 20 + 7);
  void *data;
  size_t len;
  ck_assert_int_eq(dw_statefile_read(path, &data, &len, why, sizeof(why)), 0);
  ck_assert_uint_eq(len, 7);
  ck_assert_int_eq(memcmp(data, "payload", 7), 0);
  free(data);
  char tmp[300];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  ck_assert_int_ne(access(tmp, F_OK), 0); /* nothing left behind */
}
END_TEST

/* What cannot be written leaves the previous file as it was. */
START_TEST(a_failed_write_keeps_the_previous_file) {
  char why[128];
  ck_assert_int_eq(dw_statefile_write(path, "old", 3, why, sizeof(why)), 0);
  char tmp[300];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  ck_assert_int_eq(mkdir(tmp, 0700), 0); /* the temporary file cannot be */
  ck_assert_int_lt(dw_statefile_write(path, "new", 3, why, sizeof(why)), 0);
  ck_assert_str_ne(why, "");
  void *data;
  size_t len;
  ck_assert_int_eq(dw_statefile_read(path, &data, &len, why, sizeof(why)), 0);
  ck_assert_int_eq(memcmp(data, "old", 3), 0);
  free(data);
  rmdir(tmp);
}
END_TEST

/* The table of damaged files: each is refused with a reason. */
typedef struct damage {
  const char *name;
  size_t cut;    /* bytes kept of a good file, 0: all */
  int flip;      /* byte changed, -1: none */
  size_t append; /* bytes added */
  int want;
} damage_t;

static const damage_t damages[] = {
    {"empty", 1, -1, 0, -EINVAL}, /* cut to 1 byte below */
    {"header cut", 12, -1, 0, -EINVAL}, {"payload cut", 25, -1, 0, -EINVAL},
    {"grown", 0, -1, 1, -EINVAL},       {"magic", 0, 0, 0, -EINVAL},
    {"version", 0, 8, 0, -EINVAL},      {"length", 0, 12, 0, -EINVAL},
    {"checksum", 0, 17, 0, -EINVAL},    {"payload byte", 0, 22, 0, -EINVAL},
};

START_TEST(damaged_files_are_refused) {
  const damage_t *d = &damages[_i];
  char why[128] = "";
  ck_assert_int_eq(dw_statefile_write(path, "0123456789", 10, why, sizeof(why)),
                   0);
  unsigned char raw[64] = {0}; /* "grown" appends a byte past the file */
  FILE *f = fopen(path, "rb");
  size_t len = fread(raw, 1, sizeof(raw), f);
  fclose(f);
  if (d->cut)
    len = d->cut - (strcmp(d->name, "empty") == 0);
  if (d->flip >= 0)
    raw[d->flip] ^= 0x01;
  len += d->append;
  write_raw(raw, len);
  void *data = (void *)1;
  size_t got = 99;
  why[0] = '\0';
  ck_assert_int_eq(dw_statefile_read(path, &data, &got, why, sizeof(why)),
                   d->want);
  ck_assert_ptr_null(data);
  ck_assert_msg(why[0] != '\0', "%s: no reason", d->name);
}
END_TEST

START_TEST(a_missing_file_is_enoent) {
  void *data;
  size_t len;
  char why[128];
  ck_assert_int_eq(dw_statefile_read(path, &data, &len, why, sizeof(why)),
                   -ENOENT);
  ck_assert_int_eq(mkdir(path, 0700), 0); /* a directory in its place */
  ck_assert_int_eq(dw_statefile_read(path, &data, &len, why, sizeof(why)),
                   -EINVAL);
  rmdir(path);
  ck_assert_int_eq(symlink("/etc/passwd", path), 0); /* never followed */
  ck_assert_int_lt(dw_statefile_read(path, &data, &len, why, sizeof(why)), 0);
  unlink(path);
}
END_TEST

START_TEST(the_directory_is_made_private) {
  char sub[300], why[128];
  int loose = -1;
  snprintf(sub, sizeof(sub), "%s/digiwatt", dir);
  ck_assert_int_eq(dw_statefile_dir(sub, &loose, why, sizeof(why)), 0);
  struct stat st;
  ck_assert_int_eq(stat(sub, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0700);
  ck_assert_int_eq(loose, 0);
  ck_assert_int_eq(chmod(sub, 0777), 0);
  ck_assert_int_eq(dw_statefile_dir(sub, &loose, why, sizeof(why)), 0);
  ck_assert_int_eq(loose, 1);
  snprintf(sub, sizeof(sub), "%s/no/such/parent", dir);
  ck_assert_int_lt(dw_statefile_dir(sub, &loose, why, sizeof(why)), 0);
  ck_assert_str_ne(why, "");
}
END_TEST

/* The keeper writes only what changed, at most every save interval
 * unless forced, and reads the file back once. */
START_TEST(the_keeper_writes_when_changed_and_due) {
  const char *ids[] = {"m1"};
  dw_roster_t r = roster_of(ids, 1, 1u << DW_RES_SAVINGS);
  dw_state_account_t acct = {0};
  dw_keep_t k;
  dw_keep_init(&k, "acc", path, 60000, refresh_ms, 3600000);
  dw_keep_save(&k, &r, &acct, (dw_state_now_t){1, WALL0}, false);
  ck_assert_int_ne(access(path, F_OK), 0); /* nothing changed yet */
  r.slots[0].failures = 1;
  dw_keep_touch(&k);
  dw_keep_save(&k, &r, &acct, (dw_state_now_t){1, WALL0}, false);
  ck_assert_int_eq(access(path, F_OK), 0); /* the first change: at once */
  r.slots[0].failures = 2;
  dw_keep_touch(&k);
  dw_keep_save(&k, &r, &acct, (dw_state_now_t){30000, WALL0 + 30000}, false);
  dw_roster_t back = roster_of(ids, 1, 1u << DW_RES_SAVINGS);
  dw_keep_t reader;
  dw_keep_init(&reader, "acc", path, 60000, refresh_ms, 3600000);
  ck_assert(dw_keep_restore(&reader, &back, &acct, (dw_state_now_t){0, WALL0}));
  ck_assert_uint_eq(back.slots[0].failures, 1); /* 30 s: not due yet */
  ck_assert(
      !dw_keep_restore(&reader, &back, &acct, (dw_state_now_t){0, WALL0}));
  dw_keep_save(&k, &r, &acct, (dw_state_now_t){61000, WALL0 + 61000}, false);
  dw_roster_free(&back);
  back = roster_of(ids, 1, 1u << DW_RES_SAVINGS);
  dw_keep_init(&reader, "acc", path, 60000, refresh_ms, 3600000);
  ck_assert(dw_keep_restore(&reader, &back, &acct, (dw_state_now_t){0, WALL0}));
  ck_assert_uint_eq(back.slots[0].failures, 2); /* due: written */
  r.slots[0].failures = 3;
  dw_keep_touch(&k);
  dw_keep_save(&k, &r, &acct, (dw_state_now_t){62000, WALL0 + 62000}, true);
  dw_roster_free(&back);
  back = roster_of(ids, 1, 1u << DW_RES_SAVINGS);
  dw_keep_init(&reader, "acc", path, 60000, refresh_ms, 3600000);
  ck_assert(dw_keep_restore(&reader, &back, &acct, (dw_state_now_t){0, WALL0}));
  ck_assert_uint_eq(back.slots[0].failures, 3); /* forced (shutdown) */
  dw_roster_free(&back);
  dw_roster_free(&r);
}
END_TEST

START_TEST(crc32_is_zlibs) {
  ck_assert_uint_eq(dw_statefile_crc32(0, "123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq(dw_statefile_crc32(0, "", 0), 0);
  uint32_t c = dw_statefile_crc32(0, "1234", 4);
  ck_assert_uint_eq(dw_statefile_crc32(c, "56789", 5), 0xCBF43926u);
}
END_TEST

static Suite *state_suite(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("bytes");
  tcase_add_loop_test(tc, values_come_back_exactly, 0, LEN(value_cases));
  tcase_add_test(tc, api_values_are_short);
  tcase_add_test(tc, varints_at_their_edges);
  tcase_add_test(tc, a_count_cannot_exceed_what_is_left);
  suite_add_tcase(s, tc);
  tc = tcase_create("payload");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_roster_comes_back_as_it_was);
  tcase_add_test(tc, due_times_are_wall_clock_times);
  tcase_add_test(tc, a_clock_that_jumped_is_survived);
  tcase_add_test(tc, what_is_no_longer_configured_is_dropped);
  tcase_add_test(tc, a_damaged_payload_never_crashes);
  tcase_add_test(tc, another_accounts_state_is_refused);
  tcase_add_test(tc, a_meter_takes_under_4_kib);
  suite_add_tcase(s, tc);
  tc = tcase_create("file");
  tcase_add_checked_fixture(tc, files_setup, files_teardown);
  tcase_add_test(tc, a_file_comes_back_and_is_private);
  tcase_add_test(tc, a_failed_write_keeps_the_previous_file);
  tcase_add_loop_test(tc, damaged_files_are_refused, 0, LEN(damages));
  tcase_add_test(tc, a_missing_file_is_enoent);
  tcase_add_test(tc, the_directory_is_made_private);
  tcase_add_test(tc, the_keeper_writes_when_changed_and_due);
  tcase_add_test(tc, crc32_is_zlibs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(state_suite()); }
