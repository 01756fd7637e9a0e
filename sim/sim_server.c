/* sim_server.c - routing, authentication, faults and replies over MHD.
 *
 * A request walks: latency -> route -> delay faults -> early faults
 * (status, Retry-After, html, revoke: what a gateway in front of the API
 * would do) -> credentials or bearer token -> path checks -> body faults
 * -> the deterministic body. Each handler fills one reply_t and
 * queue_reply() alone talks to MHD about it. */
#include "sim_server.h"

#include "sim_json.h"
#include "sim_parse.h"
#include "sim_stats.h"
#include "sim_token.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define BODY_MAX ((size_t)SIM_FAULT_MAX_OVERSIZED + 65536)
#define REQUEST_BODY_MAX (64 * 1024)
#define HUGE_TOKEN_LEN 65536
#define CONNECTION_TIMEOUT_S 120u
#define CONTROL_PREFIX "/_control/"
#define JSON_TYPE "application/json"

struct sim_server {
  sim_server_cfg_t cfg;
  sim_faults_t *faults;
  sim_tokens_t *tokens;
  sim_stats_t *stats;
  struct MHD_Daemon *daemon;
  atomic_bool stopping;
};

typedef enum req_kind {
  REQ_OTHER,
  REQ_CONTROL,
  REQ_TOKEN,
  REQ_DATA
} req_kind_t;

/* Per request, created by the URI log callback, freed on completion. */
typedef struct req {
  char *path;      /* raw path as sent, query stripped */
  const char *rel; /* path below the prefix, inside path */
  req_kind_t kind;
  bool started;
  bool counted;  /* sim_stats_begin() ran: sim_stats_end() is owed */
  long stray_ms; /* extra-response: a second response follows this one
                    after stray_ms; -1: none */
  int64_t start_ms;
  sim_buf_t body; /* request body of POSTs, capped */
} req_t;

typedef struct reply {
  unsigned status;
  const char *content_type;
  char *body; /* malloc'd; NULL means "answer 500" */
  size_t len;
  char www_authenticate[192];
  char retry_after[64];
  const char *allow;
  bool reset;        /* send half the body, then close the connection */
  long extra_ms;     /* >= 0: then, this much later, a response nobody
                        asked for; -1: none */
  const char *fault; /* name of the fault that shaped the reply */
} reply_t;

