/* dw_cache.c - what one slot remembers between fetches (see dw_cache.h). */
#include "dw_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dw_cache_item {
  uint8_t type;  /* dw_type_t */
  uint8_t label; /* dw_label_t */
  uint8_t values_len;
  uint8_t latest;
  uint16_t appliance; /* 0: none, else 1 + index into names */
  uint16_t series;    /* of a month-stamped sample, else DW_CACHE_NO_SERIES */
  int32_t month;
  uint32_t value_at; /* first value in values */
};

/* Grows *p to hold one more of size bytes beyond *len; 0 or -ENOMEM. */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t size) {
  if (need <= *cap)
    return 0;
  uint32_t n = *cap ? 2 * *cap : 8;
  while (n < need)
    n *= 2;
  void *q = realloc(*p, n * size);
  if (q == NULL)
    return -ENOMEM;
  *p = q;
  *cap = n;
  return 0;
}

/* The 1-based index of name in the slot's names, added when new. */
static int intern(dw_cache_t *c, const char *name) {
  for (uint16_t i = 0; i < c->names_len; i++)
    if (strcmp(c->names[i], name) == 0)
      return i + 1;
  if (c->names_len == UINT16_MAX - 1)
    return -EINVAL;
  uint32_t cap = c->names_cap;
  if (grow((void **)&c->names, &cap, c->names_len + 1u, sizeof(char *)) != 0)
    return -ENOMEM;
  c->names_cap = (uint16_t)(cap > UINT16_MAX ? UINT16_MAX : cap);
  if ((c->names[c->names_len] = strdup(name)) == NULL)
    return -ENOMEM;
  return ++c->names_len;
}

int dw_cache_add(void *cache, const dw_sample_t *s) {
  dw_cache_t *c = cache;
  if ((unsigned)s->type >= DW_TYPE_COUNT ||
      (unsigned)s->label >= DW_LABEL_COUNT || s->values_len == 0 ||
      s->values_len > DW_SAMPLE_MAX_VALUES)
    return -EINVAL;
  int appliance = s->appliance ? intern(c, s->appliance) : 0;
  if (appliance < 0)
    return appliance;
  if (grow((void **)&c->items, &c->cap, c->len + 1, sizeof(*c->items)) != 0 ||
      grow((void **)&c->values, &c->values_cap,
           c->values_len + (uint32_t)s->values_len, sizeof(double)) != 0)
    return -ENOMEM;
  c->items[c->len++] =
      (struct dw_cache_item){.type = (uint8_t)s->type,
                             .label = (uint8_t)s->label,
                             .values_len = (uint8_t)s->values_len,
                             .appliance = (uint16_t)appliance,
                             .series = DW_CACHE_NO_SERIES,
                             .month = s->month,
                             .value_at = c->values_len};
  memcpy(c->values + c->values_len, s->values, s->values_len * sizeof(double));
  c->values_len += (uint32_t)s->values_len;
  return 0;
}

static int by_month(const void *x, const void *y) {
  const struct dw_cache_item *a = x, *b = y;
  return (a->month > b->month) - (a->month < b->month);
}

static bool same_series(const struct dw_cache_item *a,
                        const struct dw_cache_item *b) {
  return a->type == b->type && a->label == b->label &&
         a->appliance == b->appliance;
}

/* Numbers the month-stamped series 0, 1, ... in the order they first
 * appear; a slot has a few dozen at most. */
static void cache_number_series(dw_cache_t *c) {
  c->series_len = 0;
  for (uint32_t i = 0; i < c->len; i++) {
    struct dw_cache_item *it = &c->items[i];
    if (it->month == 0)
      continue;
    for (uint32_t j = 0; j < i && it->series == DW_CACHE_NO_SERIES; j++)
      if (c->items[j].month != 0 && same_series(it, &c->items[j]))
        it->series = c->items[j].series;
    if (it->series == DW_CACHE_NO_SERIES && c->series_len < DW_CACHE_NO_SERIES)
      it->series = c->series_len++;
  }
}

/* qsort is not stable, but only samples of different series share a
 * month, and their relative order does not matter to anyone. */
