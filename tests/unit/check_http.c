/* check_http.c - the HTTP transport against an in-process libmicrohttpd
 * server on 127.0.0.1 (an ephemeral port, a thread per connection so a
 * slow handler blocks nobody else). The server records what it received
 * and counts connections and requests in flight; timing bounds are loose
 * on purpose (3x or more) because the machine is shared. */
#include "dw_clock.h"
#include "dw_health.h"
#include "dw_http.h"

#include "mhd_reply.h"
#include "one_shot.h"
#include "run_suite.h"

#include <check.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_BODY_MAX (128 * 1024)
#define STREAM_CHUNKS 400
#define STREAM_CHUNK 1024
#define STAMPS_MAX 256

/* ---- the server ---------------------------------------------------- */

static struct {
  struct MHD_Daemon *daemon;
  struct MHD_Daemon *tls_daemon; /* started by the TLS test only */
  unsigned port;
  unsigned tls_port;
  atomic_int connections; /* TCP connections accepted */
  atomic_int inflight;    /* /sleep50 requests inside the handler */
  atomic_int max_inflight;
  atomic_bool stopping; /* teardown: slow handlers return at once */
  atomic_size_t stream_sent;
  atomic_int stamps; /* /stamp requests, each arrival's time below */
  int64_t stamp_ms[STAMPS_MAX];
  pthread_mutex_t lock; /* guards the /echo record below */
  char method[16];
  char content_type[128];
  char accept[128];
  char auth[128];
  char body[256];
  char user_agent[128];
  char api_key[128]; /* X-Api-Key */
  char tenant[128];  /* X-Tenant */
  bool has_auth;
  atomic_int proxied; /* requests for an absolute URI: we were the proxy */
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char json_body[] = "{\"value\":[1,2,3],\"unit\":\"kWh\"}";
static char big_json[64 * 1024];

/* 200000 zero bytes, gzipped: 26 header bytes, 192 zeros, 11 trailer. */
static const unsigned char bomb_head[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x03, 0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2,
    0xa0, 0xf5, 0x4f, 0x6d, 0x06, 0x7f, 0xa0, 0x00};
static const unsigned char bomb_tail[] = {0x80, 0xd7, 0x00, 0x7b, 0x58, 0xe0,
                                          0x5c, 0x40, 0x0d, 0x03, 0x00};
static unsigned char bomb[sizeof bomb_head + 192 + sizeof bomb_tail];

/* A self-signed P-256 certificate for IP 127.0.0.1 (no DNS name), valid
 * 2000-2100, and its key: test material only. */
static const char tls_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgV4M78/QQL7TubHqS\n"
    "u2lAy8pFRB3yk0DTiaPsLu6boEihRANCAAScPBLK0LYGltEizrNRi69WT+zUraOC\n"
    "wYbAJAERf+jUZ8GOjX23/vQEqhK6nxKY5a6vp8nys6pKMJUEpGU5rnsQ\n"
    "-----END PRIVATE KEY-----\n";
static const char tls_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBXDCCAQKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w\n"
    "LjEwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM\n"
    "CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJw8EsrQtgaW0SLO\n"
    "s1GLr1ZP7NSto4LBhsAkARF/6NRnwY6Nfbf+9ASqErqfEpjlrq+nyfKzqkowlQSk\n"
    "ZTmuexCjQzBBMA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEfwAAATAdBgNV\n"
    "HQ4EFgQU9FlnszgCEMfeMlVEsau+uWLChiQwCgYIKoZIzj0EAwIDSAAwRQIge0rm\n"
    "cfx0jUDTEQpi+feLgUSbv5f0JKH2+9axMXA0oJcCIQClSfNY505UZTlosP4V03rX\n"
    "j+kyoAG7HEglk/A65OTtlw==\n"
    "-----END CERTIFICATE-----\n";

static void sleep_ms(long ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static void copy_value(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src != NULL ? src : "");
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *body, const char *hname,
                                  const char *hvalue) {
  return mhd_reply(c, status, body, strlen(body), hname, hvalue);
}

static ssize_t stream_chunk(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  if (pos >= (uint64_t)STREAM_CHUNKS * STREAM_CHUNK)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (!atomic_load(&srv.stopping))
    sleep_ms(5);
  size_t n = max < STREAM_CHUNK ? max : STREAM_CHUNK;
  memset(buf, 'x', n);
  atomic_fetch_add(&srv.stream_sent, n);
  return (ssize_t)n;
}

static enum MHD_Result reply_stream(struct MHD_Connection *c) {
  struct MHD_Response *r = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, STREAM_CHUNK, stream_chunk, NULL, NULL);
  if (r == NULL)
    return MHD_NO;
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

/* An IMF-fixdate offset_s from now. */
static void http_date(char *buf, size_t size, long offset_s) {
  time_t t = time(NULL) + offset_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static enum MHD_Result reply_retry(struct MHD_Connection *c, const char *kind) {
  char date[64];
  if (strcmp(kind, "seconds") == 0)
    return reply_text(c, 429, "{}", "Retry-After", "120");
  if (strcmp(kind, "huge") == 0)
    return reply_text(c, 503, "{}", "Retry-After", "99999999999999999999");
  if (strcmp(kind, "bad") == 0)
    return reply_text(c, 429, "{}", "Retry-After", "soon");
  http_date(date, sizeof date, strcmp(kind, "past") == 0 ? -3600 : 30);
  return reply_text(c, 503, "{}", "Retry-After", date);
}

static enum MHD_Result reply_slow(struct MHD_Connection *c) {
  for (int i = 0; i < 500 && !atomic_load(&srv.stopping); i++)
    sleep_ms(10);
  return reply_text(c, 200, "{}", NULL, NULL);
}

/* When /stamp requests arrive, on the monotonic clock the transport
 * paces by (this is one process). */
static enum MHD_Result reply_stamp(struct MHD_Connection *c) {
  dw_clock_t clock = dw_clock_monotonic();
  int64_t now_ms = dw_clock_read(&clock);
  int i = atomic_fetch_add(&srv.stamps, 1);
  if (i < STAMPS_MAX)
    srv.stamp_ms[i] = now_ms;
  return reply_text(c, 200, "{}", NULL, NULL);
}

static enum MHD_Result reply_sleep50(struct MHD_Connection *c) {
  int now = atomic_fetch_add(&srv.inflight, 1) + 1;
  int max = atomic_load(&srv.max_inflight);
  while (now > max &&
         !atomic_compare_exchange_weak(&srv.max_inflight, &max, now))
    ;
  sleep_ms(50);
  atomic_fetch_sub(&srv.inflight, 1);
  return reply_text(c, 200, "{\"slept_ms\":50}", NULL, NULL);
}

/* The body of /echo, collected across MHD's upload calls. */
typedef struct upload {
  char buf[256];
  size_t len;
} upload_t;

static enum MHD_Result echo(struct MHD_Connection *c, const char *method,
                            upload_t *up) {
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
  pthread_mutex_lock(&srv.lock);
  copy_value(srv.method, sizeof srv.method, method);
  copy_value(srv.content_type, sizeof srv.content_type,
             MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_TYPE));
  copy_value(
      srv.accept, sizeof srv.accept,
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
  srv.has_auth = auth != NULL;
  copy_value(srv.auth, sizeof srv.auth, auth);
  copy_value(srv.user_agent, sizeof srv.user_agent,
             MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_USER_AGENT));
  copy_value(srv.api_key, sizeof srv.api_key,
             MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key"));
  copy_value(srv.tenant, sizeof srv.tenant,
             MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Tenant"));
  snprintf(srv.body, sizeof srv.body, "%.*s", (int)up->len, up->buf);
  pthread_mutex_unlock(&srv.lock);
  return reply_text(c, 200, "{\"echo\":true}", NULL, NULL);
}

static enum MHD_Result on_get(struct MHD_Connection *c, const char *url) {
  if (strcmp(url, "/json") == 0)
    return reply_text(c, 200, json_body, "Content-Type", "application/json");
  if (strcmp(url, "/big") == 0)
    return reply_text(c, 200, big_json, "Content-Type", "application/json");
  if (strcmp(url, "/status/404") == 0)
    return reply_text(c, 404, "{\"error\":\"no such meter\"}", NULL, NULL);
  if (strcmp(url, "/status/404-big") == 0)
    return reply_text(c, 404, big_json, NULL, NULL);
  if (strcmp(url, "/status/500") == 0)
    return reply_text(c, 500, "{\"error\":\"boom\"}", NULL, NULL);
  if (strcmp(url, "/redirect") == 0)
    return reply_text(c, 302, "{\"moved\":true}", "Location", "/json");
  if (strncmp(url, "/retry/", 7) == 0)
    return reply_retry(c, url + 7);
  if (strcmp(url, "/stream") == 0)
    return reply_stream(c);
  if (strcmp(url, "/bomb") == 0)
    return mhd_reply(c, 200, bomb, sizeof bomb, "Content-Encoding", "gzip");
  if (strcmp(url, "/slow") == 0)
    return reply_slow(c);
  if (strcmp(url, "/sleep50") == 0)
    return reply_sleep50(c);
  if (strcmp(url, "/stamp") == 0)
    return reply_stamp(c);
  return reply_text(c, 404, "{}", NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **con_cls) {
  (void)cls;
  (void)version;
  upload_t *up = *con_cls;
  /* Answer only after the whole request is in: a response queued on the
   * first call makes MHD close the connection, and reuse is under test. */
  if (up == NULL) {
    *con_cls = up = calloc(1, sizeof *up);
    return up != NULL ? MHD_YES : MHD_NO;
  }
  if (*data_size > 0) {
    size_t room = sizeof up->buf - up->len;
    size_t n = *data_size < room ? *data_size : room;
    memcpy(up->buf + up->len, data, n);
    up->len += n;
    *data_size = 0;
    return MHD_YES;
  }
  /* An absolute URI: a client that takes this server for its proxy. */
  if (strncmp(url, "http://", 7) == 0) {
    atomic_fetch_add(&srv.proxied, 1);
    url = strchr(url + 7, '/') != NULL ? strchr(url + 7, '/') : "/";
  }
  if (strcmp(url, "/echo") != 0)
    return on_get(c, url);
  return echo(c, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  (void)cls;
  (void)c;
  (void)socket_context;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED)
    atomic_fetch_add(&srv.connections, 1);
}

/* A daemon on 127.0.0.1 at an ephemeral port, with TLS when cert_pem. */
static struct MHD_Daemon *daemon_start(const char *key_pem,
                                       const char *cert_pem, unsigned *port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags | (cert_pem != NULL ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request,
      NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
      cert_pem != NULL ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, key_pem,
      MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_END);
  ck_assert_ptr_nonnull(d);
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  ck_assert_ptr_nonnull(info);
  *port = info->port;
  ck_assert_uint_ne(*port, 0);
  return d;
}

static void server_start(void) {
  atomic_store(&srv.connections, 0);
  atomic_store(&srv.inflight, 0);
  atomic_store(&srv.max_inflight, 0);
  atomic_store(&srv.stopping, false);
  atomic_store(&srv.stream_sent, 0);
  atomic_store(&srv.stamps, 0);
  atomic_store(&srv.proxied, 0);
  memset(srv.method, 0, sizeof srv.method);
  memset(srv.body, 0, sizeof srv.body);
  srv.daemon = daemon_start(NULL, NULL, &srv.port);
}

static void server_stop(void) {
  atomic_store(&srv.stopping, true);
  if (srv.tls_daemon != NULL)
    MHD_stop_daemon(srv.tls_daemon);
  srv.tls_daemon = NULL;
  MHD_stop_daemon(srv.daemon);
  srv.daemon = NULL;
}

static void suite_setup(void) {
  size_t len = 0;
  for (unsigned i = 0; len + 16 < sizeof big_json; i++)
    len += (size_t)snprintf(big_json + len, sizeof big_json - len, "%s%u",
                            i == 0 ? "[" : ",", i);
  snprintf(big_json + len, sizeof big_json - len, "]");
  memcpy(bomb, bomb_head, sizeof bomb_head);
  memset(bomb + sizeof bomb_head, 0, 192);
  memcpy(bomb + sizeof bomb_head + 192, bomb_tail, sizeof bomb_tail);
  ck_assert_int_eq(dw_http_global_init(), 0);
  ck_assert_int_eq(dw_http_global_init(), 0); /* a second call is harmless */
}

static void suite_teardown(void) { dw_http_global_cleanup(); }

/* ---- the client side ----------------------------------------------- */

/* One request and what the transport told us about it. */
typedef struct probe {
  dw_http_req_t req;
  char url[256];
  int body_rc; /* what on_body answers */
  size_t body_len;
  unsigned body_calls;
  unsigned done_calls;
  char body[PROBE_BODY_MAX];
} probe_t;

static int probe_body(void *ud, const char *buf, size_t len) {
  probe_t *p = ud;
  if (p->body_len + len <= sizeof p->body)
    memcpy(p->body + p->body_len, buf, len);
  p->body_len += len;
  p->body_calls++;
  return p->body_rc;
}

static void probe_done(void *ud, dw_http_req_t *req) {
  probe_t *p = ud;
  ck_assert_ptr_eq(req, &p->req);
  p->done_calls++;
}

/* n probes for path on the test server; free() them. */
static probe_t *probes_new(size_t n, const char *path) {
  probe_t *p = calloc(n, sizeof *p);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < n; i++) {
    snprintf(p[i].url, sizeof p[i].url, "http://127.0.0.1:%u%s", srv.port,
             path);
    p[i].req.url = p[i].url;
    p[i].req.on_body = probe_body;
    p[i].req.on_done = probe_done;
    p[i].req.ud = &p[i];
    p[i].req.status = -2; /* the transport must overwrite these */
    p[i].req.retry_after_s = -2;
    p[i].req.error = (dw_http_error_t)-1;
  }
  return p;
}

static dw_http_opts_t opts_default(void) {
  return (dw_http_opts_t){.timeout_ms = 5000,
                          .max_body = 1024 * 1024,
                          .max_concurrency = 4,
                          .verify_peer = true,
                          .verify_host = true,
                          .user_agent = "collectd-digiwatt-test"};
}

/* Runs p[0..n) through h with deadline_ms from now; returns elapsed ms. */
static int64_t run_probes(dw_http_t *h, probe_t *p, size_t n,
                          int64_t deadline_ms) {
  dw_http_req_t **reqs = calloc(n, sizeof *reqs);
  ck_assert_ptr_nonnull(reqs);
  for (size_t i = 0; i < n; i++)
    reqs[i] = &p[i].req;
  dw_clock_t clock = dw_clock_monotonic();
  int64_t start_ms = dw_clock_read(&clock);
  int rc = dw_http_run(h, reqs, n, dw_http_deadline_in((long)deadline_ms));
  int64_t elapsed_ms = dw_clock_read(&clock) - start_ms;
  free(reqs);
  ck_assert_int_eq(rc, 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(p[i].done_calls, 1);
  return elapsed_ms;
}

/* One request with default options. */
static probe_t *run_one(const char *path, dw_http_opts_t o, int body_rc) {
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, path);
  p->body_rc = body_rc;
  run_probes(h, p, 1, 10000);
  dw_http_destroy(h);
  return p;
}

/* ---- responses, table-driven --------------------------------------- */

static const struct response_case {
  const char *path;
  long status;
  const char *body; /* expected in on_body; NULL: on_body never called */
  long retry_min_s, retry_max_s;
} response_cases[] = {
    {"/json", 200, json_body, -1, -1},
    {"/big", 200, big_json, -1, -1},
    {"/status/404", 404, NULL, -1, -1},
    {"/status/500", 500, NULL, -1, -1},
    {"/redirect", 302, NULL, -1, -1}, /* not followed */
    {"/retry/seconds", 429, NULL, 120, 120},
    {"/retry/date", 503, NULL, 28, 31},
    {"/retry/past", 503, NULL, 0, 0},
    {"/retry/huge", 503, NULL, 86400, 86400},
    {"/retry/bad", 429, NULL, -1, -1},
};

START_TEST(test_response) {
  const struct response_case *tc = &response_cases[_i];
  probe_t *p = run_one(tc->path, opts_default(), 0);

  ck_assert_int_eq(p->req.error, DW_HTTP_OK);
  ck_assert_str_eq(p->req.errmsg, "");
  ck_assert_int_eq(p->req.status, tc->status);
  ck_assert_int_ge(p->req.retry_after_s, tc->retry_min_s);
  ck_assert_int_le(p->req.retry_after_s, tc->retry_max_s);
  ck_assert(p->req.total_s > 0);
  if (tc->body == NULL) {
    ck_assert_uint_eq(p->body_calls, 0);
  } else {
    ck_assert_uint_eq(p->body_len, strlen(tc->body));
    ck_assert(memcmp(p->body, tc->body, p->body_len) == 0);
  }
  free(p);
}
END_TEST

/* ---- what reaches the server --------------------------------------- */

START_TEST(test_post_form_and_auth) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 1; /* the GET below reuses the POST's easy handle */
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "/echo");
  p->req.form_body = "grant_type=client_credentials&scope=meters";
  p->req.auth_header = "Authorization: Basic Y2xpZW50OnNlY3JldA==";
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, DW_HTTP_OK);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_str_eq(srv.method, "POST");
  ck_assert_str_eq(srv.body, "grant_type=client_credentials&scope=meters");
  ck_assert_str_eq(srv.content_type, "application/x-www-form-urlencoded");
  ck_assert_str_eq(srv.accept, "application/json");
  ck_assert_str_eq(srv.auth, "Basic Y2xpZW50OnNlY3JldA==");

