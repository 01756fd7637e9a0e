/* check_dispatch.c - the dispatcher: identifiers, month stamps, "-latest". */
#include "dw_dispatch.h"
#include "run_suite.h"
#include "stand_in.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((uint64_t)1795000000 << 30)
#define INTERVAL ((uint64_t)10 << 30)
#define MONTH(y, m) ((y)*12 + (m)-1)

static void setup(void) { standin_reset(); }
static void teardown(void) { standin_reset(); }

static dw_dispatch_target_t target(const char *period) {
  return (dw_dispatch_target_t){.plugin_instance = "home",
                                .period = period,
                                .time = NOW,
                                .interval = INTERVAL};
}

/* What a slot does with one of its samples: the current value (or the
 * "-latest" twin), then the month against the series' mark. */
static int dispatch_sample(const dw_dispatch_target_t *t, const dw_sample_t *s,
                           bool latest, dw_month_mark_t *mark) {
  int status = dw_dispatch_current(t, s, latest);
  if (status == 0 && s->month != 0)
    status = dw_dispatch_month(t, s, mark);
  return status;
}

static const struct {
  dw_label_t label;
  const char *period;
  const char *appliance;
  const char *want;
} ti_cases[] = {
    {DW_LABEL_CONSUMPTION, "yesterday", NULL, "consumption-yesterday"},
    {DW_LABEL_SAVINGS, NULL, NULL, "savings"},
    {DW_LABEL_SAVINGS, NULL, "fridge", "savings-fridge"},
    {DW_LABEL_DISTRIBUTION, "last-seven-days", "washingMachine",
     "distribution-last-seven-days-washingMachine"},
    {DW_LABEL_DISAGGREGATION, "this-week", "Water heater",
     "disaggregation-this-week-Water_heater_h"},
    {DW_LABEL_SAVING_POTENTIAL, NULL, "a/b", "saving-potential-a_b_h"},
};

START_TEST(type_instance_follows_the_table) {
  dw_sample_t s = {.type = DW_TYPE_ENERGY,
                   .label = ti_cases[_i].label,
                   .appliance = ti_cases[_i].appliance,
                   .values_len = 1};
  char out[128];
  dw_dispatch_type_instance(out, sizeof(out), &s, ti_cases[_i].period);
  ck_assert_msg(strncmp(out, ti_cases[_i].want, strlen(ti_cases[_i].want)) == 0,
                "got %s, want %s...", out, ti_cases[_i].want);
  if (strstr(ti_cases[_i].want, "_h") == NULL)
    ck_assert_str_eq(out, ti_cases[_i].want);
  else /* the hash suffix keeps sanitised names apart */
    ck_assert_uint_eq(strlen(out), strlen(ti_cases[_i].want) + 8);
}
END_TEST

START_TEST(current_value_carries_the_identifier) {
  dw_sample_t s = {.type = DW_TYPE_COST,
                   .label = DW_LABEL_COSTS,
                   .values_len = 1,
                   .values = {29.63}};
  dw_dispatch_target_t t = target("this-month");
  ck_assert_int_eq(dw_dispatch_current(&t, &s, false), 0);
  ck_assert_uint_eq(standin_values_count(), 1);
  const standin_value_t *v = standin_value_at(0);
  ck_assert_str_eq(v->plugin, "digiwatt");
  ck_assert_str_eq(v->plugin_instance, "home");
  ck_assert_str_eq(v->type, "digiwatt_cost");
  ck_assert_str_eq(v->type_instance, "costs-this-month");
  ck_assert_uint_eq(v->time, NOW);
  ck_assert_uint_eq(v->interval, INTERVAL);
  ck_assert_uint_eq(v->values_len, 1);
  ck_assert_double_eq(v->values[0], 29.63);
}
END_TEST

START_TEST(performance_is_one_value_list_of_three) {
  dw_sample_t s = {.type = DW_TYPE_PERFORMANCE,
                   .label = DW_LABEL_PERFORMANCE,
                   .values_len = 3,
                   .values = {10, 130, NAN}};
  dw_dispatch_target_t t = target("yesterday");
  ck_assert_int_eq(dw_dispatch_current(&t, &s, false), 0);
  const standin_value_t *v = standin_find_value(
      "home", "digiwatt_performance_kwh", "performance-yesterday");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->values_len, 3);
  ck_assert_double_eq(v->values[0], 10);
  ck_assert_double_eq(v->values[1], 130);
  ck_assert(isnan(v->values[2]));
}
END_TEST

static void dispatch_history(dw_dispatch_target_t *t, int first, int last,
                             dw_month_mark_t *mark) {
  for (int m = first; m <= last; m++) {
    dw_sample_t s = {.type = DW_TYPE_ENERGY,
                     .label = DW_LABEL_CONSUMPTION_HISTORY,
                     .month = m,
                     .values_len = 1,
                     .values = {100.0 + m % 12}};
    ck_assert_int_eq(dispatch_sample(t, &s, m == last, mark), 0);
  }
}

static size_t count_type_instance(const char *ti) {
  size_t n = 0;
  for (size_t i = 0; i < standin_values_count(); i++)
    n += strcmp(standin_value_at(i)->type_instance, ti) == 0;
  return n;
}

