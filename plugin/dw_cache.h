/* dw_cache.h - what one slot remembers between fetches.
 * Owns: the packed samples of a slot's last good response and the months
 * of its month-stamped series already dispatched. May call: dw_sample.
 *
 * A fleet keeps every sample of its last good responses (about 280 per
 * meter with all resources and periods), so the layout matters. While a
 * decoder adds samples they grow in a builder; sealing orders them
 * (oldest month first), marks the newest month of each series, numbers
 * the series and packs everything into one block per slot: 4 bytes per
 * value of at most three decimals (12 for any other), 8 per sample
 * (types, labels, months and indexes as small integers), each appliance
 * name once, NUL-terminated, no pointer per name. Samples are read back
 * in order, with an iterator. */
#ifndef DW_CACHE_H
#define DW_CACHE_H

#include "dw_sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 16 bytes: a fleet has 35 per meter. */
typedef struct dw_cache {
  void *mem; /* the builder while samples are added, then the block */
  uint16_t len;
  uint16_t values_len;
  uint16_t names_len;  /* distinct appliance names */
  uint16_t series_len; /* month-stamped series, numbered by seal;
                          DW_CACHE_BUILDING while samples are added */
} dw_cache_t;

#define DW_CACHE_BUILDING UINT16_MAX

#define DW_CACHE_NO_SERIES UINT16_MAX

/* Adds a sample (a dw_sample_sink_t: ud is the dw_cache_t being built).
 * 0, -ENOMEM, or -EINVAL for a type or label outside the enums, a month
 * outside 0..65535, or more than 65535 values or 65534 distinct
 * appliances in one response. */
__attribute__((warn_unused_result)) int dw_cache_add(void *cache,
                                                     const dw_sample_t *s);

/* Orders the samples oldest month first, marks the newest month of each
 * series, numbers the month-stamped series 0..series_len-1 and packs
 * them into one block (the builder is freed). 0, or -ENOMEM with the
 * cache emptied. */
__attribute__((warn_unused_result)) int dw_cache_seal(dw_cache_t *c);

/* Reads a sealed cache's samples in order: oldest month first. */
typedef struct dw_cache_iter {
  const dw_cache_t *cache;
  uint32_t i, word;
} dw_cache_iter_t;

static inline dw_cache_iter_t dw_cache_begin(const dw_cache_t *c) {
  return (dw_cache_iter_t){.cache = c};
}

/* The next sample into *out (which borrows the cache's strings), whether
 * it is the newest month of its series, and (unless series is NULL) its
 * series number, DW_CACHE_NO_SERIES for a current value; false after the
 * last. */
bool dw_cache_next(dw_cache_iter_t *it, dw_sample_t *out, bool *latest,
                   uint16_t *series);

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

/* The mark of series (as dw_cache_next() gives it for the adopted cache), or
 * NULL when out of range. */
dw_month_mark_t *dw_months_at(dw_months_t *m, uint16_t series);

/* True when c holds a month newer than its series' mark: a backfill
 * still has months to dispatch. */
bool dw_months_pending(const dw_months_t *m, const dw_cache_t *c);

/* Frees the marks and empties *m; accepts NULL. */
void dw_months_clear(dw_months_t *m);

#endif
