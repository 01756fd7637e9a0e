/* dw_http.c - the HTTP transport on libcurl's multi interface.
 *
 * The multi handle lives as long as the transport, so what it caches for
 * all of its easy handles survives from one read cycle to the next: the
 * connection pool and the DNS cache (a multi handle shares resolved names
 * among its easy handles without a share handle). The share handle adds
 * TLS session IDs, which libcurl otherwise keeps per easy handle, so a new
 * connection to a known host resumes its handshake. Neither needs locks:
 * one transport is driven by one thread at a time (collectd never runs a
 * read callback twice at once).
 *
 * Easy handles are pooled, one per concurrency slot, and reset before each
 * request. The loop follows curl's docs/examples/multi-app.c: perform,
 * info_read, poll; teardown removes handles, cleans the multi, then the
 * easy handles. */

#include "dw_http.h"
#include "dw_clock.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* 7.74.0: the oldest libcurl we accept (curl_multi_poll needs 7.66). */
#define HTTP_MIN_CURL_VERSION 0x074a00
#define HTTP_MAX_CONCURRENCY 1024
#define HTTP_RETRY_AFTER_MAX_S 86400L
#define HTTP_POLL_MAX_MS 1000

/* Sticky setopt: after the first failure the rest are skipped. */
#define HTTP_SET(rc, easy, opt, val)                                           \
  do {                                                                         \
    if ((rc) == CURLE_OK)                                                      \
      (rc) = curl_easy_setopt((easy), (opt), (val));                           \
  } while (0)

/* One concurrency slot: a pooled easy handle and the request it carries. */
typedef struct http_slot {
  CURL *easy; /* created on first use, kept until dw_http_destroy */
  const dw_http_t *h;
  dw_http_req_t *req;         /* NULL while the slot is free */
  struct curl_slist *headers; /* owned while req is set */
  size_t body_bytes;          /* decoded bytes received, any status */
  dw_http_error_t verdict;    /* why the write callback stopped, or OK */
  long retry_after_s;
  char errbuf[CURL_ERROR_SIZE];
} http_slot_t;

struct dw_http {
  dw_http_opts_t opts; /* its strings point to the owned copies below */
  char *ca_cert;
  char *client_cert;
  char *client_key;
  char *user_agent;
  CURLM *multi;
  CURLSH *share;
  http_slot_t *slots;     /* opts.max_concurrency of them */
  unsigned active;        /* slots whose easy handle is in the multi */
  int64_t batch_start_ms; /* of the running batch's deadline */
};

/* The requests of one dw_http_run call. */
typedef struct http_batch {
  dw_http_req_t **reqs;
  size_t n;
  size_t next; /* first request not yet started */
  bool started;
  int64_t deadline_ms;
} http_batch_t;

/* Set by dw_http_global_init; the plugin's init callback runs alone. */
static bool http_initialized;

int dw_http_global_init(void) {
  if (http_initialized)
    return 0;
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  if (v == NULL || v->version_num < HTTP_MIN_CURL_VERSION ||
      (v->features & CURL_VERSION_SSL) == 0)
    return -EIO;
  if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
    return -EIO;
  http_initialized = true;
  return 0;
}

void dw_http_global_cleanup(void) {
  if (!http_initialized)
    return;
  curl_global_cleanup();
  http_initialized = false;
}

static int64_t http_now_ms(void) {
  dw_clock_t clock = dw_clock_monotonic();
  return dw_clock_read(&clock);
}

dw_http_deadline_t dw_http_deadline_in(long budget_ms) {
  int64_t now_ms = http_now_ms();
  return (dw_http_deadline_t){.start_ms = now_ms, .at_ms = now_ms + budget_ms};
}

const char *dw_http_error_name(dw_http_error_t e) {
  static const char *const names[] = {
      [DW_HTTP_OK] = "ok",
      [DW_HTTP_ERR_TIMEOUT] = "timeout",
      [DW_HTTP_ERR_CONNECT] = "connect",
      [DW_HTTP_ERR_TLS] = "tls",
      [DW_HTTP_ERR_TOO_LARGE] = "too large",
      [DW_HTTP_ERR_ABORTED] = "aborted",
      [DW_HTTP_ERR_OTHER] = "other",
  };
  if ((unsigned)e >= sizeof names / sizeof names[0] || names[e] == NULL)
    return "unknown";
  return names[e];
}

/* Owned copy of an optional string option; *field is pointed at it. */
static int http_dup_opt(char **copy, const char **field) {
  if (*field == NULL)
    return 0;
  *copy = strdup(*field);
  *field = *copy;
  return *copy == NULL ? -ENOMEM : 0;
}

