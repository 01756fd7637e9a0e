/* dw_config.c - the <Plugin digiwatt> block as plain structures.
 *
 * Every check logs its own problem and the parsers go on after an error,
 * so one collectd start shows every mistake in the file rather than one
 * per restart. Options are described by a table (name, kind, field,
 * range) so that adding one is one line. The client secret is never
 * printed, and is wiped before its memory goes back to the allocator. */
#include "dw_config.h"
#include "dw_fleet.h"
#include "dw_name.h"
#include "dw_url.h"

#include "collectd.h"

#include "liboconfig/oconfig.h"
#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_PREFIX "digiwatt plugin: "
#define CFG_NAME_MAX DW_NAME_MAX /* account names and plugin instances */
#define CFG_URL_MAX 2048         /* BaseURL, TokenURL */
#define CFG_TEXT_MAX 4096 /* ClientID, ClientSecret, a secret file's line */
#define CFG_SHOWN_MAX 80  /* bytes of configured text quoted in a log line */
#define CFG_SHOWN_SIZE (4 * CFG_SHOWN_MAX + 4)
#define CFG_ACCOUNT_WHERE_SIZE (CFG_SHOWN_SIZE + 16) /* <Account "name"> */
#define CFG_WHERE_SIZE (2 * CFG_SHOWN_SIZE + 64)     /* ... <Smartmeter "ID"> */
#define CFG_REF_WHERE_SIZE (3 * CFG_SHOWN_SIZE + 64) /* ... file "ID" */
#define CFG_FLEET_ERR_SIZE 512 /* a SmartmeterFile's error message */
#define CFG_CLASHES_SHOWN 50   /* instance clashes logged one by one */
#define CFG_DEFAULT_TOKEN_PATH "/auth/token"

/* --- logging ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static void
cfg_error(const char *where, const char *format, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(message, sizeof(message), format, ap);
  va_end(ap);
  ERROR(CFG_PREFIX "%s: %s", where, message);
}

__attribute__((format(printf, 2, 3))) static void
cfg_warning(const char *where, const char *format, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(message, sizeof(message), format, ap);
  va_end(ap);
  WARNING(CFG_PREFIX "%s: %s", where, message);
}

/* Configured text as it may appear in a log line: printable ASCII as is,
 * '"' and '\\' and every other byte escaped, cut after CFG_SHOWN_MAX
 * bytes, so a stray control byte or a long value cannot garble the log.
 * out holds CFG_SHOWN_SIZE bytes; returns out. */
static const char *cfg_shown(char out[CFG_SHOWN_SIZE], const char *text) {
  return dw_name_printable(out, CFG_SHOWN_SIZE, text, strlen(text));
}

/* Keeps the first error, except that running out of memory wins. */
static int cfg_worse(int status, int rc) {
  if (status == 0 || rc == -ENOMEM)
    return rc;
  return status;
}

static int cfg_oom(const char *where) {
  cfg_error(where, "out of memory");
  return -ENOMEM;
}

/* --- values ------------------------------------------------------------- */

