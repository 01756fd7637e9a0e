/* dw_config.c - the <Plugin digiwatt> blocks as plain structures (see
 * dw_config.h).
 *
 * Every check logs its own problem and the readers go on after an error,
 * so one collectd start shows every mistake in the file rather than one
 * per restart. Blocks are described by tables of dw_option_t (name, kind,
 * field, range), so adding an option is one line. The client secret is
 * never printed, and is wiped before its memory goes back to the
 * allocator. */
#include "dw_config.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_option.h"
#include "dw_secret.h"
#include "dw_urlpolicy.h"

#include "collectd.h"

#include "liboconfig/oconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_URL_MAX 2048                            /* BaseURL, TokenURL */
#define CFG_TEXT_MAX DW_SECRET_MAX                  /* ClientID, ClientSecret */
#define CFG_ACCOUNT_WHERE_SIZE (DW_SHOWN_SIZE + 16) /* <Account "name"> */
#define CFG_WHERE_SIZE (2 * DW_SHOWN_SIZE + 64)     /* ... <Smartmeter "ID"> */
#define CFG_DEFAULT_TOKEN_PATH "/auth/token"
#define CFG_USER_AGENT_MAX 512 /* UserAgent */
#define CFG_LIST_MAX 32        /* Header lines, TokenParam pairs */
#define CFG_DEFAULT_USER_AGENT "collectd-digiwatt/" PACKAGE_VERSION

_Static_assert(CFG_TEXT_MAX == DW_SECRET_MAX,
               "a ClientSecretFile holds what ClientSecret may");

#define ACCOUNT(field) offsetof(dw_account_cfg_t, field)
#define METER(field) offsetof(dw_meter_cfg_t, field)

static const dw_option_t account_options[] = {
    {"BaseURL", DW_OPT_STRING, ACCOUNT(base_url), 1, CFG_URL_MAX},
    {"TokenURL", DW_OPT_STRING, ACCOUNT(token_url), 1, CFG_URL_MAX},
    {"ClientID", DW_OPT_STRING, ACCOUNT(client_id), 1, CFG_TEXT_MAX},
    {"ClientSecret", DW_OPT_SECRET, ACCOUNT(client_secret), 1, CFG_TEXT_MAX},
    {"ClientSecretFile", DW_OPT_STRING, ACCOUNT(secret_file), 1, PATH_MAX},
    {"Timeout", DW_OPT_SECONDS, ACCOUNT(timeout_ms), 0.1, 300},
    {"CycleTimeout", DW_OPT_SECONDS, ACCOUNT(cycle_timeout_ms), 0, 86400},
    {"Interval", DW_OPT_SECONDS, ACCOUNT(interval_ms), 1, 86400},
    {"MaxConcurrency", DW_OPT_UNSIGNED, ACCOUNT(max_concurrency), 1, 1024},
    {"MaxBodySize", DW_OPT_SIZE, ACCOUNT(max_body), 1024, 64 * 1024 * 1024},
    {"MaxRequestsPerSecond", DW_OPT_RATE, ACCOUNT(max_requests_per_s), 0.001,
     10000}, /* or 0: no limit */
    {"VerifyPeer", DW_OPT_BOOL, ACCOUNT(verify_peer), 0, 0},
    {"VerifyHost", DW_OPT_BOOL, ACCOUNT(verify_host), 0, 0},
    {"CACert", DW_OPT_STRING, ACCOUNT(ca_cert), 1, PATH_MAX},
    {"CAPath", DW_OPT_STRING, ACCOUNT(ca_path), 1, PATH_MAX},
    {"ClientCert", DW_OPT_STRING, ACCOUNT(client_cert), 1, PATH_MAX},
    {"ClientKey", DW_OPT_STRING, ACCOUNT(client_key), 1, PATH_MAX},
    {"ClientKeyPassword", DW_OPT_SECRET, ACCOUNT(client_key_password), 1,
     CFG_TEXT_MAX},
    {"ClientKeyPasswordFile", DW_OPT_STRING, ACCOUNT(key_password_file), 1,
     PATH_MAX},
    {"Proxy", DW_OPT_PROXY, ACCOUNT(proxy), 0, CFG_URL_MAX},
    {"UserAgent", DW_OPT_LINE, ACCOUNT(user_agent), 1, CFG_USER_AGENT_MAX},
    {"Header", DW_OPT_HEADER, ACCOUNT(headers), 0, CFG_LIST_MAX},
    {"TokenAuth", DW_OPT_TOKEN_AUTH, ACCOUNT(token_auth_basic), 0, 0},
    {"TokenParam", DW_OPT_PARAM, ACCOUNT(token_params), 0, CFG_LIST_MAX},
    {"AllowInsecureHTTP", DW_OPT_BOOL, ACCOUNT(allow_insecure_http), 0, 0},
    {"MonthlyHistory", DW_OPT_BOOL, ACCOUNT(monthly_history), 0, 0},
    {"RepeatCached", DW_OPT_BOOL, ACCOUNT(repeat_cached), 0, 0},
    {"Resources", DW_OPT_RESOURCES, ACCOUNT(resources), 0, 0},
    {"Periods", DW_OPT_PERIODS, ACCOUNT(periods), 0, 0},
    {"Path", DW_OPT_PATH, ACCOUNT(paths), 0, 0},
    {"RefreshInterval", DW_OPT_REFRESH, ACCOUNT(refresh_ms), 0, 31 * 86400},
    {"Smartmeter", DW_OPT_BLOCK, 0, 0, 0},
    {"SmartmeterFile", DW_OPT_STRING, ACCOUNT(smartmeter_file), 1, PATH_MAX},
    {"Shard", DW_OPT_SHARD, ACCOUNT(shard), 1, 1024}, /* range of the count */
    {"BackoffMax", DW_OPT_SECONDS, ACCOUNT(backoff_max_ms), 1, 86400},
    {"FailureThreshold", DW_OPT_UNSIGNED, ACCOUNT(failure_threshold), 1, 1000},
    {"SelfMetrics", DW_OPT_BOOL, ACCOUNT(self_metrics), 0, 0},
};