  /* The pooled handle was reset: a plain GET carries neither. */
  probe_t *g = probes_new(1, "/echo");
  run_probes(h, g, 1, 10000);
  ck_assert_int_eq(g->req.status, 200);
  ck_assert_str_eq(srv.method, "GET");
  ck_assert_str_eq(srv.body, "");
  ck_assert(!srv.has_auth);
  ck_assert_str_eq(srv.accept, "application/json");
  dw_http_destroy(h);
  free(p);
  free(g);
}
END_TEST

/* ---- failures ------------------------------------------------------ */

START_TEST(test_too_large_stops_early) {
  dw_http_opts_t o = opts_default();
  o.max_body = 4096;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "/stream");
  int64_t elapsed_ms = run_probes(h, p, 1, 10000);
  size_t sent = atomic_load(&srv.stream_sent);

  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_TOO_LARGE);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_uint_le(p->body_len, 4096);
  ck_assert_str_ne(p->req.errmsg, "");
  /* The whole body takes STREAM_CHUNKS * 5 ms = 2 s to produce. */
  ck_assert_int_lt(elapsed_ms, 1000);
  ck_assert_uint_lt(sent, STREAM_CHUNKS * STREAM_CHUNK / 2);
  dw_http_destroy(h);
  free(p);
}
END_TEST