/* Frees a string that may hold a secret, wiping it first. */
static void cfg_wipe_free(char *s) {
  if (s == NULL)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static bool cfg_one_of(const oconfig_item_t *opt, int type) {
  return opt->values_num == 1 && opt->values[0].type == type;
}

/* The Instance and account name rule (dw_name_is_safe). */
static bool cfg_name_is_safe(const char *name) {
  return dw_name_is_safe(name, strlen(name));
}

/* True when text holds a byte below 0x21 or DEL: whitespace or control. */
static bool cfg_has_space_or_control(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return true;
  return false;
}

/* A number option within [min, max]; *out untouched on error. */
static int cfg_number(const char *where, const oconfig_item_t *opt, double min,
                      double max, bool whole, double *out) {
  if (!cfg_one_of(opt, OCONFIG_TYPE_NUMBER)) {
    cfg_error(where, "%s needs one number", opt->key);
    return -EINVAL;
  }
  double x = opt->values[0].value.number;
  if (!isfinite(x) || x < min || x > max) {
    cfg_error(where, "%s must be between %.15g and %.15g (got %.15g)", opt->key,
              min, max, x);
    return -EINVAL;
  }
  if (whole && x != floor(x)) {
    cfg_error(where, "%s needs a whole number (got %.15g)", opt->key, x);
    return -EINVAL;
  }
  *out = x;
  return 0;
}

/* The index of a resource slug (or a period name), or -1. */
static int cfg_lookup(bool periods, const char *name) {
  if (periods) {
    dw_period_t p;
    return dw_period_from_name(name, &p) == 0 ? (int)p : -1;
  }
  dw_resource_t r;
  return dw_resource_from_slug(name, &r) == 0 ? (int)r : -1;
}

/* "costs, consumption, ..." for the log line about an unknown name. */
static const char *cfg_known(char *out, size_t size, bool periods) {
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
static int cfg_name_set(const char *where, const oconfig_item_t *opt,
                        bool periods, uint32_t *out) {
  if (opt->values_num < 1) {
    cfg_error(where, "%s needs one or more strings", opt->key);
    return -EINVAL;
  }
  uint32_t bits = 0;
  int status = 0;
  for (int i = 0; i < opt->values_num; i++) {
    const oconfig_value_t *v = &opt->values[i];
    if (v->type != OCONFIG_TYPE_STRING) {
      cfg_error(where, "%s needs strings only", opt->key);
      status = -EINVAL;
      continue;
    }
    int index = cfg_lookup(periods, v->value.string);
    if (index < 0) {
      char shown[CFG_SHOWN_SIZE], known[512];
      cfg_error(where, "%s: unknown %s \"%s\" (known: %s)", opt->key,
                periods ? "period" : "resource",
                cfg_shown(shown, v->value.string),
                cfg_known(known, sizeof(known), periods));
      status = -EINVAL;
      continue;
    }
    bits |= 1u << index;
  }
  if (status == 0)
    *out = bits;
  return status;
}

/* --- the option table --------------------------------------------------- */

typedef enum cfg_kind {
  CFG_STRING,    /* char *, 1..max bytes */
  CFG_SECRET,    /* char *, 1..max bytes, never logged, wiped */
  CFG_NAME,      /* char *, a safe name (cfg_name_is_safe) */
  CFG_SECONDS,   /* long milliseconds from seconds in [min, max] */
  CFG_UNSIGNED,  /* unsigned, a whole number in [min, max] */
  CFG_SIZE,      /* size_t, a whole number in [min, max] */
  CFG_BOOL,      /* bool */
  CFG_RESOURCES, /* uint32_t bits of dw_resource_t */
  CFG_PERIODS,   /* uint32_t bits of dw_period_t */
  CFG_PATH,      /* account only: Path "resource" "template" */
  CFG_REFRESH,   /* account only: RefreshInterval "resource" seconds */
  CFG_SHARD,     /* account only: Shard index count */
  CFG_METER,     /* account only: a <Smartmeter> block */
} cfg_kind_t;

typedef struct cfg_option {
  const char *key;
  cfg_kind_t kind;
  size_t offset; /* of the field in dw_account_cfg_t or dw_meter_cfg_t */
  double min, max;
} cfg_option_t;

#define ACCOUNT(field) offsetof(dw_account_cfg_t, field)
#define METER(field) offsetof(dw_meter_cfg_t, field)

static const cfg_option_t account_options[] = {
    {"BaseURL", CFG_STRING, ACCOUNT(base_url), 1, CFG_URL_MAX},
    {"TokenURL", CFG_STRING, ACCOUNT(token_url), 1, CFG_URL_MAX},
    {"ClientID", CFG_STRING, ACCOUNT(client_id), 1, CFG_TEXT_MAX},
    {"ClientSecret", CFG_SECRET, ACCOUNT(client_secret), 1, CFG_TEXT_MAX},
    {"ClientSecretFile", CFG_STRING, ACCOUNT(secret_file), 1, PATH_MAX},
    {"Timeout", CFG_SECONDS, ACCOUNT(timeout_ms), 0.1, 300},
    {"CycleTimeout", CFG_SECONDS, ACCOUNT(cycle_timeout_ms), 0, 86400},
    {"Interval", CFG_SECONDS, ACCOUNT(interval_ms), 1, 86400},
    {"MaxConcurrency", CFG_UNSIGNED, ACCOUNT(max_concurrency), 1, 1024},
    {"MaxBodySize", CFG_SIZE, ACCOUNT(max_body), 1024, 64 * 1024 * 1024},
    {"VerifyPeer", CFG_BOOL, ACCOUNT(verify_peer), 0, 0},
    {"VerifyHost", CFG_BOOL, ACCOUNT(verify_host), 0, 0},
    {"CACert", CFG_STRING, ACCOUNT(ca_cert), 1, PATH_MAX},
    {"ClientCert", CFG_STRING, ACCOUNT(client_cert), 1, PATH_MAX},
    {"ClientKey", CFG_STRING, ACCOUNT(client_key), 1, PATH_MAX},
    {"AllowInsecureHTTP", CFG_BOOL, ACCOUNT(allow_insecure_http), 0, 0},
    {"MonthlyHistory", CFG_BOOL, ACCOUNT(monthly_history), 0, 0},
    {"Resources", CFG_RESOURCES, ACCOUNT(resources), 0, 0},
    {"Periods", CFG_PERIODS, ACCOUNT(periods), 0, 0},
    {"Path", CFG_PATH, 0, 0, 0},
    {"RefreshInterval", CFG_REFRESH, 0, 0, 31 * 86400},
    {"Smartmeter", CFG_METER, 0, 0, 0},
    {"SmartmeterFile", CFG_STRING, ACCOUNT(smartmeter_file), 1, PATH_MAX},
    {"Shard", CFG_SHARD, 0, 1, 1024}, /* min and max of the count */
    {"BackoffMax", CFG_SECONDS, ACCOUNT(backoff_max_ms), 1, 86400},
    {"FailureThreshold", CFG_UNSIGNED, ACCOUNT(failure_threshold), 1, 1000},
    {"SelfMetrics", CFG_BOOL, ACCOUNT(self_metrics), 0, 0},
};

static const cfg_option_t meter_options[] = {
    {"Instance", CFG_NAME, METER(instance), 1, CFG_NAME_MAX},
    {"Resources", CFG_RESOURCES, METER(resources), 0, 0},
    {"Periods", CFG_PERIODS, METER(periods), 0, 0},
};

/* The table row named key (case-insensitive, as collectd does), or NULL. */
static const cfg_option_t *cfg_find(const cfg_option_t *table, size_t len,
                                    const char *key) {
  for (size_t i = 0; i < len; i++)
    if (strcasecmp(table[i].key, key) == 0)
      return &table[i];
  return NULL;
}

static int cfg_unknown(const char *where, const oconfig_item_t *opt) {
  char shown[CFG_SHOWN_SIZE];
  cfg_error(where, "unknown option \"%s\"", cfg_shown(shown, opt->key));
  return -EINVAL;
}

/* A string option; the last one given wins (a secret is wiped). */
static int cfg_set_string(const char *where, const cfg_option_t *o,
                          const oconfig_item_t *opt, char **field) {
  if (!cfg_one_of(opt, OCONFIG_TYPE_STRING)) {
    cfg_error(where, "%s needs one string", opt->key);
    return -EINVAL;
  }
  const char *value = opt->values[0].value.string;
  size_t len = strlen(value);
  if (len < (size_t)o->min) {
    cfg_error(where, "%s must not be empty", opt->key);
    return -EINVAL;
  }
  if (len > (size_t)o->max) {
    cfg_error(where, "%s is longer than %zu bytes", opt->key, (size_t)o->max);
    return -EINVAL;
  }
  if (o->kind == CFG_NAME && !cfg_name_is_safe(value)) {
    char shown[CFG_SHOWN_SIZE];
    cfg_error(where, "%s \"%s\" may only hold the characters [A-Za-z0-9_-]",
              opt->key, cfg_shown(shown, value));
    return -EINVAL;
  }
  char *copy = strdup(value);
  if (copy == NULL)
    return cfg_oom(where);
  if (o->kind == CFG_SECRET)
    cfg_wipe_free(*field);
  else
    free(*field);
  *field = copy;
  return 0;
}

/* Applies one option of the kinds both blocks share to the struct at base. */
static int cfg_apply(const char *where, const cfg_option_t *o,
                     const oconfig_item_t *opt, void *base) {
  void *field = (char *)base + o->offset;
  double x = 0;
  int status;
  if (opt->children_num > 0) {
    cfg_error(where, "%s is an option, not a block", opt->key);
    return -EINVAL;
  }
  switch (o->kind) {
  case CFG_STRING:
  case CFG_SECRET:
  case CFG_NAME:
    return cfg_set_string(where, o, opt, field);
  case CFG_SECONDS:
    status = cfg_number(where, opt, o->min, o->max, false, &x);
    if (status == 0)
      *(long *)field = lround(x * 1000);
    return status;
  case CFG_UNSIGNED:
    status = cfg_number(where, opt, o->min, o->max, true, &x);
    if (status == 0)
      *(unsigned *)field = (unsigned)x;
    return status;
  case CFG_SIZE:
    status = cfg_number(where, opt, o->min, o->max, true, &x);
    if (status == 0)
      *(size_t *)field = (size_t)x;
    return status;
  case CFG_BOOL:
    if (!cfg_one_of(opt, OCONFIG_TYPE_BOOLEAN)) {
      cfg_error(where, "%s needs one boolean (true or false)", opt->key);
      return -EINVAL;
    }
    *(bool *)field = opt->values[0].value.boolean != 0;
    return 0;
  case CFG_RESOURCES:
  case CFG_PERIODS:
    return cfg_name_set(where, opt, o->kind == CFG_PERIODS, field);
  default:
    return -EINVAL; /* account-only kinds never reach here */
  }
}

/* --- <Smartmeter> -------------------------------------------------------- */

/* Everything one <Account> block needs while it is being read. */
typedef struct account_ctx {
  dw_account_cfg_t *a;
  char where[CFG_ACCOUNT_WHERE_SIZE];
  size_t meter_blocks; /* <Smartmeter> blocks seen, good or bad */
} account_ctx_t;

/* The ID of a <Smartmeter "ID"> block into *id, checked; where is set. */
static int meter_id(account_ctx_t *ctx, const oconfig_item_t *ci,
                    char where[CFG_WHERE_SIZE], char **id) {
  char shown[CFG_SHOWN_SIZE];
  if (!cfg_one_of(ci, OCONFIG_TYPE_STRING)) {
    snprintf(where, CFG_WHERE_SIZE, "%s <Smartmeter>", ctx->where);
    cfg_error(where, "<Smartmeter> needs one string: the smartmeter ID");
    return -EINVAL;
  }
  const char *text = ci->values[0].value.string;
  snprintf(where, CFG_WHERE_SIZE, "%s <Smartmeter \"%s\">", ctx->where,
           cfg_shown(shown, text));
  int status = 0;
  if (text[0] == '\0') {
    cfg_error(where, "the smartmeter ID must not be empty");
    status = -EINVAL;
  } else if (cfg_has_space_or_control(text)) {
    cfg_error(where, "the smartmeter ID must not contain whitespace or "
                     "control characters");
    status = -EINVAL;
  } else if (strlen(text) > DW_MAX_ID_LEN) {
    cfg_error(where, "the smartmeter ID is longer than %d bytes",
              DW_MAX_ID_LEN);
    status = -EINVAL;
  }
  for (size_t i = 0; status == 0 && i < ctx->a->meters_len; i++) {
    if (strcmp(ctx->a->meters[i].id, text) == 0) {
      cfg_error(where, "duplicate smartmeter ID: this account already has "
                       "a <Smartmeter> with it");
      status = -EINVAL;
    }
  }
  if (status == 0 && (*id = strdup(text)) == NULL)
    return cfg_oom(where);
  return status;
}

static int meter_append(account_ctx_t *ctx, dw_meter_cfg_t *m) {
  dw_account_cfg_t *a = ctx->a;
  dw_meter_cfg_t *meters =
      realloc(a->meters, (a->meters_len + 1) * sizeof(*meters));
  if (meters == NULL)
    return cfg_oom(ctx->where);
  a->meters = meters;
  a->meters[a->meters_len++] = *m;
  *m = (dw_meter_cfg_t){0};
  return 0;
}

static void meter_free(dw_meter_cfg_t *m) {
  free(m->id);
  free(m->instance);
  *m = (dw_meter_cfg_t){0};
}

/* One <Smartmeter> block; its resources and periods stay 0 ("the
 * account's") until account_finish(), so option order does not matter. */
static int meter_parse(account_ctx_t *ctx, const oconfig_item_t *ci) {
  char where[CFG_WHERE_SIZE];
  dw_meter_cfg_t m = {0};
  ctx->meter_blocks++;
  int status = meter_id(ctx, ci, where, &m.id);
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *opt = &ci->children[i];
    const cfg_option_t *o =
        cfg_find(meter_options,
                 sizeof(meter_options) / sizeof(meter_options[0]), opt->key);
    int rc = o ? cfg_apply(where, o, opt, &m) : cfg_unknown(where, opt);
    status = cfg_worse(status, rc);
  }
  if (status == 0 && m.instance == NULL) {
    char safe[CFG_NAME_MAX + 1];
    dw_name_safe(safe, sizeof(safe), m.id);
    if ((m.instance = strdup(safe)) == NULL)
      status = cfg_oom(where);
  }
  if (status == 0)
    status = meter_append(ctx, &m);
  meter_free(&m);
  return status;
}

/* --- <Account> options ---------------------------------------------------- */

/* The resource named by the first value of opt; logs when it is unknown. */
static int account_resource(account_ctx_t *ctx, const oconfig_item_t *opt,
                            dw_resource_t *r) {
  if (dw_resource_from_slug(opt->values[0].value.string, r) == 0)
    return 0;
  char shown[CFG_SHOWN_SIZE];
  cfg_error(ctx->where, "%s: unknown resource \"%s\"", opt->key,
            cfg_shown(shown, opt->values[0].value.string));
  return -EINVAL;
}

/* Path "resource" "template": one resource's path template, checked. */
static int account_path(account_ctx_t *ctx, const oconfig_item_t *opt) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_STRING ||
      opt->values[1].type != OCONFIG_TYPE_STRING) {
    cfg_error(ctx->where, "%s needs two strings: a resource and a template",
              opt->key);
    return -EINVAL;
  }
  dw_resource_t r;
  if (account_resource(ctx, opt, &r) != 0)
    return -EINVAL;
  const char *tmpl = opt->values[1].value.string;
  const char *why = "invalid";
  if (dw_url_check_template(tmpl, dw_resource_info(r)->has_period, &why) != 0) {
    char shown[CFG_SHOWN_SIZE];
    cfg_error(ctx->where, "%s \"%s\" \"%s\": %s", opt->key,
              dw_resource_info(r)->slug, cfg_shown(shown, tmpl), why);
    return -EINVAL;
  }
  char *copy = strdup(tmpl);
  if (copy == NULL)
    return cfg_oom(ctx->where);
  free(ctx->a->paths[r]);
  ctx->a->paths[r] = copy;
  return 0;
}