/* The multi keeps connections between batches: max_concurrency per host,
 * and room in the pool for the API host and the token host at once. */
static CURLMcode http_multi_setup(CURLM *multi, unsigned max_concurrency) {
  CURLMcode mc =
      curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)max_concurrency * 2);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                           (long)max_concurrency);
  if (mc == CURLM_OK)
    mc =
        curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return mc;
}

dw_http_t *dw_http_create(const dw_http_opts_t *opts) {
  if (opts == NULL || opts->timeout_ms <= 0 || opts->max_concurrency < 1 ||
      opts->max_concurrency > HTTP_MAX_CONCURRENCY)
    return NULL;
  dw_http_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->opts = *opts;
  if (http_dup_opt(&h->ca_cert, &h->opts.ca_cert) != 0 ||
      http_dup_opt(&h->client_cert, &h->opts.client_cert) != 0 ||
      http_dup_opt(&h->client_key, &h->opts.client_key) != 0 ||
      http_dup_opt(&h->user_agent, &h->opts.user_agent) != 0)
    goto fail;
  h->slots = calloc(opts->max_concurrency, sizeof *h->slots);
  h->multi = curl_multi_init();
  h->share = curl_share_init();
  if (h->slots == NULL || h->multi == NULL || h->share == NULL)
    goto fail;
  if (curl_share_setopt(h->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      http_multi_setup(h->multi, opts->max_concurrency) != CURLM_OK)
    goto fail;
  for (unsigned i = 0; i < opts->max_concurrency; i++)
    h->slots[i].h = h;
  return h;

fail:
  dw_http_destroy(h);
  return NULL;
}

/* Order matters: easy handles leave the multi before it goes, the share
 * goes last because every easy handle still refers to it. */
void dw_http_destroy(dw_http_t *h) {
  if (h == NULL)
    return;
  unsigned n = h->slots != NULL ? h->opts.max_concurrency : 0;
  for (unsigned i = 0; i < n; i++)
    if (h->slots[i].easy != NULL && h->multi != NULL)
      curl_multi_remove_handle(h->multi, h->slots[i].easy);
  curl_multi_cleanup(h->multi);
  for (unsigned i = 0; i < n; i++) {
    curl_easy_cleanup(h->slots[i].easy);
    curl_slist_free_all(h->slots[i].headers);
  }
  curl_share_cleanup(h->share);
  free(h->slots);
  free(h->ca_cert);
  free(h->client_cert);
  free(h->client_key);
  free(h->user_agent);
  free(h);
}

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
      if (s > HTTP_RETRY_AFTER_MAX_S) /* also keeps s from overflowing */
        s = HTTP_RETRY_AFTER_MAX_S;
    }
    return s;
  }
  time_t at = curl_getdate(buf, NULL);
  if (at == (time_t)-1)
    return -1;
  if (at <= now)
    return 0;
  return at - now > HTTP_RETRY_AFTER_MAX_S ? HTTP_RETRY_AFTER_MAX_S
                                           : (long)(at - now);
}

/* Keeps Retry-After of the last response only: a status line (an interim
 * 1xx, a proxy's CONNECT reply) starts over. */
static size_t http_on_header(char *line, size_t size, size_t nitems,
                             void *userp) {
  static const char name[] = "retry-after:";
  const size_t name_len = sizeof name - 1;
  http_slot_t *s = userp;
  size_t len = size * nitems;

  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0)
    s->retry_after_s = -1;
  else if (len >= name_len && strncasecmp(line, name, name_len) == 0)
    s->retry_after_s =
        http_retry_after_parse(line + name_len, len - name_len, time(NULL));
  return len;
}

/* Counts decoded bytes against max_body (so a compression bomb stops at
 * the cap) and hands 2xx bodies to on_body. Returning less than len makes
 * libcurl end the transfer with CURLE_WRITE_ERROR; verdict says why. */
static size_t http_on_write(char *ptr, size_t size, size_t nmemb, void *userp) {
  http_slot_t *s = userp;
  size_t len = size * nmemb;
  long status = 0;

  if (len == 0)
    return 0;
  if (len > s->h->opts.max_body - s->body_bytes) {
    s->verdict = DW_HTTP_ERR_TOO_LARGE;
    return 0;
  }
  s->body_bytes += len;
  if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
      status < 200 || status > 299 || s->req->on_body == NULL)
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

