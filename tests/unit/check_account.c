/* check_account.c - one account's read cycle against an in-process server.
 *
 * The server (libmicrohttpd on 127.0.0.1) plays a small, programmable part
 * of the contract: the token endpoint and two resources. Each test sets
 * how it behaves, runs cycles through dw_account_read() with a
 * configuration parsed from collectd.conf text, and checks the requests
 * the server saw and the values the stand-in recorded.
 *
 * The account runs on a clock the test moves by hand (test_now_ms), so
 * backoffs, token lifetimes and Retry-After pass without sleeping; only
 * the deadline test waits, for the transport's real clock. */
#include "dw_account.h"
#include "dw_clock.h"
#include "dw_config.h"
#include "dw_health.h"
#include "dw_http.h"
#include "mhd_reply.h"
#include "run_suite.h"
#include "stand_in.h"

#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET "s3cr3t-of-the-test"
#define INTERVAL ((uint64_t)10 << 30)

static struct MHD_Daemon *server;
static unsigned short port;
static atomic_int token_requests, data_requests, token_serial;
static atomic_int token_status;   /* status of the token endpoint */
static atomic_int revoked_before; /* tokens with a lower serial get 401 */
static atomic_int always_401;     /* data requests get 401 whatever */
static atomic_int latency_ms;
static atomic_int throttle_m1;  /* m1 gets 429 with Retry-After: 30 */
static atomic_int broken_heals; /* "broken" answers 200 */
static atomic_int stopping;     /* teardown: slow answers end now */
static atomic_int tokenless;    /* data requests without Authorization */
static atomic_int token_latency_ms;
static atomic_int token_fails_after; /* later token requests get 500 */

/* The account's clock; each cycle() moves it. */
static int64_t test_now_ms;

static int64_t test_clock(void *ud) {
  (void)ud;
  return test_now_ms;
}

/* Sleeps ms unless the test is being torn down. */
static void serve_slowly(int ms) {
  for (int waited = 0; waited < ms && !atomic_load(&stopping); waited += 10)
    usleep(10 * 1000);
}

static enum MHD_Result token_endpoint(struct MHD_Connection *c) {
  int n = atomic_fetch_add(&token_requests, 1) + 1;
  if (atomic_load(&token_latency_ms) > 0)
    serve_slowly(atomic_load(&token_latency_ms));
  if (atomic_load(&token_fails_after) > 0 &&
      n > atomic_load(&token_fails_after))
    return mhd_reply_json(c, 500, "{\"error\":\"server\"}");
  if (atomic_load(&token_status) != 200)
    return mhd_reply_json(c, (unsigned)atomic_load(&token_status),
                          "{\"error\":\"invalid_client\"}");
  char body[128];
  snprintf(body, sizeof(body),
           "{\"access_token\":\"tok%d\",\"expires_in\":3600,"
           "\"token_type\":\"Bearer\"}",
           atomic_fetch_add(&token_serial, 1) + 1);
  return mhd_reply_json(c, 200, body);
}

static bool authorised(struct MHD_Connection *c) {
  const char *auth =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  int serial;
  if (auth == NULL || sscanf(auth, "Bearer tok%d", &serial) != 1)
    return false;
  return !atomic_load(&always_401) && serial >= atomic_load(&revoked_before) &&
         serial <= atomic_load(&token_serial);
}

/* A history with months outside any plausible window (9999-12 would
 * overflow cdtime_t, 1970-01 be stamped 0) and one past the next month
 * of cycle_time(0), which falls in 2026-11. */
#define HISTORY_BODY                                                           \
  "[{\"month\": \"9999-12\", \"value\": 9},"                                   \
  " {\"month\": \"1970-01\", \"value\": 1},"                                   \
  " {\"month\": \"2026-10\", \"value\": 5},"                                   \
  " {\"month\": \"2026-12\", \"value\": 6},"                                   \
  " {\"month\": \"2027-01\", \"value\": 7}]"

