/* check_cache.c - packed samples: round trip, order, latest, interning. */
#include "dw_cache.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
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
  ck_assert_int_eq(dw_cache_seal(&c), 0);
  ck_assert_uint_eq(c.len, 2);
  dw_sample_t out;
  bool latest;
  dw_cache_iter_t it = dw_cache_begin(&c);
  ck_assert(dw_cache_next(&it, &out, &latest, NULL));
  ck_assert_int_eq(out.type, DW_TYPE_PERFORMANCE);
  ck_assert_int_eq(out.label, DW_LABEL_PERFORMANCE);
  ck_assert_ptr_null(out.appliance);
  ck_assert_uint_eq(out.values_len, 3);
  ck_assert_double_eq(out.values[1], 130);
  ck_assert(isnan(out.values[2]));
  ck_assert(!latest);
  ck_assert(dw_cache_next(&it, &out, &latest, NULL));
  ck_assert_str_eq(out.appliance, "Water heater");
  ck_assert_double_eq(out.values[0], 29.5);
  ck_assert(!dw_cache_next(&it, &out, &latest, NULL));
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
  ck_assert_int_eq(dw_cache_seal(&c), 0);
  ck_assert_uint_eq(c.names_len, 2); /* each name stored once */
  int previous = -1, latest_count = 0;
  dw_cache_iter_t it = dw_cache_begin(&c);
  dw_sample_t out;
  bool latest;
  while (dw_cache_next(&it, &out, &latest, NULL)) {
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
  ck_assert_int_eq(dw_cache_seal(&c), 0);
  ck_assert_uint_eq(c.len, 0);
  ck_assert_ptr_null(c.mem);
  dw_cache_clear(&c);
}
END_TEST

/* The packed block costs what the header says: 4 bytes per value of at
 * most three decimals, 8 per sample and each name once, in one
 * allocation; the values, months and names come back from it exactly. */
START_TEST(a_sealed_cache_is_one_small_block) {
  dw_cache_t c = {0};
  const char *apps[] = {"fridge", "Water heater", "standby"};
  /* newest month first, as some responses are: sealing reorders the
   * samples and their values with them; the heater's values are not
   * thousandths and take three words */
  for (int m = 24311; m >= 24300; m--)
    for (int a = 0; a < 3; a++) {
      dw_sample_t s =
          sample(DW_TYPE_ENERGY, DW_LABEL_YEARLY_DISTRIBUTION, apps[a], m,
                 m * 10 + a + (a == 1 ? 1.0 / 3 : 0.25));
      ck_assert_int_eq(dw_cache_add(&c, &s), 0);
    }
  ck_assert_int_eq(dw_cache_seal(&c), 0);
  ck_assert_uint_ne(c.series_len, DW_CACHE_BUILDING);
  ck_assert_uint_eq(c.len, 36);
  ck_assert_uint_eq(c.names_len, 3);
  ck_assert_uint_eq(c.series_len, 3);
  size_t want = 24 * 4 + 12 * 12 + 36 * 8 + 3 * 4 + sizeof("fridge") +
                sizeof("Water heater") + sizeof("standby");
  ck_assert_uint_le(malloc_usable_size(c.mem), want + 24);
  dw_cache_iter_t it = dw_cache_begin(&c);
  dw_sample_t out;
  bool latest;
  uint16_t series;
  uint32_t n = 0;
  int previous = 0;
  while (dw_cache_next(&it, &out, &latest, &series)) {
    n++;
    ck_assert_uint_lt(series, 3);
    ck_assert_int_ge(out.month, previous);
    previous = out.month;
    int a = 0;
    while (a < 3 && strcmp(apps[a], out.appliance) != 0)
      a++;
    ck_assert_int_lt(a, 3);
    ck_assert_double_eq(out.values[0],
                        out.month * 10 + a + (a == 1 ? 1.0 / 3 : 0.25));
    ck_assert(latest == (out.month == 24311));
  }
  ck_assert_uint_eq(n, 36);
  dw_cache_clear(&c);
}
END_TEST

/* More values than the packed indexes hold: refused, not wrapped. */
START_TEST(too_many_values_are_refused) {
  dw_cache_t c = {0};
  dw_sample_t s = sample(DW_TYPE_ENERGY, DW_LABEL_CONSUMPTION, NULL, 0, 1);
  int status = 0;
  uint32_t n = 0;
  while ((status = dw_cache_add(&c, &s)) == 0)
    n++;
  ck_assert_int_eq(status, -EINVAL);
  ck_assert_uint_eq(n, UINT16_MAX); /* one word each */
  dw_cache_clear(&c);
  s.values[0] = 1.0 / 3; /* three words each */
  for (n = 0; (status = dw_cache_add(&c, &s)) == 0;)
    n++;
  ck_assert_uint_eq(n, UINT16_MAX / 3);
  s.month = 70000;
  dw_cache_clear(&c);
  ck_assert_int_eq(dw_cache_add(&c, &s), -EINVAL);
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
  tcase_add_test(tc, a_sealed_cache_is_one_small_block);
  tcase_add_test(tc, too_many_values_are_refused);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
