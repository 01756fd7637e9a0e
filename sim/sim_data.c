/* sim_data.c - deterministic, plausible Digiwatt figures.
 *
 * One draw() maps a key to a uniform number in [lo, hi): FNV-1a 64 over
 * the key fields joined by 0x1f, a 64-bit finalizer so nearby keys land
 * far apart, then the top 53 bits. Figures that the API relates are
 * derived, not drawn: costs are consumption times the price, percentages
 * come from the same shares as the values, compound values are running
 * sums of the listed monthly values. */
#include "sim_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_APPLIANCES 16

static const char *const res_slugs[SIM_RES_COUNT] = {
    [SIM_RES_COSTS] = "costs",
    [SIM_RES_CONSUMPTION] = "consumption",
    [SIM_RES_CONSUMPTION_DISTRIBUTION] = "consumption-distribution",
    [SIM_RES_PERFORMANCE] = "performance",
    [SIM_RES_SAVINGS] = "savings",
    [SIM_RES_CONSUMPTION_HISTORY] = "consumption-history",
    [SIM_RES_COSTS_HISTORY] = "costs-history",
    [SIM_RES_YEARLY_CONSUMPTION_DISTRIBUTION] =
        "yearly-consumption-distribution",
    [SIM_RES_YEARLY_COMPOUND_CONSUMPTION] = "yearly-compound-consumption",
    [SIM_RES_DISAGGREGATION] = "disaggregation",
};

static const char *const period_names[SIM_PERIOD_COUNT] = {
    "yesterday", "last-seven-days", "this-week",
    "last-week", "this-month",      "last-month"};

/* Nominal days per period, fixed so values do not move with the date. */
static const double period_days[SIM_PERIOD_COUNT] = {1, 7, 4, 7, 15, 30};

static const char *const standard_appliances[] = {
    "fridge", "washingMachine", "dishwasher", "standby", "Water heater"};

#define LONG10 "long-name-"
#define LONG50 LONG10 LONG10 LONG10 LONG10 LONG10

/* Names that break naive identifier building: separators, dots, path
 * traversal, non-ASCII, control characters, 200 bytes, pairs that differ
 * only in characters a sanitiser would replace, a name that is the
 * literal of another one's hashed form, and a name that ends in the
 * suffix of a month series' twin. */
static const char *const odd_appliances[] = {
    "Water heater",
    "Water_heater",
    "Water_heater_h7b3b47f5", /* the hashed form of "Water heater" */
    "fridge",
    "fridge-latest",
    "Water/heater",
    "heat.pump",
    "../etc/passwd",
    ".hidden",
    "K\xc3\xbc"
    "che K\xc3\xbchlschrank \xe2\x98\x95",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "tab\there",
    "bell\aring",
    "quote\"back\\slash",
    LONG50 LONG50 LONG50 LONG50,
};

typedef struct draw_key {
  const char *meter;
  const char *res;
  const char *period;
  const char *field;
  const char *appliance;
  int month; /* year * 12 + month - 1, or -1 */
} draw_key_t;

uint64_t sim_fnv1a(const void *p, size_t n, uint64_t h) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t key_hash(const draw_key_t *k) {
  const char *parts[] = {k->meter, k->res, k->period, k->field, k->appliance};
  uint64_t h = SIM_FNV_OFFSET;
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    const char *s = parts[i] != NULL ? parts[i] : "";
    h = sim_fnv1a(s, strlen(s), h);
    h = sim_fnv1a("\x1f", 1, h);
  }
  char month[16];
  int n = snprintf(month, sizeof(month), "%d", k->month);
  return sim_fnv1a(month, (size_t)n, h);
}

static double draw(const draw_key_t *k, double lo, double hi) {
  uint64_t h = key_hash(k);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return lo + (hi - lo) * ((double)(h >> 11) * 0x1.0p-53);
}

#define DRAW(lo, hi, ...) draw(&(draw_key_t){__VA_ARGS__}, (lo), (hi))

static double round2(double v) { return round(v * 100.0) / 100.0; }

static double round_wh(double wh) { return round(wh / 100.0) * 100.0; }

