/* check_cache.c - packed samples: round trip, order, latest, interning. */
#include "dw_cache.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static dw_sample_t sample(dw_type_t type, dw_label_t label,
                          const char *appliance, int month, double v) {
  return (dw_sample_t){.type = type,
                       .label = label,
                       .appliance = appliance,
                       .month = month,
                       .values_len = 1,
                       .values = {v}};
}

START_TEST(samples_round_trip) {
  dw_cache_t c = {0};
  dw_sample_t perf = {.type = DW_TYPE_PERFORMANCE,
                      .label = DW_LABEL_PERFORMANCE,
                      .values_len = 3,
                      .values = {10, 130, NAN}};
  ck_assert_int_eq(dw_cache_add(&c, &perf), 0);
  dw_sample_t s =
      sample(DW_TYPE_SHARE, DW_LABEL_DISTRIBUTION, "Water heater", 0, 29.5);
  ck_assert_int_eq(dw_cache_add(&c, &s), 0);
  dw_cache_seal(&c);
  ck_assert_uint_eq(c.len, 2);
  dw_sample_t out;
  bool latest;
  dw_cache_get(&c, 0, &out, &latest);
  ck_assert_int_eq(out.type, DW_TYPE_PERFORMANCE);
  ck_assert_int_eq(out.label, DW_LABEL_PERFORMANCE);
  ck_assert_ptr_null(out.appliance);
  ck_assert_uint_eq(out.values_len, 3);
  ck_assert_double_eq(out.values[1], 130);
  ck_assert(isnan(out.values[2]));
  ck_assert(!latest);
  dw_cache_get(&c, 1, &out, &latest);
  ck_assert_str_eq(out.appliance, "Water heater");
  ck_assert_double_eq(out.values[0], 29.5);
  dw_cache_clear(&c);
  ck_assert_uint_eq(c.len, 0);
}
END_TEST

START_TEST(months_are_ordered_and_the_newest_marked) {
  dw_cache_t c = {0};
  const char *apps[] = {"fridge", "standby"};
  for (int m = 24320; m > 24308; m--) /* newest first in the input */
    for (int a = 0; a < 2; a++) {
      dw_sample_t s = sample(DW_TYPE_ENERGY, DW_LABEL_YEARLY_DISTRIBUTION,
                             apps[a], m, m + a);
      ck_assert_int_eq(dw_cache_add(&c, &s), 0);
    }
  dw_sample_t forecast =
      sample(DW_TYPE_COST, DW_LABEL_COSTS_FORECAST, NULL, 0, 1);
  ck_assert_int_eq(dw_cache_add(&c, &forecast), 0);
  dw_cache_seal(&c);
  ck_assert_uint_eq(c.names_len, 2); /* each name stored once */
  int previous = -1, latest_count = 0;
  for (uint32_t i = 0; i < c.len; i++) {
    dw_sample_t out;
    bool latest;
    dw_cache_get(&c, i, &out, &latest);
    ck_assert_int_ge(out.month, previous);
    previous = out.month;
    if (latest) {
      latest_count++;
      ck_assert_int_eq(out.month, 24320);
    }
  }
  ck_assert_int_eq(latest_count, 2); /* one per appliance series */
  dw_cache_clear(&c);
}
END_TEST

START_TEST(unknown_labels_are_refused) {
  dw_cache_t c = {0};
  dw_sample_t s = sample(DW_TYPE_ENERGY, DW_LABEL_COUNT, NULL, 0, 1);
  ck_assert_int_eq(dw_cache_add(&c, &s), -EINVAL);
  s = sample(DW_TYPE_COUNT, DW_LABEL_COSTS, NULL, 0, 1);
  ck_assert_int_eq(dw_cache_add(&c, &s), -EINVAL);
  ck_assert_uint_eq(c.len, 0);
  dw_cache_clear(&c);
}
END_TEST

/* A response of nulls yields no sample: sealing must not hand qsort a
 * NULL array (undefined; the ASan/UBSan build of this test aborts). */
START_TEST(an_empty_cache_seals) {
  dw_cache_t c = {0};
  dw_cache_seal(&c);
  ck_assert_uint_eq(c.len, 0);
  ck_assert_ptr_null(c.items);
  dw_cache_clear(&c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("cache");
  tcase_add_test(tc, samples_round_trip);
  tcase_add_test(tc, months_are_ordered_and_the_newest_marked);
  tcase_add_test(tc, unknown_labels_are_refused);
  tcase_add_test(tc, an_empty_cache_seals);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