static const dw_option_t meter_options[] = {
    {"Instance", DW_OPT_NAME, METER(instance), 1, DW_NAME_MAX},
    {"Resources", DW_OPT_RESOURCES, METER(resources), 0, 0},
    {"Periods", DW_OPT_PERIODS, METER(periods), 0, 0},
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The top level: <Account> blocks and where their state is kept. */
#define PLUGIN(field) offsetof(dw_config_t, field)
static const dw_option_t plugin_options[] = {
    {"Account", DW_OPT_BLOCK, 0, 0, 0},
    {"StateDirectory", DW_OPT_STRING, PLUGIN(state_dir), 0, PATH_MAX - 64},
    {"StateSaveInterval", DW_OPT_SECONDS, PLUGIN(state_save_ms), 1, 86400},
};

/* Everything one <Account> block needs while it is being read. */
typedef struct account_ctx {
  dw_account_cfg_t *a;
  char where[CFG_ACCOUNT_WHERE_SIZE];
  size_t meter_blocks; /* <Smartmeter> blocks seen, good or bad */
  /* Rows given (even with a bad value) or that an unknown option was a
   * typo of: a missing-option error about them would repeat one mistake. */
  bool mentioned[LEN(account_options)];
} account_ctx_t;

/* True when the option named key was given or misspelt in the block. */
static bool account_mentioned(const account_ctx_t *ctx, const char *key) {
  const dw_option_t *o =
      dw_option_find(account_options, LEN(account_options), key);
  return o != NULL && ctx->mentioned[o - account_options];
}

/* --- <Smartmeter> --------------------------------------------------------- */

/* The ID of a <Smartmeter "ID"> block into *id, checked; where is set. */
static int meter_id(account_ctx_t *ctx, const oconfig_item_t *ci,
                    char where[CFG_WHERE_SIZE], char **id) {
  char shown[DW_SHOWN_SIZE];
  if (!dw_option_is_one(ci, OCONFIG_TYPE_STRING)) {
    snprintf(where, CFG_WHERE_SIZE, "%s <Smartmeter>", ctx->where);
    dw_log_at(DW_LOG_ERR, where,
              "<Smartmeter> needs one string: the smartmeter ID");
    return -EINVAL;
  }
  const char *text = ci->values[0].value.string;
  snprintf(where, CFG_WHERE_SIZE, "%s <Smartmeter \"%s\">", ctx->where,
           dw_name_shown(shown, text));
  int status = 0;
  if (text[0] == '\0') {
    dw_log_at(DW_LOG_ERR, where, "the smartmeter ID must not be empty");
    status = -EINVAL;
  } else if (dw_option_has_space(text)) {
    dw_log_at(DW_LOG_ERR, where,
              "the smartmeter ID must not contain whitespace or control "
              "characters");
    status = -EINVAL;
  } else if (strlen(text) > DW_MAX_ID_LEN) {
    dw_log_at(DW_LOG_ERR, where, "the smartmeter ID is longer than %d bytes",
              DW_MAX_ID_LEN);
    status = -EINVAL;
  }
  for (size_t i = 0; status == 0 && i < ctx->a->meters_len; i++) {
    if (strcmp(ctx->a->meters[i].id, text) == 0) {
      dw_log_at(DW_LOG_ERR, where,
                "duplicate smartmeter ID: this account already has a "
                "<Smartmeter> with it");
      status = -EINVAL;
    }
  }
  if (status == 0 && (*id = strdup(text)) == NULL)
    return dw_option_oom(where);
  return status;
}

static void meter_free(dw_meter_cfg_t *m) {
  free(m->id);
  free(m->instance);
  *m = (dw_meter_cfg_t){0};
}

static int meter_append(account_ctx_t *ctx, dw_meter_cfg_t *m) {
  dw_account_cfg_t *a = ctx->a;
  dw_meter_cfg_t *meters =
      realloc(a->meters, (a->meters_len + 1) * sizeof(*meters));
  if (meters == NULL)
    return dw_option_oom(ctx->where);
  a->meters = meters;
  a->meters[a->meters_len++] = *m;
  *m = (dw_meter_cfg_t){0};
  return 0;
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
    const dw_option_t *o =
        dw_option_find(meter_options, LEN(meter_options), opt->key);
    int rc = o ? dw_option_apply(where, o, opt, &m)
               : dw_option_unknown(where, opt, meter_options,
                                   LEN(meter_options), NULL);
    status = dw_option_worse(status, rc);
  }
  if (status == 0 && m.instance == NULL) {
    char safe[DW_NAME_MAX + 1];
    dw_name_safe(safe, sizeof(safe), m.id);
    if ((m.instance = strdup(safe)) == NULL)
      status = dw_option_oom(where);
  }
  if (status == 0)
    status = meter_append(ctx, &m);
  meter_free(&m);
  return status;
}

