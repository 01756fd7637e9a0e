/* dw_http.h - the HTTP transport: the only room that knows libcurl.
 * Owns: an account's connections, TLS sessions and the transfers of a
 * batch, the pace they start at. May call: libcurl, dw_transfer,
 * dw_request, dw_clock, dw_pace.
 *
 * One dw_http_t per account owns a curl multi handle (its connection pool
 * and DNS cache serve every transfer of the account), a share handle for
 * TLS sessions, and the transfer settings. A batch
 * of requests runs through it with at most max_concurrency transfers in
 * flight; connections stay open between batches and HTTP/2 multiplexes
 * when the server offers it. Every request is bounded: total time, body
 * bytes, redirects (none are followed). With max_requests_per_s, every
 * request of the transport, in every batch, spends from one token bucket
 * (dw_pace) that lives as long as the transport. */
#ifndef DW_HTTP_H
#define DW_HTTP_H

#include "dw_request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dw_http dw_http_t;

/* When a batch must end, on the transport's own monotonic clock: the
 * sockets' timeouts are real time, whatever clock the caller's logic runs
 * on. */
typedef struct dw_http_deadline {
  int64_t start_ms; /* when it was made */
  int64_t at_ms;    /* when the batch must end */
} dw_http_deadline_t;

/* The deadline budget_ms from now. */
dw_http_deadline_t dw_http_deadline_in(long budget_ms);

/* True once the deadline has passed. */
bool dw_http_deadline_passed(dw_http_deadline_t d);

/* Calls curl_global_init once; call from the plugin's init callback,
 * before any thread uses the transport. 0 or -EIO. */
__attribute__((warn_unused_result)) int dw_http_global_init(void);
void dw_http_global_cleanup(void);

/* A transport with a copy of opts; NULL on failure. */
dw_http_t *dw_http_create(const dw_http_opts_t *opts);

/* Ends all connections and frees; accepts NULL. */
void dw_http_destroy(dw_http_t *h);

/* Makes the running batch, and every later one, end at once: requests in
 * flight or queued end with DW_HTTP_ERR_DEADLINE (nobody's fault, nothing
 * is backed off). For shutdown: the one call that another thread may make
 * while a batch runs. */
void dw_http_stop(dw_http_t *h);

/* True once dw_http_stop was called. */
bool dw_http_stopped(dw_http_t *h);

/* Runs every request of reqs[0..n) to completion, at most
 * max_concurrency at once, calling on_done for each (in completion order).
 * on_done may not add requests. A request starts only when the pace
 * allows. Returns when all ended or at the deadline, whichever is first:
 * requests still running or not started then end with
 * DW_HTTP_ERR_DEADLINE (as does a request whose timeout was shortened to
 * the deadline). 0, or -ENOMEM before any request started. */
__attribute__((warn_unused_result)) int
dw_http_run(dw_http_t *h, dw_http_req_t **reqs, size_t n,
            dw_http_deadline_t deadline);

#endif
