/* dw_http.c - the HTTP transport on libcurl's multi interface.
 *
 * The multi handle lives as long as the transport, so what it caches for
 * all of its easy handles survives from one read cycle to the next: the
 * connection pool and the DNS cache (a multi handle shares resolved names
 * among its easy handles without a share handle). The share handle adds
 * TLS session IDs, which libcurl otherwise keeps per easy handle, so a new
 * connection to a known host resumes its handshake. Neither needs locks:
 * one transport is driven by one thread, its account's worker. The one
 * exception is dw_http_stop, an atomic flag and curl_multi_wakeup, which
 * libcurl allows from any thread.
 *
 * Easy handles are pooled, one per concurrency slot (a dw_transfer_t, which
 * sets each request up), and reset before each request. The loop follows curl's
 * docs/examples/multi-app.c: perform, info_read, poll; teardown removes
 * handles, cleans the multi, then the easy handles. */

#include "dw_http.h"
#include "dw_clock.h"
#include "dw_pace.h"
#include "dw_transfer.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 7.74.0: the oldest libcurl we accept (curl_multi_poll needs 7.66). */
#define HTTP_MIN_CURL_VERSION 0x074a00
#define HTTP_MAX_CONCURRENCY 1024
#define HTTP_POLL_MAX_MS 1000
/* No request starts with less time left before the deadline than this,
 * or than twice the transport's recent response time (see
 * http_time_to_start). */
#define HTTP_START_MARGIN_MS 10

