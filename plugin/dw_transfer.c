/* dw_transfer.c - one HTTP transfer on a pooled easy handle (see
 * dw_transfer.h).
 *
 * Every request is bounded here: total and connect time, protocols (http
 * and https only), redirects (none are followed), body bytes after
 * decompression. */
#include "dw_transfer.h"
#include "dw_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TRANSFER_RETRY_AFTER_MAX_S 86400L

/* Sticky setopt: after the first failure the rest are skipped. */
#define HTTP_SET(rc, easy, opt, val)                                           \
  do {                                                                         \
    if ((rc) == CURLE_OK)                                                      \
      (rc) = curl_easy_setopt((easy), (opt), (val));                           \
  } while (0)

/* Seconds from a Retry-After value (delta-seconds or HTTP-date), at most a
 * day, never negative; -1 when it is neither form. */
static long http_retry_after_parse(const char *v, size_t len, time_t now) {
  char buf[64];
  while (len > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    len--;
  }
  while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL)
    len--;
  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy(buf, v, len);
  buf[len] = '\0';
  if (strspn(buf, "0123456789") == len) {
    long s = 0;
    for (size_t i = 0; i < len; i++) {
      s = s * 10 + (buf[i] - '0');
      if (s > TRANSFER_RETRY_AFTER_MAX_S) /* also keeps s from overflowing */
        s = TRANSFER_RETRY_AFTER_MAX_S;
    }
    return s;
  }
  time_t at = curl_getdate(buf, NULL);
  if (at == (time_t)-1)
    return -1;
  if (at <= now)
    return 0;
  return at - now > TRANSFER_RETRY_AFTER_MAX_S ? TRANSFER_RETRY_AFTER_MAX_S
                                               : (long)(at - now);
}

/* Keeps Retry-After of the last response only: a status line (an interim
 * 1xx, a proxy's CONNECT reply) starts over. */
static size_t http_on_header(char *line, size_t size, size_t nitems,
                             void *userp) {
  static const char name[] = "retry-after:";
  const size_t name_len = sizeof name - 1;
  dw_transfer_t *s = userp;
  size_t len = size * nitems;

  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0)
    s->retry_after_s = -1;
  else if (len >= name_len && strncasecmp(line, name, name_len) == 0)
    s->retry_after_s =
        http_retry_after_parse(line + name_len, len - name_len, time(NULL));
  return len;
}

/* Keeps the first bytes of a non-2xx body: the API's own words about what
 * went wrong (a 404 names the unknown meter), read by dw_health. */
static void http_keep_error_body(dw_http_req_t *req, const char *ptr,
                                 size_t len) {
  size_t room = sizeof(req->err_body) - req->err_body_len;
  size_t n = len < room ? len : room;
  memcpy(req->err_body + req->err_body_len, ptr, n);
  req->err_body_len += n;
}

/* Counts decoded bytes against max_body (so a compression bomb stops at
 * the cap) and hands 2xx bodies to on_body. Returning less than len makes
 * libcurl end the transfer with CURLE_WRITE_ERROR; verdict says why. */
static size_t http_on_write(char *ptr, size_t size, size_t nmemb, void *userp) {
  dw_transfer_t *s = userp;
  size_t len = size * nmemb;
  long status = 0;

  if (len == 0)
    return 0;
  if (len > s->opts->max_body - s->body_bytes) {
    s->verdict = DW_HTTP_ERR_TOO_LARGE;
    return 0;
  }
  s->body_bytes += len;
  if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
    return len;
  if (status < 200 || status > 299) {
    http_keep_error_body(s->req, ptr, len);
    return len;
  }
  if (s->req->on_body == NULL)
    return len;
  if (s->req->on_body(s->req->ud, ptr, len) < 0) {
    s->verdict = DW_HTTP_ERR_ABORTED;
    return 0;
  }
  return len;
}

static dw_http_error_t http_error_from_curl(CURLcode rc,
                                            dw_http_error_t verdict) {
  switch (rc) {
  case CURLE_OK:
    return DW_HTTP_OK;
  case CURLE_OPERATION_TIMEDOUT:
    return DW_HTTP_ERR_TIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return DW_HTTP_ERR_CONNECT;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_USE_SSL_FAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return DW_HTTP_ERR_TLS;
  case CURLE_WRITE_ERROR:
    return verdict != DW_HTTP_OK ? verdict : DW_HTTP_ERR_OTHER;
  default:
    return DW_HTTP_ERR_OTHER;
  }
}

