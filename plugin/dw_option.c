/* dw_option.c - one configuration option into one field (see dw_option.h).
 */
#include "dw_option.h"
#include "dw_header.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_proxy.h"
#include "dw_typo.h"
#include "dw_url.h"

#include "collectd.h"

#include "liboconfig/oconfig.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPT_KNOWN_SIZE 512 /* "costs, consumption, ..." */
#define DW_PARAM_MAX 4096  /* bytes of a TokenParam value, as of a secret */

bool dw_option_is_one(const oconfig_item_t *opt, int type) {
  return opt->values_num == 1 && opt->values[0].type == type;
}

void dw_option_wipe_free(char *s) {
  if (s == NULL)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

bool dw_option_has_space(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return true;
  return false;
}

int dw_option_oom(const char *where) {
  dw_log_at(DW_LOG_ERR, where, "out of memory");
  return -ENOMEM;
}

const dw_option_t *dw_option_find(const dw_option_t *table, size_t len,
                                  const char *key) {
  for (size_t i = 0; i < len; i++)
    if (strcasecmp(table[i].key, key) == 0)
      return &table[i];
  return NULL;
}

const dw_option_t *dw_option_near(const dw_option_t *table, size_t len,
                                  const char *key) {
  const dw_option_t *best = NULL;
  unsigned best_d = UINT_MAX;
  bool tie = false;
  for (size_t i = 0; i < len; i++) {
    unsigned d = dw_typo_distance(key, table[i].key);
    if (d > dw_typo_limit(table[i].key) || d > best_d)
      continue;
    tie = d == best_d;
    best = &table[i];
    best_d = d;
  }
  return tie ? NULL : best;
}

int dw_option_unknown(const char *where, const oconfig_item_t *opt,
                      const dw_option_t *table, size_t len,
                      const dw_option_t **near) {
  char shown[DW_SHOWN_SIZE];
  const dw_option_t *row = dw_option_near(table, len, opt->key);
  if (row != NULL)
    dw_log_at(DW_LOG_ERR, where, "unknown option \"%s\"; did you mean %s?",
              dw_name_shown(shown, opt->key), row->key);
  else
    dw_log_at(DW_LOG_ERR, where, "unknown option \"%s\"",
              dw_name_shown(shown, opt->key));
  if (near != NULL)
    *near = row;
  return -EINVAL;
}

/* A number option within [min, max]; *out untouched on error. */
static int opt_number(const char *where, const oconfig_item_t *opt, double min,
                      double max, bool whole, double *out) {
  if (!dw_option_is_one(opt, OCONFIG_TYPE_NUMBER)) {
    dw_log_at(DW_LOG_ERR, where, "%s needs one number", opt->key);
    return -EINVAL;
  }
  double x = opt->values[0].value.number;
  if (!isfinite(x) || x < min || x > max) {
    dw_log_at(DW_LOG_ERR, where,
              "%s must be between %.15g and %.15g (got %.15g)", opt->key, min,
              max, x);
    return -EINVAL;
  }
  if (whole && x != floor(x)) {
    dw_log_at(DW_LOG_ERR, where, "%s needs a whole number (got %.15g)",
              opt->key, x);
    return -EINVAL;
  }
  *out = x;
  return 0;
}

/* The index of a resource slug (or a period name), or -1. */
static int opt_lookup(bool periods, const char *name) {
  if (periods) {
    dw_period_t p;
    return dw_period_from_name(name, &p) == 0 ? (int)p : -1;
  }
  dw_resource_t r;
  return dw_resource_from_slug(name, &r) == 0 ? (int)r : -1;
}

/* "costs, consumption, ..." for the log line about an unknown name. */
static const char *opt_known(char *out, size_t size, bool periods) {
  int count = periods ? DW_PERIOD_COUNT : DW_RES_COUNT;
  size_t len = 0;
  out[0] = '\0';
  for (int i = 0; i < count && len < size; i++)
    len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "",
                            periods ? dw_period_name((dw_period_t)i)
                                    : dw_resource_info((dw_resource_t)i)->slug);
  return out;
}

/* The bits of the slugs (or period names) an option lists; every unknown
 * name is logged, with the known ones. */
