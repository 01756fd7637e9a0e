/* check_roster.c - the roster room (meters and slots) and the one clash
 * finder it shares with validation. Pure: no HTTP, no clock. */
#include "dw_clash.h"
#include "dw_config.h"
#include "dw_roster.h"
#include "dw_shard.h"
#include "run_suite.h"
#include "stand_in.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The structures own their strings; these tests lend them literals. */
#define S(text) ((char *)(text))

/* --- the clash finder ------------------------------------------------------
 */

static const struct {
  const char *names[6];
  size_t n;
  size_t first[6]; /* N: none */
  size_t clashes;
} clash_cases[] = {
#define N DW_CLASH_NONE
    {{NULL}, 0, {N}, 0},
    {{"a"}, 1, {N}, 0},
    {{"a", "b", "c"}, 3, {N, N, N}, 0},
    {{"a", "a"}, 2, {N, 0}, 1},
    {{"b", "a", "b", "a", "b"}, 5, {N, N, 0, 1, 0}, 3},
    {{"x", "x", "y", "y"}, 4, {N, 0, N, 2}, 2},
    {{"A", "a", "a-", "a"}, 4, {N, N, N, 1}, 1}, /* case matters */
#undef N
};

START_TEST(clash_finder_names_the_earliest) {
  size_t first[6], clashes = 99;
  ck_assert_int_eq(
      dw_clash_find(clash_cases[_i].names, clash_cases[_i].n, first, &clashes),
      0);
  ck_assert_uint_eq(clashes, clash_cases[_i].clashes);
  for (size_t i = 0; i < clash_cases[_i].n; i++)
    ck_assert_msg(first[i] == clash_cases[_i].first[i],
                  "case %d, name %zu: %zu", _i, i, first[i]);
}
END_TEST

/* --- building a roster ------------------------------------------------------
 */

static dw_account_cfg_t cfg_with(dw_meter_cfg_t *meters, size_t n) {
  return (dw_account_cfg_t){.name = S("acc"),
                            .meters = meters,
                            .meters_len = n,
                            .resources = DW_RES_ALL,
                            .periods = DW_PERIOD_ALL};
}

static dw_meterfile_t file_of(dw_meterfile_entry_t *entries, size_t n) {
  return (dw_meterfile_t){.entries = entries, .len = n};
}

#define RES(r) (1u << DW_RES_##r)
#define PER(p) (1u << DW_PERIOD_##p)

/* Blocks come first, then the file's entries without a block; a file
 * entry with a block's ID takes the block's settings; the slots of a
 * meter are its resources times its periods where a resource takes one. */
START_TEST(roster_holds_blocks_then_file_entries) {
  dw_meter_cfg_t blocks[] = {
      {.id = S("m1"),
       .instance = S("home"),
       .resources = RES(COSTS) | RES(SAVINGS),
       .periods = PER(YESTERDAY) | PER(THIS_MONTH)},
      {.id = S("m2"),
       .instance = S("m2"),
       .resources = RES(SAVINGS),
       .periods = DW_PERIOD_ALL},
  };
  dw_meterfile_entry_t entries[] = {{.id = S("f1")},
                                    {.id = S("m2"), .instance = S("x")},
                                    {.id = S("f.2"), .instance = S("two")}};
  dw_account_cfg_t cfg = cfg_with(blocks, 2);
  cfg.resources = RES(CONSUMPTION);
  cfg.periods = PER(LAST_WEEK);
  dw_meterfile_t file = file_of(entries, 3);
  dw_roster_t r;
  ck_assert_int_eq(dw_roster_build(&r, &cfg, &file), 0);
  ck_assert_uint_eq(r.meters_len, 4);
  const char *ids[] = {"m1", "m2", "f1", "f.2"};
  const char *instances[] = {"home", "m2", "f1", "two"};
  size_t slots[] = {2 + 1, 1, 1, 1};
  size_t total = 0;
  for (size_t i = 0; i < 4; i++) {
    ck_assert_str_eq(r.meters[i].id, ids[i]);
    ck_assert_str_eq(r.meters[i].instance, instances[i]);
    ck_assert_uint_eq(r.meters[i].slots_len, slots[i]);
    ck_assert_uint_eq(r.meters[i].first_slot, total);
    for (size_t k = 0; k < slots[i]; k++)
      ck_assert_uint_eq(r.slots[total + k].meter, i);
    total += slots[i];
  }
  ck_assert_uint_eq(r.slots_len, total);
  /* m1: costs/yesterday, costs/this-month, savings (no period) */
  ck_assert_int_eq(r.slots[0].resource, DW_RES_COSTS);
  ck_assert_str_eq(dw_slot_period(&r.slots[0]), "yesterday");
  ck_assert_str_eq(dw_slot_period(&r.slots[1]), "this-month");
  ck_assert_int_eq(r.slots[2].resource, DW_RES_SAVINGS);
  ck_assert_ptr_null(dw_slot_period(&r.slots[2]));
  ck_assert_int_eq(r.slots[4].resource, DW_RES_CONSUMPTION);
  ck_assert_str_eq(dw_slot_period(&r.slots[4]), "last-week");
  ck_assert_uint_eq(standin_log_count(), 0);
  dw_roster_free(&r);
  dw_roster_free(NULL);
}
END_TEST