/* Our own words for the stops we caused, else curl's message. */
static const char *http_reason(const http_slot_t *s, CURLcode rc) {
  if (rc == CURLE_WRITE_ERROR && s->verdict == DW_HTTP_ERR_TOO_LARGE)
    return "response body above max_body";
  if (rc == CURLE_WRITE_ERROR && s->verdict == DW_HTTP_ERR_ABORTED)
    return "body consumer refused the data";
  if (s->errbuf[0] != '\0')
    return s->errbuf;
  return curl_easy_strerror(rc);
}

/* Fills req's outcome and calls on_done. Any URL query that a message
 * might quote is cut off: it could carry an identifier or a secret. */
static void http_report(const dw_http_t *h, dw_http_req_t *req,
                        dw_http_error_t e, const char *why) {
  size_t len = 0;
  if (e != DW_HTTP_OK && why != NULL) {
    len = strcspn(why, "?\r\n");
    if (len >= sizeof req->errmsg)
      len = sizeof req->errmsg - 1;
    memcpy(req->errmsg, why, len);
  }
  req->errmsg[len] = '\0';
  req->error = e;
  req->ended_ms = http_now_ms() - h->batch_start_ms;
  if (req->on_done != NULL)
    req->on_done(req->ud, req);
}

/* Ends a request that never reached curl. */
static void http_report_unstarted(const dw_http_t *h, dw_http_req_t *req,
                                  dw_http_error_t e, const char *why) {
  req->status = 0;
  req->retry_after_s = -1;
  req->total_s = 0;
  http_report(h, req, e, why);
}

/* Takes the slot's transfer out of the multi, frees the slot, reports. */
static void http_finish(dw_http_t *h, http_slot_t *s, dw_http_error_t e,
                        const char *why) {
  dw_http_req_t *req = s->req;
  long status = 0;
  double total_s = 0;

  curl_multi_remove_handle(h->multi, s->easy);
  h->active--;
  if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
    status = 0;
  if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &total_s) != CURLE_OK)
    total_s = 0;
  req->status = status;
  req->total_s = total_s;
  req->retry_after_s = s->retry_after_s;
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  s->req = NULL;
  http_report(h, req, e, why);
}

/* The header list for req; NULL when out of memory. */
static struct curl_slist *http_build_headers(const dw_http_req_t *req) {
  struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");
  struct curl_slist *more = list;

