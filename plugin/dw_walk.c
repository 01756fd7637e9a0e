/* dw_walk.c - walking a JSON tree into sample records (see dw_walk.h).
 *
 * Error messages name where the problem is ("entry 3: member 'value'") and
 * what was found ("a string"), never a value from the body. */
#include "dw_walk.h"
#include "dw_name.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONTH_YEAR_MIN 1970
#define MONTH_YEAR_MAX 9999

int dw_walk_error_set(dw_walk_error_t *e, int code, const char *format, ...) {
  if (e->code != 0)
    return e->code;
  e->code = code;
  int n = snprintf(e->text, sizeof(e->text), "%s: ", e->prefix);
  if (n < 0 || (size_t)n >= sizeof(e->text))
    return code;
  va_list ap;
  va_start(ap, format);
  vsnprintf(e->text + n, sizeof(e->text) - (size_t)n, format, ap);
  va_end(ap);
  return code;
}

/* A shape error at the current path. */
__attribute__((format(printf, 2, 3))) int
dw_walk_fail(dw_walk_t *w, const char *format, ...) {
  char what[DW_WALK_ERROR_BYTES];
  va_list ap;
  va_start(ap, format);
  vsnprintf(what, sizeof(what), format, ap);
  va_end(ap);
  return dw_walk_error_set(w->err, -EINVAL, "%s%s%s", w->path,
                           w->path_len ? ": " : "", what);
}