/* RefreshInterval "resource" seconds: how often one resource is fetched. */
static int account_refresh(account_ctx_t *ctx, const cfg_option_t *o,
                           const oconfig_item_t *opt) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_STRING ||
      opt->values[1].type != OCONFIG_TYPE_NUMBER) {
    cfg_error(ctx->where, "%s needs a resource and a number of seconds",
              opt->key);
    return -EINVAL;
  }
  dw_resource_t r;
  if (account_resource(ctx, opt, &r) != 0)
    return -EINVAL;
  double seconds = opt->values[1].value.number;
  if (!isfinite(seconds) || seconds < o->min || seconds > o->max) {
    cfg_error(ctx->where, "%s \"%s\" must be between %.15g and %.15g seconds",
              opt->key, dw_resource_info(r)->slug, o->min, o->max);
    return -EINVAL;
  }
  ctx->a->refresh_ms[r] = lround(seconds * 1000);
  return 0;
}

static bool cfg_is_whole(double x) { return isfinite(x) && x == floor(x); }

/* Shard index count: this host fetches the account's meters whose
 * dw_fleet_shard(id, count) is index; the count is checked first, as the
 * index's range depends on it. */
static int account_shard(account_ctx_t *ctx, const cfg_option_t *o,
                         const oconfig_item_t *opt) {
  if (opt->values_num != 2 || opt->values[0].type != OCONFIG_TYPE_NUMBER ||
      opt->values[1].type != OCONFIG_TYPE_NUMBER) {
    cfg_error(ctx->where, "%s needs two numbers: an index and a count",
              opt->key);
    return -EINVAL;
  }
  double index = opt->values[0].value.number;
  double count = opt->values[1].value.number;
  if (!cfg_is_whole(count) || count < o->min || count > o->max) {
    cfg_error(ctx->where,
              "%s: the count must be a whole number from %.15g to %.15g "
              "(got %.15g)",
              opt->key, o->min, o->max, count);
    return -EINVAL;
  }
  if (!cfg_is_whole(index) || index < 0 || index >= count) {
    cfg_error(ctx->where,
              "%s: the index must be a whole number from 0 to %.15g, one "
              "less than the count (got %.15g)",
              opt->key, count - 1, index);
    return -EINVAL;
  }
  ctx->a->shard_index = (unsigned)index;
  ctx->a->shard_count = (unsigned)count;
  return 0;
}

