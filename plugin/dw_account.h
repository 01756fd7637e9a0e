/* dw_account.h - one account's read cycle.
 * Owns: the account's configuration, transport, auth, roster and report,
 * and the cycle that ties them: which slots are due, the waves they run
 * in, what a result does to its slot, when the account pauses.
 * May call: dw_roster, dw_fetch, dw_auth, dw_report, dw_emit, dw_keep,
 * dw_dispatch (month arithmetic), dw_http, dw_meterfile, dw_url,
 * dw_health, dw_clock, dw_config (types), dw_log.
 *
 * A read cycle, given the cycle's wall time: reads the account's clock
 * once (that "now" is used for everything the cycle decides), re-reads a
 * changed SmartmeterFile, renews the token if needed, fetches every due
 * slot in waves, retries once with a fresh token what a 401 refused, backs
 * off what failed, pauses on 429/503, dispatches every slot that holds
 * values, and has the report say what happened. A failing slot never
 * stops another; the cycle returns by its deadline. */
#ifndef DW_ACCOUNT_H
#define DW_ACCOUNT_H

#include "dw_clock.h"
#include "dw_config.h"
#include "dw_meterfile.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dw_account dw_account_t;

/* An account that takes ownership of *cfg (the struct is copied and
 * zeroed) and of *file (the SmartmeterFile as read at start, or NULL when
 * the account has none; moved and zeroed), on the given clock. NULL on
 * failure (cfg and file are freed then too). */
dw_account_t *dw_account_create(dw_account_cfg_t *cfg, dw_meterfile_t *file,
                                const dw_meterfile_stamp_t *stamp,
                                dw_clock_t clock);

/* Frees the account, its slots and transport; accepts NULL. */
void dw_account_destroy(dw_account_t *a);

/* The account's name, for log lines and callback names. */
const char *dw_account_name(const dw_account_t *a);

/* The configured Interval in ms, 0 for collectd's global interval. */
long dw_account_interval_ms(const dw_account_t *a);

/* One read cycle at wall time now (cdtime_t) with the callback's interval
 * (cdtime_t). 0 when every due request succeeded, -EIO when at least one
 * failed (the others were still dispatched). The glue does not pass this
 * on to collectd, which would suspend the whole account. */
int dw_account_read(dw_account_t *a, uint64_t now, uint64_t interval);

/* Writes the account's state now (at shutdown, after its last cycle) if
 * it changed since it was last written; now is wall time (cdtime_t). */
void dw_account_save(dw_account_t *a, uint64_t now);

/* Makes a running cycle end at once, and every later one: requests in
 * flight are cut and deferred (nobody's fault). For shutdown, from any
 * thread. */
void dw_account_interrupt(dw_account_t *a);

/* What the last cycle says about the account, for a test read (collectd
 * -T): 0 when it can be used; -EIO with why (a sentence for a log line)
 * when its credentials were refused, its token endpoint failed, or none of
 * its due requests succeeded. */
int dw_account_verdict(const dw_account_t *a, char *why, size_t why_size);

#endif