/* Appends a segment to the path; returns the length to restore. */
__attribute__((format(printf, 2, 3))) size_t
dw_walk_path_push(dw_walk_t *w, const char *format, ...) {
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

void dw_walk_path_pop(dw_walk_t *w, size_t old_len) {
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

/* Notes a part of the response left out, at the current path: the first
 * note is kept whole, the others counted. */
__attribute__((format(printf, 2, 3))) void
dw_walk_warn(dw_walk_t *w, const char *format, ...) {
  if (w->notes->count++ > 0)
    return;
  /* what fits beside the longest path */
  char what[DW_WALK_ERROR_BYTES - DW_WALK_PATH_BYTES - 2];
  va_list ap;
  va_start(ap, format);
  vsnprintf(what, sizeof(what), format, ap);
  va_end(ap);
  snprintf(w->notes->first, sizeof(w->notes->first), "%s%s%s", w->path,
           w->path_len ? ": " : "", what);
}

/* What is wrong with a member that holds what it must not: fails the
 * response at the document's own level, skips what holds it deeper. */
static int refuse(dw_walk_t *w, const char *what) {
  if (w->path_len == 0)
    return dw_walk_fail(w, "%s", what);
  dw_walk_warn(w, "%s; skipped", what);
  return DW_WALK_SKIP;
}

/* The member key of obj when it has type want; *out is NULL when the
 * member is null, absent and optional, or optional of another type (left
 * out with a note). A required one absent or of another type: refuse(). */
int dw_walk_member(dw_walk_t *w, const dw_json_t *obj, const char *key,
                   dw_json_type_t want, bool required, const dw_json_t **out) {
  const dw_json_t *m = dw_json_get(obj, key);
  char what[DW_WALK_ERROR_BYTES];
  *out = NULL;
  if (m == NULL && !required)
    return 0;
  if (m == NULL) {
    snprintf(what, sizeof(what), "member '%s' is missing", key);
    return refuse(w, what);
  }
  if (m->type == DW_JSON_NULL)
    return 0;
  if (m->type == want) {
    *out = m;
    return 0;
  }
  snprintf(what, sizeof(what), "member '%s' is %s, expected %s", key,
           a_type(m->type), a_type(want));
  if (required)
    return refuse(w, what);
  dw_walk_warn(w, "%s; left out", what);
  return 0;
}

/* The value of a number member: a JSON number, or a string that is all a
 * number (as some servers send them). *present is false when the member
 * is null, absent and optional, or holds anything else or a number out of
 * the range of a double (left out with a note). */
int dw_walk_number(dw_walk_t *w, const dw_json_t *obj, const char *key,
                   bool required, double *out, bool *present) {
  const dw_json_t *m = dw_json_get(obj, key);
  *present = false;
  if (m == NULL || m->type == DW_JSON_NULL) {
    const dw_json_t *unused;
    return dw_walk_member(w, obj, key, DW_JSON_NUMBER, required, &unused);
  }
  const dw_json_str_t *text = m->type == DW_JSON_STRING ? m->u.string : NULL;
  if (text != NULL && !text->numeral) {
    dw_walk_warn(w, "member '%s' is a string, not a number; left out", key);
    return 0;
  }
  if (m->type != DW_JSON_NUMBER && text == NULL) {
    dw_walk_warn(w, "member '%s' is %s, expected a number; left out", key,
                 a_type(m->type));
    return 0;
  }
  double value = text != NULL ? text->number : m->u.number;
  if (!isfinite(value)) {
    dw_walk_warn(w, "member '%s' is out of the range of a double; left out",
                 key);
    return 0;
  }
  *out = value;
  *present = true;
  return 0;
}

static int add_sample(dw_walk_t *w, const dw_sample_t *sample) {
  if (w->len == w->cap) {
    size_t cap = w->cap == 0 ? 16 : w->cap * 2;
    dw_walk_rec_t *recs = realloc(w->recs, cap * sizeof(*recs));
    if (recs == NULL)
      return dw_walk_error_set(w->err, -ENOMEM, "out of memory");
    w->recs = recs;
    w->cap = cap;
  }
  dw_walk_rec_t *r = &w->recs[w->len];
  *r = (dw_walk_rec_t){
      .sample = *sample, .seq = w->len, .pos_depth = w->pos_depth};
  memcpy(r->pos, w->pos, sizeof(r->pos));
  w->len++;
  return 0;
}

/* One sample from the number member key of obj, divided by divisor (1000
 * turns Wh into kWh); nothing when the member is null, optional and
 * absent, or left out. */
int dw_walk_add_member(dw_walk_t *w, const dw_json_t *obj, const char *key,
                       bool required, const dw_series_t *series, int month,
                       double divisor) {
  double value;
  bool present;
  int rc = dw_walk_number(w, obj, key, required, &value, &present);
  if (rc != 0 || !present)
    return rc;
  dw_sample_t s = {.type = series->type,
                   .label = series->label,
                   .appliance = series->appliance,
                   .month = month,
                   .values_len = 1,
                   .values = {value / divisor}};
  return add_sample(w, &s);
}

/* The (min, max, user) triple: each member required, one that is null or
 * left out is NaN, and none present means no sample. */
int dw_walk_add_triple(dw_walk_t *w, const dw_json_t *obj, dw_label_t label) {
  static const char *const keys[DW_SAMPLE_MAX_VALUES] = {
      "minConsumption", "maxConsumption", "userConsumption"};
  dw_sample_t s = {.type = DW_TYPE_PERFORMANCE,
                   .label = label,
                   .values_len = DW_SAMPLE_MAX_VALUES};
  size_t present = 0;
  for (size_t i = 0; i < DW_SAMPLE_MAX_VALUES; i++) {
    bool here;
    int rc = dw_walk_number(w, obj, keys[i], true, &s.values[i], &here);
    if (rc != 0)
      return rc;
    if (!here)
      s.values[i] = NAN;
    present += here;
  }
  return present > 0 ? add_sample(w, &s) : 0;
}

int dw_walk_name(dw_walk_t *w, const dw_json_str_t *s, const char **out) {
  if (dw_json_str_plain(s)) {
    *out = s->bytes;
    return 0;
  }
  if (w->digests_len == w->digests_cap) {
    size_t cap = w->digests_cap == 0 ? 4 : w->digests_cap * 2;
    char **digests = realloc(w->digests, cap * sizeof(*digests));
    if (digests == NULL)
      return dw_walk_error_set(w->err, -ENOMEM, "out of memory");
    w->digests = digests;
    w->digests_cap = cap;
  }
  char *digest = malloc(DW_NAME_DIGEST_SIZE);
  if (digest == NULL)
    return dw_walk_error_set(w->err, -ENOMEM, "out of memory");
  w->digests[w->digests_len++] = digest;
  *out = dw_name_digest(digest, s->bytes, s->len, s->hash);
  return 0;
}

/* The entry's appliance, or NULL when it is null (skip the entry). */
int dw_walk_appliance_of(dw_walk_t *w, const dw_json_t *entry,
                         const char **out) {
  const dw_json_t *m;
  int rc = dw_walk_member(w, entry, "appliance", DW_JSON_STRING, true, &m);
  *out = NULL;
  if (rc != 0 || m == NULL)
    return rc;
  if (m->u.string->whole_len == 0)
    return refuse(w, "member 'appliance' is empty");
  return dw_walk_name(w, m->u.string, out);
}

/* The entry's month, or 0 when it is null or optional and absent. */
int dw_walk_month_of(dw_walk_t *w, const dw_json_t *entry, bool required,
                     int *out) {
  *out = 0;
  if (!required && dw_json_get(entry, "month") == NULL)
    return 0;
  /* present, a month of the wrong type is as bad as a malformed one */
  const dw_json_t *m;
  int rc = dw_walk_member(w, entry, "month", DW_JSON_STRING, true, &m);
  if (rc != 0 || m == NULL)
    return rc;
  if (!dw_json_str_plain(m->u.string) ||
      dw_walk_parse_month(m->u.string->bytes, out) != 0)
    return refuse(w, "member 'month' is not a YYYY-MM month");
  if (*out < DW_WALK_MONTH_MIN || *out > w->max_month) {
    /* far off months would poison the series: cdtime_t overflows past
     * 2378, and a month never goes back, so no later one would go out */
    char what[80];
    snprintf(what, sizeof(what),
             "member 'month' is outside %04d-%02d..%04d-%02d",
             DW_WALK_MONTH_MIN / 12, DW_WALK_MONTH_MIN % 12 + 1,
             w->max_month / 12, w->max_month % 12 + 1);
    *out = 0;
    return refuse(w, what);
  }
  return 0;
}

int dw_walk_expect_type(dw_walk_t *w, const dw_json_t *node,
                        dw_json_type_t want) {
  if (node->type == want)
    return 0;
  return dw_walk_fail(w, "the document is %s, expected %s", a_type(node->type),
                      a_type(want));
}

/* One entry: fn's samples are kept unless it skips the entry. */
static int walk_entry(dw_walk_t *w, const dw_json_t *entry, size_t i,
                      dw_walk_entry_fn fn, const dw_series_t *series) {
  size_t old_len = dw_walk_path_push(w, "entry %zu", i);
  size_t kept = w->len;
  int rc;
  if (entry->type != DW_JSON_OBJECT) {
    dw_walk_path_pop(w, old_len);
    dw_walk_warn(w, "entry %zu is %s, expected an object; skipped", i,
                 a_type(entry->type));
    return 0;
  }
  rc = fn(w, entry, series);
  dw_walk_path_pop(w, old_len);
  if (rc == DW_WALK_SKIP) {
    w->len = kept;
    rc = 0;
  }
  return rc;
}

/* Calls fn for every object entry of array in order; null entries are
 * skipped, other non-objects skipped with a note. */
int dw_walk_each_entry(dw_walk_t *w, const dw_json_t *array,
                       dw_walk_entry_fn fn, const dw_series_t *series) {
  if (w->pos_depth >= DW_WALK_MAX_POS_DEPTH)
    return dw_walk_fail(w, "internal error: entries nested too deep");
  size_t depth = w->pos_depth++;
  int rc = 0;
  for (size_t i = 0; i < array->u.children.len && rc == 0; i++) {
    const dw_json_t *entry = array->u.children.items[i];
    w->pos[depth] = i;
    if (entry->type != DW_JSON_NULL)
      rc = walk_entry(w, entry, i, fn, series);
  }
  w->pos_depth = depth;
  w->pos[depth] = 0;
  return rc;
}

static int compare_text(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* Orders by identifier, then by collection order. */
static int compare_recs(const void *pa, const void *pb) {
  const dw_walk_rec_t *a = *(const dw_walk_rec_t *const *)pa;
  const dw_walk_rec_t *b = *(const dw_walk_rec_t *const *)pb;
  int c = strcmp(dw_type_name(a->sample.type), dw_type_name(b->sample.type));
  if (c == 0)
    c = strcmp(dw_label_name(a->sample.label), dw_label_name(b->sample.label));
  if (c == 0)
    c = compare_text(a->sample.appliance, b->sample.appliance);
  if (c == 0)
    c = (a->sample.month > b->sample.month) -
        (a->sample.month < b->sample.month);
  if (c == 0)
    c = (a->seq > b->seq) - (a->seq < b->seq);
  return c;
}

static void describe_pos(const dw_walk_rec_t *r, char *buf, size_t size) {
  if (r->pos_depth == 0)
    snprintf(buf, size, "the document");
  else if (r->pos_depth == 1)
    snprintf(buf, size, "entry %zu", r->pos[0]);
  else
    snprintf(buf, size, "entry %zu: member 'values': entry %zu", r->pos[0],
             r->pos[1]);
}

static int duplicate_error(dw_walk_error_t *err, const dw_walk_rec_t *first,
                           const dw_walk_rec_t *again) {
  char at_first[64];
  char at_again[64];
  describe_pos(first, at_first, sizeof(at_first));
  describe_pos(again, at_again, sizeof(at_again));
  const dw_sample_t *s = &again->sample;
  const char *same = s->appliance != NULL
                         ? (s->month != 0 ? "appliance and month" : "appliance")
                         : (s->month != 0 ? "month" : "value");
  return dw_walk_error_set(err, -EINVAL, "%s repeats %s (same %s for %s %s)",
                           at_again, at_first, same, dw_type_name(s->type),
                           dw_label_name(s->label));
}

/* Two samples with one identifier would overwrite each other downstream. */
int dw_walk_check_duplicates(dw_walk_t *w) {
  if (w->len < 2)
    return 0;
  const dw_walk_rec_t **sorted = malloc(w->len * sizeof(*sorted));
  if (sorted == NULL)
    return dw_walk_error_set(w->err, -ENOMEM, "out of memory");
  for (size_t i = 0; i < w->len; i++)
    sorted[i] = &w->recs[i];
  qsort(sorted, w->len, sizeof(*sorted), compare_recs);
  int rc = 0;
  for (size_t i = 1; i < w->len && rc == 0; i++) {
    const dw_sample_t *a = &sorted[i - 1]->sample;
    const dw_sample_t *b = &sorted[i]->sample;
    if (a->type == b->type && a->label == b->label &&
        compare_text(a->appliance, b->appliance) == 0 && a->month == b->month)
      rc = duplicate_error(w->err, sorted[i - 1], sorted[i]);
  }
  free(sorted);
  return rc;
}

int dw_walk_emit(dw_walk_t *w, dw_sample_sink_t sink, void *ud) {
  for (size_t i = 0; i < w->len; i++) {
    int rc = sink(ud, &w->recs[i].sample);
    if (rc != 0)
      return dw_walk_error_set(w->err, rc < 0 ? rc : -EINVAL,
                               "the sample sink stopped at sample %zu (%d)", i,
                               rc);
  }
  return 0;
}

void dw_walk_free(dw_walk_t *w) {
  for (size_t i = 0; i < w->digests_len; i++)
    free(w->digests[i]);
  free(w->digests);
  free(w->recs);
  w->digests = NULL;
  w->recs = NULL;
  w->digests_len = w->digests_cap = w->len = w->cap = 0;
}

static int two_digits(const char *s) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

int dw_walk_parse_month(const char *text, int *out) {
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