static int opt_name_set(const char *where, const oconfig_item_t *opt,
                        bool periods, uint32_t *out) {
  if (opt->values_num < 1) {
    dw_log_at(DW_LOG_ERR, where, "%s needs one or more strings", opt->key);
    return -EINVAL;
  }
  uint32_t bits = 0;
  int status = 0;
  for (int i = 0; i < opt->values_num; i++) {
    const oconfig_value_t *v = &opt->values[i];
    if (v->type != OCONFIG_TYPE_STRING) {
      dw_log_at(DW_LOG_ERR, where, "%s needs strings only", opt->key);
      status = -EINVAL;
      continue;
    }
    int index = opt_lookup(periods, v->value.string);
    if (index < 0) {
      char shown[DW_SHOWN_SIZE], known[OPT_KNOWN_SIZE];
      dw_log_at(DW_LOG_ERR, where, "%s: unknown %s \"%s\" (known: %s)",
                opt->key, periods ? "period" : "resource",
                dw_name_shown(shown, v->value.string),
                opt_known(known, sizeof(known), periods));
      status = -EINVAL;
      continue;
    }
    bits |= 1u << index;
  }
  if (status == 0)
    *out = bits;
  return status;
}

/* A string option; the last one given wins (a secret is wiped). */
static int opt_string(const char *where, const dw_option_t *o,
                      const oconfig_item_t *opt, char **field) {
  if (!dw_option_is_one(opt, OCONFIG_TYPE_STRING)) {
    dw_log_at(DW_LOG_ERR, where, "%s needs one string", opt->key);
    return -EINVAL;
  }
  const char *value = opt->values[0].value.string;
  size_t len = strlen(value);
  if (len < (size_t)o->min) {
    dw_log_at(DW_LOG_ERR, where, "%s must not be empty", opt->key);
    return -EINVAL;
  }
  if (len > (size_t)o->max) {
    dw_log_at(DW_LOG_ERR, where, "%s is longer than %zu bytes", opt->key,
              (size_t)o->max);
    return -EINVAL;
  }
  if (o->kind == DW_OPT_NAME && !dw_name_is_safe(value, len)) {
    char shown[DW_SHOWN_SIZE];
    dw_log_at(DW_LOG_ERR, where,
              "%s \"%s\" may only hold the characters [A-Za-z0-9_-]", opt->key,
              dw_name_shown(shown, value));
    return -EINVAL;
  }
  char *copy = strdup(value);
  if (copy == NULL)
    return dw_option_oom(where);
  if (o->kind == DW_OPT_SECRET)
    dw_option_wipe_free(*field);
  else
    free(*field);
  *field = copy;
  return 0;
}

/* The resource named by the first value of opt; logs when it is unknown. */
static int opt_resource(const char *where, const oconfig_item_t *opt,
                        dw_resource_t *r) {
  if (dw_resource_from_slug(opt->values[0].value.string, r) == 0)
    return 0;
  char shown[DW_SHOWN_SIZE];
  dw_log_at(DW_LOG_ERR, where, "%s: unknown resource \"%s\"", opt->key,
            dw_name_shown(shown, opt->values[0].value.string));
  return -EINVAL;
}

/* Path "resource" "template": one resource's path template, checked. */
static int opt_path(const char *where, const oconfig_item_t *opt,
                    char **paths) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_STRING ||
      opt->values[1].type != OCONFIG_TYPE_STRING) {
    dw_log_at(DW_LOG_ERR, where,
              "%s needs two strings: a resource and a template", opt->key);
    return -EINVAL;
  }
  dw_resource_t r;
  if (opt_resource(where, opt, &r) != 0)
    return -EINVAL;
  const char *tmpl = opt->values[1].value.string;
  const char *why = "invalid";
  if (dw_url_check_template(tmpl, dw_resource_info(r)->has_period, &why) != 0) {
    char shown[DW_SHOWN_SIZE];
    dw_log_at(DW_LOG_ERR, where, "%s \"%s\" \"%s\": %s", opt->key,
              dw_resource_info(r)->slug, dw_name_shown(shown, tmpl), why);
    return -EINVAL;
  }
  char *copy = strdup(tmpl);
  if (copy == NULL)
    return dw_option_oom(where);
  free(paths[r]);
  paths[r] = copy;
  return 0;
}