static int account_option(account_ctx_t *ctx, const oconfig_item_t *opt) {
  const cfg_option_t *o =
      cfg_find(account_options,
               sizeof(account_options) / sizeof(account_options[0]), opt->key);
  if (o == NULL)
    return cfg_unknown(ctx->where, opt);
  switch (o->kind) {
  case CFG_PATH:
    return account_path(ctx, opt);
  case CFG_REFRESH:
    return account_refresh(ctx, o, opt);
  case CFG_SHARD:
    return account_shard(ctx, o, opt);
  case CFG_METER:
    return meter_parse(ctx, opt);
  default:
    return cfg_apply(ctx->where, o, opt, ctx->a);
  }
}

/* --- <Account> checks once every option is read --------------------------- */

/* Plain http:// is fine to loopback (the simulator, a local proxy);
 * elsewhere it needs AllowInsecureHTTP, and then still gets a warning. */
static int account_check_plain_http(account_ctx_t *ctx, const char *option,
                                    const char *url) {
  char shown[CFG_SHOWN_SIZE];
  if (dw_url_is_loopback_http(url))
    return 0;
  if (!ctx->a->allow_insecure_http) {
    cfg_error(ctx->where,
              "%s \"%s\": plain http:// to a host other than loopback would "
              "send the client secret and tokens unencrypted; use https:// "
              "or set AllowInsecureHTTP true",
              option, cfg_shown(shown, url));
    return -EINVAL;
  }
  cfg_warning(ctx->where,
              "%s \"%s\" is plain http:// (AllowInsecureHTTP true): the "
              "client secret and tokens travel unencrypted",
              option, cfg_shown(shown, url));
  return 0;
}