/* OpenSSL's words when what answered a TLS handshake was not TLS: an
 * https:// URL to a plain-HTTP port. */
static bool http_is_not_tls(const char *msg) {
  static const char *const signs[] = {
      "wrong version number", "packet length too long", "unknown protocol",
      "record layer failure"};
  for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++)
    if (strstr(msg, signs[i]) != NULL)
      return true;
  return false;
}

/* curl's message, unless it could quote the proxy's userinfo (libcurl
 * quotes a proxy string it cannot parse, password and all). */
static const char *http_curl_message(const dw_transfer_t *s, CURLcode rc) {
  char userinfo[256];
  if (s->errbuf[0] == '\0')
    return curl_easy_strerror(rc);
  if (dw_proxy_userinfo(s->opts->proxy, s->req->url, userinfo,
                        sizeof(userinfo)) &&
      (strchr(s->errbuf, '@') != NULL || strstr(s->errbuf, userinfo) != NULL))
    return curl_easy_strerror(rc);
  return s->errbuf;
}

/* Our own words for the stops we caused and for the mistakes they point
 * at, else curl's message. No '?' in ours: the transport cuts there. */
static const char *http_reason(const dw_transfer_t *s, CURLcode rc) {
  if (rc == CURLE_WRITE_ERROR && s->verdict == DW_HTTP_ERR_TOO_LARGE)
    return "response body above max_body";
  if (rc == CURLE_WRITE_ERROR && s->verdict == DW_HTTP_ERR_ABORTED)
    return "body consumer refused the data";
  if (rc == CURLE_SSL_CONNECT_ERROR && http_is_not_tls(s->errbuf))
    return "the server does not speak TLS there: that port serves plain "
           "HTTP (use http://, or the server's TLS port)";
  /* Some plain-HTTP servers hang up on a ClientHello instead of answering
   * it; a firewall may too, so this one is said with a doubt. */
  if (rc == CURLE_SSL_CONNECT_ERROR &&
      (strstr(s->errbuf, "SSL_ERROR_SYSCALL") != NULL ||
       strstr(s->errbuf, "unexpected eof") != NULL))
    return "the server closed the connection during the TLS handshake: if "
           "that port serves plain HTTP, use http://";
  return http_curl_message(s, rc);
}

/* Just before a request is sent on a connection (new or reused): a
 * reused HTTP/1.x connection that holds unread bytes would hand them to
 * this request as its answer, so the request is stopped and sent again on
 * a fresh connection (dw_transfer_retry_fresh); libcurl closes the stopped
 * one. */
static int transfer_prereq(void *ud, char *primary_ip, char *local_ip,
                           int primary_port, int local_port) {
  dw_transfer_t *s = ud;
  (void)primary_ip, (void)local_ip, (void)primary_port;
  if (s->retried || !dw_conns_stale(s->conns, local_port))
    return CURL_PREREQFUNC_OK;
  s->stale = true;
  return CURL_PREREQFUNC_ABORT;
}

/* The connection checks, where libcurl has them (7.80.0 and later). */
static CURLcode transfer_set_conns(dw_transfer_t *s) {
  CURLcode rc = dw_conns_watch(s->conns, s->easy);
#if LIBCURL_VERSION_NUM >= 0x075000
  HTTP_SET(rc, s->easy, CURLOPT_PREREQFUNCTION, transfer_prereq);
  HTTP_SET(rc, s->easy, CURLOPT_PREREQDATA, (void *)s);
#else
  (void)transfer_prereq;
#endif
  return rc;
}

/* The header list for req, the configured lines last (dw_header keeps
 * them off the names above); NULL when out of memory. */
static struct curl_slist *http_build_headers(const dw_http_req_t *req,
                                             const dw_http_opts_t *opts) {
  struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");
  struct curl_slist *more = list;

  if (more != NULL && req->auth_header != NULL)
    more = curl_slist_append(list, req->auth_header);
  if (more != NULL && req->form_body != NULL)
    more = curl_slist_append(list,
                             "Content-Type: application/x-www-form-urlencoded");
  for (const char *const *h = opts->headers; more != NULL && h && *h; h++)
    more = curl_slist_append(list, *h);
  if (more == NULL) {
    curl_slist_free_all(list);
    return NULL;
  }
  return list;
}

