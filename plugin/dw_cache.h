/* dw_cache.h - one slot's samples between fetches, packed.
 *
 * A fleet keeps every sample of its last good responses (about 280 per
 * meter with all resources and periods), so the layout matters: 16 bytes
 * per sample plus 8 per value, types and labels as indices into static
 * tables, each appliance name stored once per slot. Samples are added as
 * a decoder emits them, then sealed: ordered oldest month first, with the
 * newest month of each series marked, arrays shrunk to fit. */
#ifndef DW_CACHE_H
#define DW_CACHE_H

#include "dw_sample.h"

#include <stdbool.h>
#include <stdint.h>

struct dw_cache_item;

typedef struct dw_cache {
  struct dw_cache_item *items;
  double *values;
  char **names;
  uint32_t len, cap;
  uint32_t values_len, values_cap;
  uint16_t names_len, names_cap;
} dw_cache_t;

/* Adds a sample (a dw_sample_sink_t: ud is the dw_cache_t being built).
 * 0, -ENOMEM, or -EINVAL for a type or label outside the tables or more
 * than 65535 distinct appliances. */
__attribute__((warn_unused_result)) int dw_cache_add(void *cache,
                                                     const dw_sample_t *s);

/* Orders the samples oldest month first, marks the newest month of each
 * series and shrinks the arrays. */
void dw_cache_seal(dw_cache_t *c);

/* Sample i (below c->len) into *out, which borrows the cache's strings;
 * *latest tells whether it is the newest month of its series. */
void dw_cache_get(const dw_cache_t *c, uint32_t i, dw_sample_t *out,
                  bool *latest);

/* Frees everything and empties *c; accepts NULL. */
void dw_cache_clear(dw_cache_t *c);

#endif