START_TEST(test_compression_bomb_bounded) {
  dw_http_opts_t o = opts_default();
  o.max_body = 10000; /* the wire carries 229 bytes, the body is 200000 */
  probe_t *p = run_one("/bomb", o, 0);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_TOO_LARGE);
  ck_assert_uint_le(p->body_len, 10000);
  free(p);

  o.max_body = 200000; /* exactly the cap is fine */
  p = run_one("/bomb", o, 0);
  ck_assert_int_eq(p->req.error, DW_HTTP_OK);
  ck_assert_uint_eq(p->body_len, 200000);
  free(p);
}
END_TEST

START_TEST(test_on_body_aborts) {
  probe_t *p = run_one("/json", opts_default(), -1);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_ABORTED);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_uint_eq(p->body_calls, 1);
  ck_assert_str_ne(p->req.errmsg, "");
  free(p);
}
END_TEST

START_TEST(test_connect_refused) {
  dw_http_opts_t o = opts_default();
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "");
  snprintf(p->url, sizeof p->url,
           "http://127.0.0.1:%u/meters?client_secret=hunter2", closed_port());
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_CONNECT);
  ck_assert_int_eq(p->req.status, 0);
  ck_assert_uint_eq(p->body_calls, 0);
  ck_assert_str_ne(p->req.errmsg, "");
  ck_assert_ptr_null(strstr(p->req.errmsg, "hunter2"));
  ck_assert_ptr_null(strstr(p->req.errmsg, "client_secret"));
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* Only http and https: a file: or ftp: URL must not be fetched. */
static const char *const foreign_urls[] = {
    "file:///etc/hostname",
    "ftp://127.0.0.1:%u/",
    "dict://127.0.0.1:%u/",
};