int sim_res_from_slug(const char *slug) {
  for (int r = 0; r < SIM_RES_COUNT; r++)
    if (strcmp(slug, res_slugs[r]) == 0)
      return r;
  return -1;
}

const char *sim_res_slug(sim_res_t r) { return res_slugs[r]; }

bool sim_res_has_period(sim_res_t r) {
  return r == SIM_RES_COSTS || r == SIM_RES_CONSUMPTION ||
         r == SIM_RES_CONSUMPTION_DISTRIBUTION || r == SIM_RES_PERFORMANCE ||
         r == SIM_RES_DISAGGREGATION;
}

bool sim_res_has_appliances(sim_res_t r) {
  return r == SIM_RES_CONSUMPTION_DISTRIBUTION || r == SIM_RES_DISAGGREGATION ||
         r == SIM_RES_YEARLY_CONSUMPTION_DISTRIBUTION;
}

int sim_period_from_name(const char *name) {
  for (int p = 0; p < SIM_PERIOD_COUNT; p++)
    if (strcmp(name, period_names[p]) == 0)
      return p;
  return -1;
}

static bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

int sim_date_parse(const char *text, sim_date_t *out) {
  int y, m, d, end = 0;
  if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
    return -EINVAL;
  if (sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &end) != 3 || end != 10)
    return -EINVAL;
  if (y < 1971 || y > 9999 || m < 1 || m > 12 || d < 1 ||
      d > days_in_month(y, m))
    return -EINVAL;
  *out = (sim_date_t){y, m, d};
  return 0;
}

