/* dw_transfer.h - one HTTP transfer on a pooled easy handle.
 * Owns: an easy handle kept from request to request, the request it
 * carries, its header list, and what its callbacks saw (body bytes,
 * Retry-After, why they stopped it, a connection not fit to send on).
 * May call: libcurl, dw_conn, dw_request, dw_proxy (which proxy a failed
 * request went through).
 *
 * The transport (dw_http) keeps one dw_transfer_t per concurrency slot
 * and drives them through its multi handle: prepare, add to the multi,
 * and when libcurl is done with it, outcome and finish. */
#ifndef DW_TRANSFER_H
#define DW_TRANSFER_H

#include "dw_conn.h"
#include "dw_request.h"

#include <curl/curl.h>

#include <stdbool.h>

typedef struct dw_transfer {
  CURL *easy; /* created on first use, kept until dw_transfer_release */
  const dw_http_opts_t *opts; /* the transport's, set once */
  dw_conns_t *conns;          /* the transport's, set once */
  dw_http_req_t *req;         /* NULL while the slot is free */
  struct curl_slist *headers; /* owned while req is set */
  size_t body_bytes;          /* decoded bytes received, any status */
  dw_http_error_t verdict;    /* why the write callback stopped, or OK */
  long retry_after_s;
  long granted_ms; /* the time it was given: Timeout, or less if the
                      batch's deadline came sooner */
  bool stale;      /* the pooled connection held bytes nobody asked for */
  bool retried;    /* already sent again, on a fresh connection */
  char errbuf[CURL_ERROR_SIZE];
} dw_transfer_t;

/* Sets up t's easy handle for req: limits (granted_ms for the whole
 * request: its Timeout, or what is left of the batch when that is
 * shorter), TLS, headers, callbacks, the share handle. 0, or -ENOMEM with
 * t free again. The caller adds t->easy to its multi handle. */
__attribute__((warn_unused_result)) int dw_transfer_prepare(dw_transfer_t *t,
                                                            dw_http_req_t *req,
                                                            long granted_ms,
                                                            CURLSH *share);

/* How a transfer cut by the batch's deadline ends: DW_HTTP_ERR_TIMEOUT
 * when it had at least half of its Timeout to answer (the server had its
 * chance), else DW_HTTP_ERR_DEADLINE (the cycle ran out: nobody's fault). */
dw_http_error_t dw_transfer_cut(const dw_transfer_t *t);

/* The error class of a transfer libcurl ended with rc, and *why (owned by
 * t, valid until its next prepare): our words for the stops we caused,
 * else curl's message. */
dw_http_error_t dw_transfer_outcome(const dw_transfer_t *t, CURLcode rc,
                                    const char **why);

/* Fills t's request with what the response said (status, total time,
 * Retry-After), frees the headers and returns the request; t is free. */
dw_http_req_t *dw_transfer_finish(dw_transfer_t *t);

/* True when libcurl ended t with rc only because the pooled connection
 * it was about to send on held bytes nobody asked for (dw_conn), the
 * first time: t is then set up to go out once more on a fresh connection.
 * The caller takes t->easy out of its multi handle and adds it again. */
bool dw_transfer_retry_fresh(dw_transfer_t *t, CURLcode rc);

/* Frees the headers of a request that never ran; t is free. */
void dw_transfer_abandon(dw_transfer_t *t);

/* Frees the easy handle and everything t holds; the caller has taken it
 * out of its multi handle first. */
void dw_transfer_release(dw_transfer_t *t);

#endif