/* RefreshInterval "resource" seconds: how often one resource is fetched. */
static int opt_refresh(const char *where, const dw_option_t *o,
                       const oconfig_item_t *opt, long *refresh_ms) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_STRING ||
      opt->values[1].type != OCONFIG_TYPE_NUMBER) {
    dw_log_at(DW_LOG_ERR, where, "%s needs a resource and a number of seconds",
              opt->key);
    return -EINVAL;
  }
  dw_resource_t r;
  if (opt_resource(where, opt, &r) != 0)
    return -EINVAL;
  double seconds = opt->values[1].value.number;
  if (!isfinite(seconds) || seconds < o->min || seconds > o->max) {
    dw_log_at(DW_LOG_ERR, where,
              "%s \"%s\" must be between %.15g and %.15g seconds", opt->key,
              dw_resource_info(r)->slug, o->min, o->max);
    return -EINVAL;
  }
  refresh_ms[r] = lround(seconds * 1000);
  return 0;
}

/* A rate in requests per second: 0 for no limit, else within [min, max].
 * A positive rate below min is refused, not rounded: the bucket keeps
 * thousandths, and rounding to 0 would lift the limit that was asked
 * for. */
static int opt_rate(const char *where, const dw_option_t *o,
                    const oconfig_item_t *opt, double *field) {
  if (!dw_option_is_one(opt, OCONFIG_TYPE_NUMBER)) {
    dw_log_at(DW_LOG_ERR, where,
              "%s needs one number: requests per second, or 0 for no limit",
              opt->key);
    return -EINVAL;
  }
  double x = opt->values[0].value.number;
  if (!isfinite(x) || (x != 0 && (x < o->min || x > o->max))) {
    dw_log_at(DW_LOG_ERR, where,
              "%s must be 0 (no limit) or between %.15g and %.15g requests "
              "per second (got %.15g)",
              opt->key, o->min, o->max, x);
    return -EINVAL;
  }
  *field = x;
  return 0;
}

static bool opt_is_whole(double x) { return isfinite(x) && x == floor(x); }

/* Shard index count: the count is checked first, as the index's range
 * depends on it. */
static int opt_shard(const char *where, const dw_option_t *o,
                     const oconfig_item_t *opt, dw_shard_cfg_t *shard) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_NUMBER ||
      opt->values[1].type != OCONFIG_TYPE_NUMBER) {
    dw_log_at(DW_LOG_ERR, where, "%s needs two numbers: an index and a count",
              opt->key);
    return -EINVAL;
  }
  double index = opt->values[0].value.number;
  double count = opt->values[1].value.number;
  if (!opt_is_whole(count) || count < o->min || count > o->max) {
    dw_log_at(DW_LOG_ERR, where,
              "%s: the count must be a whole number from %.15g to %.15g "
              "(got %.15g)",
              opt->key, o->min, o->max, count);
    return -EINVAL;
  }
  if (!opt_is_whole(index) || index < 0 || index >= count) {
    dw_log_at(DW_LOG_ERR, where,
              "%s: the index must be a whole number from 0 to %.15g, one "
              "less than the count (got %.15g)",
              opt->key, count - 1, index);
    return -EINVAL;
  }
  shard->index = (unsigned)index;
  shard->count = (unsigned)count;
  return 0;
}

/* The words collectd 5.12's cf_util_get_boolean() takes from a quoted
 * string (its IS_TRUE / IS_FALSE); 1, 0, or -1 for any other text. */
static int opt_bool_word(const char *text) {
  static const char *const words[] = {"false", "no",  "off",
                                      "true",  "yes", "on"};
  for (int i = 0; i < 6; i++)
    if (strcasecmp(text, words[i]) == 0)
      return i >= 3;
  return -1;
}

/* A boolean; like collectd's own plugins, a quoted "true", "yes", "on",
 * "false", "no" or "off" is taken too, with a warning. Any other string is
 * not quoted back: it may be a secret put in the wrong place. */
static int opt_bool(const char *where, const oconfig_item_t *opt, bool *field) {
  if (dw_option_is_one(opt, OCONFIG_TYPE_BOOLEAN)) {
    *field = opt->values[0].value.boolean != 0;
    return 0;
  }
  int word = dw_option_is_one(opt, OCONFIG_TYPE_STRING)
                 ? opt_bool_word(opt->values[0].value.string)
                 : -1;
  if (word < 0) {
    dw_log_at(DW_LOG_ERR, where,
              "%s needs one boolean: true or false (yes/no and on/off do too)",
              opt->key);
    return -EINVAL;
  }
  dw_log_at(DW_LOG_WARNING, where,
            "%s \"%s\": a quoted boolean is taken, as collectd does, but "
            "deprecated; write it unquoted: %s %s",
            opt->key, opt->values[0].value.string, opt->key,
            word ? "true" : "false");
  *field = word == 1;
  return 0;
}

