/* dw_decode.c - one decoder per Digiwatt resource, on top of dw_json.
 *
 * Finish runs in three passes over a complete tree: walk it and collect
 * every sample (failing on the first wrong shape), reject duplicate
 * identifiers, and only then hand the samples to the sink. A response that
 * fails any check therefore emits nothing.
 *
 * Appliance names that come from object keys are body text too, so they
 * are referred to by their position ("member 4"). */
#include "dw_decode.h"
#include "dw_walk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WH_PER_KWH 1000.0
#define WARNING_BYTES (DW_WALK_ERROR_BYTES + 64)

struct dw_dec {
  dw_resource_t resource;
  dw_json_parser_t *json;
  bool finished;
  dw_walk_error_t err;
  dw_walk_notes_t notes;
  char warning[WARNING_BYTES]; /* the notes' summary, after finish */
  int max_month;
};

/* {value, previousPeriodValueTrend} of costs and consumption. */
static int walk_period_value(dw_walk_t *w, const dw_json_t *root,
                             dw_type_t type, dw_label_t label) {
  const dw_series_t value = {type, label, NULL};
  const dw_series_t trend = {DW_TYPE_TREND, label, NULL};
  int rc = dw_walk_expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = dw_walk_add_member(w, root, "value", true, &value, 0, 1);
  if (rc == 0)
    rc = dw_walk_add_member(w, root, "previousPeriodValueTrend", false, &trend,
                            0, 1);
  return rc;
}

static int walk_costs(dw_walk_t *w, const dw_json_t *root) {
  return walk_period_value(w, root, DW_TYPE_COST, DW_LABEL_COSTS);
}

static int walk_consumption(dw_walk_t *w, const dw_json_t *root) {
  return walk_period_value(w, root, DW_TYPE_ENERGY, DW_LABEL_CONSUMPTION);
}

/* {appliance, value, <extra>}: value as energy, extra as a second series. */
static int appliance_entry(dw_walk_t *w, const dw_json_t *entry,
                           dw_label_t label, const char *extra_key,
                           dw_type_t extra_type) {
  const char *app;
  int rc = dw_walk_appliance_of(w, entry, &app);
  if (rc != 0 || app == NULL)
    return rc;
  const dw_series_t energy = {DW_TYPE_ENERGY, label, app};
  const dw_series_t extra = {extra_type, label, app};
  rc = dw_walk_add_member(w, entry, "value", true, &energy, 0, 1);
  if (rc == 0)
    rc = dw_walk_add_member(w, entry, extra_key, false, &extra, 0, 1);
  return rc;
}

static int distribution_entry(dw_walk_t *w, const dw_json_t *entry,
                              const dw_series_t *unused) {
  (void)unused;
  return appliance_entry(w, entry, DW_LABEL_DISTRIBUTION, "percentage",
                         DW_TYPE_SHARE);
}

static int disaggregation_entry(dw_walk_t *w, const dw_json_t *entry,
                                const dw_series_t *unused) {
  (void)unused;
  return appliance_entry(w, entry, DW_LABEL_DISAGGREGATION, "cost",
                         DW_TYPE_COST);
}

static int walk_array(dw_walk_t *w, const dw_json_t *root, dw_walk_entry_fn fn,
                      const dw_series_t *series) {
  int rc = dw_walk_expect_type(w, root, DW_JSON_ARRAY);
  return rc != 0 ? rc : dw_walk_each_entry(w, root, fn, series);
}

static int walk_distribution(dw_walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, distribution_entry, NULL);
}

static int walk_disaggregation(dw_walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, disaggregation_entry, NULL);
}

static int walk_performance(dw_walk_t *w, const dw_json_t *root) {
  int rc = dw_walk_expect_type(w, root, DW_JSON_OBJECT);
  return rc != 0 ? rc : dw_walk_add_triple(w, root, DW_LABEL_PERFORMANCE);
}

/* An appliance member of savings; energy there is in Wh. */
static int savings_appliance(dw_walk_t *w, const dw_json_t *obj) {
  const char *name;
  if (obj->key->whole_len == 0) {
    dw_walk_warn(w, "the appliance name is empty; skipped");
    return DW_WALK_SKIP;
  }
  int rc = dw_walk_name(w, obj->key, &name);
  if (rc != 0)
    return rc;
  const dw_series_t energy = {DW_TYPE_ENERGY, DW_LABEL_SAVINGS, name};
  const dw_series_t cost = {DW_TYPE_COST, DW_LABEL_SAVINGS, name};
  const dw_series_t potential = {DW_TYPE_COST, DW_LABEL_SAVING_POTENTIAL, name};
  rc = dw_walk_add_member(w, obj, "estimatedConsumption", false, &energy, 0,
                          WH_PER_KWH);
  if (rc == 0)
    rc = dw_walk_add_member(w, obj, "estimatedCost", false, &cost, 0, 1);
  if (rc == 0)
    rc = dw_walk_add_member(w, obj, "savingPotential", false, &potential, 0, 1);
  return rc;
}

