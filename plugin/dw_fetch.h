/* dw_fetch.h - one wave of data requests, each body decoded as it arrives.
 * Owns: the jobs of a wave while it runs (request, decoder, fresh cache).
 * May call: dw_http, dw_decode, dw_cache, dw_health, dw_resource.
 *
 * The caller hands in URLs and resources; each job's outcome comes back
 * through a callback as soon as the job ends, so at most max_concurrency
 * decoders are alive at once. The caller decides what an outcome does to
 * its slot (store, back off, retry a 401 with a new token). */
#ifndef DW_FETCH_H
#define DW_FETCH_H

#include "dw_cache.h"
#include "dw_health.h"
#include "dw_http.h"
#include "dw_resource.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct dw_fetch_item {
  const char *url; /* the caller's, valid during the run */
  dw_resource_t resource;
} dw_fetch_item_t;

typedef enum dw_fetch_outcome {
  DW_FETCH_OK = 0,   /* a 2xx that decoded: see cache */
  DW_FETCH_REFUSED,  /* a 401: the token was revoked or expired early */
  DW_FETCH_DEFERRED, /* the cycle's deadline came first: not sent, or cut;
                        nobody's fault */
  DW_FETCH_FAILED    /* anything else: see class and why */
} dw_fetch_outcome_t;

typedef struct dw_fetch_result {
  dw_fetch_outcome_t outcome;
  dw_cache_t *cache;        /* OK: sealed samples; the callee may move them
                               out (and leave *cache empty) */
  const char *note;         /* OK: what the decoder left out, for one
                               warning line (dw_dec_warning), or NULL */
  dw_err_class_t class;     /* REFUSED, FAILED */
  bool permanent;           /* FAILED: asking again soon cannot help (a
                               404 or 410, dw_health_is_permanent) */
  const char *why;          /* REFUSED, DEFERRED, FAILED: for a log line */
  const dw_http_req_t *req; /* the transport's record: status, time, ... */
} dw_fetch_result_t;

/* Receives the outcome of items[index]; called once per item. */
typedef void (*dw_fetch_done_cb)(void *ud, size_t index,
                                 const dw_fetch_result_t *result);

/* Runs items[0..n) through http with auth_header (may be NULL), at most
 * the transport's concurrency at once, until all ended or the deadline;
 * months after max_month (year * 12 + month - 1: the cycle's next month)
 * are skipped by the decoders. 0, or -ENOMEM when nothing ran (done was
 * not called). */
__attribute__((warn_unused_result)) int
dw_fetch_run(dw_http_t *http, const char *auth_header,
             const dw_fetch_item_t *items, size_t n,
             dw_http_deadline_t deadline, int max_month, dw_fetch_done_cb done,
             void *ud);

#endif
