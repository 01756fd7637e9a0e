/* dw_decode.c - one decoder per Digiwatt resource, on top of dw_json.
 *
 * Finish runs in three passes over a complete tree: walk it and collect
 * every sample (failing on the first wrong shape), reject duplicate
 * identifiers, and only then hand the samples to the sink. A response that
 * fails any check therefore emits nothing.
 *
 * Error messages name where the problem is ("entry 3: member 'value'") and
 * what was found ("a string"), never a value from the body. Appliance names
 * that come from object keys are body text too, so they are referred to by
 * their position ("member 4"). */
#include "dw_decode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEC_ERROR_BYTES 256
#define PATH_BYTES 96
#define MONTH_YEAR_MIN 1970
#define MONTH_YEAR_MAX 9999
#define WH_PER_KWH 1000.0
#define MAX_POS_DEPTH 2

struct dw_dec {
  dw_resource_t resource;
  dw_json_parser_t *json;
  bool finished;
  int err;
  char errbuf[DEC_ERROR_BYTES];
};

/* A collected sample and where it came from, for the duplicate report. */
typedef struct rec {
  dw_sample_t sample;
  size_t seq; /* collection order */
  size_t pos_depth;
  size_t pos[MAX_POS_DEPTH]; /* entry indexes, outermost first */
} rec_t;

typedef struct walk {
  dw_dec_t *d;
  rec_t *recs;
  size_t len;
  size_t cap;
  size_t pos_depth;
  size_t pos[MAX_POS_DEPTH];
  size_t path_len;
  char path[PATH_BYTES]; /* "entry 3: member 'values'", for messages */
} walk_t;

/* What each_entry() passes on to a per-entry function. */
typedef struct series {
  const char *type;
  const char *label;
  const char *appliance;
} series_t;

typedef int (*entry_fn_t)(walk_t *w, const dw_json_t *entry,
                          const series_t *series);

/* Records the first error only, prefixed with the resource's slug. */
__attribute__((format(printf, 3, 4))) static int
dec_fail(dw_dec_t *d, int err, const char *format, ...) {
  if (d->err != 0)
    return d->err;
  d->err = err;
  int n = snprintf(d->errbuf, sizeof(d->errbuf),
                   "%s: ", dw_resource_info(d->resource)->slug);
  if (n < 0 || (size_t)n >= sizeof(d->errbuf))
    return err;
  va_list ap;
  va_start(ap, format);
  vsnprintf(d->errbuf + n, sizeof(d->errbuf) - (size_t)n, format, ap);
  va_end(ap);
  return err;
}

/* A shape error at the current path. */
__attribute__((format(printf, 2, 3))) static int
walk_fail(walk_t *w, const char *format, ...) {
  char what[DEC_ERROR_BYTES];
  va_list ap;
  va_start(ap, format);
  vsnprintf(what, sizeof(what), format, ap);
  va_end(ap);
  return dec_fail(w->d, -EINVAL, "%s%s%s", w->path, w->path_len ? ": " : "",
                  what);
}

/* Appends a segment to the path; returns the length to restore. */
__attribute__((format(printf, 2, 3))) static size_t
path_push(walk_t *w, const char *format, ...) {
  size_t old_len = w->path_len;
  size_t room = sizeof(w->path) - w->path_len;
  if (w->path_len > 0 && room > 2) {
    memcpy(w->path + w->path_len, ": ", 3);
    w->path_len += 2;
    room -= 2;
  }
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(w->path + w->path_len, room, format, ap);
  va_end(ap);
  if (n > 0)
    w->path_len += (size_t)n < room ? (size_t)n : room - 1;
  return old_len;
}

static void path_pop(walk_t *w, size_t old_len) {
  w->path_len = old_len;
  w->path[old_len] = '\0';
}

static const char *a_type(dw_json_type_t type) {
  switch (type) {
  case DW_JSON_NULL:
    return "null";
  case DW_JSON_BOOL:
    return "a boolean";
  case DW_JSON_NUMBER:
    return "a number";
  case DW_JSON_STRING:
    return "a string";
  case DW_JSON_ARRAY:
    return "an array";
  case DW_JSON_OBJECT:
    return "an object";
  }
  return "unknown";
}

