/* digiwatt.c - the glue between collectd and the rooms.
 *
 * collectd hands the <Plugin digiwatt> blocks to the config callback; the
 * init callback turns each configured account into a dw_account_t with a
 * read callback of its own ("digiwatt/<account>"), so one slow account
 * never delays another. This is the only file that registers callbacks. */
#include "dw_account.h"
#include "dw_config.h"
#include "dw_dispatch.h"
#include "dw_http.h"
#include "dw_log.h"

#include "collectd.h"
#include "plugin.h"
#include "utils_time.h"

#include <stdarg.h>
#include <stdio.h>

/* Filled by the config callback(s), emptied by init. */
static dw_config_t pending_config;

void dw_log(int severity, const char *format, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(message, sizeof(message), format, ap);
  va_end(ap);
  plugin_log(severity, DW_PLUGIN_NAME " plugin: %s", message);
}

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

static int digiwatt_init(void) {
  int status = 0;
  if (pending_config.accounts_len == 0) {
    WARNING(DW_PLUGIN_NAME " plugin: no <Account> configured; nothing to do");
    return 0;
  }
  if (dw_http_global_init() != 0) {
    ERROR(DW_PLUGIN_NAME " plugin: libcurl could not be initialised "
                         "(it needs TLS support and version 7.74 or newer)");
    dw_config_free(&pending_config);
    return -1;
  }
  for (size_t i = 0; i < pending_config.accounts_len; i++) {
    dw_account_t *account = dw_account_create(&pending_config.accounts[i]);
    if (account == NULL || register_account(account) != 0) {
      ERROR(DW_PLUGIN_NAME " plugin: cannot set up an account (out of memory)");
      dw_account_destroy(account);
      status = -1;
    }
  }
  dw_config_free(&pending_config);
  return status;
}

/* The one symbol the .so exports (everything else is built hidden). */
__attribute__((visibility("default"))) void module_register(void) {
  plugin_register_complex_config(DW_PLUGIN_NAME, digiwatt_config);
  plugin_register_init(DW_PLUGIN_NAME, digiwatt_init);
}
