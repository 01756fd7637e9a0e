/* check_dispatch.c - the dispatcher: identifiers, month stamps, "-latest". */
#include "dw_decode.h"
#include "dw_dispatch.h"
#include "name_gen.h"
#include "run_suite.h"
#include "stand_in.h"
#include "text_buf.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
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
 * "-latest" twin), then the month against the series' mark. The value
 * lists dispatched, or a negative errno. */
static int dispatch_sample(const dw_dispatch_target_t *t, const dw_sample_t *s,
                           bool latest, dw_month_mark_t *mark) {
  int now = dw_dispatch_current(t, s, latest);
  if (now < 0 || s->month == 0)
    return now;
  int month = dw_dispatch_month(t, s, mark);
  return month < 0 ? month : now + month;
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
  ck_assert_int_eq(dw_dispatch_current(&t, &s, false), 1);
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
  ck_assert_int_eq(dw_dispatch_current(&t, &s, false), 1);
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
  size_t before = standin_values_count(), sent = 0;
  for (int m = first; m <= last; m++) {
    dw_sample_t s = {.type = DW_TYPE_ENERGY,
                     .label = DW_LABEL_CONSUMPTION_HISTORY,
                     .month = m,
                     .values_len = 1,
                     .values = {100.0 + m % 12}};
    int n = dispatch_sample(t, &s, m == last, mark);
    ck_assert_int_ge(n, 0);
    sent += (size_t)n;
  }
  /* what they say they sent is what collectd got */
  ck_assert_uint_eq(standin_values_count() - before, sent);
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
    ck_assert_int_eq(dispatch_sample(&t, &s, false, &marks[a]), 1);
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

/* The month a time falls in: the inverse of month starts, to the second. */
START_TEST(month_of_a_time_is_utc) {
  for (int m = MONTH(1970, 1); m <= MONTH(2400, 12); m++) {
    int64_t start = dw_month_start_unix(m);
    ck_assert_int_eq(dw_month_of_unix(start), m);
    ck_assert_int_eq(dw_month_of_unix(start - 1), m - 1);
    ck_assert_int_eq(dw_month_of_unix(start + 27 * 86400 + 86399), m);
  }
  ck_assert_int_eq(dw_month_of_unix(1795000000), MONTH(2026, 11));
  ck_assert_int_eq(dw_month_of_unix(-1), MONTH(1969, 12));
}
END_TEST

START_TEST(a_refused_dispatch_is_reported) {
  standin_set_dispatch_status(-1);
  dw_sample_t s = {
      .type = DW_TYPE_COST, .label = DW_LABEL_SAVINGS, .values_len = 1};
  dw_dispatch_target_t t = target(NULL);
  ck_assert_int_lt(dw_dispatch_current(&t, &s, false), 0);
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
  ck_assert_int_eq(dispatch_sample(&t, &s, true, &mark), 2); /* twin, month */
  const standin_value_t *v = standin_value_at(0);
  ck_assert_ptr_nonnull(v);
  size_t len = strlen(v->type_instance);
  ck_assert_uint_lt(len, DATA_MAX_NAME_LEN);
  ck_assert_str_eq(v->type_instance + len - 7, "-latest");
}
END_TEST

/* --- the property: every input gets an identifier of its own ---------- */

/* The series of README's identifier table: what a sample's type and label
 * are, and whether its type_instance takes a period, an appliance and a
 * month (then it goes out month-stamped and as its "-latest" twin). */
static const struct {
  dw_type_t type;
  dw_label_t label;
  bool period, appliance, monthly;
} shapes[] = {
    {DW_TYPE_COST, DW_LABEL_COSTS, true, false, false},
    {DW_TYPE_TREND, DW_LABEL_COSTS, true, false, false},
    {DW_TYPE_ENERGY, DW_LABEL_CONSUMPTION, true, false, false},
    {DW_TYPE_TREND, DW_LABEL_CONSUMPTION, true, false, false},
    {DW_TYPE_ENERGY, DW_LABEL_DISTRIBUTION, true, true, false},
    {DW_TYPE_SHARE, DW_LABEL_DISTRIBUTION, true, true, false},
    {DW_TYPE_PERFORMANCE, DW_LABEL_PERFORMANCE, true, false, false},
    {DW_TYPE_ENERGY, DW_LABEL_SAVINGS, false, false, false},
    {DW_TYPE_COST, DW_LABEL_SAVINGS, false, false, false},
    {DW_TYPE_PERFORMANCE, DW_LABEL_SAVINGS, false, false, false},
    {DW_TYPE_ENERGY, DW_LABEL_SAVINGS, false, true, false},
    {DW_TYPE_COST, DW_LABEL_SAVINGS, false, true, false},
    {DW_TYPE_COST, DW_LABEL_SAVING_POTENTIAL, false, true, false},
    {DW_TYPE_ENERGY, DW_LABEL_CONSUMPTION_HISTORY, false, false, true},
    {DW_TYPE_COST, DW_LABEL_COSTS_FORECAST, false, false, false},
    {DW_TYPE_COST, DW_LABEL_COSTS_HISTORY, false, false, true},
    {DW_TYPE_ENERGY, DW_LABEL_YEARLY_DISTRIBUTION, false, true, true},
    {DW_TYPE_ENERGY, DW_LABEL_YEARLY_COMPOUND, false, false, true},
    {DW_TYPE_ENERGY, DW_LABEL_YEARLY_COMPOUND_TOTAL, false, false, true},
    {DW_TYPE_ENERGY, DW_LABEL_DISAGGREGATION, true, true, false},
    {DW_TYPE_COST, DW_LABEL_DISAGGREGATION, true, true, false},
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

static const char *const periods[] = {"yesterday",  "last-seven-days",
                                      "this-week",  "last-week",
                                      "this-month", "last-month"};
#define N_PERIODS (sizeof(periods) / sizeof(periods[0]))
#define PROPERTY_MONTHS 2 /* two months of each month series */

/* One dispatched value: its identifier and time, and the input it came
 * from (shape, period, name, month; month -1 for a "-latest" twin). */
typedef struct key {
  char id[160];
  unsigned shape, period, name;
  int month;
} id_key_t;

typedef struct keys {
  id_key_t *at;
  size_t len, cap;
} keys_t;

static void keys_add(keys_t *k, const id_key_t *key) {
  if (k->len == k->cap) {
    k->cap = k->cap ? 2 * k->cap : 4096;
    k->at = realloc(k->at, k->cap * sizeof(*k->at));
    ck_assert_ptr_nonnull(k->at);
  }
  k->at[k->len++] = *key;
}

/* type/type_instance@time of one sample, as collectd would key it. */
static void add_value(keys_t *k, unsigned shape, unsigned period, unsigned name,
                      const char *appliance) {
  dw_sample_t s = {.type = shapes[shape].type,
                   .label = shapes[shape].label,
                   .appliance = appliance,
                   .values_len = 1};
  char ti[DATA_MAX_NAME_LEN];
  dw_dispatch_type_instance(ti, sizeof(ti), &s,
                            shapes[shape].period ? periods[period] : NULL);
  id_key_t key = {.shape = shape, .period = period, .name = name, .month = 0};
  if (!shapes[shape].monthly) {
    snprintf(key.id, sizeof(key.id), "%s/%s@now", dw_type_name(s.type), ti);
    keys_add(k, &key);
    return;
  }
  for (int m = 0; m < PROPERTY_MONTHS; m++) {
    key.month = MONTH(2026, 1) + m;
    snprintf(key.id, sizeof(key.id), "%s/%s@%lld", dw_type_name(s.type), ti,
             (long long)dw_month_start_unix(key.month));
    keys_add(k, &key);
  }
  key.month = -1;
  snprintf(key.id, sizeof(key.id), "%s/%s-latest@now", dw_type_name(s.type),
           ti);
  keys_add(k, &key);
}

static void add_series(keys_t *k, const char *const *appliances, size_t n) {
  for (unsigned sh = 0; sh < N_SHAPES; sh++)
    for (unsigned p = 0; p < (shapes[sh].period ? N_PERIODS : 1); p++)
      for (unsigned a = 0; a < (shapes[sh].appliance ? n : 1); a++)
        add_value(k, sh, p, a, shapes[sh].appliance ? appliances[a] : NULL);
}

static int by_id(const void *x, const void *y) {
  return strcmp(((const id_key_t *)x)->id, ((const id_key_t *)y)->id);
}

/* Fails when two different inputs share an identifier and time. */
static void check_unique(keys_t *k, const char *const *appliances) {
  qsort(k->at, k->len, sizeof(*k->at), by_id);
  for (size_t i = 1; i < k->len; i++) {
    const id_key_t *a = &k->at[i - 1], *b = &k->at[i];
    if (strcmp(a->id, b->id) != 0)
      continue;
    char x[DW_SHOWN_SIZE], y[DW_SHOWN_SIZE];
    ck_abort_msg(
        "%s twice: appliance \"%s\" (month %d) and \"%s\" (month %d)", a->id,
        dw_name_shown(x, shapes[a->shape].appliance ? appliances[a->name]
                                                    : "(none)"),
        a->month,
        dw_name_shown(y, shapes[b->shape].appliance ? appliances[b->name]
                                                    : "(none)"),
        b->month);
  }
}

/* --- the names as a decoder hands them on --------------------------- */

typedef struct carried {
  char **names;
  size_t len, cap;
} carried_t;

static int keep_carried(void *ud, const dw_sample_t *s) {
  carried_t *c = ud;
  if (c->len == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->names = realloc(c->names, c->cap * sizeof(*c->names));
    ck_assert_ptr_nonnull(c->names);
  }
  c->names[c->len] = strdup(s->appliance);
  ck_assert_ptr_nonnull(c->names[c->len++]);
  return 0;
}

/* name as a JSON string: quotes, backslashes and control bytes (NUL too)
 * escaped, every other byte as it is. */
static void put_json_string(text_t *t, const char *name, size_t len) {
  text_puts(t, "\"");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    char buf[8];
    if (c < 0x20 || c == '"' || c == '\\')
      snprintf(buf, sizeof(buf), "\\u%04x", c);
    else
      snprintf(buf, sizeof(buf), "%c", c);
    text_puts(t, buf);
  }
  text_puts(t, "\"");
}

/* Decodes one disaggregation body naming each of the n names once. */
static void decode_names(const char *const *names, const size_t *lens, size_t n,
                         carried_t *out) {
  text_t body = {0};
  text_puts(&body, "[");
  for (size_t i = 0; i < n; i++) {
    text_puts(&body, i > 0 ? ",{\"appliance\":" : "{\"appliance\":");
    put_json_string(&body, names[i], lens[i]);
    text_puts(&body, ",\"value\":1}");
  }
  text_puts(&body, "]");
  dw_dec_t *d = dw_dec_create(DW_RES_DISAGGREGATION, NULL);
  ck_assert_ptr_nonnull(d);
  size_t before = out->len;
  int rc = dw_dec_feed(d, body.data, body.len);
  if (rc == 0)
    rc = dw_dec_finish(d, keep_carried, out);
  ck_assert_msg(rc == 0, "%s", dw_dec_error(d));
  ck_assert_uint_eq(out->len - before, n);
  dw_dec_destroy(d);
  free(body.data);
}

#define LONG_LEN 1500 /* past the decoders' 1024-byte string limit */

/* Names past the string limit that differ late, hold a NUL, or are the
 * literal of another one's hashed form. */
static void decode_long_names(carried_t *out) {
  static char a[LONG_LEN], b[LONG_LEN], c[LONG_LEN], d[LONG_LEN];
  memset(a, 'L', sizeof(a));
  memcpy(b, a, sizeof(b));
  b[LONG_LEN - 1] = 'M';
  memcpy(c, a, sizeof(c));
  c[1200] = '\0';
  memcpy(d, a, sizeof(d));
  d[30] = ' ';
  char safe_a[64];
  dw_name_safe_n(safe_a, sizeof(safe_a), a, sizeof(a));
  const char *names[] = {a, b, c, d, safe_a};
  size_t lens[] = {sizeof(a), sizeof(b), sizeof(c), sizeof(d), strlen(safe_a)};
  decode_names(names, lens, 5, out);
}

/* Every generated name (but the empty one) through the decoder. */
static void carry_names(const gen_name_t *names, size_t n, carried_t *out) {
  const char **batch = calloc(n, sizeof(*batch));
  size_t *lens = calloc(n, sizeof(*lens));
  ck_assert(batch != NULL && lens != NULL);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (names[i].len == 0)
      continue;
    batch[k] = names[i].text;
    lens[k++] = names[i].len;
    if (k == 4000 || i == n - 1) /* an array holds at most 4096 entries */
      decode_names(batch, lens, k, out), k = 0;
  }
  if (k > 0)
    decode_names(batch, lens, k, out);
  decode_long_names(out);
  free(batch);
  free(lens);
}

/* Names an API could send, each decoded as it would be, then every
 * identifier and time of the README table built from them: no two
 * inputs share one. */
START_TEST(identifiers_are_injective) {
  size_t n;
  gen_name_t *names = gen_names(1000, 0x2545f4914f6cdd1dull, &n);
  carried_t carried = {0};
  carry_names(names, n, &carried);
  ck_assert_uint_gt(carried.len, 2000);
  keys_t k = {0};
  add_series(&k, (const char *const *)carried.names, carried.len);
  check_unique(&k, (const char *const *)carried.names);
  free(k.at);
  for (size_t i = 0; i < carried.len; i++)
    free(carried.names[i]);
  free(carried.names);
  free(names);
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
  tcase_add_test(tc, month_of_a_time_is_utc);
  tcase_add_test(tc, a_refused_dispatch_is_reported);
  tcase_add_test(tc, longest_identifier_fits);
  tcase_add_test(tc, identifiers_are_injective);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