/* True when no member after the i-th of obj has the same key. */
static bool last_of_its_key(const dw_json_t *obj, size_t i) {
  const dw_json_str_t *key = obj->u.children.items[i]->key;
  for (size_t j = i + 1; j < obj->u.children.len; j++)
    if (dw_json_str_equal(obj->u.children.items[j]->key, key))
      return false;
  return true;
}

/* Every object member but "performance" is an appliance named by its key;
 * of repeated keys only the last counts, as with dw_json_get(). */
static int savings_appliances(dw_walk_t *w, const dw_json_t *root) {
  for (size_t i = 0; i < root->u.children.len; i++) {
    const dw_json_t *m = root->u.children.items[i];
    if (m->type != DW_JSON_OBJECT || dw_json_str_is(m->key, "performance") ||
        !last_of_its_key(root, i))
      continue;
    size_t old_len = dw_walk_path_push(w, "member %zu", i);
    size_t kept = w->len;
    int rc = savings_appliance(w, m);
    dw_walk_path_pop(w, old_len);
    if (rc == DW_WALK_SKIP)
      w->len = kept;
    else if (rc != 0)
      return rc;
  }
  return 0;
}

static int walk_savings(dw_walk_t *w, const dw_json_t *root) {
  const dw_series_t energy = {DW_TYPE_ENERGY, DW_LABEL_SAVINGS, NULL};
  const dw_series_t cost = {DW_TYPE_COST, DW_LABEL_SAVINGS, NULL};
  const dw_json_t *perf = NULL;
  int rc = dw_walk_expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = dw_walk_add_member(w, root, "estimatedConsumption", true, &energy, 0,
                            WH_PER_KWH);
  if (rc == 0)
    rc = dw_walk_add_member(w, root, "estimatedCost", true, &cost, 0, 1);
  if (rc == 0)
    rc = dw_walk_member(w, root, "performance", DW_JSON_OBJECT, false, &perf);
  if (rc == 0 && perf != NULL) {
    size_t old_len = dw_walk_path_push(w, "member 'performance'");
    rc = dw_walk_add_triple(w, perf, DW_LABEL_SAVINGS);
    dw_walk_path_pop(w, old_len);
    if (rc == DW_WALK_SKIP) /* a member missing: the triple is left out */
      rc = 0;
  }
  return rc != 0 ? rc : savings_appliances(w, root);
}

/* {month, value}: a null month skips the entry. */
static int monthly_entry(dw_walk_t *w, const dw_json_t *entry,
                         const dw_series_t *series) {
  int month;
  int rc = dw_walk_month_of(w, entry, true, &month);
  if (rc != 0 || month == 0)
    return rc;
  return dw_walk_add_member(w, entry, "value", true, series, month, 1);
}

static int walk_consumption_history(dw_walk_t *w, const dw_json_t *root) {
  const dw_series_t series = {DW_TYPE_ENERGY, DW_LABEL_CONSUMPTION_HISTORY,
                              NULL};
  return walk_array(w, root, monthly_entry, &series);
}

/* The forecast is the current month's moving figure, so it goes out as a
 * current value (month 0); its month is still checked. */
static int walk_costs_history(dw_walk_t *w, const dw_json_t *root) {
  const dw_series_t forecast = {DW_TYPE_COST, DW_LABEL_COSTS_FORECAST, NULL};
  const dw_series_t history = {DW_TYPE_COST, DW_LABEL_COSTS_HISTORY, NULL};
  const dw_json_t *f = NULL;
  const dw_json_t *costs = NULL;
  int rc = dw_walk_expect_type(w, root, DW_JSON_OBJECT);
  if (rc == 0)
    rc = dw_walk_member(w, root, "forecast", DW_JSON_OBJECT, false, &f);
  if (rc == 0 && f != NULL) {
    size_t old_len = dw_walk_path_push(w, "member 'forecast'");
    int month;
    rc = dw_walk_month_of(w, f, false, &month);
    if (rc == 0)
      rc = dw_walk_add_member(w, f, "value", false, &forecast, 0, 1);
    dw_walk_path_pop(w, old_len);
    if (rc == DW_WALK_SKIP) /* a bad month: the forecast is left out */
      rc = 0;
  }
  if (rc == 0)
    rc = dw_walk_member(w, root, "costs", DW_JSON_ARRAY, true, &costs);
  if (rc == 0 && costs != NULL) {
    size_t old_len = dw_walk_path_push(w, "member 'costs'");
    rc = dw_walk_each_entry(w, costs, monthly_entry, &history);
    dw_walk_path_pop(w, old_len);
  }
  return rc;
}

