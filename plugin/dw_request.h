/* dw_request.h - the records of one HTTP request and of a transport.
 * Owns: what a caller sets on a request, what the transport fills in, the
 * transport's settings and error classes. May call: nothing.
 *
 * Shared by the transport (dw_http, dw_transfer) and the rooms that make
 * or judge requests (dw_fetch, dw_auth, dw_health), so none of them needs
 * the transport itself to read a request's outcome. */
#ifndef DW_REQUEST_H
#define DW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_HTTP_VIA_PROXY_SIZE 128 /* req.via_proxy */
#define DW_HTTP_ERR_BODY_MAX 192   /* bytes of a non-2xx body kept */

typedef struct dw_http_opts {
  long timeout_ms;          /* whole request, connect included */
  long connect_timeout_ms;  /* 0: timeout_ms */
  size_t max_body;          /* bytes; a larger body fails the request */
  unsigned max_concurrency; /* transfers in flight, >= 1 */
  /* requests started per second, data and token requests alike (one
   * token bucket per transport); 0: no limit */
  double max_requests_per_s;
  bool verify_peer;
  bool verify_host;
  const char *ca_cert;      /* CA bundle file or NULL for the system's */
  const char *ca_path;      /* directory of hashed CA certificates or NULL */
  const char *client_cert;  /* PEM client certificate or NULL */
  const char *client_key;   /* PEM client key or NULL */
  const char *key_password; /* passphrase of client_key or NULL: a secret */
  const char *user_agent;
  const char *proxy;          /* NULL: libcurl's environment (http_proxy,
                                 https_proxy, all_proxy, no_proxy); "": no
                                 proxy; else every request goes through it */
  const char *const *headers; /* "Name: value" lines for every request,
                                 NULL-terminated, or NULL; may hold keys */
} dw_http_opts_t;

typedef enum dw_http_error {
  DW_HTTP_OK = 0,        /* a response arrived; see status */
  DW_HTTP_ERR_TIMEOUT,   /* the request's own Timeout passed */
  DW_HTTP_ERR_DEADLINE,  /* the batch's deadline came first: it was cut
                            or never started, not the server's fault */
  DW_HTTP_ERR_CONNECT,   /* DNS, refused, reset */
  DW_HTTP_ERR_TLS,       /* handshake or verification */
  DW_HTTP_ERR_TOO_LARGE, /* body above max_body */
  DW_HTTP_ERR_ABORTED,   /* on_body refused the data */
  DW_HTTP_ERR_OTHER
} dw_http_error_t;

typedef struct dw_http_req dw_http_req_t;

/* Receives body bytes of a 2xx response as they arrive (non-2xx bodies
 * are read, bounded by max_body, and dropped but for their first
 * DW_HTTP_ERR_BODY_MAX bytes); 0 to go on, <0 to abort. */
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
  bool sent;          /* it went out; false when it never started */
  char errmsg[160];   /* curl's reason when error != DW_HTTP_OK */
  /* Set by the transport when no 2xx came: the proxy the request went
   * through ("host:port (from http_proxy)", never its userinfo), "" when
   * none; and the first bytes of a non-2xx body (not NUL-terminated),
   * for the API's own words about the failure. */
  char via_proxy[DW_HTTP_VIA_PROXY_SIZE];
  char err_body[DW_HTTP_ERR_BODY_MAX];
  size_t err_body_len;
};

/* A short static name for an error ("timeout", "connect", ...). */
const char *dw_http_error_name(dw_http_error_t e);

#endif
