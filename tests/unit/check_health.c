/* check_health.c - failure classes and the backoff schedule. */
#include "dw_health.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  dw_http_error_t error;
  long status;
  bool decode_failed;
  dw_err_class_t want;
  bool throttle;
} cases[] = {
    {DW_HTTP_OK, 401, false, DW_ERR_AUTH, false},
    {DW_HTTP_OK, 403, false, DW_ERR_AUTH, false},
    {DW_HTTP_OK, 429, false, DW_ERR_RATE_LIMIT, true},
    {DW_HTTP_OK, 500, false, DW_ERR_SERVER, false},
    {DW_HTTP_OK, 502, false, DW_ERR_SERVER, false},
    {DW_HTTP_OK, 503, false, DW_ERR_SERVER, true},
    {DW_HTTP_OK, 400, false, DW_ERR_CLIENT, false},
    {DW_HTTP_OK, 404, false, DW_ERR_CLIENT, false},
    {DW_HTTP_OK, 302, false, DW_ERR_CLIENT, false},
    {DW_HTTP_OK, 200, true, DW_ERR_DECODE, false},
    {DW_HTTP_ERR_ABORTED, 200, true, DW_ERR_DECODE, false},
    {DW_HTTP_ERR_TOO_LARGE, 200, false, DW_ERR_DECODE, false},
    {DW_HTTP_ERR_TIMEOUT, 0, false, DW_ERR_TIMEOUT, false},
    {DW_HTTP_ERR_CONNECT, 0, false, DW_ERR_NETWORK, false},
    {DW_HTTP_ERR_TLS, 0, false, DW_ERR_NETWORK, false},
    {DW_HTTP_ERR_OTHER, 0, false, DW_ERR_NETWORK, false},
};

START_TEST(classes_follow_the_table) {
  dw_http_req_t req = {.error = cases[_i].error, .status = cases[_i].status};
  ck_assert_int_eq(dw_health_classify(&req, cases[_i].decode_failed),
                   cases[_i].want);
  ck_assert_int_eq(dw_health_is_throttle(&req), cases[_i].throttle);
}
END_TEST

START_TEST(class_names_are_the_documented_type_instances) {
  const char *want[] = {"auth",    "rate-limit", "server", "timeout",
                        "network", "client",     "decode"};
  for (int c = 0; c < DW_ERR_COUNT; c++)
    ck_assert_str_eq(dw_err_class_name((dw_err_class_t)c), want[c]);
}
END_TEST

START_TEST(backoff_doubles_within_jitter_and_caps) {
  uint64_t rng = 42;
  for (unsigned failures = 1; failures <= 40; failures++) {
    long full = 1000L << (failures - 1 < 20 ? failures - 1 : 20);
    if (failures > 20 || full > 60000)
      full = 60000;
    for (int k = 0; k < 200; k++) {
      int64_t d = dw_health_backoff_ms(failures, 1000, 60000, &rng);
      ck_assert_int_ge(d, full / 2);
      ck_assert_int_lt(d, full);
    }
  }
}
END_TEST

START_TEST(backoff_spreads_a_fleet) {
  uint64_t rng = 7;
  int buckets[5] = {0};
  for (int k = 0; k < 5000; k++) {
    int64_t d = dw_health_backoff_ms(1, 10000, 3600000, &rng);
    buckets[(d - 5000) / 1000]++;
  }
  for (int b = 0; b < 5; b++) /* about 1000 each */
    ck_assert_int_gt(buckets[b], 800);
}
END_TEST

START_TEST(random_never_sticks) {
  uint64_t rng = 1, first = dw_health_random(&rng);
  ck_assert_uint_ne(first, 0);
  ck_assert_uint_ne(dw_health_random(&rng), first);
}
END_TEST

/* A 404 or 410 is permanent: BackoffMax at once, no jitter; anything
 * else backs off as before. */
START_TEST(permanent_failures_wait_backoff_max) {
  static const struct {
    dw_http_error_t error;
    long status;
    bool permanent;
  } t[] = {
      {DW_HTTP_OK, 404, true},         {DW_HTTP_OK, 410, true},
      {DW_HTTP_OK, 400, false},        {DW_HTTP_OK, 401, false},
      {DW_HTTP_OK, 500, false},        {DW_HTTP_OK, 200, false},
      {DW_HTTP_ERR_CONNECT, 0, false}, {DW_HTTP_ERR_TIMEOUT, 404, false},
  };
  uint64_t rng = 9;
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    dw_http_req_t req = {.error = t[i].error, .status = t[i].status};
    ck_assert_int_eq(dw_health_is_permanent(&req), t[i].permanent);
  }
  for (unsigned failures = 1; failures < 5; failures++) {
    ck_assert_int_eq(dw_health_retry_ms(true, failures, 10000, 3600000, &rng),
                     3600000);
    int64_t d = dw_health_retry_ms(false, failures, 10000, 3600000, &rng);
    ck_assert_int_lt(d, 10000L << (failures - 1));
    ck_assert_int_ge(d, 5000L << (failures - 1));
  }
}
END_TEST

