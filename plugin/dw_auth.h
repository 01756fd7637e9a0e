/* dw_auth.h - one account's OAuth2 token: when to ask, asking, the answer.
 * Owns: the token, the token request's form body (it holds the secret),
 * and the backoff after failed token requests.
 * May call: dw_http, dw_token, dw_url, dw_health, dw_config (types).
 *
 * A renewal returns a verdict (ok, throttled, refused, failed) with the
 * reason and when to try again; the account decides what a verdict does
 * to the cycle, dw_report says it in the log and the notifications.
 * Time is an argument: now_ms on the account's clock. Neither the secret,
 * a TokenParam value nor a token ever reaches a verdict's text. */
#ifndef DW_AUTH_H
#define DW_AUTH_H

#include "dw_config.h"
#include "dw_health.h"
#include "dw_http.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dw_auth dw_auth_t;

typedef enum dw_auth_result {
  DW_AUTH_OK = 0,    /* a new token is held */
  DW_AUTH_THROTTLED, /* 429 or 503: the service asks the account to wait */
  DW_AUTH_REFUSED,   /* 400, 401 or 403: the credentials are refused */
  DW_AUTH_FAILED,    /* network, TLS, other statuses, a broken answer */
  DW_AUTH_DEFERRED   /* the cycle's deadline came first: nothing is known
                        about the credentials; no backoff */
} dw_auth_result_t;

typedef struct dw_auth_verdict {
  dw_auth_result_t result;
  dw_err_class_t class; /* what the failure counts as (not for OK) */
  long status;          /* HTTP status of the answer, 0 when none came */
  long retry_after_s;   /* THROTTLED: the server's Retry-After, or -1 */
  int64_t wait_ms;      /* REFUSED, FAILED: the backoff before the next try */
  const char *oauth_error; /* the answer's RFC 6749 error code (static), or
                              NULL */
  char why[256];           /* the reason, for a log line (not for OK) */
} dw_auth_verdict_t;

/* An account's auth with the client_credentials grant, from cfg:
 * TokenURL, ClientID and the secret, sent in the form body (TokenAuth
 * "post") or an Authorization: Basic header ("basic"), the TokenParam
 * pairs, BackoffMax. Copies what it needs. seed is any non-zero number for
 * the backoff's jitter. NULL on ENOMEM. */
dw_auth_t *dw_auth_create(const dw_account_cfg_t *cfg, uint64_t seed);

/* Wipes the secret and the token, frees; accepts NULL. */
void dw_auth_destroy(dw_auth_t *a);

/* True when a token is held and now_ms is before its renewal time. */
bool dw_auth_usable(const dw_auth_t *a, int64_t now_ms);

/* True when a failed token request's backoff is over at now_ms. */
bool dw_auth_may_request(const dw_auth_t *a, int64_t now_ms);

/* Requests a new token through http (one request, bounded by deadline)
 * and fills *v. Failures other than throttling back off: base_ms (the
 * read interval) doubled per failure in a row, up to the maximum given at
 * create. Returns v->result. */
dw_auth_result_t dw_auth_renew(dw_auth_t *a, dw_http_t *http,
                               dw_http_deadline_t deadline, int64_t now_ms,
                               long base_ms, dw_auth_verdict_t *v);

/* Forgets the token (after a 401 on a data request). */
void dw_auth_invalidate(dw_auth_t *a);

/* The "Authorization: ..." header line, or NULL when no token is held.
 * Owned by a, valid until the next renewal or invalidation. */
const char *dw_auth_header(const dw_auth_t *a);

/* Token requests in a row that failed (0 after a success). */
unsigned dw_auth_failures(const dw_auth_t *a);

/* The token backoff (failures in a row, no request before retry_at_ms),
 * to keep across a restart, and its restoring; the token itself is never
 * kept. */
void dw_auth_backoff(const dw_auth_t *a, unsigned *failures,
                     int64_t *retry_at_ms);
void dw_auth_set_backoff(dw_auth_t *a, unsigned failures, int64_t retry_at_ms);

/* The URL of the token endpoint, as configured. */
const char *dw_auth_url(const dw_auth_t *a);

#endif