void dw_cache_seal(dw_cache_t *c) {
  if (c->len > 1) /* an empty cache has no array: qsort(NULL) is undefined */
    qsort(c->items, c->len, sizeof(*c->items), by_month);
  for (uint32_t i = 0; i < c->len; i++) {
    struct dw_cache_item *it = &c->items[i];
    it->latest = it->month != 0;
    for (uint32_t j = i + 1; j < c->len && it->latest; j++)
      if (c->items[j].month > it->month && same_series(it, &c->items[j]))
        it->latest = 0;
  }
  cache_number_series(c);
  /* shrinking never fails in practice; if it did, the larger block stays */
  void *p;
  if (c->len > 0 && (p = realloc(c->items, c->len * sizeof(*c->items))))
    c->items = p, c->cap = c->len;
  if (c->values_len > 0 &&
      (p = realloc(c->values, c->values_len * sizeof(double))))
    c->values = p, c->values_cap = c->values_len;
  if (c->names_len > 0 &&
      (p = realloc(c->names, c->names_len * sizeof(char *))))
    c->names = p, c->names_cap = c->names_len;
}

void dw_cache_get(const dw_cache_t *c, uint32_t i, dw_sample_t *out,
                  bool *latest) {
  const struct dw_cache_item *it = &c->items[i];
  *out = (dw_sample_t){.type = (dw_type_t)it->type,
                       .label = (dw_label_t)it->label,
                       .appliance =
                           it->appliance ? c->names[it->appliance - 1] : NULL,
                       .month = it->month,
                       .values_len = it->values_len};
  memcpy(out->values, c->values + it->value_at,
         it->values_len * sizeof(double));
  *latest = it->latest;
}

uint16_t dw_cache_series(const dw_cache_t *c, uint32_t i) {
  return c->items[i].series;
}

/* FNV-1a 32 of a series' type, label and appliance: what stays the same
 * from one response to the next. */
static uint32_t cache_series_key(const dw_cache_t *c,
                                 const struct dw_cache_item *it) {
  uint32_t h = 2166136261u;
  const unsigned char head[2] = {it->type, it->label};
  for (size_t i = 0; i < sizeof(head); i++)
    h = (h ^ head[i]) * 16777619u;
  const char *name = it->appliance ? c->names[it->appliance - 1] : "";
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

void dw_cache_clear(dw_cache_t *c) {
  if (c == NULL)
    return;
  for (uint16_t i = 0; i < c->names_len; i++)
    free(c->names[i]);
  free(c->names);
  free(c->items);
  free(c->values);
  *c = (dw_cache_t){0};
}

/* The old mark with this key, or NULL. */
static const dw_month_mark_t *months_find(const dw_months_t *m, uint32_t key) {
  for (size_t i = 0; i < m->len; i++)
    if (m->marks[i].key == key)
      return &m->marks[i];
  return NULL;
}

int dw_months_adopt(dw_months_t *m, const dw_cache_t *fresh) {
  dw_month_mark_t *marks = NULL;
  if (fresh->series_len > 0 &&
      (marks = calloc(fresh->series_len, sizeof(*marks))) == NULL) {
    dw_months_clear(m);
    return -ENOMEM;
  }
  /* series are numbered in order of first appearance: the first item of
   * series s comes after the first of every series before it */
  uint32_t i = 0;
  for (uint16_t series = 0; series < fresh->series_len; series++) {
    while (fresh->items[i].series != series)
      i++;
    uint32_t key = cache_series_key(fresh, &fresh->items[i]);
    const dw_month_mark_t *old = months_find(m, key);
    marks[series] = old ? *old : (dw_month_mark_t){.key = key};
  }
  free(m->marks);
  m->marks = marks;
  m->len = fresh->series_len;
  return 0;
}

dw_month_mark_t *dw_months_at(dw_months_t *m, uint16_t series) {
  return series < m->len ? &m->marks[series] : NULL;
}

bool dw_months_pending(const dw_months_t *m, const dw_cache_t *c) {
  for (uint32_t i = 0; i < c->len; i++) {
    const struct dw_cache_item *it = &c->items[i];
    if (it->latest && it->series < m->len &&
        it->month > m->marks[it->series].month)
      return true;
  }
  return false;
}

void dw_months_clear(dw_months_t *m) {
  if (m == NULL)
    return;
  free(m->marks);
  *m = (dw_months_t){0};
}