void dw_option_list_free(dw_option_list_t *l) {
  for (size_t i = 0; i < l->len; i++)
    dw_option_wipe_free(l->items[i]);
  free(l->items);
  *l = (dw_option_list_t){0};
}

void dw_option_pairs_free(dw_option_pairs_t *p) {
  for (size_t i = 0; i < p->len; i++) {
    free(p->items[i].name);
    dw_option_wipe_free(p->items[i].value);
  }
  free(p->items);
  *p = (dw_option_pairs_t){0};
}

/* The one string of opt; logs and NULL when opt holds anything else. */
static const char *opt_one_string(const char *where,
                                  const oconfig_item_t *opt) {
  if (dw_option_is_one(opt, OCONFIG_TYPE_STRING))
    return opt->values[0].value.string;
  dw_log_at(DW_LOG_ERR, where, "%s needs one string", opt->key);
  return NULL;
}

/* UserAgent and other text that goes into a header as it is. */
static int opt_line(const char *where, const dw_option_t *o,
                    const oconfig_item_t *opt, char **field) {
  const char *value = opt_one_string(where, opt);
  if (value == NULL)
    return -EINVAL;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p < 0x20 || *p == 0x7f) {
      dw_log_at(DW_LOG_ERR, where,
                "%s must not hold a line break or another control character",
                opt->key);
      return -EINVAL;
    }
  return opt_string(where, o, opt, field);
}

/* Proxy "": no proxy whatever the environment; else a proxy URL. The
 * value is shown only through dw_proxy_shown (never its userinfo). */
static int opt_proxy(const char *where, const dw_option_t *o,
                     const oconfig_item_t *opt, char **field) {
  const char *value = opt_one_string(where, opt);
  if (value == NULL)
    return -EINVAL;
  const char *why = strlen(value) > (size_t)o->max ? "the proxy is too long"
                                                   : dw_proxy_check(value);
  if (why != NULL) {
    char shown[DW_PROXY_SHOWN_SIZE];
    dw_log_at(DW_LOG_ERR, where, "%s \"%s\": %s", opt->key,
              dw_proxy_shown(shown, value), why);
    return -EINVAL;
  }
  return opt_string(where, o, opt, field);
}

/* Room for one more item of size elem in *items (len of them now, at
 * most max): 0, -EINVAL after logging the limit, or -ENOMEM. */
static int opt_grow(const char *where, const oconfig_item_t *opt, void **items,
                    size_t len, size_t extra, size_t elem, double max) {
  if (len >= (size_t)max) {
    dw_log_at(DW_LOG_ERR, where, "at most %zu %s options per account",
              (size_t)max, opt->key);
    return -EINVAL;
  }
  void *grown = realloc(*items, (len + 1 + extra) * elem);
  if (grown == NULL)
    return dw_option_oom(where);
  *items = grown;
  return 0;
}

/* Header "Name: value", appended. Only a plain name is quoted back; the
 * value may be a key. */
static int opt_header(const char *where, const dw_option_t *o,
                      const oconfig_item_t *opt, dw_option_list_t *list) {
  const char *line = opt_one_string(where, opt);
  if (line == NULL)
    return -EINVAL;
  size_t name_len = dw_header_name_len(line);
  const char *why = strlen(line) > DW_HEADER_MAX ? "the header is too long"
                                                 : dw_header_check(line);
  if (why != NULL) {
    if (dw_header_is_plain_name(line, name_len))
      dw_log_at(DW_LOG_ERR, where, "%s \"%.*s: ...\": %s", opt->key,
                (int)name_len, line, why);
    else
      dw_log_at(DW_LOG_ERR, where, "%s: %s", opt->key, why);
    return -EINVAL;
  }
  int status = opt_grow(where, opt, (void **)&list->items, list->len, 1,
                        sizeof(*list->items), o->max);
  char *copy = status == 0 ? strdup(line) : NULL;
  if (status == 0 && copy == NULL)
    status = dw_option_oom(where);
  if (status != 0)
    return status;
  list->items[list->len++] = copy;
  list->items[list->len] = NULL;
  return 0;
}

