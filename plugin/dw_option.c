/* dw_option.c - one configuration option into one field (see dw_option.h).
 */
#include "dw_option.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_url.h"

#include "collectd.h"

#include "liboconfig/oconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPT_KNOWN_SIZE 512 /* "costs, consumption, ..." */

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

int dw_option_unknown(const char *where, const oconfig_item_t *opt) {
  char shown[DW_SHOWN_SIZE];
  dw_log_at(DW_LOG_ERR, where, "unknown option \"%s\"",
            dw_name_shown(shown, opt->key));
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

static int opt_bool(const char *where, const oconfig_item_t *opt, bool *field) {
  if (!dw_option_is_one(opt, OCONFIG_TYPE_BOOLEAN)) {
    dw_log_at(DW_LOG_ERR, where, "%s needs one boolean (true or false)",
              opt->key);
    return -EINVAL;
  }
  *field = opt->values[0].value.boolean != 0;
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
  case DW_OPT_BLOCK:
    break;
  }
  return -EINVAL; /* blocks are read by the caller */
}