sim_date_t sim_date_today_utc(void) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  return (sim_date_t){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

static void month_text(int month, char *out, size_t out_size) {
  snprintf(out, out_size, "%04d-%02d", month / 12, month % 12 + 1);
}

static double daily_kwh(const char *meter) {
  return DRAW(6, 18, meter, "meter", "", "daily-kwh", NULL, -1);
}

static double period_consumption(const char *meter, int p) {
  double factor = DRAW(0.85, 1.15, meter, "consumption", period_names[p],
                       "value", NULL, -1);
  return round2(daily_kwh(meter) * period_days[p] * factor);
}

/* One meter in eight has no previous week to compare this week with. */
static bool trend_is_null(const char *meter, int p) {
  return p == SIM_PERIOD_THIS_WEEK &&
         sim_fnv1a(meter, strlen(meter), SIM_FNV_OFFSET) % 8 == 0;
}

static double period_trend(const char *meter, int p) {
  return round2(
      DRAW(-30, 30, meter, "consumption", period_names[p], "trend", NULL, -1));
}

/* Winter months consume more: +25 % in January, -25 % in July. */
static double month_consumption(const char *meter, int month) {
  int m = month % 12;
  double season = 1.0 + 0.25 * cos(2.0 * M_PI * m / 12.0);
  double factor = DRAW(0.85, 1.15, meter, "month", "", "value", NULL, month);
  return round2(daily_kwh(meter) * days_in_month(month / 12, m + 1) * season *
                factor);
}

static void appliance_names(const sim_query_t *q, const char *const **names,
                            size_t *len) {
  if (q->odd_appliances) {
    *names = odd_appliances;
    *len = sizeof(odd_appliances) / sizeof(odd_appliances[0]);
  } else {
    *names = standard_appliances;
    *len = sizeof(standard_appliances) / sizeof(standard_appliances[0]);
  }
}

/* Shares of each appliance (summing to 1) for a period or a month. */
static void appliance_shares(const sim_query_t *q, const char *const *names,
                             size_t len, const char *period, int month,
                             double *share) {
  double sum = 0;
  for (size_t i = 0; i < len; i++) {
    share[i] =
        DRAW(1, 10, q->meter, "appliance", period, "weight", names[i], month);
    sum += share[i];
  }
  for (size_t i = 0; i < len; i++)
    share[i] /= sum;
}

static void write_month_value(sim_jw_t *w, int month, double value) {
  char text[16];
  month_text(month, text, sizeof(text));
  sim_jw_obj_begin(w);
  sim_jw_key(w, "month");
  sim_jw_string(w, text);
  sim_jw_key(w, "value");
  sim_jw_number(w, value);
  sim_jw_obj_end(w);
}

static void render_period_value(sim_jw_t *w, const sim_query_t *q, bool costs) {
  double value = period_consumption(q->meter, q->period);
  sim_jw_obj_begin(w);
  sim_jw_key(w, "value");
  sim_jw_number(w, costs ? round2(value * SIM_PRICE_PER_KWH) : value);
  sim_jw_key(w, "previousPeriodValueTrend");
  if (trend_is_null(q->meter, q->period))
    sim_jw_null(w);
  else
    sim_jw_number(w, period_trend(q->meter, q->period));
  sim_jw_obj_end(w);
}

/* consumption-distribution (value, percentage) and disaggregation
 * (value, cost) share one split of the period's consumption. */
static void render_appliance_split(sim_jw_t *w, const sim_query_t *q,
                                   bool with_cost) {
  const char *const *names;
  size_t len;
  double share[MAX_APPLIANCES];
  appliance_names(q, &names, &len);
  appliance_shares(q, names, len, period_names[q->period], -1, share);
  double total = period_consumption(q->meter, q->period);
  sim_jw_arr_begin(w);
  for (size_t i = 0; i < len; i++) {
    double value = round2(total * share[i]);
    sim_jw_obj_begin(w);
    sim_jw_key(w, "appliance");
    sim_jw_string(w, names[i]);
    sim_jw_key(w, "value");
    sim_jw_number(w, value);
    sim_jw_key(w, with_cost ? "cost" : "percentage");
    sim_jw_number(w, with_cost ? round2(value * SIM_PRICE_PER_KWH)
                               : round2(share[i] * 100.0));
    sim_jw_obj_end(w);
  }
  sim_jw_arr_end(w);
}

/* Similar users span 30-80 % below to 130-250 % above this user. */
static void write_performance(sim_jw_t *w, const char *meter,
                              const char *period, double user) {
  double lo = DRAW(0.3, 0.8, meter, "performance", period, "min", NULL, -1);
  double hi = DRAW(1.3, 2.5, meter, "performance", period, "max", NULL, -1);
  sim_jw_obj_begin(w);
  sim_jw_key(w, "minConsumption");
  sim_jw_number(w, round2(user * lo));
  sim_jw_key(w, "maxConsumption");
  sim_jw_number(w, round2(user * hi));
  sim_jw_key(w, "userConsumption");
  sim_jw_number(w, user);
  sim_jw_obj_end(w);
}

static void write_saving(sim_jw_t *w, const char *meter, const char *name,
                         double wh) {
  double cost = round2(wh / 1000.0 * SIM_PRICE_PER_KWH);
  double potential =
      DRAW(0.1, 0.5, meter, "savings", "", "potential", name, -1);
  sim_jw_key(w, name);
  sim_jw_obj_begin(w);
  sim_jw_key(w, "estimatedConsumption");
  sim_jw_number(w, wh);
  sim_jw_key(w, "estimatedCost");
  sim_jw_number(w, cost);
  sim_jw_key(w, "savingPotential");
  sim_jw_number(w, round2(cost * potential));
  sim_jw_obj_end(w);
}

static void render_savings(sim_jw_t *w, const sim_query_t *q) {
  static const char *const names[] = {"washingMachine", "dishwasher", "fridge",
                                      "standby"};
  const char *m = q->meter;
  double total_wh =
      round_wh(daily_kwh(m) * 30.0 * 1000.0 *
               DRAW(0.9, 1.1, m, "savings", "", "total", NULL, -1));
  /* "other" keeps the four named appliances below the total. */
  double weight[4], sum = DRAW(2, 8, m, "savings", "", "weight", "other", -1);
  for (size_t i = 0; i < 4; i++) {
    weight[i] = DRAW(1, 10, m, "savings", "", "weight", names[i], -1);
    sum += weight[i];
  }
  sim_jw_obj_begin(w);
  sim_jw_key(w, "estimatedConsumption");
  sim_jw_number(w, total_wh);
  sim_jw_key(w, "estimatedCost");
  sim_jw_number(w, round2(total_wh / 1000.0 * SIM_PRICE_PER_KWH));
  sim_jw_key(w, "performance");
  write_performance(w, m, "last-30-days", round2(total_wh / 1000.0));
  for (size_t i = 0; i < 4; i++)
    write_saving(w, m, names[i], round_wh(total_wh * weight[i] / sum));
  sim_jw_obj_end(w);
}

static int today_month(const sim_query_t *q) {
  return q->today.year * 12 + q->today.month - 1;
}

static void render_consumption_history(sim_jw_t *w, const sim_query_t *q) {
  int now = today_month(q);
  sim_jw_arr_begin(w);
  for (int m = now - 12; m < now; m++)
    write_month_value(w, m, month_consumption(q->meter, m));
  sim_jw_arr_end(w);
}

static void render_costs_history(sim_jw_t *w, const sim_query_t *q) {
  int now = today_month(q);
  sim_jw_obj_begin(w);
  sim_jw_key(w, "forecast");
  write_month_value(
      w, now, round2(month_consumption(q->meter, now) * SIM_PRICE_PER_KWH));
  sim_jw_key(w, "costs");
  sim_jw_arr_begin(w);
  for (int m = now - 12; m < now; m++)
    write_month_value(
        w, m, round2(month_consumption(q->meter, m) * SIM_PRICE_PER_KWH));
  sim_jw_arr_end(w);
  sim_jw_obj_end(w);
}

static void render_yearly_distribution(sim_jw_t *w, const sim_query_t *q) {
  const char *const *names;
  size_t len;
  double share[12][MAX_APPLIANCES];
  int now = today_month(q);
  appliance_names(q, &names, &len);
  for (int k = 0; k < 12; k++)
    appliance_shares(q, names, len, "", now - 12 + k, share[k]);
  sim_jw_arr_begin(w);
  for (size_t i = 0; i < len; i++) {
    sim_jw_obj_begin(w);
    sim_jw_key(w, "appliance");
    sim_jw_string(w, names[i]);
    sim_jw_key(w, "values");
    sim_jw_arr_begin(w);
    for (int k = 0; k < 12; k++) {
      int m = now - 12 + k;
      write_month_value(w, m,
                        round2(month_consumption(q->meter, m) * share[k][i]));
    }
    sim_jw_arr_end(w);
    sim_jw_obj_end(w);
  }
  sim_jw_arr_end(w);
}

static void render_yearly_compound(sim_jw_t *w, const sim_query_t *q) {
  int now = today_month(q);
  double compound = 0;
  char text[16];
  sim_jw_arr_begin(w);
  for (int m = now - 12; m < now; m++) {
    double value = month_consumption(q->meter, m);
    compound = round2(compound + value);
    month_text(m, text, sizeof(text));
    sim_jw_obj_begin(w);
    sim_jw_key(w, "month");
    sim_jw_string(w, text);
    sim_jw_key(w, "value");
    sim_jw_number(w, value);
    sim_jw_key(w, "compoundValue");
    sim_jw_number(w, compound);
    sim_jw_obj_end(w);
  }
  sim_jw_arr_end(w);
}

void sim_data_render(sim_jw_t *w, const sim_query_t *q) {
  switch (q->res) {
  case SIM_RES_COSTS:
  case SIM_RES_CONSUMPTION:
    render_period_value(w, q, q->res == SIM_RES_COSTS);
    break;
  case SIM_RES_CONSUMPTION_DISTRIBUTION:
  case SIM_RES_DISAGGREGATION:
    render_appliance_split(w, q, q->res == SIM_RES_DISAGGREGATION);
    break;
  case SIM_RES_PERFORMANCE:
    write_performance(w, q->meter, period_names[q->period],
                      period_consumption(q->meter, q->period));
    break;
  case SIM_RES_SAVINGS:
    render_savings(w, q);
    break;
  case SIM_RES_CONSUMPTION_HISTORY:
    render_consumption_history(w, q);
    break;
  case SIM_RES_COSTS_HISTORY:
    render_costs_history(w, q);
    break;
  case SIM_RES_YEARLY_CONSUMPTION_DISTRIBUTION:
    render_yearly_distribution(w, q);
    break;
  case SIM_RES_YEARLY_COMPOUND_CONSUMPTION:
    render_yearly_compound(w, q);
    break;
  case SIM_RES_COUNT:
    break;
  }
}
