/* dw_auth.c - one account's OAuth2 token (see dw_auth.h). */
#include "dw_auth.h"
#include "dw_token.h"
#include "dw_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dw_auth {
  char *token_url;
  char *form;  /* the token request's body: holds the secret, wiped */
  char *basic; /* TokenAuth "basic": the Authorization line, wiped */
  dw_token_t *token;
  long backoff_max_ms;
  uint64_t rng;
  int64_t retry_at_ms; /* no token request before */
  unsigned failures;   /* in a row */
};

/* The token response is read into a fixed buffer: it is small. */
typedef struct auth_body {
  char buf[DW_TOKEN_MAX_BODY];
  size_t len;
  bool too_large;
} auth_body_t;

/* The token request's body: the credentials unless they go in the Basic
 * header, then the TokenParam pairs. */
static char *auth_form(const dw_account_cfg_t *cfg) {
  size_t n = cfg->token_params.len;
  dw_url_param_t *params = calloc(n ? n : 1, sizeof(*params));
  if (params == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    params[i] = (dw_url_param_t){cfg->token_params.items[i].name,
                                 cfg->token_params.items[i].value};
  char *form =
      cfg->token_auth_basic
          ? dw_url_token_form(NULL, NULL, params, n)
          : dw_url_token_form(cfg->client_id, cfg->client_secret, params, n);
  free(params);
  return form;
}

dw_auth_t *dw_auth_create(const dw_account_cfg_t *cfg, uint64_t seed) {
  dw_auth_t *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  a->token_url = strdup(cfg->token_url);
  a->form = auth_form(cfg);
  a->token = dw_token_create();
  a->backoff_max_ms = cfg->backoff_max_ms;
  a->rng = seed ? seed : 1;
  if (cfg->token_auth_basic)
    a->basic = dw_url_basic_auth(cfg->client_id, cfg->client_secret);
  if (a->token_url == NULL || a->form == NULL || a->token == NULL ||
      (cfg->token_auth_basic && a->basic == NULL)) {
    dw_auth_destroy(a);
    return NULL;
  }
  return a;
}

static void auth_wipe_free(char *s) {
  if (s != NULL)
    explicit_bzero(s, strlen(s));
  free(s);
}

void dw_auth_destroy(dw_auth_t *a) {
  if (a == NULL)
    return;
  auth_wipe_free(a->form);
  auth_wipe_free(a->basic);
  dw_token_destroy(a->token);
  free(a->token_url);
  free(a);
}

bool dw_auth_usable(const dw_auth_t *a, int64_t now_ms) {
  return dw_token_usable(a->token, now_ms);
}

bool dw_auth_may_request(const dw_auth_t *a, int64_t now_ms) {
  return now_ms >= a->retry_at_ms;
}

void dw_auth_invalidate(dw_auth_t *a) { dw_token_invalidate(a->token); }

const char *dw_auth_header(const dw_auth_t *a) {
  return dw_token_header(a->token);
}

unsigned dw_auth_failures(const dw_auth_t *a) { return a->failures; }

const char *dw_auth_url(const dw_auth_t *a) { return a->token_url; }

static int auth_on_body(void *ud, const char *buf, size_t len) {
  auth_body_t *body = ud;
  if (len > sizeof(body->buf) - body->len) {
    body->too_large = true;
    return -1;
  }
  memcpy(body->buf + body->len, buf, len);
  body->len += len;
  return 0;
}

/* A failed token request in words. The body is not quoted (an issuer may
 * echo what it was sent), only its OAuth error code, a closed set. */
static void auth_describe(const dw_http_req_t *req, dw_auth_verdict_t *v) {
  char status[sizeof(v->why) - 40];
  dw_health_describe(req, status, sizeof(status));
  v->oauth_error = req->error == DW_HTTP_OK ? dw_health_oauth_error(req) : NULL;
  if (v->oauth_error != NULL)
    snprintf(v->why, sizeof(v->why), "%s, OAuth error %s", status,
             v->oauth_error);
  else
    snprintf(v->why, sizeof(v->why), "%s", status);
}

/* Runs the token request; 0 with a new token, else a reason in v->why. */
static int auth_request(dw_auth_t *a, dw_http_t *http,
                        dw_http_deadline_t deadline, int64_t now_ms,
                        dw_http_req_t *req, dw_auth_verdict_t *v) {
  auth_body_t *body = calloc(1, sizeof(*body));
  if (body == NULL) {
    snprintf(v->why, sizeof(v->why), "out of memory");
    return -ENOMEM;
  }
  *req = (dw_http_req_t){.url = a->token_url,
                         .auth_header = a->basic,
                         .form_body = a->form,
                         .on_body = auth_on_body,
                         .ud = body};
  dw_http_req_t *reqs[] = {req};
  int status = dw_http_run(http, reqs, 1, deadline);
  if (status != 0) {
    snprintf(v->why, sizeof(v->why), "out of memory");
  } else if (body->too_large) {
    snprintf(v->why, sizeof(v->why),
             "the token response is too large (over %d bytes)",
             DW_TOKEN_MAX_BODY);
    status = -EIO;
  } else if (req->error != DW_HTTP_OK || req->status < 200 ||
             req->status > 299) {
    auth_describe(req, v);
    status = -EIO;
  } else {
    char err[128] = "";
    status = dw_token_parse(a->token, body->buf, body->len, now_ms, err,
                            sizeof(err));
    if (status != 0)
      snprintf(v->why, sizeof(v->why), "unusable token response: %s", err);
  }
  explicit_bzero(body, sizeof(*body));
  free(body);
  return status;
}

dw_auth_result_t dw_auth_renew(dw_auth_t *a, dw_http_t *http,
                               dw_http_deadline_t deadline, int64_t now_ms,
                               long base_ms, dw_auth_verdict_t *v) {
  dw_http_req_t req = {0};
  *v = (dw_auth_verdict_t){.retry_after_s = -1};
  if (auth_request(a, http, deadline, now_ms, &req, v) == 0) {
    a->failures = 0;
    return v->result = DW_AUTH_OK;
  }
  v->status = req.error == DW_HTTP_OK ? req.status : 0;
  if (req.error == DW_HTTP_ERR_DEADLINE)
    return v->result = DW_AUTH_DEFERRED;
  if (dw_health_is_throttle(&req)) {
    /* not a credentials problem: the service is busy or down */
    v->class = req.status == 429 ? DW_ERR_RATE_LIMIT : DW_ERR_SERVER;
    v->retry_after_s = req.retry_after_s;
    return v->result = DW_AUTH_THROTTLED;
  }
  bool refused = req.error == DW_HTTP_OK &&
                 (req.status == 400 || req.status == 401 || req.status == 403);
  v->class =
      refused ? DW_ERR_AUTH : dw_health_classify(&req, req.status == 200);
  a->failures++;
  v->wait_ms =
      dw_health_backoff_ms(a->failures, base_ms, a->backoff_max_ms, &a->rng);
  a->retry_at_ms = now_ms + v->wait_ms;
  return v->result = refused ? DW_AUTH_REFUSED : DW_AUTH_FAILED;
}

void dw_auth_backoff(const dw_auth_t *a, unsigned *failures,
                     int64_t *retry_at_ms) {
  *failures = a->failures;
  *retry_at_ms = a->retry_at_ms;
}

void dw_auth_set_backoff(dw_auth_t *a, unsigned failures, int64_t retry_at_ms) {
  a->failures = failures;
  a->retry_at_ms = retry_at_ms;
}
