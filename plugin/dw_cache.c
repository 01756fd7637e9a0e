/* dw_cache.c - what one slot remembers between fetches (see dw_cache.h).
 *
 * A sealed cache is one block: the values as 32-bit words, in sample
 * order, then the samples (8 bytes each), then one offset per name and
 * the names themselves, NUL-terminated. Samples are read in order, so
 * where a sample's values start is counted, not stored. A value with at most
 * three decimals that fits (as the API sends them) is one word, its
 * thousandths; any other is three: a marker word and the double's bits. A
 * builder holds the same words and samples in growable arrays while a decoder
 * adds them. */
#include "dw_cache.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One sample, 8 bytes. */
typedef struct cache_item {
  uint16_t kind;      /* type | label << 3 | values_len << 7 | latest << 9 */
  uint16_t appliance; /* 0: none, else 1 + index into the names */
  uint16_t series;    /* of a month-stamped sample, else DW_CACHE_NO_SERIES */
  uint16_t month;     /* 0: a current value */
} cache_item_t;

/* A sample while the cache is built: where its words are. */
typedef struct build_item {
  cache_item_t item;
  uint16_t value_at;
  uint8_t words;
} build_item_t;

_Static_assert(DW_TYPE_COUNT <= 8 && DW_LABEL_COUNT <= 16 &&
                   DW_SAMPLE_MAX_VALUES <= 3,
               "a sample's kind is 10 bits");

#define KIND_SERIES 0x7f /* type and label: what makes a series */
#define KIND_LATEST (1u << 9)
#define WORD_DOUBLE INT32_MIN /* the next two words are a double's bits */

static unsigned item_type(const cache_item_t *it) { return it->kind & 7; }
static unsigned item_label(const cache_item_t *it) {
  return (it->kind >> 3) & 15;
}
static unsigned item_values(const cache_item_t *it) {
  return (it->kind >> 7) & 3;
}
static bool item_latest(const cache_item_t *it) {
  return (it->kind & KIND_LATEST) != 0;
}

struct dw_cache_build {
  build_item_t *items;
  int32_t *words;
  char **names;
  uint32_t items_cap, words_cap, names_cap;
};

/* --- building ------------------------------------------------------------- */

/* Grows *p to hold need elements of size bytes; 0 or -ENOMEM. */
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

static void build_free(struct dw_cache_build *b, uint16_t names_len) {
  if (b == NULL)
    return;
  for (uint16_t i = 0; i < names_len; i++)
    free(b->names[i]);
  free(b->names);
  free(b->items);
  free(b->words);
  free(b);
}

/* The 1-based index of name in the slot's names, added when new. */
static int intern(dw_cache_t *c, const char *name) {
  struct dw_cache_build *b = c->mem;
  for (uint16_t i = 0; i < c->names_len; i++)
    if (strcmp(b->names[i], name) == 0)
      return i + 1;
  if (c->names_len == UINT16_MAX - 1)
    return -EINVAL;
  if (grow((void **)&b->names, &b->names_cap, c->names_len + 1u,
           sizeof(char *)) != 0 ||
      (b->names[c->names_len] = strdup(name)) == NULL)
    return -ENOMEM;
  return ++c->names_len;
}

/* The builder of a cache that samples are added to; NULL when sealed. */
static struct dw_cache_build *cache_build(const dw_cache_t *c) {
  return c->series_len == DW_CACHE_BUILDING ? c->mem : NULL;
}

/* v's words: its thousandths when they are exact, else its bits. */
static size_t value_words(double v, int32_t out[3]) {
  if (isfinite(v) && fabs(v) < 2147483.0) {
    long k = lround(v * 1000.0);
    if ((double)k / 1000.0 == v && k != WORD_DOUBLE) {
      out[0] = (int32_t)k;
      return 1;
    }
  }
  uint64_t bits;
  memcpy(&bits, &v, sizeof(bits));
  out[0] = WORD_DOUBLE;
  out[1] = (int32_t)(uint32_t)bits;
  out[2] = (int32_t)(uint32_t)(bits >> 32);
  return 3;
}