START_TEST(test_foreign_protocols_refused) {
  dw_http_opts_t o = opts_default();
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "");
  snprintf(p->url, sizeof p->url, foreign_urls[_i], srv.port);
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_OTHER);
  ck_assert_int_eq(p->req.status, 0);
  ck_assert_uint_eq(p->body_calls, 0);
  ck_assert_int_eq(atomic_load(&srv.connections), 0);
  dw_http_destroy(h);
  free(p);
}
END_TEST

START_TEST(test_request_timeout) {
  dw_http_opts_t o = opts_default();
  o.timeout_ms = 300;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "/slow");
  int64_t elapsed_ms = run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_TIMEOUT);
  ck_assert_int_ge(elapsed_ms, 250);
  ck_assert_int_lt(elapsed_ms, 1500);
  ck_assert(p->req.total_s >= 0.25 && p->req.total_s < 1.5);
  dw_http_destroy(h);
  free(p);
}
END_TEST

START_TEST(test_batch_deadline) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 8;
  o.timeout_ms = 10000;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(50, "/slow");
  int64_t elapsed_ms = run_probes(h, p, 50, 300);
  ck_assert_int_ge(elapsed_ms, 250);
  ck_assert_int_lt(elapsed_ms, 1000);
  /* 0.3 s of a 10 s Timeout: the cycle ran out, not the server */
  for (size_t i = 0; i < 50; i++) {
    ck_assert_int_eq(p[i].req.error, DW_HTTP_ERR_DEADLINE);
    ck_assert_uint_eq(p[i].body_calls, 0);
  }
  /* The transport is still usable for the next cycle. */
  probe_t *q = probes_new(1, "/json");
  run_probes(h, q, 1, 10000);
  ck_assert_int_eq(q->req.error, DW_HTTP_OK);
  dw_http_destroy(h);
  free(p);
  free(q);
}
END_TEST

/* A request the deadline cuts after at least half of its Timeout is a
 * timeout (the server had its chance); one it never let start, or let
 * start too late, is cut by the deadline. */
START_TEST(test_deadline_half_rule) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 2;
  o.timeout_ms = 400;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(5, "/slow");
  run_probes(h, p, 5, 300);
  ck_assert_int_eq(p[0].req.error, DW_HTTP_ERR_TIMEOUT);
  ck_assert_int_eq(p[1].req.error, DW_HTTP_ERR_TIMEOUT);
  for (size_t i = 2; i < 5; i++)
    ck_assert_int_eq(p[i].req.error, DW_HTTP_ERR_DEADLINE);
  dw_http_destroy(h);
  free(p);
}
END_TEST

START_TEST(test_deadline_already_passed) {
  dw_http_opts_t o = opts_default();
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(3, "/json");
  run_probes(h, p, 3, -1);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(p[i].req.error, DW_HTTP_ERR_DEADLINE);
    ck_assert_int_eq(p[i].req.status, 0);
    ck_assert_int_eq(p[i].req.retry_after_s, -1);
  }
  int connections = atomic_load(&srv.connections);
  ck_assert_int_eq(connections, 0);
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* ---- TLS settings, table-driven ------------------------------------ */

static const struct tls_case {
  const char *host;
  bool verify_peer, verify_host, with_ca;
  dw_http_error_t error;
} tls_cases[] = {
    {"127.0.0.1", true, true, false, DW_HTTP_ERR_TLS}, /* unknown issuer */
    {"127.0.0.1", true, true, true, DW_HTTP_OK},
    {"127.0.0.1", false, false, false, DW_HTTP_OK},
    {"localhost", false, true, false, DW_HTTP_ERR_TLS}, /* name mismatch */
    {"localhost", false, false, false, DW_HTTP_OK},
};

/* The test certificate in a temporary file, for opts.ca_cert. */
static void write_ca_file(char *path, size_t size) {
  snprintf(path, size, "/tmp/check_http_ca_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(tls_cert_pem);
  ck_assert_int_eq(write(fd, tls_cert_pem, len), (ssize_t)len);
  close(fd);
}

START_TEST(test_tls_settings) {
  const struct tls_case *tc = &tls_cases[_i];
  char ca_path[64] = "";
  srv.tls_daemon = daemon_start(tls_key_pem, tls_cert_pem, &srv.tls_port);
  dw_http_opts_t o = opts_default();
  o.verify_peer = tc->verify_peer;
  o.verify_host = tc->verify_host;
  if (tc->with_ca) {
    write_ca_file(ca_path, sizeof ca_path);
    o.ca_cert = ca_path;
  }
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "");
  snprintf(p->url, sizeof p->url, "https://%s:%u/json", tc->host, srv.tls_port);
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, tc->error);
  if (tc->error == DW_HTTP_OK) {
    ck_assert_int_eq(p->req.status, 200);
    ck_assert_uint_eq(p->body_len, strlen(json_body));
  } else {
    ck_assert_int_eq(p->req.status, 0);
    ck_assert_uint_eq(p->body_calls, 0);
    ck_assert_str_ne(p->req.errmsg, "");
  }
  dw_http_destroy(h);
  if (ca_path[0] != '\0')
    unlink(ca_path);
  free(p);
}
END_TEST

