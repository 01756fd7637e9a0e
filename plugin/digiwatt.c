/* digiwatt.c - the glue between collectd and the rooms.
 * Owns: the callbacks registered with collectd, the configuration between
 * the config and init callbacks, and whether this is a test read.
 * May call: dw_config, dw_validate, dw_account, dw_worker, dw_statefile
 * (the state directory), dw_http (global init), dw_clock, dw_log,
 * collectd's plugin_register_*, plugin_thread_create and
 * global_option_get.
 *
 * collectd hands the <Plugin digiwatt> blocks to the config callback; the
 * init callback validates the whole configuration once, then turns each
 * account into a dw_account_t run by a worker thread of its own
 * (dw_worker), with a read callback ("digiwatt/<account>") that only
 * hands the worker a tick: collectd's read threads are never held by a
 * fetch, and one slow account never delays another. Shutdown stops the
 * workers when collectd frees the read callbacks, before its write
 * threads stop, so what a last cycle dispatched is still written.
 *
 * `collectd -T` (a test read) sets ReadThreads to -1 and runs each read
 * callback once: then there is no worker, the callback runs one whole
 * cycle itself and fails when the account cannot be used, so that -T
 * exits non-zero; it neither reads nor writes the state files, which
 * belong to the daemon. No room calls into this file. */
#include "dw_account.h"
#include "dw_clock.h"
#include "dw_config.h"
#include "dw_http.h"
#include "dw_log.h"
#include "dw_statefile.h"
#include "dw_validate.h"
#include "dw_worker.h"

#include "collectd.h"
#include "configfile.h"
#include "plugin.h"
#include "utils_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Filled by the config callback(s), emptied by init. */
static dw_config_t pending_config;

static int digiwatt_config(oconfig_item_t *ci) {
  return dw_config_parse(ci, &pending_config) == 0 ? 0 : -1;
}

/* An account and the thread that runs it (none in a test read). */
typedef struct reader {
  dw_account_t *account;
  dw_worker_t *worker;
} reader_t;

/* collectd -T: ReadThreads is -1 (collectd 5.12, cmd.c). */
static bool is_test_read(void) {
  const char *threads = global_option_get("ReadThreads");
  return threads != NULL && strcmp(threads, "-1") == 0;
}

/* One whole cycle, and the verdict: -1 makes collectd -T exit 1. */
static int digiwatt_test_read(dw_account_t *account) {
  (void)dw_account_read(account, cdtime(), plugin_get_interval());
  char why[512];
  if (dw_account_verdict(account, why, sizeof(why)) == 0)
    return 0;
  dw_log(DW_LOG_ERR, "account %s: the test read failed: %s",
         dw_account_name(account), why);
  return -1;
}

/* Hands the worker a tick and returns: well under a millisecond. Always
 * 0 in the daemon: collectd suspends a read callback that fails, for
 * doubling periods, which would stop the account's healthy meters too.
 * Failures are handled inside (per-slot backoff, throttling) and reported
 * by log lines, notifications and self-metrics instead. */
static int digiwatt_read(user_data_t *ud) {
  reader_t *r = ud->data;
  if (r->worker == NULL)
    return digiwatt_test_read(r->account);
  (void)dw_worker_tick(r->worker, cdtime(), plugin_get_interval());
  return 0;
}

static void worker_cycle(void *account, uint64_t now, uint64_t interval) {
  (void)dw_account_read(account, now, interval);
}

static void worker_interrupt(void *account) { dw_account_interrupt(account); }

static const dw_worker_ops_t worker_ops = {.cycle = worker_cycle,
                                           .interrupt = worker_interrupt,
                                           .spawn = plugin_thread_create};

/* Called by collectd when it frees the read callback (at shutdown, or
 * after the one read of -T): stops the worker, then the account. */