/* --- <Account> ------------------------------------------------------------ */

static int account_option(account_ctx_t *ctx, const oconfig_item_t *opt) {
  const dw_option_t *o =
      dw_option_find(account_options, LEN(account_options), opt->key);
  if (o == NULL) {
    int rc = dw_option_unknown(ctx->where, opt, account_options,
                               LEN(account_options), &o);
    if (o != NULL)
      ctx->mentioned[o - account_options] = true;
    return rc;
  }
  ctx->mentioned[o - account_options] = true;
  if (o->kind == DW_OPT_BLOCK)
    return meter_parse(ctx, opt);
  return dw_option_apply(ctx->where, o, opt, ctx->a);
}

/* Checks BaseURL and TokenURL, strips the trailing '/'s of BaseURL (kept
 * past "scheme://host"), and derives TokenURL from it when none is
 * given. */
static int account_finish_urls(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  int status = dw_urlpolicy_check(ctx->where, "BaseURL", a->base_url, true,
                                  a->allow_insecure_http);
  if (a->token_url != NULL)
    status = dw_option_worse(
        status, dw_urlpolicy_check(ctx->where, "TokenURL", a->token_url, false,
                                   a->allow_insecure_http));
  if (status != 0)
    return status;
  size_t len = strlen(a->base_url);
  while (len > 0 && a->base_url[len - 1] == '/')
    a->base_url[--len] = '\0';
  if (a->token_url == NULL) {
    size_t size = len + sizeof(CFG_DEFAULT_TOKEN_PATH);
    if ((a->token_url = malloc(size)) == NULL)
      return dw_option_oom(ctx->where);
    snprintf(a->token_url, size, "%s%s", a->base_url, CFG_DEFAULT_TOKEN_PATH);
  }
  return 0;
}

/* A secret given inline or in a file (ClientSecret or ClientSecretFile,
 * ClientKeyPassword or ClientKeyPasswordFile): not both, and the file read
 * into *value. 1 when neither was given, else 0 or a negative errno. */