static int wrong_type(walk_t *w, const char *what, const dw_json_t *found,
                      dw_json_type_t want) {
  return walk_fail(w, "%s is %s, expected %s", what, a_type(found->type),
                   a_type(want));
}

/* The member key of obj when it has type want; *out is NULL when the
 * member is null or absent (an error only when it is required). */
static int member(walk_t *w, const dw_json_t *obj, const char *key,
                  dw_json_type_t want, bool required, const dw_json_t **out) {
  const dw_json_t *m = dw_json_get(obj, key);
  *out = NULL;
  if (m == NULL)
    return required ? walk_fail(w, "member '%s' is missing", key) : 0;
  if (m->type == DW_JSON_NULL)
    return 0;
  if (m->type != want) {
    char what[64];
    snprintf(what, sizeof(what), "member '%s'", key);
    return wrong_type(w, what, m, want);
  }
  *out = m;
  return 0;
}

static int add_sample(walk_t *w, const dw_sample_t *sample) {
  if (w->len == w->cap) {
    size_t cap = w->cap == 0 ? 16 : w->cap * 2;
    rec_t *recs = realloc(w->recs, cap * sizeof(*recs));
    if (recs == NULL)
      return dec_fail(w->d, -ENOMEM, "out of memory");
    w->recs = recs;
    w->cap = cap;
  }
  rec_t *r = &w->recs[w->len];
  *r = (rec_t){.sample = *sample, .seq = w->len, .pos_depth = w->pos_depth};
  memcpy(r->pos, w->pos, sizeof(r->pos));
  w->len++;
  return 0;
}

/* One sample from the number member key of obj, divided by divisor (1000
 * turns Wh into kWh); nothing when the member is null or optional and
 * absent. */
static int add_member(walk_t *w, const dw_json_t *obj, const char *key,
                      bool required, const series_t *series, int month,
                      double divisor) {
  const dw_json_t *m;
  int rc = member(w, obj, key, DW_JSON_NUMBER, required, &m);
  if (rc != 0 || m == NULL)
    return rc;
  dw_sample_t s = {.type = series->type,
                   .label = series->label,
                   .appliance = series->appliance,
                   .month = month,
                   .values_len = 1,
                   .values = {m->u.number / divisor}};
  return add_sample(w, &s);
}

/* The (min, max, user) triple: each member required, a null one is NaN,
 * and all three null means no sample. */
static int add_triple(walk_t *w, const dw_json_t *obj, const char *label) {
  static const char *const keys[DW_SAMPLE_MAX_VALUES] = {
      "minConsumption", "maxConsumption", "userConsumption"};
  dw_sample_t s = {.type = DW_TYPE_PERFORMANCE,
                   .label = label,
                   .values_len = DW_SAMPLE_MAX_VALUES};
  size_t present = 0;
  for (size_t i = 0; i < DW_SAMPLE_MAX_VALUES; i++) {
    const dw_json_t *m;
    int rc = member(w, obj, keys[i], DW_JSON_NUMBER, true, &m);
    if (rc != 0)
      return rc;
    s.values[i] = m != NULL ? m->u.number : NAN;
    present += m != NULL;
  }
  return present > 0 ? add_sample(w, &s) : 0;
}

/* The entry's appliance, or NULL when it is null (skip the entry). */
static int appliance_of(walk_t *w, const dw_json_t *entry, const char **out) {
  const dw_json_t *m;
  int rc = member(w, entry, "appliance", DW_JSON_STRING, true, &m);
  *out = NULL;
  if (rc != 0 || m == NULL)
    return rc;
  if (m->u.string[0] == '\0')
    return walk_fail(w, "member 'appliance' is empty");
  *out = m->u.string;
  return 0;
}