static enum MHD_Result data_endpoint(struct MHD_Connection *c,
                                     const char *url) {
  atomic_fetch_add(&data_requests, 1);
  if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") == NULL)
    atomic_fetch_add(&tokenless, 1);
  if (atomic_load(&latency_ms) > 0)
    serve_slowly(atomic_load(&latency_ms));
  if (!authorised(c))
    return mhd_reply_json(c, 401, "{\"error\":\"invalid_token\"}");
  if (strstr(url, "/broken/") != NULL && !atomic_load(&broken_heals))
    return mhd_reply_json(c, 500, "{\"error\":\"server\"}");
  if (strstr(url, "/m1/") != NULL && atomic_load(&throttle_m1)) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Retry-After", "30");
    enum MHD_Result ret = MHD_queue_response(c, 429, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (strstr(url, "/gone/") != NULL)
    return mhd_reply_json(
        c, 404, "{\"error\":\"not_found\",\"message\":\"Unknown smartmeter\"}");
  if (strstr(url, "/badjson/") != NULL)
    return mhd_reply_json(c, 200, "{\"value\": 1.5,");
  if (strstr(url, "/consumption-history") != NULL) /* months in and out */
    return mhd_reply_json(c, 200, HISTORY_BODY);
  if (strstr(url, "/savings") != NULL)
    return mhd_reply_json(
        c, 200,
        "{\"estimatedConsumption\": 253900, \"estimatedCost\": 101.9,"
        " \"fridge\": {\"estimatedConsumption\": 31000}}");
  return mhd_reply_json(c, 200,
                        "{\"value\": 73.61, \"previousPeriodValueTrend\": -4}");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state) {
  (void)cls, (void)version, (void)upload;
  if (*state == NULL) { /* first call: headers only */
    *state = c;
    return MHD_YES;
  }
  if (*upload_size > 0) { /* the form body; its content is tested elsewhere */
    *upload_size = 0;
    return MHD_YES;
  }
  if (strcmp(method, "POST") == 0 && strcmp(url, "/auth/token") == 0)
    return token_endpoint(c);
  return data_endpoint(c, url);
}

static void setup(void) {
  standin_reset();
  atomic_store(&token_requests, 0);
  atomic_store(&data_requests, 0);
  atomic_store(&token_serial, 0);
  atomic_store(&token_status, 200);
  atomic_store(&revoked_before, 0);
  atomic_store(&always_401, 0);
  atomic_store(&latency_ms, 0);
  atomic_store(&throttle_m1, 0);
  atomic_store(&broken_heals, 0);
  atomic_store(&stopping, 0);
  atomic_store(&tokenless, 0);
  atomic_store(&token_latency_ms, 0);
  atomic_store(&token_fails_after, 0);
  test_now_ms = 1000000;
  ck_assert_int_eq(dw_http_global_init(), 0);
  server = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
      NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
      &(struct sockaddr_in){.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
      MHD_OPTION_END);
  ck_assert_ptr_nonnull(server);
  port = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void teardown(void) {
  atomic_store(&stopping, 1);
  MHD_stop_daemon(server);
  standin_reset();
}

/* The one account of collectd.conf text, on the test clock. */
static dw_account_t *account_of_text(const char *text) {
  oconfig_item_t *root = standin_config_parse(text);
  ck_assert_ptr_nonnull(root);
  dw_config_t cfg = {0};
  ck_assert_int_eq(dw_config_parse(root, &cfg), 0);
  standin_config_free(root);
  ck_assert_uint_eq(cfg.accounts_len, 1);
  dw_account_t *a =
      dw_account_create(&cfg.accounts[0], NULL, NULL,
                        (dw_clock_t){.now_ms = test_clock, .ud = NULL});
  dw_config_free(&cfg);
  ck_assert_ptr_nonnull(a);
  return a;
}

/* An account from collectd.conf text; extra goes inside <Account>. */
static dw_account_t *account(const char *extra, const char *meters) {
  char text[4096];
  snprintf(text, sizeof(text),
           "<Account \"a\">\n"
           "  BaseURL \"http://127.0.0.1:%u\"\n"
           "  ClientID \"id\"\n"
           "  ClientSecret \"" SECRET "\"\n"
           "  Resources \"consumption\" \"savings\"\n"
           "  Periods \"yesterday\" \"this-month\"\n"
           "  RefreshInterval \"consumption\" 0\n"
           "  RefreshInterval \"savings\" 0\n"
           "  %s\n%s\n"
           "</Account>\n",
           port, extra, meters);
  return account_of_text(text);
}

#define TWO_METERS                                                             \
  "<Smartmeter \"m1\">\n</Smartmeter>\n<Smartmeter \"m2\">\n</Smartmeter>\n"

static uint64_t cycle_time(int n) {
  return ((uint64_t)1795000000 + 10u * (unsigned)n) << 30;
}

/* Cycle n, step_s seconds of the account's clock after cycle n - 1. */
static int cycle_after(dw_account_t *a, int n, int64_t step_s) {
  test_now_ms += step_s * 1000;
  return dw_account_read(a, cycle_time(n), INTERVAL);
}

/* Cycle n of an Interval 10 account. */
static int cycle(dw_account_t *a, int n) { return cycle_after(a, n, 10); }

static void assert_meter_values(const char *instance) {
  const standin_value_t *v = standin_find_value(instance, "digiwatt_energy_kwh",
                                                "consumption-yesterday");
  ck_assert_ptr_nonnull(v);
  ck_assert_double_eq_tol(v->values[0], 73.61, 1e-9);
  v = standin_find_value(instance, "digiwatt_trend_percent",
                         "consumption-this-month");
  ck_assert_ptr_nonnull(v);
  ck_assert_double_eq_tol(v->values[0], -4, 1e-9);
  v = standin_find_value(instance, "digiwatt_energy_kwh", "savings");
  ck_assert_ptr_nonnull(v);
  ck_assert_double_eq_tol(v->values[0], 253.9, 1e-9); /* Wh made kWh */
  v = standin_find_value(instance, "digiwatt_energy_kwh", "savings-fridge");
  ck_assert_ptr_nonnull(v);
  ck_assert_double_eq_tol(v->values[0], 31.0, 1e-9);
}

/* Values of the meters themselves, without the plugin's own metrics. */
static size_t meter_values_count(void) {
  size_t n = 0;
  for (size_t i = 0; i < standin_values_count(); i++) {
    const standin_value_t *v = standin_value_at(i);
    n += strncmp(v->plugin_instance, "account-", 8) != 0 &&
         strcmp(v->type, "digiwatt_data_age_seconds") != 0;
  }
  return n;
}

static size_t notifications_matching(int severity, const char *instance,
                                     const char *type_instance) {
  size_t n = 0;
  for (size_t i = 0; i < standin_notifications_count(); i++) {
    const standin_notification_t *x = standin_notification_at(i);
    n += x->severity == severity && strcmp(x->plugin_instance, instance) == 0 &&
         strcmp(x->type_instance, type_instance) == 0;
  }
  return n;
}

START_TEST(one_cycle_fetches_the_due_set_with_one_token) {
  dw_account_t *a = account("", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  /* 2 meters x (consumption x 2 periods + savings) */
  ck_assert_int_eq(atomic_load(&data_requests), 6);
  ck_assert_int_eq(atomic_load(&token_requests), 1);
  assert_meter_values("m1");
  assert_meter_values("m2");
  ck_assert_uint_eq(meter_values_count(), 2 * (2 * 2 + 3));
  dw_account_destroy(a);
}
END_TEST

START_TEST(the_token_is_reused_across_cycles) {
  dw_account_t *a = account("", TWO_METERS);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(cycle(a, i), 0);
  ck_assert_int_eq(atomic_load(&token_requests), 1);
  ck_assert_int_eq(atomic_load(&data_requests), 18);
  dw_account_destroy(a);
}
END_TEST

START_TEST(a_failing_meter_never_stops_another) {
  dw_account_t *a = account("", "<Smartmeter \"broken\">\n</Smartmeter>\n"
                                "<Smartmeter \"badjson\">\n</Smartmeter>\n"
                                "<Smartmeter \"m1\">\n</Smartmeter>\n");
  ck_assert_int_eq(cycle(a, 0), -EIO);
  assert_meter_values("m1");
  ck_assert(standin_log_contains("smartmeter broken: consumption/yesterday: "
                                 "HTTP status 500"));
  ck_assert(standin_log_contains("smartmeter badjson"));
  for (size_t i = 0; i < standin_values_count(); i++) {
    const standin_value_t *v = standin_value_at(i);
    if (strcmp(v->type, "digiwatt_data_age_seconds") == 0)
      continue; /* the one value a failing meter has */
    ck_assert_str_ne(v->plugin_instance, "broken");
    ck_assert_str_ne(v->plugin_instance, "badjson");
  }
  dw_account_destroy(a);
}
END_TEST

START_TEST(a_revoked_token_is_renewed_once_and_the_request_retried) {
  dw_account_t *a = account("", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  atomic_store(&revoked_before, 2); /* tok1 is revoked */
  standin_reset();
  atomic_store(&data_requests, 0);
  ck_assert_int_eq(cycle(a, 1), 0);
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert_int_eq(atomic_load(&data_requests), 12); /* each 401, then 200 */
  assert_meter_values("m1");
  dw_account_destroy(a);
}
END_TEST

START_TEST(a_persistent_401_renews_once_then_backs_off) {
  dw_account_t *a = account("", TWO_METERS);
  atomic_store(&always_401, 1);
  ck_assert_int_eq(cycle(a, 0), -EIO);
  /* the first token, one renewal; every request twice */
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert_int_eq(atomic_load(&data_requests), 12);
  /* within the backoff (half the interval at least) the failed slots
   * wait: no storm of requests or tokens */
  cycle_after(a, 1, 0);
  cycle_after(a, 2, 4);
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert_int_eq(atomic_load(&data_requests), 12);
  ck_assert_uint_eq(meter_values_count(), 0);
  ck_assert(standin_log_contains("HTTP status 401"));
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_errors", "auth");
  ck_assert_int_eq(v->derives[0], 6);
  dw_account_destroy(a);
}
END_TEST

START_TEST(refused_credentials_log_once_and_fetch_nothing) {
  atomic_store(&token_status, 401);
  dw_account_t *a = account("", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), -EIO);
  ck_assert_int_eq(atomic_load(&token_requests), 1);
  ck_assert_int_eq(atomic_load(&data_requests), 0);
  ck_assert(standin_log_contains_at(LOG_ERR, "cannot get a token"));
  ck_assert(standin_log_contains("ClientID"));
  for (size_t i = 0; i < standin_log_count(); i++)
    ck_assert_ptr_null(strstr(standin_log_at(i)->text, SECRET));
  dw_account_destroy(a);
}
END_TEST

/* Issue 10: a response's values go out once, when it arrives, stamped
 * with the slot's refresh interval, and not again until the next fetch. */
START_TEST(a_value_goes_out_once_per_refresh) {
  dw_account_t *a = account("RefreshInterval \"consumption\" 3600\n"
                            "RefreshInterval \"savings\" 3600\n",
                            TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  ck_assert_int_eq(atomic_load(&data_requests), 6);
  ck_assert_uint_eq(meter_values_count(), 2 * (2 * 2 + 3));
  const standin_value_t *v =
      standin_find_value("m2", "digiwatt_energy_kwh", "consumption-yesterday");
  ck_assert_uint_eq(v->time, cycle_time(0));
  ck_assert_uint_eq(v->interval, (uint64_t)3600 << 30);
  standin_reset();
  for (int i = 1; i < 4; i++)
    ck_assert_int_eq(cycle(a, i), 0);
  ck_assert_int_eq(atomic_load(&data_requests), 6); /* none new */
  ck_assert_uint_eq(meter_values_count(), 0);       /* nothing again */
  /* the account's self-metrics stay per cycle */
  v = standin_find_value("account-a", "digiwatt_cycle_seconds", "");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->time, cycle_time(3));
  ck_assert_uint_eq(v->interval, INTERVAL);
  /* a meter's data age every tenth of the shortest refresh it uses
   * (360 s), with that as its interval: it went out in cycle 0 only */
  ck_assert_ptr_null(standin_find_value("m2", "digiwatt_data_age_seconds", ""));
  standin_reset();
  for (int i = 4; i < 36; i++)
    ck_assert_int_eq(cycle(a, i), 0);
  ck_assert_ptr_null(standin_find_value("m2", "digiwatt_data_age_seconds", ""));
  ck_assert_int_eq(cycle(a, 36), 0);
  v = standin_find_value("m2", "digiwatt_data_age_seconds", "");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->time, cycle_time(36));
  ck_assert_uint_eq(v->interval, (uint64_t)360 << 30);
  ck_assert_double_eq_tol(v->values[0], 360, 1e-9);
  dw_account_destroy(a);
}
END_TEST

/* RepeatCached true: the cached values go out again every cycle, at the
 * cycle's time and the read interval, until the refresh is due. */
START_TEST(repeat_cached_sends_every_cycle) {
  dw_account_t *a = account("RefreshInterval \"consumption\" 3600\n"
                            "RefreshInterval \"savings\" 3600\n"
                            "RepeatCached true\n",
                            TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  size_t first = meter_values_count();
  ck_assert_uint_eq(first, 2 * (2 * 2 + 3));
  standin_reset();
  ck_assert_int_eq(cycle(a, 1), 0);
  ck_assert_int_eq(atomic_load(&data_requests), 6); /* none new */
  ck_assert_uint_eq(meter_values_count(), first);
  const standin_value_t *v =
      standin_find_value("m2", "digiwatt_energy_kwh", "consumption-yesterday");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->time, cycle_time(1)); /* stamped with this cycle */
  ck_assert_uint_eq(v->interval, INTERVAL);
  dw_account_destroy(a);
}
END_TEST

START_TEST(a_cycle_ends_by_its_deadline) {
  atomic_store(&latency_ms, 2000);
  dw_account_t *a = account("CycleTimeout 0.2\nTimeout 10\n", TWO_METERS);
  dw_clock_t real = dw_clock_monotonic();
  int64_t start = dw_clock_read(&real);
  /* cut by the cycle's deadline, not by their own Timeout: deferred */
  ck_assert_int_eq(cycle(a, 0), 0);
  int64_t took = dw_clock_read(&real) - start;
  ck_assert_int_lt(took, 1500); /* 0.2 s bound, generous for a noisy box */
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_requests", "deferred");
  ck_assert_int_eq(v->derives[0], 6);
  dw_account_destroy(a);
}
END_TEST

START_TEST(retry_after_pauses_the_whole_account) {
  atomic_store(&throttle_m1, 1);
  dw_account_t *a = account("", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), -EIO);
  int after_first = atomic_load(&data_requests);
  ck_assert(standin_log_contains("Retry-After 30 s"));
  ck_assert(standin_log_contains("slow down"));
  /* within the 30 s nothing is requested, for any meter, and nothing is
   * sent again (m2's values went out when they came) */
  standin_reset();
  ck_assert_int_eq(cycle(a, 1), 0);
  ck_assert_int_eq(atomic_load(&data_requests), after_first);
  ck_assert_uint_eq(meter_values_count(), 0);
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_errors", "rate-limit");
  ck_assert_ptr_nonnull(v);
  ck_assert_int_ge(v->derives[0], 1);
  dw_account_destroy(a);
}
END_TEST

/* A Retry-After is honoured up to BackoffMax, not beyond. */
START_TEST(retry_after_is_capped_at_backoff_max) {
  atomic_store(&throttle_m1, 1);
  dw_account_t *a = account("BackoffMax 15", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), -EIO);
  ck_assert(standin_log_contains("no request for 15.0 s"));
  int after_first = atomic_load(&data_requests);
  ck_assert_int_eq(cycle(a, 1), 0); /* 10 s: still paused */
  ck_assert_int_eq(atomic_load(&data_requests), after_first);
  cycle(a, 2); /* 20 s: past BackoffMax, well before the 30 s asked */
  ck_assert_int_gt(atomic_load(&data_requests), after_first);
  dw_account_destroy(a);
}
END_TEST

