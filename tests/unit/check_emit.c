/* check_emit.c - which of a slot's samples go out, and when (dw_emit), and
 * the month marks behind it (dw_cache's months), against the recording
 * stand-in of plugin_dispatch_values. */
#include "dw_cache.h"
#include "dw_emit.h"
#include "dw_roster.h"
#include "run_suite.h"
#include "stand_in.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define NOW ((uint64_t)1795000000 << 30)
#define READ_INTERVAL ((uint64_t)10 << 30)
#define MONTH(y, m) ((y)*12 + (m)-1)
#define S(text) ((char *)(text))

static long refresh_ms[DW_RES_COUNT];

static dw_emit_t emitter(bool repeat, bool monthly) {
  for (int r = 0; r < DW_RES_COUNT; r++)
    refresh_ms[r] = 6 * 3600 * 1000L;
  return (dw_emit_t){.account = "a",
                     .repeat_cached = repeat,
                     .monthly_history = monthly,
                     .refresh_ms = refresh_ms};
}

/* One meter with the consumption-history slot only. */
static dw_roster_t one_slot(void) {
  dw_meter_cfg_t meter = {.id = S("m"),
                          .instance = S("home"),
                          .resources = 1u << DW_RES_CONSUMPTION_HISTORY,
                          .periods = 1};
  dw_account_cfg_t cfg = {.name = S("a"), .meters = &meter, .meters_len = 1};
  dw_roster_t r;
  ck_assert_int_eq(dw_roster_build(&r, &cfg, NULL), 0);
  ck_assert_uint_eq(r.slots_len, 1);
  return r;
}

/* A response of months first..last (and one current value), stored in the
 * slot as the account stores it. */
static void respond(dw_slot_t *s, int first, int last, const char *appliance) {
  dw_cache_t fresh = {0};
  for (int m = last; m >= first; m--) {
    dw_sample_t x = {.type = DW_TYPE_ENERGY,
                     .label = DW_LABEL_YEARLY_DISTRIBUTION,
                     .appliance = appliance,
                     .month = m,
                     .values_len = 1,
                     .values = {m}};
    ck_assert_int_eq(dw_cache_add(&fresh, &x), 0);
  }
  dw_sample_t now = {.type = DW_TYPE_COST,
                     .label = DW_LABEL_COSTS_FORECAST,
                     .values_len = 1,
                     .values = {9}};
  ck_assert_int_eq(dw_cache_add(&fresh, &now), 0);
  ck_assert_int_eq(dw_cache_seal(&fresh), 0);
  ck_assert_int_eq(dw_months_adopt(&s->months, &fresh), 0);
  dw_cache_clear(&s->cache);
  s->cache = fresh;
}

static size_t count(const char *type_instance_prefix, bool month_stamped) {
  size_t n = 0;
  for (size_t i = 0; i < standin_values_count(); i++) {
    const standin_value_t *v = standin_value_at(i);
    bool stamped = v->time < NOW - ((uint64_t)86400 << 30);
    n += strncmp(v->type_instance, type_instance_prefix,
                 strlen(type_instance_prefix)) == 0 &&
         stamped == month_stamped;
  }
  return n;
}

START_TEST(a_response_goes_out_once_with_its_refresh_interval) {
  dw_roster_t r = one_slot();
  dw_emit_t e = emitter(false, true);
  dw_slot_t *s = &r.slots[0];
  respond(s, MONTH(2025, 11), MONTH(2026, 10), "fridge");
  dw_emit_arrival(&e, &r, s, NOW, READ_INTERVAL);
  ck_assert_uint_eq(count("costs-forecast", false), 1);
  ck_assert_uint_eq(count("yearly-distribution-fridge-latest", false), 1);
  ck_assert_uint_eq(count("yearly-distribution-fridge", true), 1);
  const standin_value_t *v =
      standin_find_value("home", "digiwatt_cost", "costs-forecast");
  ck_assert_uint_eq(v->interval, (uint64_t)6 * 3600 << 30);
  ck_assert_uint_eq(v->time, NOW);
  /* the rest of the cycle sends nothing more */
  dw_emit_cycle(&e, &r, NOW, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), 3);
  dw_roster_free(&r);
}
END_TEST