static int yearly_entry(dw_walk_t *w, const dw_json_t *entry,
                        const dw_series_t *unused) {
  (void)unused;
  const char *app;
  const dw_json_t *values;
  int rc = dw_walk_appliance_of(w, entry, &app);
  if (rc != 0 || app == NULL)
    return rc;
  rc = dw_walk_member(w, entry, "values", DW_JSON_ARRAY, true, &values);
  if (rc != 0 || values == NULL)
    return rc;
  const dw_series_t series = {DW_TYPE_ENERGY, DW_LABEL_YEARLY_DISTRIBUTION,
                              app};
  size_t old_len = dw_walk_path_push(w, "member 'values'");
  rc = dw_walk_each_entry(w, values, monthly_entry, &series);
  dw_walk_path_pop(w, old_len);
  return rc;
}

static int walk_yearly_distribution(dw_walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, yearly_entry, NULL);
}

static int compound_entry(dw_walk_t *w, const dw_json_t *entry,
                          const dw_series_t *unused) {
  (void)unused;
  const dw_series_t value = {DW_TYPE_ENERGY, DW_LABEL_YEARLY_COMPOUND, NULL};
  const dw_series_t total = {DW_TYPE_ENERGY, DW_LABEL_YEARLY_COMPOUND_TOTAL,
                             NULL};
  int month;
  int rc = dw_walk_month_of(w, entry, true, &month);
  if (rc != 0 || month == 0)
    return rc;
  rc = dw_walk_add_member(w, entry, "value", true, &value, month, 1);
  if (rc == 0)
    rc = dw_walk_add_member(w, entry, "compoundValue", true, &total, month, 1);
  return rc;
}

static int walk_yearly_compound(dw_walk_t *w, const dw_json_t *root) {
  return walk_array(w, root, compound_entry, NULL);
}

typedef int (*walker_t)(dw_walk_t *w, const dw_json_t *root);

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

dw_dec_t *dw_dec_create(dw_resource_t r, const dw_json_limits_t *limits) {
  if ((unsigned)r >= DW_RES_COUNT)
    return NULL;
  dw_dec_t *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return NULL;
  d->resource = r;
  d->max_month = DW_WALK_MONTH_MAX;
  d->err.prefix = dw_resource_info(r)->slug;
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
  if (d->err.code != 0)
    return d->err.code;
  if (d->finished)
    return dw_walk_error_set(&d->err, -EINVAL, "body fed after finish");
  int rc = dw_json_parser_feed(d->json, buf, len);
  if (rc != 0)
    return dw_walk_error_set(&d->err, rc, "%s", dw_json_parser_error(d->json));
  return 0;
}

/* One line for a log: the first note and how many followed it. */
static void summarise_notes(dw_dec_t *d) {
  if (d->notes.count == 1)
    snprintf(d->warning, sizeof(d->warning), "%s: %s", d->err.prefix,
             d->notes.first);
  else
    snprintf(d->warning, sizeof(d->warning), "%s: %s (and %zu more)",
             d->err.prefix, d->notes.first, d->notes.count - 1);
}

int dw_dec_finish(dw_dec_t *d, dw_sample_sink_t sink, void *ud) {
  if (d->err.code != 0)
    return d->err.code;
  if (d->finished)
    return dw_walk_error_set(&d->err, -EINVAL, "finished twice");
  d->finished = true;
  int rc = dw_json_parser_finish(d->json);
  if (rc != 0)
    return dw_walk_error_set(&d->err, rc, "%s", dw_json_parser_error(d->json));
  dw_walk_t w = {.err = &d->err, .notes = &d->notes, .max_month = d->max_month};
  rc = walkers[d->resource](&w, dw_json_parser_root(d->json));
  if (rc > 0) /* a skip is answered where entries are walked, never here */
    rc = dw_walk_fail(&w, "internal error: the document was skipped");
  if (rc == 0)
    rc = dw_walk_check_duplicates(&w);
  if (rc == 0)
    rc = dw_walk_emit(&w, sink, ud);
  dw_walk_free(&w);
  if (rc == 0 && d->notes.count > 0)
    summarise_notes(d);
  return rc;
}

const char *dw_dec_error(const dw_dec_t *d) {
  return d != NULL && d->err.code != 0 ? d->err.text : NULL;
}

void dw_dec_set_max_month(dw_dec_t *d, int max_month) {
  d->max_month = max_month < DW_WALK_MONTH_MAX ? max_month : DW_WALK_MONTH_MAX;
}

const char *dw_dec_warning(const dw_dec_t *d) {
  return dw_dec_warnings(d) > 0 ? d->warning : NULL;
}

size_t dw_dec_warnings(const dw_dec_t *d) {
  return d != NULL && d->finished && d->err.code == 0 ? d->notes.count : 0;
}

int dw_dec_parse_month(const char *text, int *out) {
  return dw_walk_parse_month(text, out);
}