static dw_http_req_t with_body(long status, const char *body) {
  dw_http_req_t req = {.status = status, .retry_after_s = -1};
  size_t len = strlen(body);
  if (len > sizeof(req.err_body))
    len = sizeof(req.err_body);
  memcpy(req.err_body, body, len);
  req.err_body_len = len;
  return req;
}

static const struct {
  const char *body, *want;
} message_cases[] = {
    {"{\"error\":\"not_found\",\"message\":\"Unknown smartmeter\"}",
     "Unknown smartmeter"},
    {"  {\"message\" : \"say \\\"hi\\\"\\n\\u00e9\"}", "say \\\"hi\\\" ?"},
    {"{\"error\":\"invalid_scope\",\"error_description\":\"no such scope\"}",
     "no such scope"},
    {"{\"error\":\"not_found\"}", "not_found"},
    {"{\"code\":404}", ""},
    {"{\"message\":\"\x01tab\\tnul\"}", "\\x01tab nul"},
    {"Not Found\r\nmore", "Not Found"},
    {"<html><title>404 Not Found</title></html>", ""},
    {"", ""},
    {"{\"message\":\"cut", "cut"},
};

START_TEST(api_message_is_bounded_and_printable) {
  char out[DW_HEALTH_API_MESSAGE_SIZE];
  dw_http_req_t req = with_body(404, message_cases[_i].body);
  ck_assert_str_eq(dw_health_api_message(&req, out, sizeof(out)),
                   message_cases[_i].want);
}
END_TEST

/* A message longer than the bound is cut, and a body that fills the kept
 * prefix without a NUL is never read past. */
START_TEST(api_message_long) {
  char out[DW_HEALTH_API_MESSAGE_SIZE], body[400];
  snprintf(body, sizeof(body), "{\"message\":\"%0300d\"}", 7);
  dw_http_req_t req = with_body(404, body);
  dw_health_api_message(&req, out, sizeof(out));
  ck_assert_uint_eq(strlen(out), DW_HEALTH_API_MESSAGE_MAX);
  memset(body, 'x', sizeof(body) - 1);
  body[sizeof(body) - 1] = '\0';
  req = with_body(404, body);
  ck_assert_uint_eq(req.err_body_len, sizeof(req.err_body));
  dw_health_api_message(&req, out, sizeof(out));
  ck_assert_uint_eq(strlen(out), DW_HEALTH_API_MESSAGE_MAX);
}
END_TEST

START_TEST(oauth_error_codes) {
  dw_http_req_t req = with_body(400, "{\"error\":\"invalid_scope\"}");
  ck_assert_str_eq(dw_health_oauth_error(&req), "invalid_scope");
  req = with_body(401,
                  "{\"error_description\":\"x\",\"error\":\"invalid_client\"}");
  ck_assert_str_eq(dw_health_oauth_error(&req), "invalid_client");
  req = with_body(400, "{\"error\":\"s3cret-echo\"}"); /* not a code */
  ck_assert_ptr_null(dw_health_oauth_error(&req));
  req = with_body(400, "invalid_scope");
  ck_assert_ptr_null(dw_health_oauth_error(&req));
}
END_TEST

START_TEST(describe_names_the_proxy) {
  char out[256];
  dw_http_req_t req = {.error = DW_HTTP_ERR_CONNECT, .retry_after_s = -1};
  snprintf(req.errmsg, sizeof(req.errmsg), "Failed to connect");
  snprintf(req.via_proxy, sizeof(req.via_proxy), "p:3128 (from http_proxy)");
  dw_health_describe(&req, out, sizeof(out));
  ck_assert_str_eq(out, "request failed (connect) through proxy p:3128 (from "
                        "http_proxy): Failed to connect");
  req = (dw_http_req_t){.status = 502, .retry_after_s = -1};
  snprintf(req.via_proxy, sizeof(req.via_proxy), "p:3128 (from Proxy)");
  dw_health_describe(&req, out, sizeof(out));
  ck_assert_str_eq(out, "HTTP status 502 through proxy p:3128 (from Proxy)");
  req.via_proxy[0] = '\0';
  dw_health_describe(&req, out, sizeof(out));
  ck_assert_str_eq(out, "HTTP status 502");
}
END_TEST

int main(void) {
  Suite *s = suite_create("health");
  TCase *tc = tcase_create("health");
  tcase_add_loop_test(tc, classes_follow_the_table, 0,
                      sizeof(cases) / sizeof(cases[0]));
  tcase_add_test(tc, class_names_are_the_documented_type_instances);
  tcase_add_test(tc, backoff_doubles_within_jitter_and_caps);
  tcase_add_test(tc, backoff_spreads_a_fleet);
  tcase_add_test(tc, random_never_sticks);
  tcase_add_test(tc, permanent_failures_wait_backoff_max);
  tcase_add_loop_test(tc, api_message_is_bounded_and_printable, 0,
                      sizeof(message_cases) / sizeof(message_cases[0]));
  tcase_add_test(tc, api_message_long);
  tcase_add_test(tc, oauth_error_codes);
  tcase_add_test(tc, describe_names_the_proxy);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