/* The months of a response backfill one per cycle, oldest first, while
 * the current values stay silent; then nothing is pending. */
START_TEST(months_backfill_one_per_cycle) {
  dw_roster_t r = one_slot();
  dw_emit_t e = emitter(false, true);
  dw_slot_t *s = &r.slots[0];
  respond(s, MONTH(2025, 11), MONTH(2026, 10), "fridge");
  dw_emit_arrival(&e, &r, s, NOW, READ_INTERVAL);
  for (int cycle = 1; cycle < 12; cycle++) {
    standin_reset();
    ck_assert(s->months_pending);
    dw_emit_cycle(&e, &r, NOW + (uint64_t)cycle * READ_INTERVAL, READ_INTERVAL);
    ck_assert_uint_eq(standin_values_count(), 1);
    ck_assert_double_eq(standin_value_at(0)->values[0],
                        MONTH(2025, 11) + cycle);
  }
  ck_assert(!s->months_pending);
  standin_reset();
  dw_emit_cycle(&e, &r, NOW + 12 * READ_INTERVAL, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), 0);
  /* the next response brings one new month: only it goes out */
  respond(s, MONTH(2025, 12), MONTH(2026, 11), "fridge");
  dw_emit_arrival(&e, &r, s, NOW + 13 * READ_INTERVAL, READ_INTERVAL);
  ck_assert_uint_eq(count("yearly-distribution-fridge", true), 1);
  ck_assert_double_eq(standin_find_value("home", "digiwatt_energy_kwh",
                                         "yearly-distribution-fridge")
                          ->values[0],
                      MONTH(2026, 11));
  dw_roster_free(&r);
}
END_TEST

/* A series no response names any more is forgotten: the marks are
 * bounded by the latest response, whatever names churn. */
START_TEST(month_marks_are_bounded_by_the_latest_response) {
  dw_roster_t r = one_slot();
  dw_slot_t *s = &r.slots[0];
  char name[32];
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "appliance-%d", i);
    respond(s, MONTH(2026, 1), MONTH(2026, 3), name);
    ck_assert_uint_eq(s->months.len, 1);
  }
  /* a series that stays keeps its mark across responses */
  dw_month_mark_t *m = dw_months_at(&s->months, 0);
  m->month = MONTH(2026, 2);
  respond(s, MONTH(2026, 1), MONTH(2026, 4), name);
  ck_assert_int_eq(dw_months_at(&s->months, 0)->month, MONTH(2026, 2));
  ck_assert_ptr_null(dw_months_at(&s->months, 1));
  dw_roster_free(&r);
}
END_TEST

START_TEST(repeat_cached_sends_everything_each_cycle) {
  dw_roster_t r = one_slot();
  dw_emit_t e = emitter(true, true);
  dw_slot_t *s = &r.slots[0];
  respond(s, MONTH(2026, 9), MONTH(2026, 10), "fridge");
  dw_emit_arrival(&e, &r, s, NOW, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), 0); /* the cycle sends */
  for (int cycle = 0; cycle < 3; cycle++) {
    standin_reset();
    dw_emit_cycle(&e, &r, NOW + (uint64_t)cycle * READ_INTERVAL, READ_INTERVAL);
    ck_assert_uint_eq(count("costs-forecast", false), 1);
    ck_assert_uint_eq(count("yearly-distribution-fridge-latest", false), 1);
    ck_assert_uint_eq(
        standin_find_value("home", "digiwatt_cost", "costs-forecast")->interval,
        READ_INTERVAL);
  }
  dw_roster_free(&r);
}
END_TEST

START_TEST(monthly_history_off_leaves_only_latest) {
  dw_roster_t r = one_slot();
  dw_emit_t e = emitter(false, false);
  dw_slot_t *s = &r.slots[0];
  respond(s, MONTH(2025, 11), MONTH(2026, 10), "fridge");
  dw_emit_arrival(&e, &r, s, NOW, READ_INTERVAL);
  dw_emit_cycle(&e, &r, NOW + READ_INTERVAL, READ_INTERVAL);
  ck_assert_uint_eq(count("yearly-distribution-fridge", true), 0);
  ck_assert_uint_eq(count("yearly-distribution-fridge-latest", false), 1);
  ck_assert(!s->months_pending);
  dw_roster_free(&r);
}
END_TEST