/* Only http and https, for requests and (never followed) redirects.
 * CURLOPT_PROTOCOLS_STR came with 7.85.0; an older libcurl gets the
 * bitmask option that 7.85.0 deprecated. */
static CURLcode http_set_protocols(CURL *e) {
  CURLcode rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (rc != CURLE_UNKNOWN_OPTION)
    return rc;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                        (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                          (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#pragma GCC diagnostic pop
  return rc;
}

/* Bounds: time, protocols, redirects; and what the pool shares. */
static CURLcode http_set_limits(dw_transfer_t *s, long timeout_ms,
                                CURLSH *share) {
  long connect_ms = s->opts->connect_timeout_ms;
  CURLcode rc = CURLE_OK;
  CURL *e = s->easy;

  if (connect_ms <= 0 || connect_ms > timeout_ms)
    connect_ms = timeout_ms;
  HTTP_SET(rc, e, CURLOPT_NOSIGNAL, 1L); /* collectd's threads */
  HTTP_SET(rc, e, CURLOPT_TIMEOUT_MS, timeout_ms);
  HTTP_SET(rc, e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  HTTP_SET(rc, e, CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK)
    rc = http_set_protocols(e);
  HTTP_SET(rc, e, CURLOPT_ACCEPT_ENCODING, "");
  /* A configured Proxy takes every request, whatever the environment
   * says (no_proxy included); Proxy "" turns proxies off. */
  if (s->opts->proxy != NULL)
    HTTP_SET(rc, e, CURLOPT_PROXY, s->opts->proxy);
  if (s->opts->proxy != NULL && s->opts->proxy[0] != '\0')
    HTTP_SET(rc, e, CURLOPT_NOPROXY, "");
  HTTP_SET(rc, e, CURLOPT_SHARE, share);
  HTTP_SET(rc, e, CURLOPT_PRIVATE, (void *)s);
  /* Fails only in a libcurl built without HTTP/2; HTTP/1.1 then serves. */
  if (rc == CURLE_OK)
    (void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                           (long)CURL_HTTP_VERSION_2TLS);
  return rc;
}

static CURLcode http_set_tls(dw_transfer_t *s) {
  const dw_http_opts_t *o = s->opts;
  CURLcode rc = CURLE_OK;
  CURL *e = s->easy;

  HTTP_SET(rc, e, CURLOPT_SSL_VERIFYPEER, o->verify_peer ? 1L : 0L);
  HTTP_SET(rc, e, CURLOPT_SSL_VERIFYHOST, o->verify_host ? 2L : 0L);
  if (o->ca_cert != NULL)
    HTTP_SET(rc, e, CURLOPT_CAINFO, o->ca_cert);
  if (o->ca_path != NULL)
    HTTP_SET(rc, e, CURLOPT_CAPATH, o->ca_path);
  if (o->client_cert != NULL)
    HTTP_SET(rc, e, CURLOPT_SSLCERT, o->client_cert);
  if (o->client_key != NULL)
    HTTP_SET(rc, e, CURLOPT_SSLKEY, o->client_key);
  if (o->key_password != NULL)
    HTTP_SET(rc, e, CURLOPT_KEYPASSWD, o->key_password);
  if (o->user_agent != NULL)
    HTTP_SET(rc, e, CURLOPT_USERAGENT, o->user_agent);
  return rc;
}

static CURLcode http_set_request(dw_transfer_t *s) {
  const dw_http_req_t *req = s->req;
  CURLcode rc = CURLE_OK;
  CURL *e = s->easy;

  HTTP_SET(rc, e, CURLOPT_URL, req->url);
  HTTP_SET(rc, e, CURLOPT_HTTPHEADER, s->headers);
  if (req->form_body != NULL)
    HTTP_SET(rc, e, CURLOPT_POSTFIELDS, req->form_body);
  HTTP_SET(rc, e, CURLOPT_ERRORBUFFER, s->errbuf);
  HTTP_SET(rc, e, CURLOPT_WRITEFUNCTION, http_on_write);
  HTTP_SET(rc, e, CURLOPT_WRITEDATA, (void *)s);
  HTTP_SET(rc, e, CURLOPT_HEADERFUNCTION, http_on_header);
  HTTP_SET(rc, e, CURLOPT_HEADERDATA, (void *)s);
  return rc;
}

dw_http_error_t dw_transfer_cut(const dw_transfer_t *s) {
  return 2 * s->granted_ms >= s->opts->timeout_ms ? DW_HTTP_ERR_TIMEOUT
                                                  : DW_HTTP_ERR_DEADLINE;
}

int dw_transfer_prepare(dw_transfer_t *s, dw_http_req_t *req, long granted_ms,
                        CURLSH *share) {
  if (s->easy == NULL && (s->easy = curl_easy_init()) == NULL)
    return -ENOMEM;
  curl_easy_reset(s->easy);
  s->req = req;
  req->err_body_len = 0;
  req->via_proxy[0] = '\0';
  s->body_bytes = 0;
  s->verdict = DW_HTTP_OK;
  s->retry_after_s = -1;
  s->granted_ms = granted_ms;
  s->stale = false;
  s->retried = false;
  s->errbuf[0] = '\0';
  s->headers = http_build_headers(req, s->opts);
  if (s->headers == NULL)
    goto fail;
  if (http_set_limits(s, granted_ms, share) != CURLE_OK ||
      http_set_tls(s) != CURLE_OK || http_set_request(s) != CURLE_OK ||
      transfer_set_conns(s) != CURLE_OK)
    goto fail;
  return 0;

fail:
  dw_transfer_abandon(s);
  return -ENOMEM;
}

bool dw_transfer_retry_fresh(dw_transfer_t *s, CURLcode rc) {
  if (rc != CURLE_ABORTED_BY_CALLBACK || !s->stale || s->retried)
    return false;
  s->stale = false;
  s->retried = true;
  s->body_bytes = 0;
  s->verdict = DW_HTTP_OK;
  s->retry_after_s = -1;
  s->errbuf[0] = '\0';
  return curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK;
}

void dw_transfer_abandon(dw_transfer_t *s) {
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  s->req = NULL;
}

/* Which proxy a request that got no 2xx went through, for its log line:
 * libcurl follows the environment silently otherwise. */
static void http_note_proxy(const dw_http_opts_t *opts, dw_http_req_t *req) {
  char shown[DW_PROXY_SHOWN_SIZE];
  const char *from = NULL;
  if (dw_proxy_for(opts->proxy, req->url, shown, &from))
    snprintf(req->via_proxy, sizeof(req->via_proxy), "%s (from %s)", shown,
             from);
}

dw_http_req_t *dw_transfer_finish(dw_transfer_t *s) {
  dw_http_req_t *req = s->req;
  long status = 0;
  double total_s = 0;
  if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
    status = 0;
  if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &total_s) != CURLE_OK)
    total_s = 0;
  if (status > 0)
    dw_conns_learn(s->conns, s->easy);
  req->status = status;
  req->total_s = total_s;
  req->retry_after_s = s->retry_after_s;
  req->via_proxy[0] = '\0';
  if (status < 200 || status > 299)
    http_note_proxy(s->opts, req);
  dw_transfer_abandon(s);
  return req;
}

dw_http_error_t dw_transfer_outcome(const dw_transfer_t *s, CURLcode rc,
                                    const char **why) {
  if (rc == CURLE_ABORTED_BY_CALLBACK && s->stale) {
    *why = "its connection held a response nobody asked for";
    return DW_HTTP_ERR_CONNECT;
  }
  *why = http_reason(s, rc);
  if (rc == CURLE_OPERATION_TIMEDOUT &&
      dw_transfer_cut(s) == DW_HTTP_ERR_DEADLINE) {
    *why = "the cycle's deadline came first";
    return DW_HTTP_ERR_DEADLINE;
  }
  return http_error_from_curl(rc, s->verdict);
}

void dw_transfer_release(dw_transfer_t *s) {
  curl_easy_cleanup(s->easy);
  curl_slist_free_all(s->headers);
  *s = (dw_transfer_t){.opts = s->opts, .conns = s->conns};
}