START_TEST(refused_credentials_back_off_and_notify_once) {
  atomic_store(&token_status, 401);
  dw_account_t *a = account("BackoffMax 1\nCycleTimeout 10\n", TWO_METERS);
  /* five cycles within the backoff (0.5 s at least here): one try */
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(cycle_after(a, i, 0), -EIO);
  ck_assert_int_eq(atomic_load(&token_requests), 1);
  ck_assert_uint_eq(notifications_matching(NOTIF_FAILURE, "account-a", "token"),
                    1);
  const standin_notification_t *n = standin_notification_at(0);
  ck_assert_str_eq(n->plugin, "digiwatt");
  ck_assert_ptr_nonnull(strstr(n->message, "cannot authenticate"));
  ck_assert_ptr_null(strstr(n->message, SECRET));

  /* credentials fixed: once the backoff is over the token comes, OKAY
   * follows, once */
  atomic_store(&token_status, 200);
  ck_assert_int_eq(cycle_after(a, 5, 1), 0);
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert_uint_eq(notifications_matching(NOTIF_OKAY, "account-a", "token"),
                    1);
  assert_meter_values("m1");
  ck_assert_int_eq(cycle_after(a, 6, 10), 0);
  ck_assert_uint_eq(notifications_matching(NOTIF_OKAY, "account-a", "token"),
                    1);
  dw_account_destroy(a);
}
END_TEST