  if (more != NULL && req->auth_header != NULL)
    more = curl_slist_append(list, req->auth_header);
  if (more != NULL && req->form_body != NULL)
    more = curl_slist_append(list,
                             "Content-Type: application/x-www-form-urlencoded");
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
static CURLcode http_set_limits(http_slot_t *s, long timeout_ms,
                                CURLSH *share) {
  long connect_ms = s->h->opts.connect_timeout_ms;
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
  HTTP_SET(rc, e, CURLOPT_SHARE, share);
  HTTP_SET(rc, e, CURLOPT_PRIVATE, (void *)s);
  /* Fails only in a libcurl built without HTTP/2; HTTP/1.1 then serves. */
  if (rc == CURLE_OK)
    (void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                           (long)CURL_HTTP_VERSION_2TLS);
  return rc;
}

static CURLcode http_set_tls(http_slot_t *s) {
  const dw_http_opts_t *o = &s->h->opts;
  CURLcode rc = CURLE_OK;
  CURL *e = s->easy;

  HTTP_SET(rc, e, CURLOPT_SSL_VERIFYPEER, o->verify_peer ? 1L : 0L);
  HTTP_SET(rc, e, CURLOPT_SSL_VERIFYHOST, o->verify_host ? 2L : 0L);
  if (o->ca_cert != NULL)
    HTTP_SET(rc, e, CURLOPT_CAINFO, o->ca_cert);
  if (o->client_cert != NULL)
    HTTP_SET(rc, e, CURLOPT_SSLCERT, o->client_cert);
  if (o->client_key != NULL)
    HTTP_SET(rc, e, CURLOPT_SSLKEY, o->client_key);
  if (o->user_agent != NULL)
    HTTP_SET(rc, e, CURLOPT_USERAGENT, o->user_agent);
  return rc;
}

static CURLcode http_set_request(http_slot_t *s) {
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

/* Shorter of the request's own limit and what is left of the batch, at
 * least 1 ms (0 would mean no limit to libcurl). */
static long http_timeout_ms(long timeout_ms, int64_t now_ms,
                            int64_t deadline_ms) {
  int64_t left_ms = deadline_ms - now_ms;
  if (left_ms < timeout_ms)
    timeout_ms = (long)left_ms;
  return timeout_ms < 1 ? 1 : timeout_ms;
}

/* Configures the slot's easy handle for req and adds it to the multi.
 * 0, or -ENOMEM with the slot free again. */
static int http_start(dw_http_t *h, http_slot_t *s, dw_http_req_t *req,
                      int64_t now_ms, int64_t deadline_ms) {
  long timeout_ms = http_timeout_ms(h->opts.timeout_ms, now_ms, deadline_ms);

  if (s->easy == NULL && (s->easy = curl_easy_init()) == NULL)
    return -ENOMEM;
  curl_easy_reset(s->easy);
  s->req = req;
  s->body_bytes = 0;
  s->verdict = DW_HTTP_OK;
  s->retry_after_s = -1;
  s->errbuf[0] = '\0';
  s->headers = http_build_headers(req);
  if (s->headers == NULL)
    goto fail;
  if (http_set_limits(s, timeout_ms, h->share) != CURLE_OK ||
      http_set_tls(s) != CURLE_OK || http_set_request(s) != CURLE_OK)
    goto fail;
  if (curl_multi_add_handle(h->multi, s->easy) != CURLM_OK)
    goto fail;
  h->active++;
  return 0;

fail:
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  s->req = NULL;
  return -ENOMEM;
}

/* Starts queued requests in free slots. -ENOMEM only when the batch's
 * first request could not start (no on_done was called then); a later
 * failure ends just that request. */
static int http_fill(dw_http_t *h, http_batch_t *b, int64_t now_ms) {
  for (unsigned i = 0; i < h->opts.max_concurrency && b->next < b->n; i++) {
    http_slot_t *s = &h->slots[i];
    if (s->req != NULL)
      continue;
    dw_http_req_t *req = b->reqs[b->next];
    if (http_start(h, s, req, now_ms, b->deadline_ms) == 0) {
      b->next++;
      b->started = true;
      continue;
    }
    if (!b->started)
      return -ENOMEM;
    b->next++;
    http_report_unstarted(h, req, DW_HTTP_ERR_OTHER, "out of memory");
  }
  return 0;
}

/* Reports every transfer libcurl has finished. */
static void http_reap(dw_http_t *h) {
  CURLMsg *msg;
  int queued = 0;

  while ((msg = curl_multi_info_read(h->multi, &queued)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    /* msg does not survive curl_multi_remove_handle: copy first. */
    CURLcode rc = msg->data.result;
    void *priv = NULL;
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) !=
            CURLE_OK ||
        priv == NULL)
      continue;
    http_slot_t *s = priv;
    if (s->req != NULL)
      http_finish(h, s, http_error_from_curl(rc, s->verdict),
                  http_reason(s, rc));
  }
}

/* Ends every running and queued request of the batch with e. */
static void http_end_all(dw_http_t *h, http_batch_t *b, dw_http_error_t e,
                         const char *why) {
  for (unsigned i = 0; i < h->opts.max_concurrency; i++)
    if (h->slots[i].req != NULL)
      http_finish(h, &h->slots[i], e, why);
  while (b->next < b->n)
    http_report_unstarted(h, b->reqs[b->next++], e, why);
}

int dw_http_run(dw_http_t *h, dw_http_req_t **reqs, size_t n,
                dw_http_deadline_t deadline) {
  int64_t deadline_ms = deadline.at_ms;
  http_batch_t b = {.reqs = reqs, .n = n, .deadline_ms = deadline_ms};
  int64_t now_ms = http_now_ms();

  if (h == NULL || (reqs == NULL && n > 0))
    return -EINVAL;
  if (n == 0)
    return 0;
  h->batch_start_ms = deadline.start_ms;
  if (now_ms < deadline_ms && http_fill(h, &b, now_ms) < 0)
    return -ENOMEM;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(h->multi, &running);
    http_reap(h);
    if (b.next == n && h->active == 0)
      return 0;
    now_ms = http_now_ms();
    if (mc == CURLM_OK && now_ms < deadline_ms) {
      (void)http_fill(h, &b, now_ms); /* fails only before a first start */
      int64_t wait_ms = deadline_ms - now_ms;
      if (wait_ms > HTTP_POLL_MAX_MS)
        wait_ms = HTTP_POLL_MAX_MS;
      mc = curl_multi_poll(h->multi, NULL, 0, (int)wait_ms, NULL);
    }
    if (mc != CURLM_OK) {
      http_end_all(h, &b, DW_HTTP_ERR_OTHER, curl_multi_strerror(mc));
      return 0;
    }
    if (http_now_ms() >= deadline_ms) {
      http_end_all(h, &b, DW_HTTP_ERR_TIMEOUT, "batch deadline passed");
      return 0;
    }
  }
}
