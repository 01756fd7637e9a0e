/* dw_option.h - one configuration option into one field, checked.
 * Owns: the kinds of options (string, seconds, boolean, resource set, ...)
 * and how each kind is read, checked and reported when wrong.
 * May call: dw_resource, dw_name, dw_url (path templates, URLs shown),
 * dw_header, dw_proxy, dw_typo, dw_log, oconfig.
 *
 * The configuration reader (dw_config) describes its blocks as tables of
 * dw_option_t; this room applies one configured item to the field a row
 * names. Every error is logged at where, naming the option, and never
 * quotes a value that could be a secret. What may be quoted: option
 * names, smartmeter IDs, Instance and account names, resource slugs and
 * period names, paths and path templates, numbers, the six boolean words;
 * URLs only through dw_url_redact. Never quoted: secret options, Header
 * and TokenParam values, a string given where another kind belongs, or an
 * unknown option's values (a secret typed into the wrong place). */
#ifndef DW_OPTION_H
#define DW_OPTION_H

#include "dw_resource.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oconfig_item_s;

typedef enum dw_option_kind {
  DW_OPT_STRING,     /* char *, min..max bytes */
  DW_OPT_SECRET,     /* char *, min..max bytes, never logged, wiped */
  DW_OPT_NAME,       /* char *, a safe name (dw_name_is_safe) */
  DW_OPT_SECONDS,    /* long milliseconds from seconds in [min, max] */
  DW_OPT_UNSIGNED,   /* unsigned, a whole number in [min, max] */
  DW_OPT_SIZE,       /* size_t, a whole number in [min, max] */
  DW_OPT_RATE,       /* double, 0 (no limit) or a number in [min, max] */
  DW_OPT_BOOL,       /* bool */
  DW_OPT_RESOURCES,  /* uint32_t bits of dw_resource_t */
  DW_OPT_PERIODS,    /* uint32_t bits of dw_period_t */
  DW_OPT_PATH,       /* Path "resource" "template" into char *paths[] */
  DW_OPT_REFRESH,    /* RefreshInterval "resource" seconds into long[] ms */
  DW_OPT_SHARD,      /* Shard index count into dw_shard_cfg_t */
  DW_OPT_LINE,       /* char *, min..max bytes, no control bytes */
  DW_OPT_PROXY,      /* char *, "" or a proxy URL (dw_proxy_check) */
  DW_OPT_HEADER,     /* "Name: value" appended to a dw_option_list_t (at
                        most max of them), checked by dw_header_check */
  DW_OPT_PARAM,      /* "name" "value" appended to a dw_option_pairs_t (at
                        most max of them) */
  DW_OPT_TOKEN_AUTH, /* bool: "basic" true, "post" false */
  DW_OPT_BLOCK,      /* a nested block the caller reads itself */
} dw_option_kind_t;

/* What a DW_OPT_HEADER option appends to: lines that may carry a key
 * (wiped when freed); items[len] is NULL. */
typedef struct dw_option_list {
  char **items;
  size_t len;
} dw_option_list_t;

/* What a DW_OPT_PARAM option appends to; the values may be secrets
 * (wiped when freed). */
typedef struct dw_option_pair {
  char *name;
  char *value;
} dw_option_pair_t;

typedef struct dw_option_pairs {
  dw_option_pair_t *items;
  size_t len;
} dw_option_pairs_t;

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

/* Logs an unknown option at where, with "did you mean" when exactly one
 * row of table[0..len) is the closest to it within a small edit distance
 * (case-insensitive; a swap of two neighbours counts once). *near, when
 * near is not NULL, is that row or NULL, so the caller can keep quiet
 * about what the typo left missing. Always -EINVAL. */
int dw_option_unknown(const char *where, const struct oconfig_item_s *opt,
                      const dw_option_t *table, size_t len,
                      const dw_option_t **near);

/* The row of table[0..len) that key is a likely typo of, or NULL: the one
 * closest to it within 1 edit (2 for names of 8 or more bytes), when no
 * other row is as close. */
const dw_option_t *dw_option_near(const dw_option_t *table, size_t len,
                                  const char *key);

/* Applies opt to the field of base that o names (every kind but
 * DW_OPT_BLOCK). 0, -EINVAL after logging, or -ENOMEM. */
__attribute__((warn_unused_result)) int
dw_option_apply(const char *where, const dw_option_t *o,
                const struct oconfig_item_s *opt, void *base);

/* True when opt holds exactly one value, of oconfig type type. */
bool dw_option_is_one(const struct oconfig_item_s *opt, int type);

/* Frees a string that may hold a secret, wiping it first; accepts NULL. */
void dw_option_wipe_free(char *s);

/* Wipes and frees every item of a list (or pairs) and zeroes it. */
void dw_option_list_free(dw_option_list_t *l);
void dw_option_pairs_free(dw_option_pairs_t *p);

/* True when text holds a byte below 0x21 or DEL: whitespace or control. */
bool dw_option_has_space(const char *text);

/* Keeps the first error, except that running out of memory wins. */
static inline int dw_option_worse(int status, int rc) {
  return status == 0 || rc == -ENOMEM ? rc : status;
}

/* Logs "out of memory" at where; always -ENOMEM. */
int dw_option_oom(const char *where);

#endif