/* The value at words[*at], moving *at past it. */
static double word_value(const int32_t *words, uint32_t *at) {
  int32_t w = words[(*at)++];
  if (w != WORD_DOUBLE)
    return (double)w / 1000.0;
  uint64_t bits =
      (uint64_t)(uint32_t)words[*at] | (uint64_t)(uint32_t)words[*at + 1] << 32;
  *at += 2;
  double v;
  memcpy(&v, &bits, sizeof(v));
  return v;
}

int dw_cache_add(void *cache, const dw_sample_t *s) {
  dw_cache_t *c = cache;
  if ((unsigned)s->type >= DW_TYPE_COUNT ||
      (unsigned)s->label >= DW_LABEL_COUNT || s->values_len == 0 ||
      s->values_len > DW_SAMPLE_MAX_VALUES || s->month < 0 ||
      s->month > UINT16_MAX ||
      (c->mem != NULL && cache_build(c) == NULL)) /* sealed */
    return -EINVAL;
  int32_t words[3 * DW_SAMPLE_MAX_VALUES];
  size_t n = 0;
  for (size_t i = 0; i < s->values_len; i++)
    n += value_words(s->values[i], words + n);
  if (c->values_len + n > UINT16_MAX)
    return -EINVAL;
  if (c->mem == NULL) {
    if ((c->mem = calloc(1, sizeof(struct dw_cache_build))) == NULL)
      return -ENOMEM;
    c->series_len = DW_CACHE_BUILDING;
  }
  struct dw_cache_build *b = c->mem;
  int appliance = s->appliance ? intern(c, s->appliance) : 0;
  if (appliance < 0)
    return appliance;
  if (grow((void **)&b->items, &b->items_cap, c->len + 1u, sizeof(*b->items)) !=
          0 ||
      grow((void **)&b->words, &b->words_cap, c->values_len + (uint32_t)n,
           sizeof(int32_t)) != 0)
    return -ENOMEM;
  b->items[c->len++] = (build_item_t){
      .item = {.kind = (uint16_t)((unsigned)s->type | (unsigned)s->label << 3 |
                                  (unsigned)s->values_len << 7),
               .appliance = (uint16_t)appliance,
               .series = DW_CACHE_NO_SERIES,
               .month = (uint16_t)s->month},
      .value_at = c->values_len,
      .words = (uint8_t)n};
  memcpy(b->words + c->values_len, words, n * sizeof(int32_t));
  c->values_len += (uint16_t)n;
  return 0;
}

/* --- sealing -------------------------------------------------------------- */

static int by_month(const void *x, const void *y) {
  const build_item_t *a = x, *b = y;
  return (a->item.month > b->item.month) - (a->item.month < b->item.month);
}

static bool same_series(const cache_item_t *a, const cache_item_t *b) {
  return (a->kind & KIND_SERIES) == (b->kind & KIND_SERIES) &&
         a->appliance == b->appliance;
}

/* Marks the newest month of each series and numbers the month-stamped
 * series 0, 1, ... in the order they first appear (a slot has a few
 * dozen at most); returns how many there are. */
static uint16_t cache_mark(build_item_t *b, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    cache_item_t *it = &b[i].item;
    bool latest = it->month != 0;
    for (uint32_t j = i + 1; j < len && latest; j++)
      if (b[j].item.month > it->month && same_series(it, &b[j].item))
        latest = false;
    it->kind =
        (uint16_t)(latest ? it->kind | KIND_LATEST : it->kind & ~KIND_LATEST);
  }
  uint16_t series = 0;
  for (uint32_t i = 0; i < len; i++) {
    cache_item_t *it = &b[i].item;
    if (it->month == 0)
      continue;
    for (uint32_t j = 0; j < i && it->series == DW_CACHE_NO_SERIES; j++)
      if (b[j].item.month != 0 && same_series(it, &b[j].item))
        it->series = b[j].item.series;
    if (it->series == DW_CACHE_NO_SERIES && series < DW_CACHE_BUILDING - 1)
      it->series = series++;
  }
  return series;
}

/* Where the parts of a sealed block start. */
static cache_item_t *block_items(const dw_cache_t *c) {
  return (cache_item_t *)((int32_t *)c->mem + c->values_len);
}

/* After the samples, aligned for the offsets. */
static size_t block_offsets_at(const dw_cache_t *c) {
  size_t at = c->values_len * sizeof(int32_t) + c->len * sizeof(cache_item_t);
  return (at + 3) & ~(size_t)3;
}