/* The entry's month, or 0 when it is null or optional and absent. */
static int month_of(walk_t *w, const dw_json_t *entry, bool required,
                    int *out) {
  const dw_json_t *m;
  int rc = member(w, entry, "month", DW_JSON_STRING, required, &m);
  *out = 0;
  if (rc != 0 || m == NULL)
    return rc;
  if (dw_dec_parse_month(m->u.string, out) != 0)
    return walk_fail(w, "member 'month' is not a YYYY-MM month");
  return 0;
}

static int expect_type(walk_t *w, const dw_json_t *node, dw_json_type_t want) {
  return node->type == want ? 0 : wrong_type(w, "the document", node, want);
}

/* Calls fn for every object entry of array in order; null entries are
 * skipped, any other non-object is an error. */
static int each_entry(walk_t *w, const dw_json_t *array, entry_fn_t fn,
                      const series_t *series) {
  if (w->pos_depth >= MAX_POS_DEPTH)
    return walk_fail(w, "internal error: entries nested too deep");
  size_t depth = w->pos_depth++;
  int rc = 0;
  for (size_t i = 0; i < array->u.children.len && rc == 0; i++) {
    const dw_json_t *entry = array->u.children.items[i];
    w->pos[depth] = i;
    if (entry->type == DW_JSON_NULL)
      continue;
    size_t old_len = path_push(w, "entry %zu", i);
    if (entry->type != DW_JSON_OBJECT) {
      path_pop(w, old_len);
      char what[32];
      snprintf(what, sizeof(what), "entry %zu", i);
      rc = wrong_type(w, what, entry, DW_JSON_OBJECT);
      break;
    }
    rc = fn(w, entry, series);
    path_pop(w, old_len);
  }
  w->pos_depth = depth;
  w->pos[depth] = 0;
  return rc;
}

/* {value, previousPeriodValueTrend} of costs and consumption. */
static int walk_period_value(walk_t *w, const dw_json_t *root, const char *type,
                             const char *label) {
  const series_t value = {type, label, NULL};
  const series_t trend = {DW_TYPE_TREND, label, NULL};
  int rc = expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = add_member(w, root, "value", true, &value, 0, 1);
  if (rc == 0)
    rc = add_member(w, root, "previousPeriodValueTrend", false, &trend, 0, 1);
  return rc;
}

static int walk_costs(walk_t *w, const dw_json_t *root) {
  return walk_period_value(w, root, DW_TYPE_COST, "costs");
}

static int walk_consumption(walk_t *w, const dw_json_t *root) {
  return walk_period_value(w, root, DW_TYPE_ENERGY, "consumption");
}

/* {appliance, value, <extra>}: value as energy, extra as a second series. */
static int appliance_entry(walk_t *w, const dw_json_t *entry, const char *label,
                           const char *extra_key, const char *extra_type) {
  const char *app;
  int rc = appliance_of(w, entry, &app);
  if (rc != 0 || app == NULL)
    return rc;
  const series_t energy = {DW_TYPE_ENERGY, label, app};
  const series_t extra = {extra_type, label, app};
  rc = add_member(w, entry, "value", true, &energy, 0, 1);
  if (rc == 0)
    rc = add_member(w, entry, extra_key, false, &extra, 0, 1);
  return rc;
}

static int distribution_entry(walk_t *w, const dw_json_t *entry,
                              const series_t *unused) {
  (void)unused;
  return appliance_entry(w, entry, "distribution", "percentage", DW_TYPE_SHARE);
}

static int disaggregation_entry(walk_t *w, const dw_json_t *entry,
                                const series_t *unused) {
  (void)unused;
  return appliance_entry(w, entry, "disaggregation", "cost", DW_TYPE_COST);
}

static int walk_array(walk_t *w, const dw_json_t *root, entry_fn_t fn,
                      const series_t *series) {
  int rc = expect_type(w, root, DW_JSON_ARRAY);
  return rc != 0 ? rc : each_entry(w, root, fn, series);
}

static int walk_distribution(walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, distribution_entry, NULL);
}

static int walk_disaggregation(walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, disaggregation_entry, NULL);
}