/* Checks one URL option: http(s) only, a host, no user:password@, and for
 * BaseURL no query or fragment (path templates are appended to it). */
static int account_check_url(account_ctx_t *ctx, const char *option,
                             const char *url, bool is_base) {
  char shown[CFG_SHOWN_SIZE];
  bool https = strncasecmp(url, "https://", 8) == 0;
  bool http = strncasecmp(url, "http://", 7) == 0;
  const char *why = NULL;
  if (cfg_has_space_or_control(url)) {
    cfg_error(ctx->where,
              "%s must not contain whitespace or control "
              "characters",
              option);
    return -EINVAL;
  }
  const char *host = url + (https ? 8 : 7);
  size_t authority_len = strcspn(host, "/?#");
  if ((https || http) && memchr(host, '@', authority_len) != NULL) {
    /* Userinfo may be a password: the URL is not shown. */
    cfg_error(ctx->where,
              "%s must not contain user:password@; use "
              "ClientID and ClientSecret",
              option);
    return -EINVAL;
  }
  if (!https && !http)
    why = "only http:// and https:// URLs are supported";
  else if (authority_len == 0)
    why = "the URL has no host";
  else if (strchr(url, '#') != NULL || (is_base && strchr(url, '?') != NULL))
    why = is_base ? "must not contain '?' or '#'" : "must not contain '#'";
  if (why != NULL) {
    cfg_error(ctx->where, "%s \"%s\": %s", option, cfg_shown(shown, url), why);
    return -EINVAL;
  }
  return http ? account_check_plain_http(ctx, option, url) : 0;
}

/* Strips the trailing '/'s of BaseURL (kept past "scheme://host"), and
 * derives TokenURL from it when none is given. */
static int account_finish_urls(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  int status = account_check_url(ctx, "BaseURL", a->base_url, true);
  if (a->token_url != NULL)
    status = cfg_worse(status,
                       account_check_url(ctx, "TokenURL", a->token_url, false));
  if (status != 0)
    return status;
  size_t len = strlen(a->base_url);
  while (len > 0 && a->base_url[len - 1] == '/')
    a->base_url[--len] = '\0';
  if (a->token_url == NULL) {
    size_t size = len + sizeof(CFG_DEFAULT_TOKEN_PATH);
    if ((a->token_url = malloc(size)) == NULL)
      return cfg_oom(ctx->where);
    snprintf(a->token_url, size, "%s%s", a->base_url, CFG_DEFAULT_TOKEN_PATH);
  }
  return 0;
}

/* Reads from fd into buf until a newline, EOF or size bytes; 0 or
 * a negative errno. */
static int cfg_read_head(int fd, char *buf, size_t size, size_t *len) {
  *len = 0;
  while (*len < size && memchr(buf, '\n', *len) == NULL) {
    ssize_t n = read(fd, buf + *len, size - *len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      break;
    *len += (size_t)n;
  }
  return 0;
}

/* Reads the first line of the secret file, without "\r\n". The line goes
 * through a stack buffer that is wiped, never through stdio's heap. */
static int account_read_secret(account_ctx_t *ctx, int fd, const char *shown,
                               char **secret) {
  char line[CFG_TEXT_MAX + 2];
  size_t len;
  const char *why = NULL;
  int status = cfg_read_head(fd, line, sizeof(line), &len);
  if (status != 0) {
    char buf[256];
    cfg_error(ctx->where, "cannot read ClientSecretFile \"%s\": %s", shown,
              strerror_r(-status, buf, sizeof(buf)));
    goto out;
  }
  char *newline = memchr(line, '\n', len);
  size_t line_len = newline ? (size_t)(newline - line) : len;
  if (line_len > 0 && line[line_len - 1] == '\r')
    line_len--;
  if (line_len > CFG_TEXT_MAX)
    why = "the first line is too long";
  else if (line_len == 0)
    why = "the first line is empty";
  else if (memchr(line, '\0', line_len) != NULL)
    why = "the first line is not text (it holds a NUL byte)";
  if (why != NULL) {
    cfg_error(ctx->where, "ClientSecretFile \"%s\": %s", shown, why);
    status = -EINVAL;
  } else if ((*secret = strndup(line, line_len)) == NULL) {
    status = cfg_oom(ctx->where);
  }
out:
  explicit_bzero(line, sizeof(line));
  return status == 0 ? 0 : status == -ENOMEM ? -ENOMEM : -EINVAL;
}

/* ClientSecretFile: opened without blocking (a FIFO must not hang
 * collectd's start), a regular file, and a warning when others may read
 * it: the warning names the file, never what it holds. */
static int account_secret_file(account_ctx_t *ctx) {
  char shown[CFG_SHOWN_SIZE];
  cfg_shown(shown, ctx->a->secret_file);
  int fd =
      open(ctx->a->secret_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    char buf[256];
    cfg_error(ctx->where, "cannot open ClientSecretFile \"%s\": %s", shown,
              strerror_r(errno, buf, sizeof(buf)));
    return -EINVAL;
  }
  struct stat st;
  int status = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    cfg_error(ctx->where, "ClientSecretFile \"%s\" is not a regular file",
              shown);
    status = -EINVAL;
  } else {
    if ((st.st_mode & 077) != 0)
      cfg_warning(ctx->where,
                  "ClientSecretFile \"%s\" is accessible by "
                  "group or others (mode %04o); chmod 600 it",
                  shown, (unsigned)(st.st_mode & 07777));
    status = account_read_secret(ctx, fd, shown, &ctx->a->client_secret);
  }
  close(fd);
  return status;
}

