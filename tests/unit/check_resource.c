/* check_resource.c - unit tests of the dw_resource tables. */
#include "dw_resource.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The contract's paths (digiwatt-openapi.yaml), in enum order. */
static const struct {
  const char *slug;
  bool has_period;
  const char *path;
} contract[DW_RES_COUNT] = {
    {"costs", true, "/smartmeters/{smartmeterId}/costs/{period}"},
    {"consumption", true, "/smartmeters/{smartmeterId}/consumption/{period}"},
    {"consumption-distribution", true,
     "/smartmeters/{smartmeterId}/consumption-distribution/{period}"},
    {"performance", true, "/smartmeters/{smartmeterId}/performance/{period}"},
    {"savings", false, "/smartmeters/{smartmeterId}/savings"},
    {"consumption-history", false,
     "/smartmeters/{smartmeterId}/consumption-history"},
    {"costs-history", false, "/smartmeters/{smartmeterId}/costs-history"},
    {"yearly-consumption-distribution", false,
     "/smartmeters/{smartmeterId}/yearly-consumption-distribution"},
    {"yearly-compound-consumption", false,
     "/smartmeters/{smartmeterId}/yearly-compound-consumption"},
    {"disaggregation", true,
     "/smartmeters/{smartmeterId}/disaggregation/{period}"},
};

static const char *const period_names[DW_PERIOD_COUNT] = {
    "yesterday", "last-seven-days", "this-week",
    "last-week", "this-month",      "last-month",
};

START_TEST(test_resource_row) {
  const dw_resource_info_t *info = dw_resource_info((dw_resource_t)_i);
  ck_assert_ptr_nonnull(info);
  ck_assert_str_eq(info->slug, contract[_i].slug);
  ck_assert_int_eq(info->has_period, contract[_i].has_period);
  ck_assert_str_eq(info->default_path, contract[_i].path);
  ck_assert_uint_gt(info->refresh_s, 0);
  /* {period} appears exactly when the resource takes one */
  ck_assert_int_eq(strstr(info->default_path, "{period}") != NULL,
                   info->has_period);
  ck_assert_ptr_nonnull(strstr(info->default_path, "{smartmeterId}"));
}
END_TEST

START_TEST(test_slug_round_trip) {
  dw_resource_t r = DW_RES_COUNT;
  ck_assert_int_eq(
      dw_resource_from_slug(dw_resource_info((dw_resource_t)_i)->slug, &r), 0);
  ck_assert_int_eq(r, _i);
}
END_TEST

static const char *const unknown_slugs[] = {
    "",
    "Costs",
    "cost",
    "costs ",
    " costs",
    "costs/",
    "COSTS",
    "savings2",
    "yesterday",
    "history",
    "consumption_history",
    "smartmeters",
};

START_TEST(test_slug_unknown) {
  dw_resource_t r = DW_RES_COUNT;
  ck_assert_int_eq(dw_resource_from_slug(unknown_slugs[_i], &r), -ENOENT);
  ck_assert_int_eq(r, DW_RES_COUNT); /* untouched */
}
END_TEST

START_TEST(test_period_round_trip) {
  ck_assert_str_eq(dw_period_name((dw_period_t)_i), period_names[_i]);
  dw_period_t p = DW_PERIOD_COUNT;
  ck_assert_int_eq(dw_period_from_name(period_names[_i], &p), 0);
  ck_assert_int_eq(p, _i);
}
END_TEST

static const char *const unknown_periods[] = {
    "",      "Yesterday",  "last_week", "today", "last-seven-day",
    "costs", " this-week",
};

START_TEST(test_period_unknown) {
  dw_period_t p = DW_PERIOD_COUNT;
  ck_assert_int_eq(dw_period_from_name(unknown_periods[_i], &p), -ENOENT);
  ck_assert_int_eq(p, DW_PERIOD_COUNT);
}
END_TEST

START_TEST(test_masks) {
  ck_assert_uint_eq(DW_RES_ALL, 0x3ffu);
  ck_assert_uint_eq(DW_PERIOD_ALL, 0x3fu);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *resource_suite(void) {
  Suite *s = suite_create("dw_resource");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_resource_row, 0, DW_RES_COUNT);
  tcase_add_loop_test(tc, test_slug_round_trip, 0, DW_RES_COUNT);
  tcase_add_loop_test(tc, test_slug_unknown, 0, N(unknown_slugs));
  tcase_add_loop_test(tc, test_period_round_trip, 0, DW_PERIOD_COUNT);
  tcase_add_loop_test(tc, test_period_unknown, 0, N(unknown_periods));
  tcase_add_test(tc, test_masks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(resource_suite()); }
