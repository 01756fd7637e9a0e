/* dw_config.h - the <Plugin digiwatt> blocks as plain structures.
 * Owns: the configuration structures and reading an oconfig tree into
 * them, block by block. May call: dw_option, dw_secret, dw_urlpolicy,
 * dw_name, dw_resource, dw_log, oconfig.
 *
 * dw_config_parse() reads one <Plugin digiwatt> block, checks every option
 * of it, and either appends complete accounts or logs one error per
 * problem (naming the option and the blocks around it: collectd 5.12's
 * config tree carries no line numbers) and fails. What only the whole
 * configuration shows is dw_validate's. Every string here is owned by the
 * structure. */
#ifndef DW_CONFIG_H
#define DW_CONFIG_H

#include "dw_option.h"
#include "dw_resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_DEFAULT_TIMEOUT_MS 10000
#define DW_DEFAULT_MAX_CONCURRENCY 16
#define DW_DEFAULT_MAX_BODY (1024 * 1024)
#define DW_MAX_ID_LEN 256
#define DW_DEFAULT_BACKOFF_MAX_MS (3600L * 1000)
#define DW_DEFAULT_FAILURE_THRESHOLD 3

typedef struct dw_meter_cfg {
  char *id;           /* as configured: non-empty, no whitespace */
  char *instance;     /* plugin_instance: Instance or dw_name_safe(id) */
  uint32_t resources; /* bit (1 << dw_resource_t) */
  uint32_t periods;   /* bit (1 << dw_period_t) */
} dw_meter_cfg_t;

typedef struct dw_account_cfg {
  char *name;
  char *base_url;  /* without trailing '/' */
  char *token_url; /* TokenURL or base_url + "/auth/token" */
  char *client_id;
  char *client_secret; /* ClientSecret or the first line of ClientSecretFile */
  char *secret_file;   /* NULL unless ClientSecretFile was used */
  long timeout_ms;
  long cycle_timeout_ms; /* 0: the read interval */
  long interval_ms;      /* Interval option, 0: collectd's global */
  unsigned max_concurrency;
  size_t max_body;
  double max_requests_per_s; /* MaxRequestsPerSecond; 0: no limit */
  bool verify_peer;
  bool verify_host;
  bool allow_insecure_http;
  bool monthly_history; /* MonthlyHistory: month-stamped history values */
  bool repeat_cached;   /* RepeatCached: every cached value every cycle */
  char *ca_cert;
  char *ca_path; /* CAPath: a directory of hashed CA certificates */
  char *client_cert;
  char *client_key;
  char *client_key_password; /* ClientKeyPassword or the first line of
                                ClientKeyPasswordFile; wiped */
  char *key_password_file;   /* NULL unless ClientKeyPasswordFile was used */
  char *proxy;      /* Proxy: NULL for libcurl's environment, "" for none */
  char *user_agent; /* UserAgent, or collectd-digiwatt/<version> */
  dw_option_list_t headers;       /* Header lines, sent with every request */
  dw_option_pairs_t token_params; /* TokenParam, in the token request */
  bool token_auth_basic;          /* TokenAuth "basic": client_secret_basic */
  char *paths[DW_RES_COUNT];      /* template per resource, never NULL */
  long refresh_ms[DW_RES_COUNT];  /* RefreshInterval per resource */
  uint32_t resources;             /* account default for its meters */
  uint32_t periods;
  dw_meter_cfg_t *meters; /* the <Smartmeter> blocks */
  size_t meters_len;
  char *smartmeter_file; /* SmartmeterFile, NULL if none; re-read on change */
  dw_shard_cfg_t shard;  /* Shard: the meters whose dw_shard_of(id, count)
                            is index; count 0: no sharding */
  long backoff_max_ms;   /* BackoffMax: cap of the exponential backoff */
  unsigned failure_threshold; /* FailureThreshold: failed cycles in a row
                                 before a meter's FAILURE notification */
  bool self_metrics;          /* SelfMetrics: requests, errors, data age... */
  char *state_file;           /* set by the glue from StateDirectory: where
                                 the account's state lives, NULL: nowhere */
  long state_save_ms;         /* the state is saved at most this often */
} dw_account_cfg_t;

#define DW_DEFAULT_STATE_DIR "digiwatt" /* under collectd's BaseDir */
#define DW_DEFAULT_STATE_SAVE_MS (60L * 1000)

typedef struct dw_config {
  dw_account_cfg_t *accounts;
  size_t accounts_len;
  char *state_dir;    /* StateDirectory: NULL for the default, "" for none */
  long state_save_ms; /* StateSaveInterval: 0 for the default */
} dw_config_t;

struct oconfig_item_s;

/* Parses the children of <Plugin digiwatt> into *out (which the caller
 * zeroed) and appends to what an earlier call left there, so collectd can
 * hand over several <Plugin digiwatt> blocks. 0, or -EINVAL after logging
 * every error found; on error *out holds what it held before. Reads no
 * file but a ClientSecretFile. */
__attribute__((warn_unused_result)) int
dw_config_parse(const struct oconfig_item_s *ci, dw_config_t *out);

/* Frees everything *cfg owns (wiping secrets) and zeroes it; accepts NULL. */
void dw_config_free(dw_config_t *cfg);

/* Frees and zeroes what *a owns (wiping the secret), not a itself. */
void dw_account_cfg_free(dw_account_cfg_t *a);

#endif
