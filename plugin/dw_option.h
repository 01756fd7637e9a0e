/* dw_option.h - one configuration option into one field, checked.
 * Owns: the kinds of options (string, seconds, boolean, resource set, ...)
 * and how each kind is read, checked and reported when wrong.
 * May call: dw_resource, dw_name, dw_url (path templates), dw_log,
 * oconfig.
 *
 * The configuration reader (dw_config) describes its blocks as tables of
 * dw_option_t; this room applies one configured item to the field a row
 * names. Every error is logged at where, naming the option, and never
 * quotes a value that could be a secret. */
#ifndef DW_OPTION_H
#define DW_OPTION_H

#include "dw_resource.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oconfig_item_s;

typedef enum dw_option_kind {
  DW_OPT_STRING,    /* char *, min..max bytes */
  DW_OPT_SECRET,    /* char *, min..max bytes, never logged, wiped */
  DW_OPT_NAME,      /* char *, a safe name (dw_name_is_safe) */
  DW_OPT_SECONDS,   /* long milliseconds from seconds in [min, max] */
  DW_OPT_UNSIGNED,  /* unsigned, a whole number in [min, max] */
  DW_OPT_SIZE,      /* size_t, a whole number in [min, max] */
  DW_OPT_RATE,      /* double, 0 (no limit) or a number in [min, max] */
  DW_OPT_BOOL,      /* bool */
  DW_OPT_RESOURCES, /* uint32_t bits of dw_resource_t */
  DW_OPT_PERIODS,   /* uint32_t bits of dw_period_t */
  DW_OPT_PATH,      /* Path "resource" "template" into char *paths[] */
  DW_OPT_REFRESH,   /* RefreshInterval "resource" seconds into long[] ms */
  DW_OPT_SHARD,     /* Shard index count into dw_shard_cfg_t */
  DW_OPT_BLOCK,     /* a nested block the caller reads itself */
} dw_option_kind_t;

/* What a DW_OPT_SHARD option reads into: "Shard index count". */
typedef struct dw_shard_cfg {
  unsigned index; /* this host fetches the meters of this shard */
  unsigned count; /* 0: no sharding */
} dw_shard_cfg_t;

typedef struct dw_option {
  const char *key;
  dw_option_kind_t kind;
  size_t offset; /* of the field in the structure the table describes */
  double min, max;
} dw_option_t;

/* The row named key (case-insensitive, as collectd does), or NULL. */
const dw_option_t *dw_option_find(const dw_option_t *table, size_t len,
                                  const char *key);

/* Logs an unknown option at where; always -EINVAL. */
int dw_option_unknown(const char *where, const struct oconfig_item_s *opt);

/* Applies opt to the field of base that o names (every kind but
 * DW_OPT_BLOCK). 0, -EINVAL after logging, or -ENOMEM. */
__attribute__((warn_unused_result)) int
dw_option_apply(const char *where, const dw_option_t *o,
                const struct oconfig_item_s *opt, void *base);

/* True when opt holds exactly one value, of oconfig type type. */
bool dw_option_is_one(const struct oconfig_item_s *opt, int type);

/* Frees a string that may hold a secret, wiping it first; accepts NULL. */
void dw_option_wipe_free(char *s);

/* True when text holds a byte below 0x21 or DEL: whitespace or control. */
bool dw_option_has_space(const char *text);

/* Keeps the first error, except that running out of memory wins. */
static inline int dw_option_worse(int status, int rc) {
  return status == 0 || rc == -ENOMEM ? rc : status;
}

/* Logs "out of memory" at where; always -ENOMEM. */
int dw_option_oom(const char *where);

#endif