/* Notifications of one meter, whichever of its failing resources the
 * cycle that crossed the threshold had due (consumption or savings). */
static size_t meter_notifications(int severity, const char *instance) {
  return notifications_matching(severity, instance, "consumption") +
         notifications_matching(severity, instance, "savings");
}
static size_t failures_of(const char *instance) {
  return meter_notifications(NOTIF_FAILURE, instance);
}
static size_t okays_of(const char *instance) {
  return meter_notifications(NOTIF_OKAY, instance);
}

START_TEST(a_failing_meter_notifies_after_the_threshold_and_on_recovery) {
  dw_account_t *a =
      account("FailureThreshold 2\n", "<Smartmeter \"broken\">\n</Smartmeter>\n"
                                      "<Smartmeter \"m1\">\n</Smartmeter>\n");
  /* an hour between cycles: every backoff is over by the next one */
  ck_assert_int_eq(cycle_after(a, 0, 3600), -EIO);
  ck_assert_uint_eq(failures_of("broken"), 0);
  ck_assert_int_eq(cycle_after(a, 1, 3600), -EIO);
  ck_assert_uint_eq(failures_of("broken"), 1);
  ck_assert_uint_eq(failures_of("m1"), 0);
  ck_assert_int_eq(cycle_after(a, 2, 3600), -EIO);
  ck_assert_uint_eq(failures_of("broken"), 1); /* only changes notify */
  atomic_store(&broken_heals, 1);
  ck_assert_uint_eq(okays_of("broken"), 0);
  ck_assert_int_eq(cycle_after(a, 3, 3600), 0);
  ck_assert_uint_eq(okays_of("broken"), 1);
  ck_assert_int_eq(cycle_after(a, 4, 3600), 0);
  ck_assert_uint_eq(okays_of("broken"), 1);
  ck_assert_uint_eq(failures_of("broken"), 1);
  dw_account_destroy(a);
}
END_TEST