static int account_secret(account_ctx_t *ctx, const char *option, char **value,
                          const char *file) {
  char file_option[32];
  snprintf(file_option, sizeof(file_option), "%sFile", option);
  if (*value != NULL && file != NULL) {
    dw_log_at(DW_LOG_ERR, ctx->where,
              "%s and %s both given; use only one of them", option,
              file_option);
    return -EINVAL;
  }
  if (file != NULL)
    return dw_secret_read_file(ctx->where, file_option, file, value);
  if (*value != NULL)
    return 0;
  /* given with a bad value, or misspelt: that error said it already */
  return account_mentioned(ctx, option) || account_mentioned(ctx, file_option)
             ? -EINVAL
             : 1;
}

/* The options every account needs, and the secret from one place only. */
static int account_finish_required(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  int status = 0;
  if (a->base_url == NULL && !account_mentioned(ctx, "BaseURL")) {
    dw_log_at(DW_LOG_ERR, ctx->where, "BaseURL is required");
    status = -EINVAL;
  }
  if (a->client_id == NULL && !account_mentioned(ctx, "ClientID")) {
    dw_log_at(DW_LOG_ERR, ctx->where, "ClientID is required");
    status = -EINVAL;
  }
  int rc =
      account_secret(ctx, "ClientSecret", &a->client_secret, a->secret_file);
  if (rc == 1)
    dw_log_at(DW_LOG_ERR, ctx->where,
              "ClientSecret or ClientSecretFile is required");
  return dw_option_worse(status, rc == 1 ? -EINVAL : rc);
}

/* The client certificate, its key and the key's passphrase go together. */
static int account_finish_tls(account_ctx_t *ctx) {
  dw_account_cfg_t *a = ctx->a;
  int status = 0;
  if ((a->client_cert == NULL) != (a->client_key == NULL) &&
      !account_mentioned(ctx,
                         a->client_cert == NULL ? "ClientCert" : "ClientKey")) {
    dw_log_at(DW_LOG_ERR, ctx->where,
              "ClientCert and ClientKey go together: give both or neither");
    status = -EINVAL;
  }
  int rc = account_secret(ctx, "ClientKeyPassword", &a->client_key_password,
                          a->key_password_file);
  if (rc == 0 && a->client_key == NULL &&
      !account_mentioned(ctx, "ClientKey")) {
    dw_log_at(DW_LOG_ERR, ctx->where,
              "ClientKeyPassword is the passphrase of ClientKey: give "
              "ClientKey too, or leave the password out");
    rc = -EINVAL;
  }
  return dw_option_worse(status, rc == 1 ? 0 : rc);
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
  if (a->user_agent == NULL &&
      (a->user_agent = strdup(CFG_DEFAULT_USER_AGENT)) == NULL)
    return dw_option_oom(ctx->where);
  for (int r = 0; r < DW_RES_COUNT; r++) {
    if (a->paths[r] != NULL)
      continue;
    a->paths[r] = strdup(dw_resource_info((dw_resource_t)r)->default_path);
    if (a->paths[r] == NULL)
      return dw_option_oom(ctx->where);
  }
  return 0;
}

/* An account needs a meter. Without a SmartmeterFile that is known here,
 * so it is said with the block's other mistakes; what a file holds is
 * dw_validate's to read. */
static int account_finish_meters(account_ctx_t *ctx) {
  if (ctx->a->meters_len > 0 || ctx->meter_blocks > 0 ||
      ctx->a->smartmeter_file != NULL)
    return 0;
  if (account_mentioned(ctx, "Smartmeter") ||
      account_mentioned(ctx, "SmartmeterFile"))
    return -EINVAL; /* its own error said what is wrong */
  dw_log_at(DW_LOG_ERR, ctx->where,
            "no smartmeter configured: add a <Smartmeter \"ID\"> block or a "
            "SmartmeterFile");
  return -EINVAL;
}