static uint32_t *block_offsets(const dw_cache_t *c) {
  return (uint32_t *)((char *)c->mem + block_offsets_at(c));
}

static const char *block_name(const dw_cache_t *c, uint16_t appliance) {
  return (const char *)(block_offsets(c) + c->names_len) +
         block_offsets(c)[appliance - 1];
}

int dw_cache_seal(dw_cache_t *c) {
  struct dw_cache_build *b = cache_build(c);
  if (b == NULL) /* nothing was added, or sealed already */
    return 0;
  /* qsort is not stable, but only samples of different series share a
   * month, and their relative order does not matter to anyone */
  qsort(b->items, c->len, sizeof(*b->items), by_month);
  uint16_t series = cache_mark(b->items, c->len);
  size_t names_bytes = 0;
  for (uint16_t i = 0; i < c->names_len; i++)
    names_bytes += strlen(b->names[i]) + 1;
  size_t size =
      block_offsets_at(c) + c->names_len * sizeof(uint32_t) + names_bytes;
  void *block = malloc(size ? size : 1);
  if (block == NULL) {
    dw_cache_clear(c);
    return -ENOMEM;
  }
  c->mem = block;
  c->series_len = series;
  /* the words in the samples' new order, so that a reader counts them */
  int32_t *words = block;
  cache_item_t *items = block_items(c);
  for (uint32_t i = 0, at = 0; i < c->len; i++) {
    items[i] = b->items[i].item;
    memcpy(words + at, b->words + b->items[i].value_at,
           b->items[i].words * sizeof(int32_t));
    at += b->items[i].words;
  }
  uint32_t *offsets = block_offsets(c);
  char *names = (char *)(offsets + c->names_len);
  uint32_t at = 0;
  for (uint16_t i = 0; i < c->names_len; i++) {
    size_t n = strlen(b->names[i]) + 1;
    offsets[i] = at;
    memcpy(names + at, b->names[i], n);
    at += (uint32_t)n;
  }
  build_free(b, c->names_len);
  return 0;
}

/* --- reading -------------------------------------------------------------- */

bool dw_cache_next(dw_cache_iter_t *it, dw_sample_t *out, bool *latest,
                   uint16_t *series) {
  const dw_cache_t *c = it->cache;
  if (it->i >= c->len)
    return false;
  const cache_item_t *item = &block_items(c)[it->i++];
  *out = (dw_sample_t){
      .type = (dw_type_t)item_type(item),
      .label = (dw_label_t)item_label(item),
      .appliance = item->appliance ? block_name(c, item->appliance) : NULL,
      .month = item->month,
      .values_len = item_values(item)};
  for (size_t v = 0; v < out->values_len; v++)
    out->values[v] = word_value(c->mem, &it->word);
  *latest = item_latest(item);
  if (series != NULL)
    *series = item->series;
  return true;
}

void dw_cache_clear(dw_cache_t *c) {
  if (c == NULL)
    return;
  struct dw_cache_build *b = cache_build(c);
  if (b != NULL)
    build_free(b, c->names_len);
  else
    free(c->mem);
  *c = (dw_cache_t){0};
}

/* --- month marks ---------------------------------------------------------- */

/* FNV-1a 32 of a series' type, label and appliance: what stays the same
 * from one response to the next. */
static uint32_t cache_series_key(const dw_cache_t *c, const cache_item_t *it) {
  uint32_t h = 2166136261u;
  const unsigned char head[2] = {(unsigned char)item_type(it),
                                 (unsigned char)item_label(it)};
  for (size_t i = 0; i < sizeof(head); i++)
    h = (h ^ head[i]) * 16777619u;
  const char *name = it->appliance ? block_name(c, it->appliance) : "";
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
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
  const cache_item_t *items = fresh->series_len ? block_items(fresh) : NULL;
  uint32_t i = 0;
  for (uint16_t series = 0; series < fresh->series_len; series++) {
    while (items[i].series != series)
      i++;
    uint32_t key = cache_series_key(fresh, &items[i]);
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
  const cache_item_t *items =
      c->mem != NULL && cache_build(c) == NULL ? block_items(c) : NULL;
  for (uint32_t i = 0; i < c->len && items != NULL; i++) {
    const cache_item_t *it = &items[i];
    if (item_latest(it) && it->series < m->len &&
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