static int walk_performance(walk_t *w, const dw_json_t *root) {
  int rc = expect_type(w, root, DW_JSON_OBJECT);
  return rc != 0 ? rc : add_triple(w, root, "performance");
}

/* An appliance member of savings; energy there is in Wh. */
static int savings_appliance(walk_t *w, const dw_json_t *obj) {
  if (obj->key[0] == '\0')
    return walk_fail(w, "the appliance name is empty");
  const series_t energy = {DW_TYPE_ENERGY, "savings", obj->key};
  const series_t cost = {DW_TYPE_COST, "savings", obj->key};
  const series_t potential = {DW_TYPE_COST, "saving-potential", obj->key};
  int rc =
      add_member(w, obj, "estimatedConsumption", false, &energy, 0, WH_PER_KWH);
  if (rc == 0)
    rc = add_member(w, obj, "estimatedCost", false, &cost, 0, 1);
  if (rc == 0)
    rc = add_member(w, obj, "savingPotential", false, &potential, 0, 1);
  return rc;
}

/* Every object member but "performance" is an appliance named by its key;
 * of repeated keys only the last counts, as with dw_json_get(). */
static int savings_appliances(walk_t *w, const dw_json_t *root) {
  for (size_t i = 0; i < root->u.children.len; i++) {
    const dw_json_t *m = root->u.children.items[i];
    if (m->type != DW_JSON_OBJECT || strcmp(m->key, "performance") == 0 ||
        dw_json_get(root, m->key) != m)
      continue;
    size_t old_len = path_push(w, "member %zu", i);
    int rc = savings_appliance(w, m);
    path_pop(w, old_len);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int walk_savings(walk_t *w, const dw_json_t *root) {
  const series_t energy = {DW_TYPE_ENERGY, "savings", NULL};
  const series_t cost = {DW_TYPE_COST, "savings", NULL};
  const dw_json_t *perf = NULL;
  int rc = expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = add_member(w, root, "estimatedConsumption", true, &energy, 0,
                    WH_PER_KWH);
  if (rc == 0)
    rc = add_member(w, root, "estimatedCost", true, &cost, 0, 1);
  if (rc == 0)
    rc = member(w, root, "performance", DW_JSON_OBJECT, false, &perf);
  if (rc == 0 && perf != NULL) {
    size_t old_len = path_push(w, "member 'performance'");
    rc = add_triple(w, perf, "savings");
    path_pop(w, old_len);
  }
  return rc != 0 ? rc : savings_appliances(w, root);
}

/* {month, value}: a null month skips the entry. */
static int monthly_entry(walk_t *w, const dw_json_t *entry,
                         const series_t *series) {
  int month;
  int rc = month_of(w, entry, true, &month);
  if (rc != 0 || month == 0)
    return rc;
  return add_member(w, entry, "value", true, series, month, 1);
}

static int walk_consumption_history(walk_t *w, const dw_json_t *root) {
  const series_t series = {DW_TYPE_ENERGY, "consumption-history", NULL};
  return walk_array(w, root, monthly_entry, &series);
}

/* The forecast is the current month's moving figure, so it goes out as a
 * current value (month 0); its month is still checked. */
static int walk_costs_history(walk_t *w, const dw_json_t *root) {
  const series_t forecast = {DW_TYPE_COST, "costs-forecast", NULL};
  const series_t history = {DW_TYPE_COST, "costs-history", NULL};
  const dw_json_t *f = NULL;
  const dw_json_t *costs = NULL;
  int rc = expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = member(w, root, "forecast", DW_JSON_OBJECT, false, &f);
  if (rc == 0 && f != NULL) {
    size_t old_len = path_push(w, "member 'forecast'");
    int month;
    rc = month_of(w, f, false, &month);
    if (rc == 0)
      rc = add_member(w, f, "value", false, &forecast, 0, 1);
    path_pop(w, old_len);
  }
  if (rc == 0)
    rc = member(w, root, "costs", DW_JSON_ARRAY, true, &costs);
  if (rc == 0 && costs != NULL) {
    size_t old_len = path_push(w, "member 'costs'");
    rc = each_entry(w, costs, monthly_entry, &history);
    path_pop(w, old_len);
  }
  return rc;
}

static int yearly_entry(walk_t *w, const dw_json_t *entry,
                        const series_t *unused) {
  (void)unused;
  const char *app;
  const dw_json_t *values;
  int rc = appliance_of(w, entry, &app);
  if (rc != 0 || app == NULL)
    return rc;
  rc = member(w, entry, "values", DW_JSON_ARRAY, true, &values);
  if (rc != 0 || values == NULL)
    return rc;
  const series_t series = {DW_TYPE_ENERGY, "yearly-distribution", app};
  size_t old_len = path_push(w, "member 'values'");
  rc = each_entry(w, values, monthly_entry, &series);
  path_pop(w, old_len);
  return rc;
}

static int walk_yearly_distribution(walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, yearly_entry, NULL);
}

static int compound_entry(walk_t *w, const dw_json_t *entry,
                          const series_t *unused) {
  (void)unused;
  const series_t value = {DW_TYPE_ENERGY, "yearly-compound", NULL};
  const series_t total = {DW_TYPE_ENERGY, "yearly-compound-total", NULL};
  int month;
  int rc = month_of(w, entry, true, &month);
  if (rc != 0 || month == 0)
    return rc;
  rc = add_member(w, entry, "value", true, &value, month, 1);
  if (rc == 0)
    rc = add_member(w, entry, "compoundValue", true, &total, month, 1);
  return rc;
}

static int walk_yearly_compound(walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, compound_entry, NULL);
}

