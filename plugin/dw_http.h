/* dw_http.h - the HTTP transport: the only room that knows libcurl.
 * Owns: an account's connections, TLS sessions and the transfers of a
 * batch. May call: libcurl, dw_clock.
 *
 * One dw_http_t per account owns a curl multi handle (its connection pool
 * and DNS cache serve every transfer of the account), a share handle for
 * TLS sessions, and the transfer settings. A batch
 * of requests runs through it with at most max_concurrency transfers in
 * flight; connections stay open between batches and HTTP/2 multiplexes
 * when the server offers it. Every request is bounded: total time, body
 * bytes, redirects (none are followed). */
#ifndef DW_HTTP_H
#define DW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dw_http_opts {
  long timeout_ms;          /* whole request, connect included */
  long connect_timeout_ms;  /* 0: timeout_ms */
  size_t max_body;          /* bytes; a larger body fails the request */
  unsigned max_concurrency; /* transfers in flight, >= 1 */
  bool verify_peer;
  bool verify_host;
  const char *ca_cert;     /* CA bundle file or NULL for the system's */
  const char *client_cert; /* PEM client certificate or NULL */
  const char *client_key;  /* PEM client key or NULL */
  const char *user_agent;
} dw_http_opts_t;

typedef enum dw_http_error {
  DW_HTTP_OK = 0,        /* a response arrived; see status */
  DW_HTTP_ERR_TIMEOUT,   /* request or batch deadline passed */
  DW_HTTP_ERR_CONNECT,   /* DNS, refused, reset */
  DW_HTTP_ERR_TLS,       /* handshake or verification */
  DW_HTTP_ERR_TOO_LARGE, /* body above max_body */
  DW_HTTP_ERR_ABORTED,   /* on_body refused the data */
  DW_HTTP_ERR_OTHER
} dw_http_error_t;

typedef struct dw_http_req dw_http_req_t;

/* Receives body bytes of a 2xx response as they arrive (non-2xx bodies
 * are read and dropped, bounded by max_body); 0 to go on, <0 to abort. */
typedef int (*dw_http_body_cb)(void *ud, const char *buf, size_t len);

/* Called once when the request has ended, successfully or not. */
typedef void (*dw_http_done_cb)(void *ud, dw_http_req_t *req);

struct dw_http_req {
  /* Set by the caller, unchanged by the transport. */
  const char *url;
  const char *auth_header; /* "Authorization: ..." line or NULL */
  const char *form_body;   /* POST x-www-form-urlencoded when non-NULL */
  dw_http_body_cb on_body;
  dw_http_done_cb on_done;
  void *ud;
  /* Set by the transport before on_done. */
  dw_http_error_t error;
  long status;        /* HTTP status, 0 when none arrived */
  long retry_after_s; /* from Retry-After (seconds or date), -1: none */
  double total_s;     /* wall time of the request */
  int64_t ended_ms;   /* when it ended, in ms after the deadline was made */
  char errmsg[160];   /* curl's reason when error != DW_HTTP_OK */
};

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

/* Calls curl_global_init once; call from the plugin's init callback,
 * before any thread uses the transport. 0 or -EIO. */
__attribute__((warn_unused_result)) int dw_http_global_init(void);
void dw_http_global_cleanup(void);

/* A transport with a copy of opts; NULL on failure. */
dw_http_t *dw_http_create(const dw_http_opts_t *opts);

/* Ends all connections and frees; accepts NULL. */
void dw_http_destroy(dw_http_t *h);

/* Runs every request of reqs[0..n) to completion, at most
 * max_concurrency at once, calling on_done for each (in completion order).
 * on_done may not add requests. Returns when all ended or at the
 * deadline, whichever is first: requests still running then end with
 * DW_HTTP_ERR_TIMEOUT. 0, or -ENOMEM before any request started. */
__attribute__((warn_unused_result)) int
dw_http_run(dw_http_t *h, dw_http_req_t **reqs, size_t n,
            dw_http_deadline_t deadline);

/* A short static name for an error ("timeout", "connect", ...). */
const char *dw_http_error_name(dw_http_error_t e);

#endif
