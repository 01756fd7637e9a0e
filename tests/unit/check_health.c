/* check_health.c - failure classes and the backoff schedule. */
#include "dw_health.h"

#include "run_suite.h"

#include <check.h>
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

int main(void) {
  Suite *s = suite_create("health");
  TCase *tc = tcase_create("health");
  tcase_add_loop_test(tc, classes_follow_the_table, 0,
                      sizeof(cases) / sizeof(cases[0]));
  tcase_add_test(tc, class_names_are_the_documented_type_instances);
  tcase_add_test(tc, backoff_doubles_within_jitter_and_caps);
  tcase_add_test(tc, backoff_spreads_a_fleet);
  tcase_add_test(tc, random_never_sticks);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
