/* dw_keep.c - an account's state file over the daemon's life (see
 * dw_keep.h). */
#include "dw_keep.h"
#include "dw_log.h"
#include "dw_statefile.h"

#include <errno.h>
#include <stdlib.h>

void dw_keep_init(dw_keep_t *k, const char *account, const char *path,
                  long save_ms, const long *refresh_ms, long backoff_max_ms) {
  *k = (dw_keep_t){
      .account = account,
      .path = path,
      .save_ms = save_ms,
      .limits = {.refresh_ms = refresh_ms, .backoff_max_ms = backoff_max_ms}};
}

/* How much of the state came back, for the log line. */
static void keep_said_restored(const dw_keep_t *k, const dw_roster_t *r,
                               size_t bytes) {
  size_t meters = 0, slots = 0;
  for (size_t i = 0; i < r->slots_len; i++)
    slots += r->slots[i].cache.len > 0;
  for (size_t i = 0; i < r->meters_len; i++)
    meters += r->meters[i].last_ok_ms != 0;
  dw_log(DW_LOG_INFO,
         "account %s: state restored from \"%s\" (%zu bytes): %zu "
         "smartmeters, %zu resources with values",
         k->account, k->path, bytes, meters, slots);
}

bool dw_keep_restore(dw_keep_t *k, dw_roster_t *roster,
                     dw_state_account_t *acct, dw_state_now_t now) {
  if (k->path == NULL || k->restored)
    return false;
  k->restored = true;
  void *data;
  size_t len;
  char why[192];
  int status = dw_statefile_read(k->path, &data, &len, why, sizeof(why));
  if (status == -ENOENT) {
    dw_log(DW_LOG_INFO, "account %s: no state in \"%s\" yet: a cold start",
           k->account, k->path);
    return false;
  }
  dw_roster_t saved;
  if (status == 0)
    status = dw_state_decode(data, len, k->account, now, &k->limits, &saved,
                             acct, why, sizeof(why));
  free(data);
  if (status != 0) {
    dw_log(DW_LOG_WARNING,
           "account %s: state file \"%s\" ignored: %s; a cold start (a good "
           "one replaces it after the first cycle)",
           k->account, k->path, why);
    k->dirty = true; /* replace it soon with a good one */
    return false;
  }
  dw_roster_adopt(roster, &saved);
  dw_roster_free(&saved); /* what is no longer configured */
  keep_said_restored(k, roster, len);
  return true;
}

void dw_keep_save(dw_keep_t *k, const dw_roster_t *roster,
                  const dw_state_account_t *acct, dw_state_now_t now,
                  bool force) {
  if (k->path == NULL || !k->dirty ||
      (!force && k->saved_at_ms != 0 &&
       now.mono_ms - k->saved_at_ms < k->save_ms))
    return;
  dw_bytes_t b = {0};
  char why[192] = "out of memory";
  int status = dw_state_encode(&b, k->account, acct, roster, now);
  if (status == 0)
    status = dw_statefile_write(k->path, b.data, b.len, why, sizeof(why));
  dw_bytes_free(&b);
  k->saved_at_ms = now.mono_ms != 0 ? now.mono_ms : 1;
  if (status != 0) {
    if (!k->failing)
      dw_log(DW_LOG_WARNING,
             "account %s: cannot save the state to \"%s\": %s (the previous "
             "state stays; trying again in %ld s)",
             k->account, k->path, why, k->save_ms / 1000);
    k->failing = true;
    return;
  }
  if (k->failing)
    dw_log(DW_LOG_INFO, "account %s: the state is saved again to \"%s\"",
           k->account, k->path);
  k->failing = false;
  k->dirty = false;
}