/* ---- concurrency and reuse ----------------------------------------- */

START_TEST(test_concurrency_cap) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 4;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(40, "/sleep50");
  run_probes(h, p, 40, 20000);
  for (size_t i = 0; i < 40; i++) {
    ck_assert_int_eq(p[i].req.error, DW_HTTP_OK);
    ck_assert_int_eq(p[i].req.status, 200);
  }
  int max_inflight = atomic_load(&srv.max_inflight);
  ck_assert_int_le(max_inflight, 4);
  ck_assert_int_ge(max_inflight, 2);
  dw_http_destroy(h);
  free(p);
}
END_TEST

START_TEST(test_connections_reused_across_runs) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 4;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  for (int run = 0; run < 2; run++) {
    probe_t *p = probes_new(8, "/sleep50");
    run_probes(h, p, 8, 10000);
    for (size_t i = 0; i < 8; i++)
      ck_assert_int_eq(p[i].req.status, 200);
    free(p);
  }
  /* Without reuse it would be 16, or 8 with reuse inside a run only. */
  int connections = atomic_load(&srv.connections);
  ck_assert_int_ge(connections, 1);
  ck_assert_int_le(connections, 4 + 2);
  dw_http_destroy(h);
}
END_TEST

/* ---- the HTTP options of issue 11 ---------------------------------- */

/* Header lines and UserAgent go with every request, the token's POST
 * (which carries its own Authorization and Content-Type) included. */
START_TEST(test_headers_and_user_agent) {
  static const char *const headers[] = {"X-Api-Key: k3y-value",
                                        "X-Tenant:\tblue", NULL};
  dw_http_opts_t o = opts_default();
  o.headers = headers;
  o.user_agent = "collectd-digiwatt/9.9 (test)";
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "/echo");
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_str_eq(srv.method, "GET");
  ck_assert_str_eq(srv.api_key, "k3y-value");
  ck_assert_str_eq(srv.tenant, "blue");
  ck_assert_str_eq(srv.user_agent, "collectd-digiwatt/9.9 (test)");
  ck_assert_str_eq(srv.accept, "application/json");

  probe_t *t = probes_new(1, "/echo");
  t->req.form_body = "grant_type=client_credentials";
  t->req.auth_header = "Authorization: Basic Og==";
  run_probes(h, t, 1, 10000);
  ck_assert_str_eq(srv.method, "POST");
  ck_assert_str_eq(srv.api_key, "k3y-value");
  ck_assert_str_eq(srv.auth, "Basic Og==");
  ck_assert_str_eq(srv.content_type, "application/x-www-form-urlencoded");
  dw_http_destroy(h);
  free(p);
  free(t);
}
END_TEST

/* The API's own words come back with a non-2xx, bounded; a 2xx keeps
 * none (its body went to the decoder). */
START_TEST(test_error_body_kept) {
  probe_t *p = run_one("/status/404", opts_default(), 0);
  ck_assert_int_eq(p->req.status, 404);
  ck_assert_uint_eq(p->req.err_body_len,
                    strlen("{\"error\":\"no such meter\"}"));
  ck_assert(memcmp(p->req.err_body, "{\"error\":\"no such meter\"}",
                   p->req.err_body_len) == 0);
  ck_assert_str_eq(p->req.via_proxy, "");
  free(p);

  p = run_one("/status/404-big", opts_default(), 0);
  ck_assert_uint_eq(p->req.err_body_len, DW_HTTP_ERR_BODY_MAX);
  ck_assert(memcmp(p->req.err_body, big_json, DW_HTTP_ERR_BODY_MAX) == 0);
  free(p);

  p = run_one("/json", opts_default(), 0);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_uint_eq(p->req.err_body_len, 0);
  free(p);
}
END_TEST

/* Proxy takes every request, even one to a host that does not exist: the
 * test server plays the proxy. */
START_TEST(test_proxy_used) {
  char proxy[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%u", srv.port);
  setenv("no_proxy", "*", 1); /* a configured Proxy ignores it */
  dw_http_opts_t o = opts_default();
  o.proxy = proxy;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "");
  snprintf(p->url, sizeof p->url, "http://unreachable.invalid/json");
  run_probes(h, p, 1, 10000);
  unsetenv("no_proxy");
  ck_assert_int_eq(p->req.error, DW_HTTP_OK);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_uint_eq(p->body_len, strlen(json_body));
  ck_assert_int_eq(atomic_load(&srv.proxied), 1);
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* A proxy that refuses: the failure says it went through that proxy, and
 * never shows the proxy's password. */
START_TEST(test_proxy_refused_is_named) {
  char proxy[96], want[96], why[256];
  unsigned port = closed_port();
  snprintf(proxy, sizeof proxy, "http://ops:s3cret@127.0.0.1:%u", port);
  dw_http_opts_t o = opts_default();
  o.proxy = proxy;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "/json");
  run_probes(h, p, 1, 10000);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_CONNECT);
  snprintf(want, sizeof want, "127.0.0.1:%u (from Proxy)", port);
  ck_assert_str_eq(p->req.via_proxy, want);
  dw_health_describe(&p->req, why, sizeof why);
  snprintf(want, sizeof want,
           "request failed (connect) through proxy 127.0.0.1:%u (from "
           "Proxy): ",
           port);
  ck_assert_msg(strncmp(why, want, strlen(want)) == 0, "%s", why);
  ck_assert_ptr_null(strstr(why, "s3cret"));
  ck_assert_ptr_null(strstr(p->req.errmsg, "s3cret"));
  ck_assert_int_eq(atomic_load(&srv.connections), 0);
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* Without Proxy, libcurl follows http_proxy (a stray one broke loopback
 * requests without saying so): the failure names the variable. Proxy ""
 * ignores the environment; no_proxy keeps a host out. */