/* The options every account needs, and the secret from one place only. */
static int account_finish_required(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  int status = 0;
  if (a->base_url == NULL) {
    cfg_error(ctx->where, "BaseURL is required");
    status = -EINVAL;
  }
  if (a->client_id == NULL) {
    cfg_error(ctx->where, "ClientID is required");
    status = -EINVAL;
  }
  if (a->client_secret != NULL && a->secret_file != NULL) {
    cfg_error(ctx->where, "ClientSecret and ClientSecretFile both given; "
                          "use only one of them");
    status = -EINVAL;
  } else if (a->client_secret == NULL && a->secret_file == NULL) {
    cfg_error(ctx->where, "ClientSecret or ClientSecretFile is required");
    status = -EINVAL;
  } else if (a->secret_file != NULL) {
    status = cfg_worse(status, account_secret_file(ctx));
  }
  if ((a->client_cert == NULL) != (a->client_key == NULL)) {
    cfg_error(ctx->where, "ClientCert and ClientKey go together: give both "
                          "or neither");
    status = -EINVAL;
  }
  return status;
}

/* Fills what was left to defaults: meters take the account's final
 * resources and periods, resources without a Path their default one. */
static int account_finish_defaults(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  if (a->resources == 0)
    a->resources = DW_RES_ALL;
  if (a->periods == 0)
    a->periods = DW_PERIOD_ALL;
  for (size_t i = 0; i < a->meters_len; i++) {
    if (a->meters[i].resources == 0)
      a->meters[i].resources = a->resources;
    if (a->meters[i].periods == 0)
      a->meters[i].periods = a->periods;
  }
  for (int r = 0; r < DW_RES_COUNT; r++) {
    if (a->paths[r] != NULL)
      continue;
    a->paths[r] = strdup(dw_resource_info((dw_resource_t)r)->default_path);
    if (a->paths[r] == NULL)
      return cfg_oom(ctx->where);
  }
  return 0;
}

/* Reads a SmartmeterFile and logs why it is bad. 0, -EINVAL or -ENOMEM. */
static int cfg_load_fleet(const char *where, const char *path,
                          dw_fleet_t *fleet) {
  dw_fleet_stamp_t stamp;
  char err[CFG_FLEET_ERR_SIZE];
  int status = dw_fleet_load(path, fleet, &stamp, err, sizeof(err));
  if (status == 0)
    return 0;
  char shown[CFG_SHOWN_SIZE];
  cfg_error(where, "SmartmeterFile \"%s\": %s", cfg_shown(shown, path), err);
  return status == -ENOMEM ? -ENOMEM : -EINVAL;
}

/* An account needs a meter, from a <Smartmeter> block or its
 * SmartmeterFile. The file is read here so that its mistakes stop
 * collectd's start like any other; its meters are not kept, because the
 * account reads the file itself (again whenever it changes). */
static int account_finish_meters(account_ctx_t *ctx) {
  const char *path = ctx->a->smartmeter_file;
  dw_fleet_t fleet = {0};
  if (path != NULL) {
    int status = cfg_load_fleet(ctx->where, path, &fleet);
    if (status != 0)
      return status;
  }
  size_t listed = fleet.len;
  dw_fleet_free(&fleet);
  if (ctx->meter_blocks > 0 || listed > 0)
    return 0;
  char shown[CFG_SHOWN_SIZE];
  if (path != NULL)
    cfg_error(ctx->where,
              "no smartmeter configured: SmartmeterFile \"%s\" lists none "
              "and there is no <Smartmeter> block",
              cfg_shown(shown, path));
  else
    cfg_error(ctx->where, "no smartmeter configured: add a <Smartmeter "
                          "\"ID\"> block or a SmartmeterFile");
  return -EINVAL;
}

static int account_finish(account_ctx_t *ctx) {
  int status = account_finish_required(ctx);
  if (ctx->a->base_url != NULL)
    status = cfg_worse(status, account_finish_urls(ctx));
  status = cfg_worse(status, account_finish_meters(ctx));
  if (status != 0)
    return status;
  return account_finish_defaults(ctx);
}

/* --- <Account> ------------------------------------------------------------ */

static void account_defaults(dw_account_cfg_t *a) {
  *a = (dw_account_cfg_t){
      .timeout_ms = DW_DEFAULT_TIMEOUT_MS,
      .max_concurrency = DW_DEFAULT_MAX_CONCURRENCY,
      .max_body = DW_DEFAULT_MAX_BODY,
      .verify_peer = true,
      .verify_host = true,
      .monthly_history = true,
      .backoff_max_ms = DW_DEFAULT_BACKOFF_MAX_MS,
      .failure_threshold = DW_DEFAULT_FAILURE_THRESHOLD,
      .self_metrics = true,
  };
  for (int r = 0; r < DW_RES_COUNT; r++)
    a->refresh_ms[r] = 1000L * dw_resource_info((dw_resource_t)r)->refresh_s;
}

/* The account's name from <Account "name">; where is set either way. */
static int account_name(account_ctx_t *ctx, const oconfig_item_t *ci) {
  char shown[CFG_SHOWN_SIZE];
  if (!cfg_one_of(ci, OCONFIG_TYPE_STRING)) {
    snprintf(ctx->where, sizeof(ctx->where), "<Account>");
    cfg_error(ctx->where, "<Account> needs one string: the account name");
    return -EINVAL;
  }
  const char *name = ci->values[0].value.string;
  snprintf(ctx->where, sizeof(ctx->where), "<Account \"%s\">",
           cfg_shown(shown, name));
  if (!cfg_name_is_safe(name)) {
    cfg_error(ctx->where,
              "the account name must be 1 to %d characters of "
              "[A-Za-z0-9_-]",
              CFG_NAME_MAX);
    return -EINVAL;
  }
  if ((ctx->a->name = strdup(name)) == NULL)
    return cfg_oom(ctx->where);
  return 0;
}

/* One <Account> block into *a; on error *a is freed and zeroed. */
static int account_parse(const oconfig_item_t *ci, dw_account_cfg_t *a) {
  account_defaults(a);
  account_ctx_t ctx = {.a = a};
  int status = account_name(&ctx, ci);
  for (int i = 0; i < ci->children_num; i++)
    status = cfg_worse(status, account_option(&ctx, &ci->children[i]));
  status = cfg_worse(status, account_finish(&ctx));
  if (status != 0)
    dw_account_cfg_free(a);
  return status;
}

