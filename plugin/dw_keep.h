/* dw_keep.h - an account's state file over the daemon's life.
 * Owns: when an account's state is read (once, at its first cycle) and
 * written (when something changed, at most every save interval, and at
 * shutdown), and what the log says about both. May call: dw_state,
 * dw_statefile, dw_roster, dw_log.
 *
 * Reading is defensive: a missing file is a first start, and a damaged,
 * foreign or other-version one is said once and ignored, so the worst a
 * state file can do is make a start cold. Writing is bounded: at most one
 * encode and fsync per save interval, however busy the account is. */
#ifndef DW_KEEP_H
#define DW_KEEP_H

#include "dw_roster.h"
#include "dw_state.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dw_keep {
  const char *account; /* borrowed, like path */
  const char *path;    /* NULL: nothing is kept */
  long save_ms;
  dw_state_limits_t limits;
  int64_t saved_at_ms; /* account clock of the last write */
  bool restored;       /* the file was read (or found missing) */
  bool dirty;          /* changed since the last write */
  bool failing;        /* the last write failed (said once) */
} dw_keep_t;

/* A keeper for account's state in path (NULL: none), saved at most every
 * save_ms; refresh_ms and backoff_max_ms bound the restored times. */
void dw_keep_init(dw_keep_t *k, const char *account, const char *path,
                  long save_ms, const long *refresh_ms, long backoff_max_ms);

/* The first time it is called: reads the file into *roster (what it
 * remembers of the meters still configured) and *acct. True when state
 * was restored. */
bool dw_keep_restore(dw_keep_t *k, dw_roster_t *roster,
                     dw_state_account_t *acct, dw_state_now_t now);

/* Something worth keeping changed. */
static inline void dw_keep_touch(dw_keep_t *k) { k->dirty = true; }

/* Writes the state when it changed and the save interval has passed
 * since the last write (or, with force, whenever it changed). */
void dw_keep_save(dw_keep_t *k, const dw_roster_t *roster,
                  const dw_state_account_t *acct, dw_state_now_t now,
                  bool force);

#endif