START_TEST(self_metrics_count_what_happened) {
  dw_account_t *a = account("", "<Smartmeter \"broken\">\n</Smartmeter>\n"
                                "<Smartmeter \"m1\">\n</Smartmeter>\n");
  ck_assert_int_eq(cycle(a, 0), -EIO);
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_requests", "data");
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(v->derives[0], 6);
  v = standin_find_value("account-a", "digiwatt_requests", "token");
  ck_assert_int_eq(v->derives[0], 1);
  v = standin_find_value("account-a", "digiwatt_errors", "server");
  ck_assert_int_eq(v->derives[0], 3); /* broken: 2 x consumption, savings */
  const char *classes[] = {"auth",    "rate-limit", "timeout",
                           "network", "client",     "decode"};
  for (size_t i = 0; i < 6; i++) {
    v = standin_find_value("account-a", "digiwatt_errors", classes[i]);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->derives[0], 0);
  }
  v = standin_find_value("account-a", "digiwatt_meters", "ok");
  ck_assert_double_eq(v->values[0], 1);
  v = standin_find_value("account-a", "digiwatt_meters", "failed");
  ck_assert_double_eq(v->values[0], 1);
  v = standin_find_value("account-a", "digiwatt_cycle_seconds", "");
  ck_assert(v->values[0] >= 0 && v->values[0] < 10); /* ms resolution */
  v = standin_find_value("account-a", "digiwatt_response_time_seconds", "");
  ck_assert(v->values[0] > 0 && v->values[0] < 10);
  v = standin_find_value("m1", "digiwatt_data_age_seconds", "");
  ck_assert(v->values[0] >= 0 && v->values[0] < 5);
  ck_assert_ptr_nonnull(
      standin_find_value("broken", "digiwatt_data_age_seconds", ""));
  dw_account_destroy(a);
}
END_TEST