START_TEST(months_go_out_once_oldest_first_one_per_cycle) {
  dw_month_mark_t mark = {0};
  dw_dispatch_target_t t = target(NULL);

  /* twelve cycles backfill twelve months, oldest first, one per cycle */
  for (int cycle = 0; cycle < 12; cycle++) {
    standin_reset();
    t.time = NOW + (uint64_t)cycle * INTERVAL;
    dispatch_history(&t, MONTH(2025, 11), MONTH(2026, 10), &mark);
    ck_assert_uint_eq(count_type_instance("consumption-history"), 1);
    ck_assert_uint_eq(count_type_instance("consumption-history-latest"), 1);
    const standin_value_t *v = standin_find_value("home", "digiwatt_energy_kwh",
                                                  "consumption-history");
    int month = MONTH(2025, 11) + cycle;
    ck_assert_uint_eq(v->time, (cdtime_t)dw_month_start_unix(month) << 30);
    ck_assert_double_eq(v->values[0], 100.0 + month % 12);
    const standin_value_t *latest = standin_find_value(
        "home", "digiwatt_energy_kwh", "consumption-history-latest");
    ck_assert_uint_eq(latest->time, t.time);
    ck_assert_double_eq(latest->values[0], 100.0 + MONTH(2026, 10) % 12);
  }
  ck_assert_uint_eq(
      standin_find_value("home", "digiwatt_energy_kwh", "consumption-history")
          ->time,
      (cdtime_t)1790812800 << 30);

  /* then only "-latest": nothing older ever reaches collectd's cache */
  standin_reset();
  t.time += INTERVAL;
  dispatch_history(&t, MONTH(2025, 11), MONTH(2026, 10), &mark);
  ck_assert_uint_eq(standin_values_count(), 1);
  ck_assert_str_eq(standin_value_at(0)->type_instance,
                   "consumption-history-latest");

  /* a new month goes out alone */
  standin_reset();
  t.time += INTERVAL;
  dispatch_history(&t, MONTH(2025, 12), MONTH(2026, 11), &mark);
  ck_assert_uint_eq(count_type_instance("consumption-history"), 1);
  ck_assert_uint_eq(
      standin_find_value("home", "digiwatt_energy_kwh", "consumption-history")
          ->time,
      (cdtime_t)1793491200 << 30);
  ck_assert_int_eq(mark.month, MONTH(2026, 11));
}
END_TEST

START_TEST(series_are_remembered_apart) {
  dw_month_mark_t marks[2] = {{0}};
  dw_dispatch_target_t t = target(NULL);
  const char *appliances[] = {"fridge", "standby"};
  for (int a = 0; a < 2; a++) {
    dw_sample_t s = {.type = DW_TYPE_ENERGY,
                     .label = DW_LABEL_YEARLY_DISTRIBUTION,
                     .appliance = appliances[a],
                     .month = MONTH(2026, 10),
                     .values_len = 1,
                     .values = {1}};
    ck_assert_int_eq(dispatch_sample(&t, &s, false, &marks[a]), 0);
  }
  ck_assert_uint_eq(standin_values_count(), 2);
  /* a month without its series' mark is refused, not sent */
  dw_sample_t orphan = {.type = DW_TYPE_ENERGY,
                        .label = DW_LABEL_YEARLY_COMPOUND,
                        .month = MONTH(2026, 10),
                        .values_len = 1};
  ck_assert_int_eq(dw_dispatch_month(&t, &orphan, NULL), -EINVAL);
  ck_assert_uint_eq(standin_values_count(), 2);
}
END_TEST

START_TEST(month_start_is_utc) {
  ck_assert_int_eq(dw_month_start_unix(MONTH(1970, 1)), 0);
  ck_assert_int_eq(dw_month_start_unix(MONTH(2000, 3)), 951868800);
  ck_assert_int_eq(dw_month_start_unix(MONTH(2024, 2)), 1706745600);
  ck_assert_int_eq(dw_month_start_unix(MONTH(2100, 12)), 4131302400);
}
END_TEST

START_TEST(a_refused_dispatch_is_reported) {
  standin_set_dispatch_status(-1);
  dw_sample_t s = {
      .type = DW_TYPE_COST, .label = DW_LABEL_SAVINGS, .values_len = 1};
  dw_dispatch_target_t t = target(NULL);
  ck_assert_int_ne(dw_dispatch_current(&t, &s, false), 0);
}
END_TEST

START_TEST(longest_identifier_fits) {
  char name[300];
  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  dw_month_mark_t mark = {0};
  dw_dispatch_target_t t = target("last-seven-days");
  dw_sample_t s = {.type = DW_TYPE_ENERGY,
                   .label = DW_LABEL_YEARLY_COMPOUND_TOTAL,
                   .appliance = name,
                   .month = MONTH(2026, 1),
                   .values_len = 1};
  ck_assert_int_eq(dispatch_sample(&t, &s, true, &mark), 0);
  const standin_value_t *v = standin_value_at(0);
  ck_assert_ptr_nonnull(v);
  size_t len = strlen(v->type_instance);
  ck_assert_uint_lt(len, DATA_MAX_NAME_LEN);
  ck_assert_str_eq(v->type_instance + len - 7, "-latest");
}
END_TEST

int main(void) {
  Suite *s = suite_create("dispatch");
  TCase *tc = tcase_create("dispatch");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, type_instance_follows_the_table, 0,
                      sizeof(ti_cases) / sizeof(ti_cases[0]));
  tcase_add_test(tc, current_value_carries_the_identifier);
  tcase_add_test(tc, performance_is_one_value_list_of_three);
  tcase_add_test(tc, months_go_out_once_oldest_first_one_per_cycle);
  tcase_add_test(tc, series_are_remembered_apart);
  tcase_add_test(tc, month_start_is_utc);
  tcase_add_test(tc, a_refused_dispatch_is_reported);
  tcase_add_test(tc, longest_identifier_fits);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