static int account_finish(account_ctx_t *ctx) {
  int status = account_finish_required(ctx);
  status = dw_option_worse(status, account_finish_tls(ctx));
  status = dw_option_worse(status, account_finish_meters(ctx));
  if (ctx->a->base_url != NULL)
    status = dw_option_worse(status, account_finish_urls(ctx));
  if (status != 0)
    return status;
  return account_finish_defaults(ctx);
}

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
  char shown[DW_SHOWN_SIZE];
  if (!dw_option_is_one(ci, OCONFIG_TYPE_STRING)) {
    snprintf(ctx->where, sizeof(ctx->where), "<Account>");
    dw_log_at(DW_LOG_ERR, ctx->where,
              "<Account> needs one string: the account name");
    return -EINVAL;
  }
  const char *name = ci->values[0].value.string;
  snprintf(ctx->where, sizeof(ctx->where), "<Account \"%s\">",
           dw_name_shown(shown, name));
  if (!dw_name_is_safe(name, strlen(name))) {
    dw_log_at(DW_LOG_ERR, ctx->where,
              "the account name must be 1 to %d characters of "
              "[A-Za-z0-9_-]",
              DW_NAME_MAX);
    return -EINVAL;
  }
  if ((ctx->a->name = strdup(name)) == NULL)
    return dw_option_oom(ctx->where);
  return 0;
}

/* One <Account> block into *a; on error *a is freed and zeroed. */
static int account_parse(const oconfig_item_t *ci, dw_account_cfg_t *a) {
  account_defaults(a);
  account_ctx_t ctx = {.a = a};
  int status = account_name(&ctx, ci);
  for (int i = 0; i < ci->children_num; i++)
    status = dw_option_worse(status, account_option(&ctx, &ci->children[i]));
  status = dw_option_worse(status, account_finish(&ctx));
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
    return dw_option_oom("<Plugin digiwatt>");
  }
  cfg->accounts = accounts;
  cfg->accounts[cfg->accounts_len++] = *a;
  *a = (dw_account_cfg_t){0};
  return 0;
}

/* Moves every account of from to the end of to: all of them or none. */
static int config_move(dw_config_t *to, dw_config_t *from) {
  size_t len = to->accounts_len + from->accounts_len;
  dw_account_cfg_t *accounts = realloc(to->accounts, len * sizeof(*accounts));
  if (accounts == NULL)
    return dw_option_oom("<Plugin digiwatt>");
  memcpy(accounts + to->accounts_len, from->accounts,
         from->accounts_len * sizeof(*accounts));
  to->accounts = accounts;
  to->accounts_len = len;
  free(from->accounts);
  from->accounts = NULL;
  from->accounts_len = 0;
  return 0;
}

/* The plugin-level options of a block that parsed well: the last wins. */
static void config_move_plugin(dw_config_t *to, dw_config_t *from) {
  if (from->state_dir != NULL) {
    free(to->state_dir);
    to->state_dir = from->state_dir;
    from->state_dir = NULL;
  }
  if (from->state_save_ms > 0)
    to->state_save_ms = from->state_save_ms;
}

int dw_config_parse(const oconfig_item_t *ci, dw_config_t *out) {
  dw_config_t fresh = {0};
  int status = 0;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    const dw_option_t *o =
        dw_option_find(plugin_options, LEN(plugin_options), child->key);
    if (o == NULL) {
      status = dw_option_worse(
          status, dw_option_unknown("<Plugin digiwatt>", child, plugin_options,
                                    LEN(plugin_options), NULL));
      continue;
    }
    if (o->kind != DW_OPT_BLOCK) {
      status = dw_option_worse(
          status, dw_option_apply("<Plugin digiwatt>", o, child, &fresh));
      continue;
    }
    dw_account_cfg_t a;
    int rc = account_parse(child, &a);
    if (rc == 0)
      rc = config_append(&fresh, &a);
    status = dw_option_worse(status, rc);
  }
  if (status == 0 && fresh.accounts_len > 0)
    status = config_move(out, &fresh);
  if (status == 0)
    config_move_plugin(out, &fresh);
  dw_config_free(&fresh);
  return status;
}

void dw_account_cfg_free(dw_account_cfg_t *a) {
  if (a == NULL)
    return;
  free(a->name);
  free(a->base_url);
  free(a->token_url);
  free(a->client_id);
  dw_option_wipe_free(a->client_secret);
  free(a->secret_file);
  free(a->ca_cert);
  free(a->ca_path);
  free(a->client_cert);
  free(a->client_key);
  dw_option_wipe_free(a->client_key_password);
  free(a->key_password_file);
  free(a->proxy);
  free(a->user_agent);
  dw_option_list_free(&a->headers);
  dw_option_pairs_free(&a->token_params);
  free(a->smartmeter_file);
  free(a->state_file);
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
  free(cfg->state_dir);
  *cfg = (dw_config_t){0};
}