START_TEST(test_proxy_from_environment) {
  char env[64], want[96], why[256];
  unsigned port = closed_port();
  snprintf(env, sizeof env, "http://127.0.0.1:%u", port);
  setenv("http_proxy", env, 1);
  dw_http_opts_t o = opts_default();
  probe_t *p = run_one("/json", o, 0);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_CONNECT);
  snprintf(want, sizeof want, "127.0.0.1:%u (from http_proxy)", port);
  ck_assert_str_eq(p->req.via_proxy, want);
  dw_health_describe(&p->req, why, sizeof why);
  ck_assert_ptr_nonnull(strstr(why, "through proxy 127.0.0.1:"));
  free(p);

  o.proxy = "";
  p = run_one("/json", o, 0);
  ck_assert_int_eq(p->req.error, DW_HTTP_OK);
  ck_assert_int_eq(p->req.status, 200);
  free(p);

  o.proxy = NULL;
  setenv("no_proxy", "localhost, 127.0.0.1", 1);
  p = run_one("/json", o, 0);
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_str_eq(p->req.via_proxy, "");
  free(p);
  unsetenv("no_proxy");
  unsetenv("http_proxy");
}
END_TEST

/* One https:// request to a one-shot server that answers the ClientHello
 * with `answer` (NULL: hangs up). */
static probe_t *run_https_to_one_shot(const char *answer) {
  one_shot_t srv1;
  one_shot_start(&srv1, answer);
  dw_http_opts_t o = opts_default();
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(1, "");
  snprintf(p->url, sizeof p->url, "https://127.0.0.1:%u/json", srv1.port);
  run_probes(h, p, 1, 10000);
  one_shot_end(&srv1);
  dw_http_destroy(h);
  return p;
}

/* https:// to a plain-HTTP port, which answers the ClientHello with an
 * HTTP error: our words, not OpenSSL's. */
START_TEST(test_wrong_scheme_for_the_port) {
  probe_t *p = run_https_to_one_shot(ONE_SHOT_HTTP_400);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_TLS);
  ck_assert_msg(strstr(p->req.errmsg, "the server does not speak TLS there") !=
                    NULL,
                "%s", p->req.errmsg);
  ck_assert_ptr_null(strstr(p->req.errmsg, "wrong version number"));
  ck_assert_ptr_null(strstr(p->req.errmsg, "OpenSSL"));
  free(p);
}
END_TEST

/* A server that hangs up on the ClientHello (as some plain-HTTP servers
 * do): said with a doubt, still in our words. */
START_TEST(test_hang_up_in_the_handshake) {
  probe_t *p = run_https_to_one_shot(NULL);
  ck_assert_int_eq(p->req.error, DW_HTTP_ERR_TLS);
  ck_assert_msg(strstr(p->req.errmsg, "closed the connection during the TLS "
                                      "handshake: if that port serves plain "
                                      "HTTP, use http://") != NULL,
                "%s", p->req.errmsg);
  ck_assert_ptr_null(strstr(p->req.errmsg, "SSL_ERROR"));
  free(p);
}
END_TEST

/* The transport keeps its own copies of the header lines and the proxy:
 * the configuration that made them may go. */