START_TEST(roster_keeps_only_its_shard) {
  enum { N = 300 };
  dw_meterfile_entry_t entries[N];
  char ids[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof(ids[i]), "meter-%d", i);
    entries[i] = (dw_meterfile_entry_t){.id = ids[i]};
  }
  dw_meterfile_t file = file_of(entries, N);
  size_t seen = 0;
  for (unsigned shard = 0; shard < 3; shard++) {
    dw_account_cfg_t cfg = cfg_with(NULL, 0);
    cfg.shard = (dw_shard_cfg_t){.index = shard, .count = 3};
    dw_roster_t r;
    ck_assert_int_eq(dw_roster_build(&r, &cfg, &file), 0);
    ck_assert_uint_gt(r.meters_len, N / 5);
    for (size_t i = 0; i < r.meters_len; i++)
      ck_assert_uint_eq(dw_shard_of(r.meters[i].id, 3), shard);
    seen += r.meters_len;
    dw_roster_free(&r);
  }
  ck_assert_uint_eq(seen, N);
}
END_TEST

/* A clash leaves out the later meter and names both; blocks win. The
 * names come from before the survivors were moved together. */
START_TEST(roster_drops_instance_clashes) {
  dw_meter_cfg_t blocks[] = {{.id = S("b1"),
                              .instance = S("x"),
                              .resources = RES(SAVINGS),
                              .periods = 1}};
  dw_meterfile_entry_t entries[] = {{.id = S("f1"), .instance = S("x")},
                                    {.id = S("f2"), .instance = S("y")},
                                    {.id = S("f3"), .instance = S("y")},
                                    {.id = S("f4"), .instance = S("z")}};
  dw_account_cfg_t cfg = cfg_with(blocks, 1);
  cfg.resources = RES(SAVINGS);
  dw_meterfile_t file = file_of(entries, 4);
  dw_roster_t r;
  ck_assert_int_eq(dw_roster_build(&r, &cfg, &file), 0);
  ck_assert_uint_eq(r.meters_len, 3);
  ck_assert_str_eq(r.meters[0].id, "b1");
  ck_assert_str_eq(r.meters[1].id, "f2");
  ck_assert_str_eq(r.meters[2].id, "f4");
  ck_assert_uint_eq(r.slots_len, 3);
  for (size_t i = 0; i < r.slots_len; i++)
    ck_assert_uint_eq(r.slots[i].meter, i);
  ck_assert(standin_log_contains_at(
      LOG_ERR, "account acc: smartmeter f1 is skipped: its Instance \"x\" "
               "is taken by smartmeter b1"));
  ck_assert(standin_log_contains_at(
      LOG_ERR, "smartmeter f3 is skipped: its Instance \"y\" is taken by "
               "smartmeter f2"));
  ck_assert_uint_eq(standin_log_count(), 2);
  dw_roster_free(&r);
}
END_TEST