static void reader_free(void *ud) {
  reader_t *r = ud;
  if (r == NULL)
    return;
  dw_worker_stop(r->worker);
  if (r->worker != NULL)
    dw_account_save(r->account, cdtime());
  dw_account_destroy(r->account);
  free(r);
}

/* The account's reader; NULL (the account destroyed) on failure. */
static reader_t *reader_create(dw_account_t *account, bool test_read) {
  reader_t *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    dw_account_destroy(account);
    return NULL;
  }
  r->account = account;
  if (test_read)
    return r;
  char name[16];
  snprintf(name, sizeof(name), "dw:%s", dw_account_name(account));
  r->worker = dw_worker_start(name, &worker_ops, account);
  if (r->worker == NULL) {
    reader_free(r);
    return NULL;
  }
  return r;
}

static int register_account(dw_account_t *account, bool test_read) {
  char name[DATA_MAX_NAME_LEN];
  snprintf(name, sizeof(name), DW_PLUGIN_NAME "/%s", dw_account_name(account));
  cdtime_t interval = MS_TO_CDTIME_T(dw_account_interval_ms(account));
  reader_t *r = reader_create(account, test_read);
  if (r == NULL)
    return -1;
  /* collectd frees r (reader_free) when registering fails, too */
  return plugin_register_complex_read(
      /* group = */ DW_PLUGIN_NAME, name, digiwatt_read, interval,
      &(user_data_t){.data = r, .free_func = reader_free});
}

/* The directory of the state files: StateDirectory, by default
 * "digiwatt" under collectd's BaseDir; NULL when state is not kept
 * ("" or a directory that cannot be made, which is said). Malloc'ed. */
static char *state_directory(const dw_config_t *cfg) {
  const char *dir = cfg->state_dir;
  char buf[4096];
  if (dir == NULL) {
    const char *base = global_option_get("BaseDir");
    snprintf(buf, sizeof(buf), "%s/%s", base ? base : ".",
             DW_DEFAULT_STATE_DIR);
    dir = buf;
  }
  if (dir[0] == '\0')
    return NULL;
  char why[256];
  int loose;
  if (dw_statefile_dir(dir, &loose, why, sizeof(why)) != 0) {
    dw_log(DW_LOG_WARNING,
           "StateDirectory \"%s\": %s; nothing is kept across restarts "
           "(give a writable directory, or StateDirectory \"\" to say so)",
           dir, why);
    return NULL;
  }
  if (loose)
    dw_log(DW_LOG_WARNING,
           "StateDirectory \"%s\": others may write to it; make it mode "
           "0700",
           dir);
  return strdup(dir);
}

/* Where each account keeps its state: <dir>/<account>.state. */
static void state_files(dw_config_t *cfg, const char *dir) {
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    dw_account_cfg_t *a = &cfg->accounts[i];
    a->state_save_ms =
        cfg->state_save_ms > 0 ? cfg->state_save_ms : DW_DEFAULT_STATE_SAVE_MS;
    if (dir == NULL)
      continue;
    char path[4096 + 80];
    snprintf(path, sizeof(path), "%s/%s.state", dir, a->name);
    a->state_file = strdup(path); /* NULL (out of memory): none kept */
  }
}

/* One account per configured <Account>, each given the SmartmeterFile
 * that validation read. */
static int start_accounts(dw_config_t *cfg, dw_validated_t *files) {
  bool test_read = is_test_read();
  char *dir = test_read ? NULL : state_directory(cfg);
  state_files(cfg, dir);
  free(dir);
  int status = 0;
  for (size_t i = 0; i < cfg->accounts_len; i++) {
    dw_validated_file_t *f = &files->files[i];
    dw_account_t *account = dw_account_create(
        &cfg->accounts[i], cfg->accounts[i].smartmeter_file ? &f->file : NULL,
        &f->stamp, dw_clock_monotonic());
    if (account == NULL || register_account(account, test_read) != 0) {
      dw_log(DW_LOG_ERR, "cannot set up an account (out of memory, or no "
                         "thread could be started)");
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