/* An account that fetches only consumption-history, of meter h1. */
static dw_account_t *history_account(void) {
  char text[1024];
  snprintf(text, sizeof(text),
           "<Account \"a\">\n  BaseURL \"http://127.0.0.1:%u\"\n"
           "  ClientID \"id\"\n  ClientSecret \"" SECRET "\"\n"
           "  Resources \"consumption-history\"\n"
           "  RefreshInterval \"consumption-history\" 0\n"
           "  <Smartmeter \"h1\">\n  </Smartmeter>\n</Account>\n",
           port);
  return account_of_text(text);
}

static size_t log_lines_at(int severity, const char *needle) {
  size_t n = 0;
  for (size_t i = 0; i < standin_log_count(); i++)
    n += standin_log_at(i)->severity == severity &&
         strstr(standin_log_at(i)->text, needle) != NULL;
  return n;
}

/* Months outside 2000-01..next month are skipped with one warning per
 * response, so they neither go out at time 0 or in 2378 nor keep the
 * series' later months from going out. */
START_TEST(months_outside_the_window_are_skipped_with_one_warning) {
  dw_account_t *a = history_account();
  ck_assert_int_eq(cycle(a, 0), 0);
  const standin_value_t *v =
      standin_find_value("h1", "digiwatt_energy_kwh", "consumption-history");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->time, (cdtime_t)1790812800 << 30); /* 2026-10-01 */
  v = standin_find_value("h1", "digiwatt_energy_kwh",
                         "consumption-history-latest");
  ck_assert_ptr_nonnull(v);
  ck_assert_double_eq(v->values[0], 6); /* 2026-12, not 9999-12 */
  ck_assert_uint_eq(
      log_lines_at(LOG_WARNING, "account a, smartmeter h1: consumption-history:"
                                " part of the response left out: "
                                "consumption-history: entry 0: member 'month' "
                                "is outside 2000-01..2026-12; skipped (and 2 "
                                "more)"),
      1);
  ck_assert_uint_eq(log_lines_at(LOG_WARNING, "left out"), 1);
  standin_reset();
  ck_assert_int_eq(cycle(a, 1), 0); /* the next month still goes out */
  v = standin_find_value("h1", "digiwatt_energy_kwh", "consumption-history");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->time, (cdtime_t)1796083200 << 30); /* 2026-12-01 */
  dw_account_destroy(a);
}
END_TEST

static size_t log_lines_with(const char *needle) {
  size_t n = 0;
  for (size_t i = 0; i < standin_log_count(); i++)
    n += strstr(standin_log_at(i)->text, needle) != NULL;
  return n;
}

/* An unknown meter (404 on each of its three slots): one line naming it,
 * with the API's own message and the fix; then it is not asked again
 * until BackoffMax, and said once more then. The other meter goes on. */
START_TEST(an_unknown_meter_is_said_once_and_waits_backoff_max) {
  dw_account_t *a =
      account("BackoffMax 120\n", "<Smartmeter \"gone\">\n</Smartmeter>\n"
                                  "<Smartmeter \"m1\">\n</Smartmeter>\n");
  ck_assert_int_eq(cycle(a, 0), -EIO);
  ck_assert_int_eq(atomic_load(&data_requests), 6);
  ck_assert_uint_eq(log_lines_with("smartmeter gone"), 1);
  /* whichever of its requests ended first is the one named */
  ck_assert(standin_log_contains_at(LOG_WARNING, "account a, smartmeter gone: "
                                                 "consumption/"));
  ck_assert(standin_log_contains_at(
      LOG_WARNING, ": HTTP status 404 (\"Unknown smartmeter\"): the API does "
                   "not know this smartmeter or path; check its ID and Path "
                   "(asked again after BackoffMax)"));
  ck_assert(standin_log_contains("account a: 2 more requests failed"));
  assert_meter_values("m1");
  for (int i = 1; i <= 11; i++) /* 110 s: within BackoffMax */
    cycle(a, i);
  ck_assert_int_eq(atomic_load(&data_requests), 6 + 11 * 3);
  ck_assert_uint_eq(log_lines_with("smartmeter gone"), 1);
  cycle_after(a, 12, 20); /* 130 s */
  ck_assert_int_eq(atomic_load(&data_requests), 6 + 11 * 3 + 6);
  ck_assert_uint_eq(log_lines_with("smartmeter gone"), 2);
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_errors", "client");
  ck_assert_int_eq(v->derives[0], 6);
  dw_account_destroy(a);
}
END_TEST