/* TokenParam "name" "value", appended; the value is never quoted back. */
static int opt_param(const char *where, const dw_option_t *o,
                     const oconfig_item_t *opt, dw_option_pairs_t *pairs) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_STRING ||
      opt->values[1].type != OCONFIG_TYPE_STRING) {
    dw_log_at(DW_LOG_ERR, where, "%s needs two strings: a name and a value",
              opt->key);
    return -EINVAL;
  }
  const char *name = opt->values[0].value.string;
  const char *value = opt->values[1].value.string;
  const char *why = dw_header_check_param(name);
  if (why == NULL && (value[0] == '\0' || strlen(value) > DW_PARAM_MAX))
    why = "the value must be 1 to 4096 bytes";
  if (why != NULL) {
    if (dw_header_is_plain_name(name, strlen(name)))
      dw_log_at(DW_LOG_ERR, where, "%s \"%s\": %s", opt->key, name, why);
    else
      dw_log_at(DW_LOG_ERR, where, "%s: %s", opt->key, why);
    return -EINVAL;
  }
  int status = opt_grow(where, opt, (void **)&pairs->items, pairs->len, 0,
                        sizeof(*pairs->items), o->max);
  if (status != 0)
    return status;
  dw_option_pair_t pair = {strdup(name), strdup(value)};
  if (pair.name == NULL || pair.value == NULL) {
    free(pair.name);
    dw_option_wipe_free(pair.value);
    return dw_option_oom(where);
  }
  pairs->items[pairs->len++] = pair;
  return 0;
}

/* TokenAuth "post" (credentials in the form body) or "basic". */
static int opt_token_auth(const char *where, const oconfig_item_t *opt,
                          bool *basic) {
  const char *value = dw_option_is_one(opt, OCONFIG_TYPE_STRING)
                          ? opt->values[0].value.string
                          : "";
  if (strcasecmp(value, "post") != 0 && strcasecmp(value, "basic") != 0) {
    dw_log_at(DW_LOG_ERR, where,
              "%s must be \"post\" (the credentials in the form body, the "
              "default) or \"basic\" (in an Authorization: Basic header)",
              opt->key);
    return -EINVAL;
  }
  *basic = strcasecmp(value, "basic") == 0;
  return 0;
}

int dw_option_apply(const char *where, const dw_option_t *o,
                    const oconfig_item_t *opt, void *base) {
  void *field = (char *)base + o->offset;
  double x = 0;
  int status;
  if (opt->children_num > 0) {
    dw_log_at(DW_LOG_ERR, where, "%s is an option, not a block", opt->key);
    return -EINVAL;
  }
  switch (o->kind) {
  case DW_OPT_STRING:
  case DW_OPT_SECRET:
  case DW_OPT_NAME:
    return opt_string(where, o, opt, field);
  case DW_OPT_SECONDS:
    status = opt_number(where, opt, o->min, o->max, false, &x);
    if (status == 0)
      *(long *)field = lround(x * 1000);
    return status;
  case DW_OPT_UNSIGNED:
    status = opt_number(where, opt, o->min, o->max, true, &x);
    if (status == 0)
      *(unsigned *)field = (unsigned)x;
    return status;
  case DW_OPT_SIZE:
    status = opt_number(where, opt, o->min, o->max, true, &x);
    if (status == 0)
      *(size_t *)field = (size_t)x;
    return status;
  case DW_OPT_RATE:
    return opt_rate(where, o, opt, field);
  case DW_OPT_BOOL:
    return opt_bool(where, opt, field);
  case DW_OPT_RESOURCES:
  case DW_OPT_PERIODS:
    return opt_name_set(where, opt, o->kind == DW_OPT_PERIODS, field);
  case DW_OPT_PATH:
    return opt_path(where, opt, field);
  case DW_OPT_REFRESH:
    return opt_refresh(where, o, opt, field);
  case DW_OPT_SHARD:
    return opt_shard(where, o, opt, field);
  case DW_OPT_LINE:
    return opt_line(where, o, opt, field);
  case DW_OPT_PROXY:
    return opt_proxy(where, o, opt, field);
  case DW_OPT_HEADER:
    return opt_header(where, o, opt, field);
  case DW_OPT_PARAM:
    return opt_param(where, o, opt, field);
  case DW_OPT_TOKEN_AUTH:
    return opt_token_auth(where, opt, field);
  case DW_OPT_BLOCK:
    break;
  }
  return -EINVAL; /* blocks are read by the caller */
}
