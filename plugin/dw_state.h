/* dw_state.h - what an account remembers across restarts, as bytes.
 * Owns: the state payload's format: an account's roster (per slot the
 * next due time, failures, last good samples and month marks; per meter
 * its last success) and its pacing (the pause after a 429/503, the token
 * backoff), with times turned from the account's clock into wall-clock
 * time and back. May call: dw_bytes, dw_roster, dw_cache, dw_sample,
 * dw_resource.
 *
 * No file, no clock: dw_statefile keeps the bytes, the caller gives the
 * time. Decoding trusts nothing (every count and index is checked) and
 * builds a roster of its own, which dw_roster_adopt() then moves into the
 * live one: entries of meters, resources or periods no longer configured
 * are left behind and freed. Neither the token nor the secret is ever
 * part of the state.
 *
 * The payload is compact (varints; a value with at most three decimals,
 * as the API sends them, takes 1 to 5 bytes instead of 8): about 2.5 KiB
 * per meter with all resources and periods. */
#ifndef DW_STATE_H
#define DW_STATE_H

#include "dw_bytes.h"
#include "dw_roster.h"

#include <stddef.h>
#include <stdint.h>

/* The account-wide part; times on the account's clock, 0 for none. */
typedef struct dw_state_account {
  int64_t paused_until_ms; /* after a 429 or 503 */
  unsigned throttles;      /* in a row */
  unsigned token_failures; /* in a row */
  int64_t token_retry_at_ms;
} dw_state_account_t;

/* One moment on both clocks: the account's and the wall (Unix ms). */
typedef struct dw_state_now {
  int64_t mono_ms;
  int64_t wall_ms;
} dw_state_now_t;

/* How far ahead a restored time may lie: a clock that jumped back (or a
 * file from the future) would otherwise keep a slot waiting for ever. */
typedef struct dw_state_limits {
  const long *refresh_ms; /* per resource (the account's RefreshInterval) */
  long backoff_max_ms;
} dw_state_limits_t;

/* The state of account (its name, acct and r) at now, into *out (which
 * the caller zeroed and frees with dw_bytes_free). 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int
dw_state_encode(dw_bytes_t *out, const char *account,
                const dw_state_account_t *acct, const dw_roster_t *r,
                dw_state_now_t now);

/* A payload back into *r (meters with their ID only, and their slots:
 * restored caches are marked unsent) and *acct, times clamped to lim.
 * 0; -EINVAL with why filled when it is another account's or damaged;
 * -ENOMEM. On error *r and *acct are empty. */
__attribute__((warn_unused_result)) int
dw_state_decode(const void *data, size_t len, const char *account,
                dw_state_now_t now, const dw_state_limits_t *lim,
                dw_roster_t *r, dw_state_account_t *acct, char *why,
                size_t why_size);

#endif