START_TEST(a_reloaded_file_cannot_steal_an_instance) {
  char path[] = "/tmp/check_account_fleet_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "f1 filemeter\n", 13), 13);
  close(fd);
  char extra[256];
  snprintf(extra, sizeof(extra), "SmartmeterFile \"%s\"\n", path);
  dw_account_t *a = account(
      extra, "<Smartmeter \"m1\">\n  Instance \"home\"\n</Smartmeter>\n");
  ck_assert_int_eq(cycle(a, 0), 0);
  ck_assert_ptr_nonnull(standin_find_value("filemeter", "digiwatt_energy_kwh",
                                           "consumption-yesterday"));
  /* rewritten: f2 claims the block's instance; a different size makes
   * the change visible even within one mtime tick */
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("f1 filemeter\nf2 home\n", f);
  fclose(f);
  standin_reset();
  cycle(a, 1);
  ck_assert(standin_log_contains("smartmeter f2 is skipped"));
  /* m1 and f1 again (RefreshInterval 0), nothing for f2 */
  ck_assert_int_eq(atomic_load(&data_requests), 12);
  ck_assert_ptr_nonnull(standin_find_value("home", "digiwatt_energy_kwh",
                                           "consumption-yesterday"));
  dw_account_destroy(a);
  unlink(path);
}
END_TEST

/* A SmartmeterFile of n meters "f0" .. "f<n-1>"; path holds its name. */
static void write_fleet(char path[64], int n) {
  snprintf(path, 64, "/tmp/check_account_fleet_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < n; i++)
    fprintf(f, "f%d\n", i);
  fclose(f);
}

static dw_account_t *fleet_account(const char *path, const char *extra) {
  char text[512];
  snprintf(text, sizeof(text), "SmartmeterFile \"%s\"\n%s", path, extra);
  return account(text, "");
}

/* The renewal after a wave of 401s fails: the waves after it must not go
 * out with no Authorization header (the fault matrix promises that no
 * data request is ever made without a token). */
START_TEST(no_wave_goes_out_without_a_token) {
  char path[64];
  write_fleet(path, 150); /* 450 slots: two waves of at most 256 */
  atomic_store(&always_401, 1);
  atomic_store(&token_fails_after, 1);
  dw_account_t *a = fleet_account(path, "MaxConcurrency 2\n");
  ck_assert_int_eq(cycle(a, 0), -EIO);
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert_int_eq(atomic_load(&tokenless), 0);
  ck_assert_int_eq(atomic_load(&data_requests), 256); /* the first wave */
  /* the second wave was never sent: nothing failed for it */
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_errors", "auth");
  ck_assert_int_eq(v->derives[0], 256);
  v = standin_find_value("account-a", "digiwatt_requests", "deferred");
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(v->derives[0], 450 - 256);
  dw_account_destroy(a);
  unlink(path);
}
END_TEST

/* A SmartmeterFile truncated to nothing while collectd runs (a rewrite
 * caught half way) keeps the meters read before, with a warning. */
START_TEST(an_emptied_meter_file_keeps_its_meters) {
  char path[64];
  write_fleet(path, 2);
  dw_account_t *a = fleet_account(path, "");
  ck_assert_int_eq(cycle(a, 0), 0);
  ck_assert_int_eq(atomic_load(&data_requests), 6);
  ck_assert_int_eq(truncate(path, 0), 0);
  standin_reset();
  ck_assert_int_eq(cycle(a, 1), 0);
  ck_assert(standin_log_contains_at(LOG_WARNING, "lists no smartmeter"));
  ck_assert(standin_log_contains("keeping the 2 smartmeters read before"));
  ck_assert_int_eq(atomic_load(&data_requests), 12);
  assert_meter_values("f1");
  standin_reset();
  ck_assert_int_eq(cycle(a, 2), 0); /* said once, not every cycle */
  ck_assert(!standin_log_contains("lists no smartmeter"));
  dw_account_destroy(a);
  unlink(path);
}
END_TEST

/* A TokenURL's query (an API key, say) never reaches a log line or a
 * notification; the rest of the URL does, to say where it went. */
START_TEST(no_url_query_reaches_a_log_line) {
  atomic_store(&token_status, 401);
  char extra[256];
  snprintf(extra, sizeof(extra),
           "TokenURL \"http://127.0.0.1:%u/auth/token?api_key=K3Y-0F-TH3-"
           "T3ST\"\n",
           port);
  dw_account_t *a = account(extra, TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), -EIO);
  ck_assert(standin_log_contains("cannot get a token from http://127.0.0.1:"));
  ck_assert(standin_log_contains("/auth/token"));
  for (size_t i = 0; i < standin_log_count(); i++) {
    const char *text = standin_log_at(i)->text;
    ck_assert_msg(strstr(text, "K3Y-0F") == NULL &&
                      strstr(text, "api_key") == NULL &&
                      strstr(text, "frag") == NULL,
                  "logged: %s", text);
  }
  for (size_t i = 0; i < standin_notifications_count(); i++)
    ck_assert_ptr_null(strstr(standin_notification_at(i)->message, "K3Y"));
  dw_account_destroy(a);
}
END_TEST

