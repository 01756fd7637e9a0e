/* dw_health.c - failure classes and backoff (see dw_health.h). */
#include "dw_health.h"

#include <stdio.h>

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
  if (req->error != DW_HTTP_OK)
    snprintf(out, out_size, "request failed (%s): %s",
             dw_http_error_name(req->error), req->errmsg);
  else if (req->retry_after_s >= 0)
    snprintf(out, out_size, "HTTP status %ld, Retry-After %ld s", req->status,
             req->retry_after_s);
  else
    snprintf(out, out_size, "HTTP status %ld", req->status);
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
