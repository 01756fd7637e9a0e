/* dw_cache.h - what one slot remembers between fetches.
 * Owns: the packed samples of a slot's last good response and the months
 * of its month-stamped series already dispatched. May call: dw_sample.
 *
 * A fleet keeps every sample of its last good responses (about 280 per
 * meter with all resources and periods), so the layout matters: 16 bytes
 * per sample plus 8 per value, types and labels as their enum values, each
 * appliance name stored once per slot. Samples are added as a decoder
 * emits them, then sealed: ordered oldest month first, with the newest
 * month of each series marked, arrays shrunk to fit. */
#ifndef DW_CACHE_H
#define DW_CACHE_H

#include "dw_sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_cache_item;

typedef struct dw_cache {
  struct dw_cache_item *items;
  double *values;
  char **names;
  uint32_t len, cap;
  uint32_t values_len, values_cap;
  uint16_t names_len, names_cap;
  uint16_t series_len; /* month-stamped series, numbered by seal */
} dw_cache_t;

#define DW_CACHE_NO_SERIES UINT16_MAX

/* Adds a sample (a dw_sample_sink_t: ud is the dw_cache_t being built).
 * 0, -ENOMEM, or -EINVAL for a type or label outside the enums or more
 * than 65535 distinct appliances. */
__attribute__((warn_unused_result)) int dw_cache_add(void *cache,
                                                     const dw_sample_t *s);

/* Orders the samples oldest month first, marks the newest month of each
 * series, numbers the month-stamped series 0..series_len-1 and shrinks
 * the arrays. */
void dw_cache_seal(dw_cache_t *c);

/* Sample i (below c->len) into *out, which borrows the cache's strings;
 * *latest tells whether it is the newest month of its series. */
void dw_cache_get(const dw_cache_t *c, uint32_t i, dw_sample_t *out,
                  bool *latest);

/* The series of sample i of a sealed cache, DW_CACHE_NO_SERIES for a
 * current value. */
uint16_t dw_cache_series(const dw_cache_t *c, uint32_t i);

/* Frees everything and empties *c; accepts NULL. */
void dw_cache_clear(dw_cache_t *c);

/* The newest month dispatched under one month-stamped series of a slot,
 * and the cycle time of that dispatch. */
typedef struct dw_month_mark {
  uint32_t key;     /* the series' type, label and appliance, hashed */
  int month;        /* newest month dispatched, 0: none */
  uint64_t sent_at; /* cycle time (cdtime_t) of that dispatch */
} dw_month_mark_t;

/* One mark per series of the slot's cache, in its numbering: bounded by
 * the latest response, looked up in constant time. */
typedef struct dw_months {
  dw_month_mark_t *marks;
  size_t len;
} dw_months_t;

/* Re-numbers m for fresh (a sealed cache about to replace the slot's):
 * the series fresh still has keep their marks, the others (an appliance
 * no response names any more) are forgotten. 0, or -ENOMEM with m empty
 * (its months are then dispatched again, which collectd takes). */
__attribute__((warn_unused_result)) int
dw_months_adopt(dw_months_t *m, const dw_cache_t *fresh);

/* The mark of series (a dw_cache_series() of the adopted cache), or NULL
 * when out of range. */
dw_month_mark_t *dw_months_at(dw_months_t *m, uint16_t series);

/* True when c holds a month newer than its series' mark: a backfill
 * still has months to dispatch. */
bool dw_months_pending(const dw_months_t *m, const dw_cache_t *c);

/* Frees the marks and empties *m; accepts NULL. */
void dw_months_clear(dw_months_t *m);

#endif