/* A 401 near the end of the cycle, a healthy but slow token endpoint: the
 * renewal is cut by the cycle's deadline. Nobody is to blame: no
 * "cannot authenticate", no FAILURE, no token backoff; the refused
 * requests wait for the next cycle. */
START_TEST(a_renewal_cut_by_the_deadline_blames_no_one) {
  dw_account_t *a = account("CycleTimeout 0.3\n", TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  atomic_store(&revoked_before, 2);
  atomic_store(&token_latency_ms, 2000);
  standin_reset();
  cycle(a, 1);
  ck_assert_int_eq(atomic_load(&token_requests), 2);
  ck_assert(!standin_log_contains("cannot authenticate"));
  ck_assert(!standin_log_contains("cannot get a token"));
  ck_assert_uint_eq(notifications_matching(NOTIF_FAILURE, "account-a", "token"),
                    0);
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_errors", "auth");
  ck_assert_int_eq(v->derives[0], 0);
  v = standin_find_value("account-a", "digiwatt_errors", "timeout");
  ck_assert_int_eq(v->derives[0], 0);
  v = standin_find_value("account-a", "digiwatt_requests", "deferred");
  ck_assert_int_eq(v->derives[0], 6);
  /* the endpoint answers in time again: the next cycle renews at once */
  atomic_store(&token_latency_ms, 0);
  ck_assert_int_eq(cycle(a, 2), 0);
  ck_assert_int_eq(atomic_load(&token_requests), 3);
  assert_meter_values("m2");
  dw_account_destroy(a);
}
END_TEST

/* More work than the cycle has time for, against a healthy server: what
 * was not sent, or was cut by the cycle's deadline, is deferred (counted,
 * due first next time), never a failure, backoff or notification. */
START_TEST(what_the_cycle_cannot_finish_is_deferred) {
  atomic_store(&latency_ms, 150);
  dw_account_t *a = account("CycleTimeout 0.4\nMaxConcurrency 1\n"
                            "FailureThreshold 1\n",
                            TWO_METERS);
  ck_assert_int_eq(cycle(a, 0), 0);
  const standin_value_t *v =
      standin_find_value("account-a", "digiwatt_requests", "deferred");
  ck_assert_ptr_nonnull(v);
  ck_assert_int_ge(v->derives[0], 2);
  /* the data counter counts what went out, not what the cycle meant to
   * send */
  int arrived = atomic_load(&data_requests);
  v = standin_find_value("account-a", "digiwatt_requests", "data");
  ck_assert_int_eq(v->derives[0], arrived);
  for (int c = 0; c < DW_ERR_COUNT; c++)
    ck_assert_int_eq(standin_find_value("account-a", "digiwatt_errors",
                                        dw_err_class_name((dw_err_class_t)c))
                         ->derives[0],
                     0);
  ck_assert(!standin_log_contains("timeout"));
  atomic_store(&latency_ms, 0);
  ck_assert_int_eq(cycle(a, 1), 0);
  assert_meter_values("m1");
  assert_meter_values("m2");
  ck_assert_uint_eq(standin_notifications_count(), 0);
  dw_account_destroy(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("account");
  TCase *tc = tcase_create("cycle");
  tcase_set_timeout(tc, 30);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, one_cycle_fetches_the_due_set_with_one_token);
  tcase_add_test(tc, the_token_is_reused_across_cycles);
  tcase_add_test(tc, a_failing_meter_never_stops_another);
  tcase_add_test(tc, a_revoked_token_is_renewed_once_and_the_request_retried);
  tcase_add_test(tc, a_persistent_401_renews_once_then_backs_off);
  tcase_add_test(tc, refused_credentials_log_once_and_fetch_nothing);
  tcase_add_test(tc, a_value_goes_out_once_per_refresh);
  tcase_add_test(tc, repeat_cached_sends_every_cycle);
  tcase_add_test(tc, a_cycle_ends_by_its_deadline);
  tcase_add_test(tc, retry_after_pauses_the_whole_account);
  tcase_add_test(tc, retry_after_is_capped_at_backoff_max);
  tcase_add_test(tc, refused_credentials_back_off_and_notify_once);
  tcase_add_test(tc,
                 a_failing_meter_notifies_after_the_threshold_and_on_recovery);
  tcase_add_test(tc, self_metrics_count_what_happened);
  tcase_add_test(tc, a_reloaded_file_cannot_steal_an_instance);
  tcase_add_test(tc, no_wave_goes_out_without_a_token);
  tcase_add_test(tc, an_emptied_meter_file_keeps_its_meters);
  tcase_add_test(tc, no_url_query_reaches_a_log_line);
  tcase_add_test(tc, a_renewal_cut_by_the_deadline_blames_no_one);
  tcase_add_test(tc, what_the_cycle_cannot_finish_is_deferred);
  tcase_add_test(tc, months_outside_the_window_are_skipped_with_one_warning);
  tcase_add_test(tc, an_unknown_meter_is_said_once_and_waits_backoff_max);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