typedef void (*render_fn)(sim_jw_t *w, const void *ctx);

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps in short slices so a stopping server is not held up. */
static void sleep_ms(sim_server_t *s, long ms) {
  int64_t until = now_ms() + ms;
  while (!atomic_load(&s->stopping)) {
    int64_t left = until - now_ms();
    if (left <= 0)
      break;
    struct timespec ts = {0, (long)(left > 50 ? 50 : left) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* ---- replies ---------------------------------------------------------- */

static void reply_take(reply_t *out, unsigned status, const char *type,
                       sim_buf_t *b) {
  free(out->body);
  out->status = status;
  out->content_type = type;
  out->body = sim_buf_steal(b, &out->len);
}

static void reply_text(reply_t *out, unsigned status, const char *type,
                       const char *text) {
  sim_buf_t b;
  sim_buf_init(&b, BODY_MAX);
  sim_buf_puts(&b, text);
  reply_take(out, status, type, &b);
}

/* The contract's Error body: {"error": code, "message": message}. */
static void reply_error(reply_t *out, unsigned status, const char *code,
                        const char *message) {
  sim_buf_t b;
  sim_jw_t w;
  sim_buf_init(&b, BODY_MAX);
  sim_jw_init(&w, &b, 0);
  sim_jw_obj_begin(&w);
  sim_jw_key(&w, "error");
  sim_jw_string(&w, code);
  sim_jw_key(&w, "message");
  sim_jw_string(&w, message);
  sim_jw_obj_end(&w);
  reply_take(out, status, JSON_TYPE, &b);
}

/* 401 for a data request; code NULL when no token came at all. */
static void reply_unauthorized(reply_t *out, const char *code,
                               const char *message) {
  reply_error(out, 401, "invalid_token", message);
  if (code == NULL)
    snprintf(out->www_authenticate, sizeof(out->www_authenticate),
             "Bearer realm=\"digiwatt\"");
  else
    snprintf(out->www_authenticate, sizeof(out->www_authenticate),
             "Bearer realm=\"digiwatt\", error=\"%s\", "
             "error_description=\"%s\"",
             code, message);
}

static const struct {
  unsigned status;
  const char *code;
  const char *message;
} injected_errors[] = {
    {400, "invalid_request", "Invalid request"},
    {401, "invalid_token", "The access token expired"},
    {403, "insufficient_scope", "Access to this smartmeter is forbidden"},
    {404, "not_found", "Unknown smartmeter"},
    {429, "rate_limited", "Too many requests"},
    {500, "server_error", "Internal server error"},
    {502, "bad_gateway", "Bad gateway"},
    {503, "unavailable", "Service temporarily unavailable"},
};

static void reply_injected_status(reply_t *out, unsigned status, bool token) {
  const char *code = "error", *message = "Injected error";
  for (size_t i = 0; i < sizeof(injected_errors) / sizeof(injected_errors[0]);
       i++)
    if (injected_errors[i].status == status) {
      code = injected_errors[i].code;
      message = injected_errors[i].message;
    }
  if (token && status == 401) {
    reply_error(out, 401, "invalid_client", "Invalid client credentials");
  } else if (status == 401) {
    reply_unauthorized(out, code, message);
  } else {
    reply_error(out, status, code, message);
  }
}

static void reply_html(reply_t *out) {
  reply_text(out, 200, "text/html; charset=utf-8",
             "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
             "<body><h1>Digiwatt is down for maintenance</h1>"
             "<p>Please try again later.</p></body></html>\n");
}

/* ---- bodies and body faults -------------------------------------------- */

static unsigned writer_flags(sim_fault_kind_t k) {
  switch (k) {
  case SIM_FAULT_WRONG_TYPES:
    return SIM_JW_WRONG_TYPES;
  case SIM_FAULT_NULLS:
    return SIM_JW_NULLS;
  case SIM_FAULT_EMPTY:
    return SIM_JW_EMPTY;
  case SIM_FAULT_EXTRA_FIELDS:
    return SIM_JW_EXTRA;
  case SIM_FAULT_OVERSIZED:
    return SIM_JW_PAD;
  case SIM_FAULT_DEEP:
    return SIM_JW_DEEP;
  default:
    return 0;
  }
}

static void render_into(sim_buf_t *b, render_fn fn, const void *ctx,
                        const sim_fault_t *f, size_t pad_bytes) {
  sim_jw_t w;
  sim_jw_init(&w, b, writer_flags(f->kind));
  w.pad_bytes = pad_bytes;
  w.deep_depth = f->kind == SIM_FAULT_DEEP ? (unsigned long)f->arg : 0;
  fn(&w, ctx);
}

/* A trailing comma before the last bracket: broken for every strict
 * parser, yet the document is otherwise complete. */
static void break_json(sim_buf_t *b) {
  if (b->err != 0 || b->len == 0)
    return;
  char last = b->data[--b->len];
  sim_buf_puts(b, ",");
  sim_buf_append(b, &last, 1);
}

/* A 200 JSON body from fn, reshaped by fault f (kind NONE for none). */
static void reply_body(reply_t *out, render_fn fn, const void *ctx,
                       const sim_fault_t *f) {
  sim_buf_t b;
  sim_buf_init(&b, BODY_MAX);
  render_into(&b, fn, ctx, f, 0);
  /* The first pass measured everything but the padding itself. */
  if (f->kind == SIM_FAULT_OVERSIZED && b.err == 0 && b.len < (size_t)f->arg) {
    size_t pad = (size_t)f->arg - b.len;
    sim_buf_free(&b);
    sim_buf_init(&b, BODY_MAX);
    render_into(&b, fn, ctx, f, pad);
  }
  if (f->kind == SIM_FAULT_INVALID_JSON)
    break_json(&b);
  if (f->kind == SIM_FAULT_TRUNCATE && b.err == 0)
    b.len /= 2;
  out->reset = f->kind == SIM_FAULT_RESET;
  out->extra_ms = f->kind == SIM_FAULT_EXTRA_RESPONSE ? f->arg : -1;
  reply_take(out, 200, JSON_TYPE, &b);
}

static void render_data(sim_jw_t *w, const void *ctx) {
  sim_data_render(w, ctx);
}

typedef struct token_body {
  const char *token;
  long expires_in;
  int variant; /* sim_bad_token_t, or -1 */
} token_body_t;

static void render_token(sim_jw_t *w, const void *ctx) {
  const token_body_t *t = ctx;
  sim_jw_obj_begin(w);
  sim_jw_key(w, "access_token");
  sim_jw_string(w, t->token);
  if (t->variant != SIM_BAD_TOKEN_MISSING_EXPIRES) {
    sim_jw_key(w, "expires_in");
    sim_jw_number(w, t->variant == SIM_BAD_TOKEN_ZERO_EXPIRES
                         ? 0.0
                         : (double)t->expires_in);
  }
  sim_jw_key(w, "token_type");
  sim_jw_string(w, t->variant == SIM_BAD_TOKEN_BAD_TYPE ? "MAC" : "Bearer");
  sim_jw_obj_end(w);
}

/* ---- handlers ---------------------------------------------------------- */

static bool is_get(const char *method) {
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* Delay rules, then the first early fault; true when it answered. */
static bool early_faults(sim_server_t *s, const sim_target_t *t, reply_t *out) {
  sim_fault_t f;
  sleep_ms(s, sim_faults_take_delay_ms(s->faults, t));
  if (!sim_faults_take(s->faults, t, SIM_STAGE_EARLY, &f))
    return false;
  out->fault = sim_fault_name(&f);
  if (f.kind == SIM_FAULT_REVOKE) {
    sim_tokens_revoke_all(s->tokens);
    return false;
  }
  if (f.kind == SIM_FAULT_HTML) {
    reply_html(out);
    return true;
  }
  reply_injected_status(out, f.status, t->token);
  if (f.kind == SIM_FAULT_RETRY_AFTER) {
    snprintf(out->retry_after, sizeof(out->retry_after), "%ld", f.arg);
  } else if (f.kind == SIM_FAULT_RETRY_DATE) {
    time_t at = time(NULL) + f.arg;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(out->retry_after, sizeof(out->retry_after),
             "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return true;
}

/* True when the bearer token is valid, else fills the 401. */
static bool check_bearer(sim_server_t *s, struct MHD_Connection *conn,
                         reply_t *out) {
  static const char *const why[] = {
      [SIM_TOK_UNKNOWN] = "Unknown access token",
      [SIM_TOK_EXPIRED] = "The access token expired",
      [SIM_TOK_REVOKED] = "The access token was revoked",
  };
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  if (h == NULL) {
    reply_unauthorized(out, NULL, "Missing bearer token");
    return false;
  }
  if (strncasecmp(h, "Bearer ", 7) != 0) {
    reply_unauthorized(out, "invalid_token", "Malformed authorization header");
    return false;
  }
  char token[SIM_TOKEN_MAX];
  h += 7 + strspn(h + 7, " ");
  size_t n = strcspn(h, " ");
  sim_tok_state_t st = SIM_TOK_UNKNOWN;
  if (n < sizeof(token)) {
    memcpy(token, h, n);
    token[n] = '\0';
    st = sim_tokens_check(s->tokens, token, now_ms());
  }
  if (st == SIM_TOK_VALID)
    return true;
  reply_unauthorized(out, "invalid_token", why[st]);
  return false;
}

static void issue_token(sim_server_t *s, const sim_fault_t *f, reply_t *out) {
  int variant = f->kind == SIM_FAULT_BAD_TOKEN ? (int)f->arg : -1;
  char token[SIM_TOKEN_MAX];
  char *huge = NULL;
  token_body_t tb = {token, s->cfg.token_lifetime_s, variant};
  /* The huge token is never registered: a client that accepts it gets
   * 401 (or 431 from MHD's header limit) when it uses it. */
  if (variant == SIM_BAD_TOKEN_HUGE) {
    huge = malloc(HUGE_TOKEN_LEN + 1);
    if (huge != NULL) {
      memset(huge, 'h', HUGE_TOKEN_LEN);
      memcpy(huge, "dwsim.huge.", 11);
      huge[HUGE_TOKEN_LEN] = '\0';
    }
    tb.token = huge;
  } else if (sim_tokens_issue(s->tokens, now_ms(),
                              s->cfg.token_lifetime_s * 1000, token,
                              sizeof(token)) != 0) {
    tb.token = NULL;
  }
  if (tb.token == NULL) {
    reply_error(out, 500, "server_error", "Cannot issue a token");
  } else if (variant == SIM_BAD_TOKEN_NOT_JSON) {
    sim_buf_t b;
    sim_buf_init(&b, BODY_MAX);
    sim_buf_printf(&b, "access_token=%s&token_type=Bearer&expires_in=%ld",
                   tb.token, tb.expires_in);
    reply_take(out, 200, SIM_FORM_TYPE, &b);
  } else {
    reply_body(out, render_token, &tb, f);
  }
  free(huge);
}

/* The form of a token request, or false after filling the error. */
static bool read_form(struct MHD_Connection *conn, req_t *rq, sim_form_t *form,
                      reply_t *out) {
  const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!sim_is_form_type(ct)) {
    reply_error(out, 400, "invalid_request", "Expected " SIM_FORM_TYPE);
    return false;
  }
  if (rq->body.err != 0) {
    reply_error(out, 413, "invalid_request", "Request body too large");
    return false;
  }
  if (sim_form_parse(rq->body.data != NULL ? rq->body.data : "", rq->body.len,
                     form) != 0) {
    reply_error(out, 400, "invalid_request", "Malformed form body");
    return false;
  }
  return true;
}

/* RFC 6749 2.3.1: the client authenticates with HTTP Basic or with
 * credentials in the body, never both in one request; --token-auth may
 * insist on one. Basic credentials land in form; false after filling the
 * error. */
static bool client_auth(const sim_server_t *s, struct MHD_Connection *conn,
                        sim_form_t *form, reply_t *out) {
  const char *basic = MHD_lookup_connection_value(
      conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  bool in_body = form->has_id || form->has_secret;
  if (basic != NULL && in_body) {
    reply_error(out, 400, "invalid_request",
                "Use only one client authentication method");
    return false;
  }
  if ((basic != NULL && s->cfg.token_auth == SIM_AUTH_POST) ||
      (basic == NULL && s->cfg.token_auth == SIM_AUTH_BASIC)) {
    reply_error(out, 401, "invalid_client",
                s->cfg.token_auth == SIM_AUTH_POST
                    ? "This client sends its credentials in the body"
                    : "This client authenticates with HTTP Basic");
    return false;
  }
  if (basic != NULL && sim_basic_parse(basic, form) != 0) {
    reply_error(out, 401, "invalid_client", "Malformed Basic credentials");
    return false;
  }
  return true;
}

/* --require-scope: the token request must ask for that scope. */
static bool scope_ok(const sim_server_t *s, const sim_form_t *form,
                     reply_t *out) {
  if (s->cfg.require_scope == NULL ||
      (form->has_scope && sim_scope_has(form->scope, s->cfg.require_scope)))
    return true;
  reply_error(out, 400, "invalid_scope", "A required scope is missing");
  return false;
}

static void handle_token(sim_server_t *s, struct MHD_Connection *conn,
                         const char *method, req_t *rq, reply_t *out) {
  sim_target_t t = {.token = true, .meter = "", .res = -1};
  sim_fault_t f = {.kind = SIM_FAULT_NONE};
  sim_form_t form;
  if (strcmp(method, "POST") != 0) {
    reply_error(out, 405, "invalid_request", "Use POST");
    out->allow = "POST";
    return;
  }
  if (early_faults(s, &t, out) || !read_form(conn, rq, &form, out))
    return;
  if (form.has_grant && strcmp(form.grant_type, "client_credentials") != 0) {
    reply_error(out, 400, "unsupported_grant_type",
                "Only client_credentials is supported");
    return;
  }
  if (!client_auth(s, conn, &form, out) || !scope_ok(s, &form, out))
    return;
  if (!form.has_id || !form.has_secret ||
      strcmp(form.client_id, s->cfg.client_id) != 0 ||
      !sim_same_secret(form.client_secret, s->cfg.client_secret)) {
    reply_error(out, 401, "invalid_client", "Invalid client credentials");
    return;
  }
  if (sim_faults_take(s->faults, &t, SIM_STAGE_BODY, &f))
    out->fault = sim_fault_name(&f);
  issue_token(s, &f, out);
}

static void handle_data(sim_server_t *s, struct MHD_Connection *conn,
                        const char *method, req_t *rq, reply_t *out) {
  sim_route_t rt;
  sim_fault_t f = {.kind = SIM_FAULT_NONE};
  if (sim_route_parse(rq->rel, &rt) != 0) {
    reply_error(out, 404, "not_found", "Unknown resource");
    return;
  }
  if (!is_get(method)) {
    reply_error(out, 405, "invalid_request", "Use GET");
    out->allow = "GET, HEAD";
    return;
  }
  sim_target_t t = {.token = false, .meter = rt.meter, .res = rt.res};
  if (early_faults(s, &t, out) || !check_bearer(s, conn, out))
    return;
  if (!rt.meter_ok) {
    reply_error(out, 400, "invalid_request", "Invalid smartmeterId");
  } else if (!rt.period_ok) {
    reply_error(out, 400, "invalid_request", "Unknown period");
  } else if (strncmp(rt.meter, "unknown", 7) == 0) {
    reply_error(out, 404, "not_found", "Unknown smartmeter");
  } else {
    if (sim_faults_take(s->faults, &t, SIM_STAGE_BODY, &f))
      out->fault = sim_fault_name(&f);
    sim_query_t q = {rt.meter, (sim_res_t)rt.res, rt.period,
                     s->cfg.today_fixed ? s->cfg.today : sim_date_today_utc(),
                     f.kind == SIM_FAULT_ODD_APPLIANCES};
    reply_body(out, render_data, &q, &f);
  }
}

static bool from_loopback(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == NULL || ci->client_addr == NULL)
    return false;
  if (ci->client_addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ci->client_addr;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (ci->client_addr->sa_family == AF_INET6) {
    const struct in6_addr *a =
        &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) ||
           (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
  }
  return false;
}

static void control_set_faults(sim_server_t *s, req_t *rq, reply_t *out) {
  char err[256];
  sim_buf_t b;
  if (rq->body.err != 0) {
    reply_error(out, 413, "invalid_request", "Rules too large");
    return;
  }
  if (sim_faults_replace(s->faults, rq->body.data != NULL ? rq->body.data : "",
                         rq->body.len, err, sizeof(err)) != 0) {
    reply_error(out, 400, "invalid_request", err);
    return;
  }
  sim_buf_init(&b, BODY_MAX);
  sim_faults_describe(s->faults, &b);
  reply_take(out, 200, JSON_TYPE, &b);
}

static void handle_control(sim_server_t *s, struct MHD_Connection *conn,
                           const char *method, req_t *rq, reply_t *out) {
  const char *what = rq->path + strlen(CONTROL_PREFIX);
  bool get = is_get(method), post = strcmp(method, "POST") == 0;
  sim_buf_t b;
  sim_buf_init(&b, BODY_MAX);
  if (!from_loopback(conn)) {
    reply_error(out, 403, "forbidden", "Control is for loopback clients");
  } else if (strcmp(what, "fault") == 0 && post) {
    control_set_faults(s, rq, out);
  } else if (strcmp(what, "fault") == 0 && get) {
    sim_faults_describe(s->faults, &b);
    reply_take(out, 200, JSON_TYPE, &b);
  } else if (strcmp(what, "stats") == 0 && get) {
    sim_stats_describe(s->stats, &b);
    reply_take(out, 200, JSON_TYPE, &b);
  } else if (strcmp(what, "reset-stats") == 0 && post) {
    sim_stats_reset(s->stats);
    reply_text(out, 200, JSON_TYPE, "{\"ok\":true}");
  } else if (strcmp(what, "fault") == 0 || strcmp(what, "stats") == 0 ||
             strcmp(what, "reset-stats") == 0) {
    reply_error(out, 405, "invalid_request", "Method not allowed");
    out->allow = strcmp(what, "fault") == 0   ? "GET, HEAD, POST"
                 : strcmp(what, "stats") == 0 ? "GET, HEAD"
                                              : "POST";
  } else {
    reply_error(out, 404, "not_found", "Unknown control endpoint");
  }
  sim_buf_free(&b);
}

static void dispatch(sim_server_t *s, struct MHD_Connection *conn,
                     const char *method, req_t *rq, reply_t *out) {
  if (rq->kind == REQ_CONTROL) {
    handle_control(s, conn, method, rq, out);
    return;
  }
  sleep_ms(s, s->cfg.latency_ms);
  if (rq->kind == REQ_TOKEN)
    handle_token(s, conn, method, rq, out);
  else if (rq->kind == REQ_DATA)
    handle_data(s, conn, method, rq, out);
  else
    reply_error(out, 404, "not_found", "Unknown resource");
}

/* ---- MHD glue ----------------------------------------------------------- */

typedef struct reset_body {
  char *body;
  size_t send; /* bytes to send before the connection is dropped */
} reset_body_t;

static ssize_t reset_read(void *cls, uint64_t pos, char *buf, size_t max) {
  reset_body_t *rb = cls;
  if (pos >= rb->send)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = rb->send - (size_t)pos;
  if (n > max)
    n = max;
  memcpy(buf, rb->body + pos, n);
  return (ssize_t)n;
}

static void reset_free(void *cls) {
  reset_body_t *rb = cls;
  free(rb->body);
  free(rb);
}

/* The response for r, owning r->body from here on (also on failure). */
static struct MHD_Response *make_response(reply_t *r) {
  struct MHD_Response *resp = NULL;
  char *body = r->body;
  r->body = NULL;
  if (!r->reset) {
    resp = MHD_create_response_from_buffer(r->len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
      free(body);
    return resp;
  }
  reset_body_t *rb = malloc(sizeof(*rb));
  if (rb != NULL) {
    *rb = (reset_body_t){body, r->len / 2};
    /* Content-Length announces the whole body; only half follows. */
    resp = MHD_create_response_from_callback(r->len, 4096, reset_read, rb,
                                             reset_free);
  }
  if (resp == NULL) {
    free(rb);
    free(body);
  }
  return resp;
}

static void add_headers(struct MHD_Response *resp, const reply_t *r) {
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (r->www_authenticate[0] != '\0')
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            r->www_authenticate);
  if (r->retry_after[0] != '\0')
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
  if (r->allow != NULL)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
}

static void log_reply(const sim_server_t *s, const char *method,
                      const req_t *rq, const reply_t *r) {
  char path[256];
  size_t i = 0;
  if (s->cfg.quiet)
    return;
  for (; rq->path[i] != '\0' && i + 1 < sizeof(path); i++)
    path[i] = (rq->path[i] > 0x20 && rq->path[i] < 0x7f) ? rq->path[i] : '?';
  path[i] = '\0';
  /* t= is when the request arrived, so a test can see the pace of a
   * client (lines come in the order replies go out) */
  fprintf(stderr, "digiwatt-sim: t=%lld %s %s -> %u (%lld ms)%s%s\n",
          (long long)rq->start_ms, method, path, r->status,
          (long long)(now_ms() - rq->start_ms),
          r->fault != NULL ? " fault=" : "", r->fault != NULL ? r->fault : "");
}

static enum MHD_Result queue_reply(sim_server_t *s, struct MHD_Connection *conn,
                                   const char *method, req_t *rq, reply_t *r) {
  if (r->body == NULL) {
    r->status = 500;
    r->content_type = JSON_TYPE;
    r->reset = false;
    r->extra_ms = -1;
    r->body =
        strdup("{\"error\":\"server_error\",\"message\":\"Out of memory\"}");
    if (r->body == NULL)
      return MHD_NO;
    r->len = strlen(r->body);
  }
  struct MHD_Response *resp = make_response(r);
  if (resp == NULL)
    return MHD_NO;
  add_headers(resp, r);
  rq->stray_ms = r->extra_ms;
  enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
  MHD_destroy_response(resp);
  if (rq->counted)
    sim_stats_answer(s->stats, r->status, r->fault != NULL);
  log_reply(s, method, rq, r);
  return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls;
  (void)conn;
  req_t *rq = calloc(1, sizeof(*rq));
  if (rq == NULL)
    return NULL;
  rq->stray_ms = -1;
  rq->path = strndup(uri, strcspn(uri, "?#"));
  if (rq->path == NULL) {
    free(rq);
    return NULL;
  }
  sim_buf_init(&rq->body, REQUEST_BODY_MAX);
  return rq;
}

static void classify(const sim_server_t *s, req_t *rq) {
  size_t plen = strlen(s->cfg.prefix);
  rq->rel = rq->path;
  if (strncmp(rq->path, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0) {
    rq->kind = REQ_CONTROL;
  } else if (strncmp(rq->path, s->cfg.prefix, plen) == 0 &&
             rq->path[plen] == '/') {
    rq->rel = rq->path + plen;
    rq->kind = strcmp(rq->rel, "/auth/token") == 0 ? REQ_TOKEN : REQ_DATA;
  } else {
    rq->kind = REQ_OTHER;
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  sim_server_t *s = cls;
  req_t *rq = *con_cls;
  (void)url;
  (void)version;
  if (rq == NULL)
    return MHD_NO;
  if (!rq->started) {
    rq->started = true;
    rq->start_ms = now_ms();
    classify(s, rq);
    if (rq->kind != REQ_CONTROL) {
      sim_stats_begin(s->stats, rq->rel, rq->kind == REQ_TOKEN);
      rq->counted = true;
    }
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (rq->kind == REQ_CONTROL || rq->kind == REQ_TOKEN)
      sim_buf_append(&rq->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  reply_t r = {.status = 500, .content_type = JSON_TYPE, .extra_ms = -1};
  dispatch(s, conn, method, rq, &r);
  return queue_reply(s, conn, method, rq, &r);
}

/* The extra-response fault: a complete second HTTP response nobody asked
 * for, written on the kept-alive connection right after the real one went
 * out (or arg ms later), as a duplicating proxy would.
 * Its value is a marker that must never be dispatched. */
#define STRAY_BODY "{\"value\": 987654.321, \"previousPeriodValueTrend\": 12.5}"
typedef struct stray {
  sim_server_t *s;
  int fd;
  long delay_ms;
} stray_t;

/* Runs apart from the connection's thread, so a request sent meanwhile on
 * the connection is answered as usual: the stray comes when it comes. The
 * descriptor may have been closed (or even reused by another connection,
 * which then gets the stray: the same fault) by then. */
static void *stray_main(void *arg) {
  stray_t *st = arg;
  char stray[256];
  int n = snprintf(stray, sizeof(stray),
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   sizeof(STRAY_BODY) - 1, STRAY_BODY);
  sleep_ms(st->s, st->delay_ms);
  if (!atomic_load(&st->s->stopping))
    (void)send(st->fd, stray, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  free(st);
  return NULL;
}

static void send_stray(sim_server_t *s, struct MHD_Connection *conn,
                       long delay_ms) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  stray_t *st = malloc(sizeof(*st));
  pthread_t thread;
  if (ci == NULL || st == NULL) {
    free(st);
    return;
  }
  *st = (stray_t){s, ci->connect_fd, delay_ms};
  if (pthread_create(&thread, NULL, stray_main, st) != 0) {
    free(st);
    return;
  }
  pthread_detach(thread);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  sim_server_t *s = cls;
  req_t *rq = *con_cls;
  if (rq == NULL)
    return;
  if (rq->stray_ms >= 0 && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
    send_stray(s, conn, rq->stray_ms);
  if (rq->counted)
    sim_stats_end(s->stats);
  sim_buf_free(&rq->body);
  free(rq->path);
  free(rq);
  *con_cls = NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

sim_server_t *sim_server_create(const sim_server_cfg_t *cfg) {
  sim_server_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cfg = *cfg;
  atomic_init(&s->stopping, false);
  s->faults = sim_faults_create();
  s->tokens = sim_tokens_create();
  s->stats = sim_stats_create();
  if (s->faults == NULL || s->tokens == NULL || s->stats == NULL) {
    sim_server_destroy(s);
    return NULL;
  }
  return s;
}

sim_faults_t *sim_server_faults(sim_server_t *s) { return s->faults; }

int sim_server_start(sim_server_t *s, const sim_listen_t *l, char *err,
                     size_t err_size) {
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
  struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
  if (!s->cfg.quiet)
    flags |= MHD_USE_ERROR_LOG;
  if (l->addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (l->tls_cert_pem != NULL) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      snprintf(err, err_size, "this libmicrohttpd has no TLS support");
      return -ENOTSUP;
    }
    flags |= MHD_USE_TLS;
    tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                     (void *)l->tls_cert_pem};
    tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                     (void *)l->tls_key_pem};
    tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  }
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
      (const struct sockaddr *)&l->addr, MHD_OPTION_CONNECTION_LIMIT,
      l->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
      s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY, tls,
      MHD_OPTION_END);
  if (s->daemon == NULL) {
    snprintf(err, err_size,
             "cannot listen (address in use, bad address or bad TLS files)");
    return -EADDRNOTAVAIL;
  }
  return 0;
}

unsigned sim_server_port(const sim_server_t *s) {
  if (s->daemon == NULL)
    return 0;
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info != NULL ? info->port : 0;
}

void sim_server_destroy(sim_server_t *s) {
  if (s == NULL)
    return;
  atomic_store(&s->stopping, true);
  if (s->daemon != NULL)
    MHD_stop_daemon(s->daemon);
  sim_faults_destroy(s->faults);
  sim_tokens_destroy(s->tokens);
  sim_stats_destroy(s->stats);
  free(s);
}