struct dw_http {
  dw_http_opts_t opts; /* its strings point to the owned copies below */
  char *ca_cert;
  char *client_cert;
  char *client_key;
  char *user_agent;
  /* wt-options (issue 11): the copies of the newer settings */
  char *ca_path;
  char *key_password; /* wiped */
  char *proxy;
  char **headers; /* NULL-terminated; wiped: they may carry keys */
  CURLM *multi;
  CURLSH *share;
  dw_conns_t *conns;      /* its connections' sockets (dw_conn) */
  dw_transfer_t *slots;   /* opts.max_concurrency of them */
  unsigned active;        /* slots whose easy handle is in the multi */
  int64_t batch_start_ms; /* of the running batch's deadline */
  atomic_bool stopped;    /* dw_http_stop, from any thread */
  /* across batches and cycles, so a cycle starts with what the last one
   * left, not with a fresh burst */
  dw_pace_t pace;
  int64_t response_us; /* recent response time, moving average; 0: none */
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

bool dw_http_deadline_passed(dw_http_deadline_t d) {
  return http_now_ms() >= d.at_ms;
}

dw_http_deadline_t dw_http_deadline_in(long budget_ms) {
  int64_t now_ms = http_now_ms();
  return (dw_http_deadline_t){.start_ms = now_ms, .at_ms = now_ms + budget_ms};
}

/* Owned copy of an optional string option; *field is pointed at it. */
static int http_dup_opt(char **copy, const char **field) {
  if (*field == NULL)
    return 0;
  *copy = strdup(*field);
  *field = *copy;
  return *copy == NULL ? -ENOMEM : 0;
}

/* Wipes and frees a string that may hold a secret; accepts NULL. */
static void http_wipe_free(char *s) {
  if (s != NULL)
    explicit_bzero(s, strlen(s));
  free(s);
}

/* Owned copies of the header lines; *field is pointed at them. */
static int http_dup_headers(char ***copy, const char *const **field) {
  size_t n = 0;
  while (*field != NULL && (*field)[n] != NULL)
    n++;
  if (*field == NULL)
    return 0;
  if ((*copy = calloc(n + 1, sizeof(**copy))) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (((*copy)[i] = strdup((*field)[i])) == NULL)
      return -ENOMEM;
  *field = (const char *const *)*copy;
  return 0;
}

static void http_free_headers(char **headers) {
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
    http_wipe_free(headers[i]);
  free(headers);
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
      opts->max_concurrency > HTTP_MAX_CONCURRENCY ||
      !(opts->max_requests_per_s >= 0 &&
        opts->max_requests_per_s <= DW_PACE_RATE_MAX))
    return NULL;
  dw_http_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->opts = *opts;
  dw_pace_init(&h->pace, opts->max_requests_per_s, 0);
  if (http_dup_opt(&h->ca_cert, &h->opts.ca_cert) != 0 ||
      http_dup_opt(&h->client_cert, &h->opts.client_cert) != 0 ||
      http_dup_opt(&h->client_key, &h->opts.client_key) != 0 ||
      http_dup_opt(&h->user_agent, &h->opts.user_agent) != 0 ||
      http_dup_opt(&h->ca_path, &h->opts.ca_path) != 0 ||
      http_dup_opt(&h->key_password, &h->opts.key_password) != 0 ||
      http_dup_opt(&h->proxy, &h->opts.proxy) != 0 ||
      http_dup_headers(&h->headers, &h->opts.headers) != 0)
    goto fail;
  h->slots = calloc(opts->max_concurrency, sizeof *h->slots);
  h->multi = curl_multi_init();
  h->share = curl_share_init();
  h->conns = dw_conns_create();
  if (h->slots == NULL || h->multi == NULL || h->share == NULL ||
      h->conns == NULL)
    goto fail;
  if (curl_share_setopt(h->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      http_multi_setup(h->multi, opts->max_concurrency) != CURLM_OK)
    goto fail;
  for (unsigned i = 0; i < opts->max_concurrency; i++) {
    h->slots[i].opts = &h->opts;
    h->slots[i].conns = h->conns;
  }
  return h;

fail:
  dw_http_destroy(h);
  return NULL;
}

/* Order matters: easy handles leave the multi before it goes, the share
 * goes after them because every easy handle still refers to it, and the
 * set of sockets last because closing connections tells it so. */
void dw_http_destroy(dw_http_t *h) {
  if (h == NULL)
    return;
  unsigned n = h->slots != NULL ? h->opts.max_concurrency : 0;
  for (unsigned i = 0; i < n; i++)
    if (h->slots[i].easy != NULL && h->multi != NULL)
      curl_multi_remove_handle(h->multi, h->slots[i].easy);
  curl_multi_cleanup(h->multi);
  for (unsigned i = 0; i < n; i++)
    dw_transfer_release(&h->slots[i]);
  curl_share_cleanup(h->share);
  dw_conns_destroy(h->conns);
  free(h->slots);
  free(h->ca_cert);
  free(h->client_cert);
  free(h->client_key);
  free(h->user_agent);
  free(h->ca_path);
  http_wipe_free(h->key_password);
  free(h->proxy);
  http_free_headers(h->headers);
  free(h);
}

/* Fills req's outcome and calls on_done. Any URL query that a message
 * might quote is cut off: it could carry an identifier or a secret. */
static void http_report(const dw_http_t *h, dw_http_req_t *req,
                        dw_http_error_t e, const char *why) {
  size_t len = 0;
  if (e != DW_HTTP_OK && why != NULL) {
    len = strcspn(why, "?#\r\n");
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
  req->sent = false;
  req->status = 0;
  req->retry_after_s = -1;
  req->total_s = 0;
  http_report(h, req, e, why);
}

/* Takes the slot's transfer out of the multi, frees the slot, reports.
 * A response's time moves the average by an eighth, as TCP's smoothed
 * round-trip time does: recent, but not one outlier. */
static void http_finish(dw_http_t *h, dw_transfer_t *s, dw_http_error_t e,
                        const char *why) {
  curl_multi_remove_handle(h->multi, s->easy);
  h->active--;
  dw_http_req_t *req = dw_transfer_finish(s);
  if (e == DW_HTTP_OK) {
    int64_t us = (int64_t)(req->total_s * 1e6);
    h->response_us =
        h->response_us == 0 ? us : h->response_us + (us - h->response_us) / 8;
  }
  http_report(h, req, e, why);
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

/* Configures the slot for req and adds it to the multi. 0, or -ENOMEM
 * with the slot free again. */
static int http_start(dw_http_t *h, dw_transfer_t *s, dw_http_req_t *req,
                      int64_t now_ms, int64_t deadline_ms) {
  long timeout_ms = http_timeout_ms(h->opts.timeout_ms, now_ms, deadline_ms);
  if (dw_transfer_prepare(s, req, timeout_ms, h->share) != 0)
    return -ENOMEM;
  if (curl_multi_add_handle(h->multi, s->easy) != CURLM_OK) {
    dw_transfer_abandon(s);
    return -ENOMEM;
  }
  h->active++;
  req->sent = true;
  return 0;
}

/* False when a request started at now_ms would most likely still run at
 * the deadline: less time is left than twice the recent response time,
 * or than HTTP_START_MARGIN_MS. It would be cut there after the server
 * had answered it, and sent again next cycle: the server would see it
 * twice. Not started, it is only deferred. (A paced transport meets this
 * at every deadline that comes in the middle of the work: its tokens
 * fall due at the deadline as often as anywhere else.) */
static bool http_time_to_start(const dw_http_t *h, int64_t now_ms,
                               int64_t deadline_ms) {
  int64_t margin_ms = 2 * h->response_us / 1000;
  if (margin_ms < HTTP_START_MARGIN_MS)
    margin_ms = HTTP_START_MARGIN_MS;
  return deadline_ms - now_ms >= margin_ms;
}

/* Starts queued requests in free slots, as far as the pace allows.
 * -ENOMEM only when the batch's first request could not start (no
 * on_done was called then); a later failure ends just that request. */
static int http_fill(dw_http_t *h, http_batch_t *b, int64_t now_ms) {
  for (unsigned i = 0; i < h->opts.max_concurrency && b->next < b->n; i++) {
    dw_transfer_t *s = &h->slots[i];
    if (s->req != NULL)
      continue;
    if (!http_time_to_start(h, now_ms, b->deadline_ms))
      return 0; /* the rest is left to the deadline */
    if (!dw_pace_take(&h->pace, now_ms))
      return 0; /* the rest waits for the bucket's next token */
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
    dw_transfer_t *s = priv;
    if (s->req == NULL)
      continue;
    if (dw_transfer_retry_fresh(s, rc)) { /* its connection was shifted */
      curl_multi_remove_handle(h->multi, s->easy);
      if (curl_multi_add_handle(h->multi, s->easy) == CURLM_OK)
        continue; /* still active, on a fresh connection */
    }
    const char *why = NULL;
    dw_http_error_t e = dw_transfer_outcome(s, rc, &why);
    http_finish(h, s, e, why);
  }
}

void dw_http_stop(dw_http_t *h) {
  atomic_store(&h->stopped, true);
  (void)curl_multi_wakeup(h->multi);
}

bool dw_http_stopped(dw_http_t *h) { return atomic_load(&h->stopped); }

/* Ends every running and queued request of the batch with e; at the
 * deadline (e is DW_HTTP_ERR_DEADLINE) a running request that had at
 * least half its Timeout ends as a timeout instead, unless the transport
 * was stopped: then nothing is anybody's fault. */
static void http_end_all(dw_http_t *h, http_batch_t *b, dw_http_error_t e,
                         const char *why) {
  bool stopped = dw_http_stopped(h);
  for (unsigned i = 0; i < h->opts.max_concurrency; i++) {
    dw_transfer_t *s = &h->slots[i];
    if (s->req == NULL)
      continue;
    dw_http_error_t end =
        e == DW_HTTP_ERR_DEADLINE && !stopped ? dw_transfer_cut(s) : e;
    http_finish(h, s, end,
                end == DW_HTTP_ERR_TIMEOUT ? "the request timed out" : why);
  }
  while (b->next < b->n)
    http_report_unstarted(h, b->reqs[b->next++], e, why);
}

/* How long the loop may sleep in poll: until the deadline, at most
 * HTTP_POLL_MAX_MS, and no longer than until the bucket's next token
 * while a request waits for one in a free slot and may still start
 * then. */
static int64_t http_wait_ms(const dw_http_t *h, const http_batch_t *b,
                            int64_t now_ms) {
  int64_t wait_ms = b->deadline_ms - now_ms;
  if (wait_ms > HTTP_POLL_MAX_MS)
    wait_ms = HTTP_POLL_MAX_MS;
  if (b->next < b->n && h->active < h->opts.max_concurrency) {
    int64_t token_ms = dw_pace_wait_ms(&h->pace, now_ms);
    if (token_ms < wait_ms &&
        http_time_to_start(h, now_ms + token_ms, b->deadline_ms))
      wait_ms = token_ms;
  }
  return wait_ms;
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
  if (dw_http_stopped(h)) {
    http_end_all(h, &b, DW_HTTP_ERR_DEADLINE, "collectd is shutting down");
    return 0;
  }
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
      /* fails only before a first start, which the pace may delay */
      if (http_fill(h, &b, now_ms) < 0)
        return -ENOMEM;
      mc = curl_multi_poll(h->multi, NULL, 0, (int)http_wait_ms(h, &b, now_ms),
                           NULL);
    }
    if (mc != CURLM_OK) {
      http_end_all(h, &b, DW_HTTP_ERR_OTHER, curl_multi_strerror(mc));
      return 0;
    }
    if (dw_http_stopped(h)) {
      http_end_all(h, &b, DW_HTTP_ERR_DEADLINE, "collectd is shutting down");
      return 0;
    }
    if (http_now_ms() >= deadline_ms) {
      http_end_all(h, &b, DW_HTTP_ERR_DEADLINE,
                   "the cycle's deadline came first");
      return 0;
    }
  }
}