static int add_one(dw_cache_t *c, double v, int month) {
  dw_sample_t s = {.type = DW_TYPE_COST,
                   .label = DW_LABEL_COSTS_HISTORY,
                   .month = month,
                   .values_len = 1,
                   .values = {v}};
  return dw_cache_add(c, &s);
}

/* What the old roster knew moves to the kept meters' matching slots; a
 * new meter and a new resource start fresh; dropped ones stay behind. */
START_TEST(adopt_moves_what_was_known) {
  dw_meter_cfg_t before_blocks[] = {{.id = S("keep"),
                                     .instance = S("keep"),
                                     .resources = RES(COSTS) | RES(SAVINGS),
                                     .periods = PER(YESTERDAY)},
                                    {.id = S("gone"),
                                     .instance = S("gone"),
                                     .resources = RES(SAVINGS),
                                     .periods = 1}};
  dw_account_cfg_t cfg = cfg_with(before_blocks, 2);
  dw_roster_t old;
  ck_assert_int_eq(dw_roster_build(&old, &cfg, NULL), 0);
  ck_assert_uint_eq(old.slots_len, 3);
  dw_slot_t *savings = &old.slots[1];
  ck_assert_int_eq(savings->resource, DW_RES_SAVINGS);
  ck_assert_int_eq(add_one(&savings->cache, 42, 24316), 0);
  ck_assert_int_eq(dw_cache_seal(&savings->cache), 0);
  ck_assert_int_eq(dw_months_adopt(&savings->months, &savings->cache), 0);
  savings->failures = 3;
  savings->next_due_ms = 12345;
  old.meters[0].last_ok_ms = 999;
  old.meters[0].health.notified = true;
  ck_assert_int_eq(add_one(&old.slots[2].cache, 1, 0), 0);

  dw_meter_cfg_t after_blocks[] = {
      {.id = S("new"),
       .instance = S("new"),
       .resources = RES(SAVINGS),
       .periods = 1},
      {.id = S("keep"),
       .instance = S("keep"),
       .resources = RES(SAVINGS) | RES(CONSUMPTION),
       .periods = PER(YESTERDAY)}};
  cfg = cfg_with(after_blocks, 2);
  dw_roster_t fresh;
  ck_assert_int_eq(dw_roster_build(&fresh, &cfg, NULL), 0);
  dw_roster_adopt(&fresh, &old);
  const dw_meter_t *keep = &fresh.meters[1];
  ck_assert_int_eq(keep->last_ok_ms, 999);
  ck_assert(keep->health.notified);
  ck_assert_int_eq(fresh.meters[0].last_ok_ms, 0);
  const dw_slot_t *consumption = &fresh.slots[keep->first_slot];
  const dw_slot_t *moved = &fresh.slots[keep->first_slot + 1];
  ck_assert_int_eq(consumption->resource, DW_RES_CONSUMPTION);
  ck_assert_uint_eq(consumption->cache.len, 0);
  ck_assert_int_eq(moved->resource, DW_RES_SAVINGS);
  ck_assert_uint_eq(moved->meter, 1);
  ck_assert_uint_eq(moved->cache.len, 1);
  ck_assert_uint_eq(moved->failures, 3);
  ck_assert_int_eq(moved->next_due_ms, 12345);
  ck_assert_uint_eq(moved->months.len, 1);
  ck_assert_uint_eq(old.slots[1].cache.len, 0); /* ownership moved */
  ck_assert_uint_eq(old.slots[2].cache.len, 1); /* "gone" stays behind */
  dw_roster_free(&old);
  dw_roster_free(&fresh);
}
END_TEST

static Suite *roster_suite(void) {
  Suite *s = suite_create("roster");
  TCase *tc = tcase_create("roster");
  tcase_add_checked_fixture(tc, standin_reset, standin_reset);
  tcase_add_loop_test(tc, clash_finder_names_the_earliest, 0,
                      sizeof(clash_cases) / sizeof(clash_cases[0]));
  tcase_add_test(tc, roster_holds_blocks_then_file_entries);
  tcase_add_test(tc, roster_keeps_only_its_shard);
  tcase_add_test(tc, roster_drops_instance_clashes);
  tcase_add_test(tc, adopt_moves_what_was_known);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(roster_suite()); }