START_TEST(test_new_settings_are_copied) {
  char key[] = "X-Api-Key: k3y-value";
  char tenant[] = "X-Tenant: blue";
  const char *headers[] = {key, tenant, NULL};
  char proxy[] = "";
  dw_http_opts_t o = opts_default();
  o.headers = headers;
  o.proxy = proxy;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  memset(key, 'Z', sizeof key - 1);
  memset(tenant, 'Z', sizeof tenant - 1);
  headers[0] = NULL;
  setenv("http_proxy", "http://127.0.0.1:9", 1); /* Proxy "" ignores it */
  probe_t *p = probes_new(1, "/echo");
  run_probes(h, p, 1, 10000);
  unsetenv("http_proxy");
  ck_assert_int_eq(p->req.status, 200);
  ck_assert_str_eq(srv.api_key, "k3y-value");
  ck_assert_str_eq(srv.tenant, "blue");
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* ---- pacing ---------------------------------------------------------- */

static int compare_ms(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The arrivals of /stamp requests so far, sorted; how many. */
static int stamps_sorted(int64_t *out) {
  int n = atomic_load(&srv.stamps);
  ck_assert_int_le(n, STAMPS_MAX);
  memcpy(out, srv.stamp_ms, (size_t)n * sizeof *out);
  qsort(out, (size_t)n, sizeof *out, compare_ms);
  return n;
}

/* No arrival before the bucket could have given its token: the k-th
 * (from 0) not before start_ms + (k + 1 - burst) / rate seconds, less the
 * millisecond the bucket rounds time to. A lower bound only, so a slow
 * machine cannot fail it; without pacing all would arrive at once. */
static void assert_paced(const int64_t *at, int n, int64_t start_ms, int rate,
                         int burst) {
  for (int k = burst; k < n; k++) {
    int64_t earliest_ms = start_ms + (int64_t)(k + 1 - burst) * 1000 / rate;
    ck_assert_msg(at[k] >= earliest_ms - 1,
                  "request %d arrived %lld ms after the start, before its "
                  "token at %lld ms",
                  k, (long long)(at[k] - start_ms),
                  (long long)(earliest_ms - start_ms));
  }
}

static int64_t mono_now_ms(void) {
  dw_clock_t clock = dw_clock_monotonic();
  return dw_clock_read(&clock);
}

/* 30 requests at 20 per second: the burst (20) at once, then one every
 * 50 ms, the last at 0.5 s. The poll must wake for each token: a loop
 * that slept its whole poll (up to the 0.9 s deadline) would leave 10
 * requests unsent. */
START_TEST(test_pace_spreads_a_batch) {
  enum { N = 30, RATE = 20 };
  dw_http_opts_t o = opts_default();
  o.max_requests_per_s = RATE;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(N, "/stamp");
  int64_t start_ms = mono_now_ms();
  run_probes(h, p, N, 900);
  for (size_t i = 0; i < N; i++)
    ck_assert_int_eq(p[i].req.error, DW_HTTP_OK);
  int64_t at[STAMPS_MAX];
  ck_assert_int_eq(stamps_sorted(at), N);
  assert_paced(at, N, start_ms, RATE, RATE);
  ck_assert_int_ge(at[N - 1] - start_ms, (N - RATE) * 1000 / RATE - 1);
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* The bucket lives as long as the transport: a second batch right after
 * the first does not get a fresh burst, however the batches are cut (a
 * token request, then a wave, then the next cycle). */
START_TEST(test_pace_spans_batches) {
  enum { RATE = 10 };
  dw_http_opts_t o = opts_default();
  o.max_requests_per_s = RATE;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  int64_t start_ms = mono_now_ms();
  probe_t *first = probes_new(RATE, "/stamp");
  run_probes(h, first, RATE, 5000); /* the whole burst */
  probe_t *second = probes_new(5, "/stamp");
  run_probes(h, second, 5, 5000);
  for (size_t i = 0; i < 5; i++)
    ck_assert_int_eq(second[i].req.error, DW_HTTP_OK);
  int64_t at[STAMPS_MAX];
  ck_assert_int_eq(stamps_sorted(at), RATE + 5);
  assert_paced(at, RATE + 5, start_ms, RATE, RATE);
  dw_http_destroy(h);
  free(first);
  free(second);
}
END_TEST

/* What the bucket has no token for by the deadline never starts and ends
 * like any request the deadline left unstarted: DW_HTTP_ERR_DEADLINE, no
 * status, no body; the server never sees it. At 2 per second over 1.2 s:
 * 2 at once, one at 0.5 s, one at 1 s. */
START_TEST(test_pace_leaves_the_rest_to_the_deadline) {
  dw_http_opts_t o = opts_default();
  o.max_requests_per_s = 2;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(10, "/stamp");
  run_probes(h, p, 10, 1200);
  int ok = 0;
  for (size_t i = 0; i < 10; i++) {
    if (p[i].req.error == DW_HTTP_OK) {
      ck_assert(p[i].req.sent);
      ok++;
      continue;
    }
    ck_assert_int_eq(p[i].req.error, DW_HTTP_ERR_DEADLINE);
    ck_assert(!p[i].req.sent);
    ck_assert_int_eq(p[i].req.status, 0);
    ck_assert_uint_eq(p[i].body_calls, 0);
  }
  ck_assert_int_eq(ok, 4);
  int arrived = atomic_load(&srv.stamps);
  ck_assert_int_eq(arrived, 4);
  ck_assert_int_eq(p[4].req.error, DW_HTTP_ERR_DEADLINE); /* in order */
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* A request whose token comes too close to the deadline is not started:
 * it would be cut after the server had answered it, and be sent again.
 * The burst goes at once, the eleventh token comes at 100 ms, 5 ms before
 * the deadline: less than the 10 ms every start needs. */
START_TEST(test_no_start_just_before_the_deadline) {
  dw_http_opts_t o = opts_default();
  o.max_requests_per_s = 10;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(11, "/stamp");
  run_probes(h, p, 11, 105);
  int arrived = atomic_load(&srv.stamps);
  ck_assert_int_le(arrived, 10);
  ck_assert_int_eq(p[10].req.error, DW_HTTP_ERR_DEADLINE);
  ck_assert(p[10].req.total_s == 0); /* never started */
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* Nor one that would need longer than is left, judged by the recent
 * response time (twice it): after a 50 ms answer, 130 ms before the
 * deadline leave room for the second request but not the 100 ms a start
 * then needs. Not paced: the rule is the transport's, pace or not. */
START_TEST(test_no_start_the_response_time_cannot_fit) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 1;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  probe_t *p = probes_new(3, "/sleep50");
  run_probes(h, p, 3, 130);
  ck_assert_int_eq(p[0].req.error, DW_HTTP_OK);
  for (size_t i = 1; i < 3; i++) {
    ck_assert_int_eq(p[i].req.error, DW_HTTP_ERR_DEADLINE);
    ck_assert(p[i].req.total_s == 0); /* never started */
  }
  dw_http_destroy(h);
  free(p);
}
END_TEST

/* ---- API edges ----------------------------------------------------- */

START_TEST(test_error_names) {
  const char *seen[DW_HTTP_ERR_OTHER + 1];
  for (int e = DW_HTTP_OK; e <= DW_HTTP_ERR_OTHER; e++) {
    seen[e] = dw_http_error_name((dw_http_error_t)e);
    ck_assert_ptr_nonnull(seen[e]);
    ck_assert_str_ne(seen[e], "");
    ck_assert_str_ne(seen[e], "unknown");
    for (int k = 0; k < e; k++)
      ck_assert_str_ne(seen[e], seen[k]);
  }
  ck_assert_str_eq(dw_http_error_name(DW_HTTP_ERR_TIMEOUT), "timeout");
  ck_assert_str_eq(dw_http_error_name(DW_HTTP_ERR_CONNECT), "connect");
  ck_assert_str_eq(dw_http_error_name((dw_http_error_t)99), "unknown");
}
END_TEST

START_TEST(test_create_edges) {
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 0;
  ck_assert_ptr_null(dw_http_create(&o));
  o = opts_default();
  o.timeout_ms = 0;
  ck_assert_ptr_null(dw_http_create(&o));
  ck_assert_ptr_null(dw_http_create(NULL));
  const double bad_rates[] = {-1, -0.001, NAN, 10000.5, INFINITY};
  for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
    o = opts_default();
    o.max_requests_per_s = bad_rates[i];
    ck_assert_ptr_null(dw_http_create(&o));
  }
  o = opts_default();
  o.max_requests_per_s = 10000; /* the largest is fine */
  dw_http_t *fast = dw_http_create(&o);
  ck_assert_ptr_nonnull(fast);
  dw_http_destroy(fast);
  dw_http_destroy(NULL);

  o = opts_default();
  char ua[] = "changed-after-create";
  o.user_agent = ua;
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  ua[0] = 'X'; /* the transport must hold its own copy */
  ck_assert_int_eq(dw_http_run(h, NULL, 0, dw_http_deadline_in(1000)), 0);
  ck_assert_int_eq(dw_http_run(NULL, NULL, 1, dw_http_deadline_in(1000)),
                   -EINVAL);
  dw_http_destroy(h); /* never ran a request: no easy handle yet */
}
END_TEST

/* ---- a server that answers once too often ------------------------------ */

/* A raw HTTP/1.1 server on its own thread: "/a" gets its answer and, a
 * moment later (after the client has read the first: bytes in the same
 * read make libcurl close the connection itself), a second complete
 * response nobody asked for, as a duplicating proxy or a late answer
 * sends; every other path gets its own answer. It counts connections. */
static struct {
  int listen_fd;
  unsigned port;
  pthread_t thread;
  atomic_int connections;
} shifty;

static void shifty_answer(int fd, const char *path) {
  char out[512];
  const char *body =
      strcmp(path, "/a") == 0 ? "{\"meter\":\"A\"}" : "{\"meter\":\"B\"}";
  int n = snprintf(out, sizeof out,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   strlen(body), body);
  ck_assert_int_eq(write(fd, out, (size_t)n), n);
  if (strcmp(path, "/a") != 0)
    return;
  usleep(10 * 1000);
  n = snprintf(out, sizeof out,
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Content-Length: 17\r\n\r\n{\"meter\":\"STRAY\"}");
  ck_assert_int_eq(write(fd, out, (size_t)n), n);
}

/* Serves one connection's requests until the client closes it. */
static void shifty_serve(int fd) {
  char buf[4096];
  size_t len = 0;
  for (;;) {
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end != NULL) {
      char path[64] = "";
      *end = '\0'; /* the header ends here; sscanf needs a string */
      sscanf(buf, "GET %63s", path);
      shifty_answer(fd, path);
      size_t used = (size_t)(end + 4 - buf);
      memmove(buf, buf + used, len - used);
      len -= used;
      continue;
    }
    ssize_t got = read(fd, buf + len, sizeof buf - len);
    if (got <= 0)
      break;
    len += (size_t)got;
  }
  close(fd);
}

static void *shifty_main(void *unused) {
  (void)unused;
  int fd;
  while ((fd = accept(shifty.listen_fd, NULL, NULL)) >= 0) {
    atomic_fetch_add(&shifty.connections, 1);
    shifty_serve(fd);
  }
  return NULL;
}

static void shifty_start(void) {
  shifty.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(shifty.listen_fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  ck_assert_int_eq(bind(shifty.listen_fd, (struct sockaddr *)&a, alen), 0);
  ck_assert_int_eq(listen(shifty.listen_fd, 8), 0);
  ck_assert_int_eq(getsockname(shifty.listen_fd, (struct sockaddr *)&a, &alen),
                   0);
  shifty.port = ntohs(a.sin_port);
  atomic_store(&shifty.connections, 0);
  ck_assert_int_eq(pthread_create(&shifty.thread, NULL, shifty_main, NULL), 0);
}

static void shifty_stop(void) {
  shutdown(shifty.listen_fd, SHUT_RDWR); /* ends accept() */
  close(shifty.listen_fd);
  pthread_join(shifty.thread, NULL);
}

/* Issue 12, item 1: a response too many on a kept-alive connection must
 * never become the answer of the next request on it (meter A's costs as
 * meter B's consumption). The transport sees unread bytes on the pooled
 * connection before it sends, and sends on a fresh one instead. */
START_TEST(test_a_stray_response_answers_nobody) {
  shifty_start();
  dw_http_opts_t o = opts_default();
  o.max_concurrency = 1; /* one connection in the pool */
  dw_http_t *h = dw_http_create(&o);
  ck_assert_ptr_nonnull(h);
  const char *paths[] = {"/a", "/b", "/b"};
  const char *want[] = {"{\"meter\":\"A\"}", "{\"meter\":\"B\"}",
                        "{\"meter\":\"B\"}"};
  for (size_t i = 0; i < 3; i++) {
    probe_t *p = probes_new(1, paths[i]);
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u%s", shifty.port,
             paths[i]);
    usleep(50 * 1000); /* the stray bytes are in the socket by now */
    run_probes(h, p, 1, 10000);
    ck_assert_int_eq(p->req.error, DW_HTTP_OK);
    ck_assert_int_eq(p->req.status, 200);
    ck_assert_msg(p->body_len == strlen(want[i]) &&
                      memcmp(p->body, want[i], p->body_len) == 0,
                  "request %zu got %.*s", i, (int)p->body_len, p->body);
    free(p);
  }
  /* the shifted connection was dropped; the clean one was kept */
  ck_assert_int_eq(atomic_load(&shifty.connections), 2);
  dw_http_destroy(h);
  shifty_stop();
}
END_TEST

static Suite *http_suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("transport");
  tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
  tcase_add_checked_fixture(tc, server_start, server_stop);
  tcase_set_timeout(tc, 30);
  tcase_add_loop_test(tc, test_response, 0,
                      sizeof response_cases / sizeof response_cases[0]);
  tcase_add_test(tc, test_post_form_and_auth);
  tcase_add_test(tc, test_too_large_stops_early);
  tcase_add_test(tc, test_compression_bomb_bounded);
  tcase_add_test(tc, test_on_body_aborts);
  tcase_add_test(tc, test_connect_refused);
  tcase_add_loop_test(tc, test_foreign_protocols_refused, 0,
                      sizeof foreign_urls / sizeof foreign_urls[0]);
  tcase_add_test(tc, test_request_timeout);
  tcase_add_test(tc, test_batch_deadline);
  tcase_add_test(tc, test_deadline_already_passed);
  tcase_add_test(tc, test_deadline_half_rule);
  tcase_add_test(tc, test_a_stray_response_answers_nobody);
  tcase_add_loop_test(tc, test_tls_settings, 0,
                      sizeof tls_cases / sizeof tls_cases[0]);
  tcase_add_test(tc, test_concurrency_cap);
  tcase_add_test(tc, test_connections_reused_across_runs);
  tcase_add_test(tc, test_pace_spreads_a_batch);
  tcase_add_test(tc, test_pace_spans_batches);
  tcase_add_test(tc, test_pace_leaves_the_rest_to_the_deadline);
  tcase_add_test(tc, test_no_start_just_before_the_deadline);
  tcase_add_test(tc, test_no_start_the_response_time_cannot_fit);
  tcase_add_test(tc, test_headers_and_user_agent);
  tcase_add_test(tc, test_error_body_kept);
  tcase_add_test(tc, test_proxy_used);
  tcase_add_test(tc, test_proxy_refused_is_named);
  tcase_add_test(tc, test_proxy_from_environment);
  tcase_add_test(tc, test_wrong_scheme_for_the_port);
  tcase_add_test(tc, test_hang_up_in_the_handshake);
  tcase_add_test(tc, test_new_settings_are_copied);
  tcase_add_test(tc, test_error_names);
  tcase_add_test(tc, test_create_edges);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(http_suite()); }