/* Values a slot holds but never sent (restored at start) go out once,
 * at the next cycle. */
START_TEST(unsent_values_go_out_at_the_next_cycle) {
  dw_roster_t r = one_slot();
  dw_emit_t e = emitter(false, true);
  dw_slot_t *s = &r.slots[0];
  respond(s, MONTH(2026, 10), MONTH(2026, 10), "fridge");
  s->unsent = true;
  dw_emit_cycle(&e, &r, NOW, READ_INTERVAL);
  ck_assert_uint_eq(count("costs-forecast", false), 1);
  standin_reset();
  dw_emit_cycle(&e, &r, NOW + READ_INTERVAL, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), 0);
  dw_roster_free(&r);
}
END_TEST

/* A big dispatch (a restart's cached values) pauses after every
 * DW_EMIT_PACE_EVERY values dispatched, so collectd's write queue is not
 * filled faster than its write threads empty it. Samples only looked at
 * (a backfill walks every month to send one) are not counted: a small
 * dispatch never pauses. */
static int pauses;

static void count_pause(void *ud) {
  (void)ud;
  pauses++;
}

#define PACED_METERS 1000

START_TEST(a_big_dispatch_pauses_a_small_one_does_not) {
  static dw_meter_cfg_t meters[PACED_METERS];
  static char ids[PACED_METERS][8];
  for (int i = 0; i < PACED_METERS; i++) {
    snprintf(ids[i], sizeof(ids[i]), "m%d", i);
    meters[i] = (dw_meter_cfg_t){.id = ids[i],
                                 .instance = ids[i],
                                 .resources = 1u << DW_RES_CONSUMPTION_HISTORY,
                                 .periods = 1};
  }
  dw_account_cfg_t cfg = {
      .name = S("a"), .meters = meters, .meters_len = PACED_METERS};
  dw_roster_t r;
  ck_assert_int_eq(dw_roster_build(&r, &cfg, NULL), 0);
  dw_emit_t e = emitter(false, true);
  e.pace = count_pause;
  pauses = 0;
  /* slots of 13 samples, restored: the forecast, the -latest twin and
   * the oldest month of each go out, 3 values a slot */
  for (size_t i = 0; i < r.slots_len; i++) {
    respond(&r.slots[i], MONTH(2025, 12), MONTH(2026, 11), "fridge");
    r.slots[i].unsent = true;
  }
  dw_emit_cycle(&e, &r, NOW, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), PACED_METERS * 3);
  ck_assert_int_eq(pauses, PACED_METERS * 3 / DW_EMIT_PACE_EVERY);
  /* the next cycle sends one month a slot (1000 values, 13000 samples
   * looked at): no pause */
  standin_reset();
  pauses = 0;
  dw_emit_cycle(&e, &r, NOW + READ_INTERVAL, READ_INTERVAL);
  ck_assert_uint_eq(standin_values_count(), PACED_METERS);
  ck_assert_int_eq(pauses, 0);
  dw_roster_free(&r);
}
END_TEST

static Suite *emit_suite(void) {
  Suite *s = suite_create("emit");
  TCase *tc = tcase_create("emit");
  tcase_add_checked_fixture(tc, standin_reset, standin_reset);
  tcase_add_test(tc, a_response_goes_out_once_with_its_refresh_interval);
  tcase_add_test(tc, months_backfill_one_per_cycle);
  tcase_add_test(tc, month_marks_are_bounded_by_the_latest_response);
  tcase_add_test(tc, repeat_cached_sends_everything_each_cycle);
  tcase_add_test(tc, monthly_history_off_leaves_only_latest);
  tcase_add_test(tc, unsent_values_go_out_at_the_next_cycle);
  tcase_add_test(tc, a_big_dispatch_pauses_a_small_one_does_not);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(emit_suite()); }
