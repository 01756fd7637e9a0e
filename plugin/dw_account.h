/* dw_account.h - one account's read cycle.
 *
 * An account owns its configuration, its token, its transport, its fleet
 * (blocks plus SmartmeterFile, minus other shards) and one slot per
 * (meter, resource, period) with the slot's last good samples. A read
 * cycle, given one "now": re-reads a changed SmartmeterFile, renews the
 * token if needed, fetches every due slot through the transport (decoding
 * as bytes arrive), retries once with a fresh token what a 401 refused,
 * backs off what failed, pauses on 429/503, dispatches every slot that
 * holds values, and reports on itself (notifications, self-metrics). A
 * failing slot never stops another; the cycle returns by its deadline.
 * Knows neither collectd nor curl directly: it talks to dw_http,
 * dw_decode, dw_cache, dw_token, dw_health and dw_dispatch. */
#ifndef DW_ACCOUNT_H
#define DW_ACCOUNT_H

#include "dw_config.h"

#include <stdint.h>

typedef struct dw_account dw_account_t;

/* An account that takes ownership of *cfg (the struct is copied and
 * zeroed); NULL on failure (cfg is then freed too). */
dw_account_t *dw_account_create(dw_account_cfg_t *cfg);

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

#endif