typedef int (*walker_t)(walk_t *w, const dw_json_t *root);

static const walker_t walkers[DW_RES_COUNT] = {
    [DW_RES_COSTS] = walk_costs,
    [DW_RES_CONSUMPTION] = walk_consumption,
    [DW_RES_CONSUMPTION_DISTRIBUTION] = walk_distribution,
    [DW_RES_PERFORMANCE] = walk_performance,
    [DW_RES_SAVINGS] = walk_savings,
    [DW_RES_CONSUMPTION_HISTORY] = walk_consumption_history,
    [DW_RES_COSTS_HISTORY] = walk_costs_history,
    [DW_RES_YEARLY_CONSUMPTION_DISTRIBUTION] = walk_yearly_distribution,
    [DW_RES_YEARLY_COMPOUND_CONSUMPTION] = walk_yearly_compound,
    [DW_RES_DISAGGREGATION] = walk_disaggregation,
};

static int compare_text(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* Orders by identifier, then by collection order. */
static int compare_recs(const void *pa, const void *pb) {
  const rec_t *a = *(const rec_t *const *)pa;
  const rec_t *b = *(const rec_t *const *)pb;
  int c = strcmp(a->sample.type, b->sample.type);
  if (c == 0)
    c = strcmp(a->sample.label, b->sample.label);
  if (c == 0)
    c = compare_text(a->sample.appliance, b->sample.appliance);
  if (c == 0)
    c = (a->sample.month > b->sample.month) -
        (a->sample.month < b->sample.month);
  if (c == 0)
    c = (a->seq > b->seq) - (a->seq < b->seq);
  return c;
}

static void describe_pos(const rec_t *r, char *buf, size_t size) {
  if (r->pos_depth == 0)
    snprintf(buf, size, "the document");
  else if (r->pos_depth == 1)
    snprintf(buf, size, "entry %zu", r->pos[0]);
  else
    snprintf(buf, size, "entry %zu: member 'values': entry %zu", r->pos[0],
             r->pos[1]);
}

static int duplicate_error(dw_dec_t *d, const rec_t *first,
                           const rec_t *again) {
  char at_first[64];
  char at_again[64];
  describe_pos(first, at_first, sizeof(at_first));
  describe_pos(again, at_again, sizeof(at_again));
  const dw_sample_t *s = &again->sample;
  const char *same = s->appliance != NULL
                         ? (s->month != 0 ? "appliance and month" : "appliance")
                         : (s->month != 0 ? "month" : "value");
  return dec_fail(d, -EINVAL, "%s repeats %s (same %s for %s %s)", at_again,
                  at_first, same, s->type, s->label);
}

/* Two samples with one identifier would overwrite each other downstream. */
static int check_duplicates(walk_t *w) {
  if (w->len < 2)
    return 0;
  const rec_t **sorted = malloc(w->len * sizeof(*sorted));
  if (sorted == NULL)
    return dec_fail(w->d, -ENOMEM, "out of memory");
  for (size_t i = 0; i < w->len; i++)
    sorted[i] = &w->recs[i];
  qsort(sorted, w->len, sizeof(*sorted), compare_recs);
  int rc = 0;
  for (size_t i = 1; i < w->len && rc == 0; i++) {
    const dw_sample_t *a = &sorted[i - 1]->sample;
    const dw_sample_t *b = &sorted[i]->sample;
    if (strcmp(a->type, b->type) == 0 && strcmp(a->label, b->label) == 0 &&
        compare_text(a->appliance, b->appliance) == 0 && a->month == b->month)
      rc = duplicate_error(w->d, sorted[i - 1], sorted[i]);
  }
  free(sorted);
  return rc;
}

static int emit(walk_t *w, dw_sample_sink_t sink, void *ud) {
  for (size_t i = 0; i < w->len; i++) {
    int rc = sink(ud, &w->recs[i].sample);
    if (rc != 0)
      return dec_fail(w->d, rc < 0 ? rc : -EINVAL,
                      "the sample sink stopped at sample %zu (%d)", i, rc);
  }
  return 0;
}

dw_dec_t *dw_dec_create(dw_resource_t r, const dw_json_limits_t *limits) {
  if ((unsigned)r >= DW_RES_COUNT)
    return NULL;
  dw_dec_t *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return NULL;
  d->resource = r;
  d->json = dw_json_parser_create(limits);
  if (d->json == NULL) {
    free(d);
    return NULL;
  }
  return d;
}

void dw_dec_destroy(dw_dec_t *d) {
  if (d == NULL)
    return;
  dw_json_parser_destroy(d->json);
  free(d);
}

int dw_dec_feed(dw_dec_t *d, const void *buf, size_t len) {
  if (d->err != 0)
    return d->err;
  if (d->finished)
    return dec_fail(d, -EINVAL, "body fed after finish");
  int rc = dw_json_parser_feed(d->json, buf, len);
  if (rc != 0)
    return dec_fail(d, rc, "%s", dw_json_parser_error(d->json));
  return 0;
}

int dw_dec_finish(dw_dec_t *d, dw_sample_sink_t sink, void *ud) {
  if (d->err != 0)
    return d->err;
  if (d->finished)
    return dec_fail(d, -EINVAL, "finished twice");
  d->finished = true;
  int rc = dw_json_parser_finish(d->json);
  if (rc != 0)
    return dec_fail(d, rc, "%s", dw_json_parser_error(d->json));
  walk_t w = {.d = d};
  rc = walkers[d->resource](&w, dw_json_parser_root(d->json));
  if (rc == 0)
    rc = check_duplicates(&w);
  if (rc == 0)
    rc = emit(&w, sink, ud);
  free(w.recs);
  return rc;
}

const char *dw_dec_error(const dw_dec_t *d) {
  return d != NULL && d->err != 0 ? d->errbuf : NULL;
}

static int two_digits(const char *s) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

int dw_dec_parse_month(const char *text, int *out) {
  if (text == NULL || strnlen(text, 8) != 7 || text[4] != '-')
    return -EINVAL;
  int century = two_digits(text);
  int year_in_century = two_digits(text + 2);
  int month = two_digits(text + 5);
  if (century < 0 || year_in_century < 0 || month < 1 || month > 12)
    return -EINVAL;
  int year = century * 100 + year_in_century;
  if (year < MONTH_YEAR_MIN || year > MONTH_YEAR_MAX)
    return -EINVAL;
  *out = year * 12 + (month - 1);
  return 0;
}
