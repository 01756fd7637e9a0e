/* digiwatt.c - the glue between collectd and the rooms.
 * Owns: the callbacks registered with collectd and the configuration
 * between the config and init callbacks.
 * May call: dw_config, dw_validate, dw_account, dw_http (global init),
 * dw_clock, dw_log, collectd's plugin_register_*.
 *
 * collectd hands the <Plugin digiwatt> blocks to the config callback; the
 * init callback validates the whole configuration once, then turns each
 * account into a dw_account_t with a read callback of its own
 * ("digiwatt/<account>"), so one slow account never delays another. No
 * room calls into this file. */
#include "dw_account.h"
#include "dw_clock.h"
#include "dw_config.h"
#include "dw_http.h"
#include "dw_log.h"
#include "dw_validate.h"

#include "collectd.h"
#include "plugin.h"
#include "utils_time.h"

#include <stdio.h>

/* Filled by the config callback(s), emptied by init. */
static dw_config_t pending_config;

static int digiwatt_config(oconfig_item_t *ci) {
  return dw_config_parse(ci, &pending_config) == 0 ? 0 : -1;
}

/* Always 0: collectd suspends a read callback that fails, for doubling
 * periods, which would stop the account's healthy meters and the cached
 * values too. Failures are handled inside (per-slot backoff, throttling)
 * and reported by log lines, notifications and self-metrics instead. */
static int digiwatt_read(user_data_t *ud) {
  (void)dw_account_read(ud->data, cdtime(), plugin_get_interval());
  return 0;
}

static void account_free(void *account) { dw_account_destroy(account); }

static int register_account(dw_account_t *account) {
  char name[DATA_MAX_NAME_LEN];
  snprintf(name, sizeof(name), DW_PLUGIN_NAME "/%s", dw_account_name(account));
  cdtime_t interval = MS_TO_CDTIME_T(dw_account_interval_ms(account));
  return plugin_register_complex_read(
      /* group = */ DW_PLUGIN_NAME, name, digiwatt_read, interval,
      &(user_data_t){.data = account, .free_func = account_free});
}

/* One account per configured <Account>, each given the SmartmeterFile
 * that validation read. */
static int start_accounts(dw_config_t *cfg, dw_validated_t *files) {
  int status = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    dw_validated_file_t *f = &files->files[i];
    dw_account_t *account = dw_account_create(
        &cfg->accounts[i], cfg->accounts[i].smartmeter_file ? &f->file : NULL,
        &f->stamp, dw_clock_monotonic());
    if (account == NULL || register_account(account) != 0) {
      dw_log(DW_LOG_ERR, "cannot set up an account (out of memory)");
      dw_account_destroy(account);
      status = -1;
    }
  }
  return status;
}

static int digiwatt_init(void) {
  if (pending_config.accounts_len == 0) {
    dw_log(DW_LOG_WARNING, "no <Account> configured; nothing to do");
    return 0;
  }
  dw_validated_t files;
  int status = dw_validate(&pending_config, &files) == 0 ? 0 : -1;
  if (status == 0 && dw_http_global_init() != 0) {
    dw_log(DW_LOG_ERR, "libcurl could not be initialised (it needs TLS "
                       "support and version 7.74 or newer)");
    status = -1;
  }
  if (status == 0)
    status = start_accounts(&pending_config, &files);
  dw_validated_free(&files);
  dw_config_free(&pending_config);
  return status;
}

/* The one symbol the .so exports (everything else is built hidden). */
__attribute__((visibility("default"))) void module_register(void) {
  plugin_register_complex_config(DW_PLUGIN_NAME, digiwatt_config);
  plugin_register_init(DW_PLUGIN_NAME, digiwatt_init);
}