/* --- the plugin ----------------------------------------------------------- */

static int config_append(dw_config_t *cfg, dw_account_cfg_t *a) {
  dw_account_cfg_t *accounts =
      realloc(cfg->accounts, (cfg->accounts_len + 1) * sizeof(*accounts));
  if (accounts == NULL) {
    dw_account_cfg_free(a);
    return cfg_oom("<Plugin digiwatt>");
  }
  cfg->accounts = accounts;
  cfg->accounts_len++;
  cfg->accounts[cfg->accounts_len - 1] = *a;
  *a = (dw_account_cfg_t){0};
  return 0;
}

/* Validates what *out holds plus fresh, and moves fresh's accounts into
 * *out only when both the block and the whole are fine. */
static int config_commit(dw_config_t *out, dw_config_t *fresh, int status) {
  size_t len = out->accounts_len + fresh->accounts_len;
  if (len == 0)
    return status;
  dw_account_cfg_t *all = malloc(len * sizeof(*all));
  if (all == NULL) {
    dw_config_free(fresh);
    return cfg_oom("<Plugin digiwatt>");
  }
  if (out->accounts_len > 0)
    memcpy(all, out->accounts, out->accounts_len * sizeof(*all));
  if (fresh->accounts_len > 0)
    memcpy(all + out->accounts_len, fresh->accounts,
           fresh->accounts_len * sizeof(*all));
  dw_config_t merged = {.accounts = all, .accounts_len = len};
  status = cfg_worse(status, dw_config_validate(&merged));
  if (status != 0) {
    free(all); /* the accounts in it still belong to out and fresh */
    dw_config_free(fresh);
    return status;
  }
  free(out->accounts);
  free(fresh->accounts);
  *out = merged;
  *fresh = (dw_config_t){0};
  return 0;
}

int dw_config_parse(const oconfig_item_t *ci, dw_config_t *out) {
  dw_config_t fresh = {0};
  int status = 0;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    if (strcasecmp(child->key, "Account") != 0) {
      status = cfg_worse(status, cfg_unknown("<Plugin digiwatt>", child));
      continue;
    }
    dw_account_cfg_t a;
    int rc = account_parse(child, &a);
    if (rc == 0)
      rc = config_append(&fresh, &a);
    status = cfg_worse(status, rc);
  }
  return config_commit(out, &fresh, status);
}

/* --- the whole configuration -----------------------------------------------
 */

/* One meter as the instance check sees it: a <Smartmeter> block, or a
 * line of a SmartmeterFile that no block of the same account overrides. */
typedef struct cfg_meter_ref {
  const char *instance;
  const char *id;
  size_t account;
  bool from_file;
  char safe[CFG_NAME_MAX + 1];       /* a file meter's default instance */
  const struct cfg_meter_ref *first; /* the earlier one with this instance */
} cfg_meter_ref_t;

static int cfg_compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* By instance, and in configuration order among equal instances. */
static int cfg_compare_refs(const void *a, const void *b) {
  const cfg_meter_ref_t *x = *(const cfg_meter_ref_t *const *)a;
  const cfg_meter_ref_t *y = *(const cfg_meter_ref_t *const *)b;
  int order = strcmp(x->instance, y->instance);
  return order != 0 ? order : (x > y) - (x < y);
}

/* Appends account ai's meters to refs: its blocks, then the lines of its
 * file whose ID no block has (the block wins). ids holds room for the
 * block IDs, sorted here to look them up. */
static void config_add_refs(const dw_config_t *cfg, size_t ai,
                            const dw_fleet_t *fleet, const char **ids,
                            cfg_meter_ref_t *refs, size_t *len) {
  const dw_account_cfg_t *a = &cfg->accounts[ai];
  for (size_t m = 0; m < a->meters_len; m++) {
    ids[m] = a->meters[m].id;
    refs[(*len)++] = (cfg_meter_ref_t){.instance = a->meters[m].instance,
                                       .id = a->meters[m].id,
                                       .account = ai};
  }
  qsort(ids, a->meters_len, sizeof(*ids), cfg_compare_strings);
  for (size_t e = 0; e < fleet->len; e++) {
    const dw_fleet_entry_t *entry = &fleet->entries[e];
    if (bsearch(&entry->id, ids, a->meters_len, sizeof(*ids),
                cfg_compare_strings) != NULL)
      continue;
    cfg_meter_ref_t *ref = &refs[(*len)++];
    *ref = (cfg_meter_ref_t){.instance = entry->instance,
                             .id = entry->id,
                             .account = ai,
                             .from_file = true};
    if (ref->instance == NULL) {
      dw_name_safe(ref->safe, sizeof(ref->safe), entry->id);
      ref->instance = ref->safe;
    }
  }
}

/* "<Account "a"> <Smartmeter "ID">" or "<Account "a"> SmartmeterFile
 * "/path" meter "ID"", for a log line. */
static const char *config_ref_where(char out[CFG_REF_WHERE_SIZE],
                                    const dw_config_t *cfg,
                                    const cfg_meter_ref_t *ref) {
  const dw_account_cfg_t *a = &cfg->accounts[ref->account];
  char name[CFG_SHOWN_SIZE], id[CFG_SHOWN_SIZE], path[CFG_SHOWN_SIZE];
  cfg_shown(name, a->name);
  cfg_shown(id, ref->id);
  if (ref->from_file)
    snprintf(out, CFG_REF_WHERE_SIZE,
             "<Account \"%s\"> SmartmeterFile \"%s\" meter \"%s\"", name,
             cfg_shown(path, a->smartmeter_file), id);
  else
    snprintf(out, CFG_REF_WHERE_SIZE, "<Account \"%s\"> <Smartmeter \"%s\">",
             name, id);
  return out;
}

