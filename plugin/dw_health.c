/* dw_health.c - failure classes and backoff (see dw_health.h). */
#include "dw_health.h"
#include "dw_name.h"

#include <stdio.h>
#include <string.h>

static const char *const class_names[DW_ERR_COUNT] = {
    [DW_ERR_AUTH] = "auth",       [DW_ERR_RATE_LIMIT] = "rate-limit",
    [DW_ERR_SERVER] = "server",   [DW_ERR_TIMEOUT] = "timeout",
    [DW_ERR_NETWORK] = "network", [DW_ERR_CLIENT] = "client",
    [DW_ERR_DECODE] = "decode",
};

const char *dw_err_class_name(dw_err_class_t c) { return class_names[c]; }

dw_err_class_t dw_health_classify(const dw_http_req_t *req,
                                  bool decode_failed) {
  if (decode_failed)
    return DW_ERR_DECODE;
  switch (req->error) {
  case DW_HTTP_OK:
    break;
  case DW_HTTP_ERR_TIMEOUT:
  case DW_HTTP_ERR_DEADLINE: /* callers defer these rather than count them */
    return DW_ERR_TIMEOUT;
  case DW_HTTP_ERR_TOO_LARGE:
  case DW_HTTP_ERR_ABORTED:
    return DW_ERR_DECODE; /* the body was there but unusable */
  default:
    return DW_ERR_NETWORK;
  }
  if (req->status == 401 || req->status == 403)
    return DW_ERR_AUTH;
  if (req->status == 429)
    return DW_ERR_RATE_LIMIT;
  if (req->status >= 500 && req->status <= 599)
    return DW_ERR_SERVER;
  return DW_ERR_CLIENT;
}

void dw_health_describe(const dw_http_req_t *req, char *out, size_t out_size) {
  char via[sizeof(req->via_proxy) + 16] = "";
  if (req->via_proxy[0] != '\0')
    snprintf(via, sizeof(via), " through proxy %s", req->via_proxy);
  if (req->error != DW_HTTP_OK)
    snprintf(out, out_size, "request failed (%s)%s: %s",
             dw_http_error_name(req->error), via, req->errmsg);
  else if (req->retry_after_s >= 0)
    snprintf(out, out_size, "HTTP status %ld, Retry-After %ld s%s", req->status,
             req->retry_after_s, via);
  else
    snprintf(out, out_size, "HTTP status %ld%s", req->status, via);
}

/* The string value of the member key in the JSON text body[0..len), its
 * escapes undone (\uXXXX becomes '?'), into out; cut at the end of what
 * was kept. 0 when the member is not there. */
static size_t health_json_string(const char *body, size_t len, const char *key,
                                 char *out, size_t size) {
  size_t key_len = strlen(key);
  const char *end = body + len;
  const char *p = memmem(body, len, key, key_len);
  if (p == NULL)
    return 0;
  for (p += key_len; p < end && (*p == ' ' || *p == ':'); p++)
    ;
  if (p >= end || *p++ != '"')
    return 0;
  size_t n = 0;
  while (p < end && *p != '"' && n + 1 < size) {
    char c = *p++;
    if (c == '\\' && p < end) {
      c = *p++;
      if (c == 'u') /* its four hex digits go too */
        p += end - p < 4 ? end - p : 4;
      c = c == 'n' || c == 't' || c == 'r' ? ' ' : c == 'u' ? '?' : c;
    }
    out[n++] = c;
  }
  out[n] = '\0';
  return n;
}

const char *dw_health_api_message(const dw_http_req_t *req, char *out,
                                  size_t out_size) {
  static const char *const keys[] = {"\"message\"", "\"error_description\"",
                                     "\"error\""};
  char text[DW_HEALTH_API_MESSAGE_MAX + 1];
  const char *body = req->err_body;
  size_t len = req->err_body_len, n = 0, skip = 0;
  out[0] = '\0';
  while (skip < len && (body[skip] == ' ' || body[skip] == '\n' ||
                        body[skip] == '\r' || body[skip] == '\t'))
    skip++;
  if (skip < len && body[skip] == '{') {
    for (size_t i = 0; i < 3 && n == 0; i++)
      n = health_json_string(body, len, keys[i], text, sizeof(text));
  } else if (skip < len && memchr(body, '<', len) == NULL) {
    /* the first line of plain text (the body is not NUL-terminated) */
    while (skip + n < len && n + 1 < sizeof(text) && body[skip + n] != '\r' &&
           body[skip + n] != '\n')
      n++;
    memcpy(text, body + skip, n);
    text[n] = '\0';
  }
  if (n > 0)
    dw_name_printable(out, out_size, text, n);
  return out;
}

const char *dw_health_oauth_error(const dw_http_req_t *req) {
  static const char *const codes[] = {
      "invalid_request",     "invalid_client",         "invalid_grant",
      "unauthorized_client", "unsupported_grant_type", "invalid_scope"};
  char code[32];
  if (health_json_string(req->err_body, req->err_body_len, "\"error\"", code,
                         sizeof(code)) == 0)
    return NULL;
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strcmp(code, codes[i]) == 0)
      return codes[i];
  return NULL;
}

bool dw_health_is_permanent(const dw_http_req_t *req) {
  return req->error == DW_HTTP_OK && (req->status == 404 || req->status == 410);
}

bool dw_health_is_throttle(const dw_http_req_t *req) {
  return req->error == DW_HTTP_OK && (req->status == 429 || req->status == 503);
}

uint64_t dw_health_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

int64_t dw_health_retry_ms(bool permanent, unsigned failures, long base_ms,
                           long max_ms, uint64_t *rng) {
  return permanent ? max_ms
                   : dw_health_backoff_ms(failures, base_ms, max_ms, rng);
}

int64_t dw_health_backoff_ms(unsigned failures, long base_ms, long max_ms,
                             uint64_t *rng) {
  int64_t delay = base_ms > 0 ? base_ms : 1;
  for (unsigned i = 1; i < failures && delay < max_ms; i++)
    delay *= 2;
  if (delay > max_ms)
    delay = max_ms;
  /* factor in [0.5, 1): 2^-1 + (random 52 bits) * 2^-53 */
  double factor =
      0.5 + (double)(dw_health_random(rng) >> 12) / 9007199254740992.0;
  return (int64_t)((double)delay * factor);
}
