/* dw_health.h - how a failed request is classed, and when to try again.
 * Owns: the failure classes, their names, which failures are permanent,
 * the backoff with jitter, a failed request in words (with the API's own
 * message about it). May call: dw_request, dw_name.
 *
 * Pure policy, no state of its own: the callers keep the counters and
 * pass them in. Time is in milliseconds on the caller's clock. */
#ifndef DW_HEALTH_H
#define DW_HEALTH_H

#include "dw_request.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum dw_err_class {
  DW_ERR_AUTH = 0,   /* 401, 403, refused credentials */
  DW_ERR_RATE_LIMIT, /* 429 */
  DW_ERR_SERVER,     /* 5xx */
  DW_ERR_TIMEOUT,    /* request or cycle deadline */
  DW_ERR_NETWORK,    /* DNS, connect, reset, TLS */
  DW_ERR_CLIENT,     /* other 4xx and odd statuses */
  DW_ERR_DECODE,     /* a 2xx body that is not the contract's */
  DW_ERR_COUNT
} dw_err_class_t;

/* The type_instance of a class ("rate-limit"). */
const char *dw_err_class_name(dw_err_class_t c);

/* The class of a request that did not end in a usable 2xx; decode_failed
 * when the body arrived but the decoder refused it. */
dw_err_class_t dw_health_classify(const dw_http_req_t *req, bool decode_failed);

/* A failed request in words, for a log line: "HTTP status 503,
 * Retry-After 30 s" or "request failed (timeout): ...", with " through
 * proxy host:port (from http_proxy)" when it went through one. */
void dw_health_describe(const dw_http_req_t *req, char *out, size_t out_size);

#define DW_HEALTH_API_MESSAGE_MAX 120 /* bytes of the API's message shown */
#define DW_HEALTH_API_MESSAGE_SIZE (4 * DW_HEALTH_API_MESSAGE_MAX + 4)

/* The API's own words about a failed request, from the first bytes of
 * its body: the "message" (else "error_description", else "error")
 * string of a JSON object, or the first line of a body that is neither
 * JSON nor HTML; at most DW_HEALTH_API_MESSAGE_MAX bytes, made printable
 * (dw_name_printable: out_size DW_HEALTH_API_MESSAGE_SIZE shows them all).
 * "" when there are none. Only for answers that
 * cannot echo a secret back (a data request's 404, not a token
 * request's). Returns out. */
const char *dw_health_api_message(const dw_http_req_t *req, char *out,
                                  size_t out_size);

/* The "error" code of an OAuth error answer (RFC 6749 5.2: invalid_request,
 * invalid_client, invalid_grant, unauthorized_client,
 * unsupported_grant_type, invalid_scope), a static string, or NULL when
 * the body names none of them. */
const char *dw_health_oauth_error(const dw_http_req_t *req);

/* True when asking again soon cannot help: a 404 or 410, whatever asked
 * (an unknown meter, a wrong Path, a wrong TokenURL). */
bool dw_health_is_permanent(const dw_http_req_t *req);

/* True when the answer asks the whole account to slow down (429, 503). */
bool dw_health_is_throttle(const dw_http_req_t *req);

/* Delay before attempt number failures + 1: base_ms * 2^(failures - 1),
 * capped at max_ms, then scaled by a pseudo-random factor in [0.5, 1) so a
 * fleet that failed together does not come back together. failures >= 1;
 * *rng is the caller's xorshift state (any non-zero seed). */
int64_t dw_health_backoff_ms(unsigned failures, long base_ms, long max_ms,
                             uint64_t *rng);

/* Delay before the next attempt after a failure: max_ms itself for a
 * permanent one (dw_health_is_permanent), so an unknown meter is asked
 * once per BackoffMax, otherwise dw_health_backoff_ms(). */
int64_t dw_health_retry_ms(bool permanent, unsigned failures, long base_ms,
                           long max_ms, uint64_t *rng);

/* The next value of a xorshift64 generator (state must be non-zero). */
uint64_t dw_health_random(uint64_t *state);

#endif