/* Logs each meter whose plugin instance an earlier meter already has
 * (sorting finds them in n log n: a fleet file may list many thousands),
 * in configuration order, and at most CFG_CLASHES_SHOWN of them. */
static int config_report_clashes(const dw_config_t *cfg, cfg_meter_ref_t *refs,
                                 size_t len, const cfg_meter_ref_t **sorted) {
  for (size_t i = 0; i < len; i++)
    sorted[i] = &refs[i];
  qsort(sorted, len, sizeof(*sorted), cfg_compare_refs);
  for (size_t i = 1; i < len; i++) {
    if (strcmp(sorted[i]->instance, sorted[i - 1]->instance) == 0)
      refs[sorted[i] - refs].first =
          sorted[i - 1]->first ? sorted[i - 1]->first : sorted[i - 1];
  }
  size_t clashes = 0;
  for (size_t i = 0; i < len; i++) {
    if (refs[i].first == NULL || ++clashes > CFG_CLASHES_SHOWN)
      continue;
    char where[CFG_REF_WHERE_SIZE], other[CFG_REF_WHERE_SIZE];
    cfg_error(config_ref_where(where, cfg, &refs[i]),
              "plugin instance \"%s\" is already used by %s; give one of "
              "them another Instance",
              refs[i].instance, config_ref_where(other, cfg, refs[i].first));
  }
  if (clashes > CFG_CLASHES_SHOWN)
    cfg_error("<Plugin digiwatt>", "%zu more plugin instance clashes",
              clashes - CFG_CLASHES_SHOWN);
  return clashes > 0 ? -EINVAL : 0;
}

/* Reads every account's SmartmeterFile into fleets (one per account) and
 * counts the meters: all of them, and the most blocks of one account. */
static int config_load_fleets(const dw_config_t *cfg, dw_fleet_t *fleets,
                              size_t *total, size_t *most_blocks) {
  int status = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    const dw_account_cfg_t *a = &cfg->accounts[i];
    char where[CFG_ACCOUNT_WHERE_SIZE], shown[CFG_SHOWN_SIZE];
    snprintf(where, sizeof(where), "<Account \"%s\">",
             cfg_shown(shown, a->name));
    if (a->smartmeter_file != NULL)
      status = cfg_worse(status,
                         cfg_load_fleet(where, a->smartmeter_file, &fleets[i]));
    *total += a->meters_len + fleets[i].len;
    if (a->meters_len > *most_blocks)
      *most_blocks = a->meters_len;
  }
  return status;
}

/* Plugin instances are unique across every account, counting the meters
 * of the SmartmeterFiles (read again here: validation sees the whole
 * configuration, which collectd may hand over in several blocks). A file
 * that cannot be read is logged and counts as empty. */
static int config_check_instances(const dw_config_t *cfg) {
  if (cfg->accounts_len == 0)
    return 0;
  dw_fleet_t *fleets = calloc(cfg->accounts_len, sizeof(*fleets));
  cfg_meter_ref_t *refs = NULL;
  const cfg_meter_ref_t **sorted = NULL;
  const char **ids = NULL;
  size_t total = 0, most_blocks = 0, len = 0;
  if (fleets == NULL)
    return cfg_oom("<Plugin digiwatt>");
  int status = config_load_fleets(cfg, fleets, &total, &most_blocks);
  if (status == -ENOMEM)
    goto fail;
  refs = malloc((total ? total : 1) * sizeof(*refs));
  sorted = malloc((total ? total : 1) * sizeof(*sorted));
  ids = malloc((most_blocks ? most_blocks : 1) * sizeof(*ids));
  if (refs == NULL || sorted == NULL || ids == NULL) {
    status = cfg_oom("<Plugin digiwatt>");
    goto fail;
  }
  for (size_t i = 0; i < cfg->accounts_len; i++)
    config_add_refs(cfg, i, &fleets[i], ids, refs, &len);
  status = cfg_worse(status, config_report_clashes(cfg, refs, len, sorted));
fail:
  for (size_t i = 0; i < cfg->accounts_len; i++)
    dw_fleet_free(&fleets[i]);
  free(fleets);
  free(refs);
  free(sorted);
  free(ids);
  return status;
}

int dw_config_validate(const dw_config_t *cfg) {
  int status = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    const char *name = cfg->accounts[i].name;
    for (size_t j = 0; j < i; j++) {
      if (strcmp(cfg->accounts[j].name, name) == 0) {
        char shown[CFG_SHOWN_SIZE], where[CFG_WHERE_SIZE];
        snprintf(where, sizeof(where), "<Account \"%s\">",
                 cfg_shown(shown, name));
        cfg_error(where, "duplicate account name: each <Account> needs a "
                         "name of its own");
        status = -EINVAL;
        break;
      }
    }
  }
  return cfg_worse(status, config_check_instances(cfg));
}

void dw_account_cfg_free(dw_account_cfg_t *a) {
  if (a == NULL)
    return;
  free(a->name);
  free(a->base_url);
  free(a->token_url);
  free(a->client_id);
  cfg_wipe_free(a->client_secret);
  free(a->secret_file);
  free(a->ca_cert);
  free(a->client_cert);
  free(a->client_key);
  free(a->smartmeter_file);
  for (int r = 0; r < DW_RES_COUNT; r++)
    free(a->paths[r]);
  for (size_t i = 0; i < a->meters_len; i++)
    meter_free(&a->meters[i]);
  free(a->meters);
  *a = (dw_account_cfg_t){0};
}

void dw_config_free(dw_config_t *cfg) {
  if (cfg == NULL)
    return;
  for (size_t i = 0; i < cfg->accounts_len; i++)
    dw_account_cfg_free(&cfg->accounts[i]);
  free(cfg->accounts);
  *cfg = (dw_config_t){0};
}
