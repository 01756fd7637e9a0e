/* check_auth.c - the token request (dw_auth) against an in-process token
 * endpoint, and what dw_report says about its failures.
 *
 * The endpoint (libmicrohttpd on 127.0.0.1) records the body and the
 * Authorization header of each token request and answers as the test
 * sets it. Accounts are read from collectd.conf text, so TokenAuth and
 * TokenParam go through the configuration reader as in collectd. */
#include "dw_auth.h"
#include "dw_config.h"
#include "dw_http.h"
#include "dw_report.h"
#include "mhd_reply.h"
#include "one_shot.h"
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
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "s3cr3t of the test"
#define NOW_MS INT64_C(1000000)

static struct MHD_Daemon *server;
static unsigned short port;
static atomic_int answer; /* status the endpoint answers with */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_body[1024], seen_auth[512]; /* the last token request */

typedef struct upload {
  char buf[1024];
  size_t len;
} upload_t;

static enum MHD_Result token_answer(struct MHD_Connection *c) {
  switch (atomic_load(&answer)) {
  case 200:
    return mhd_reply_json(c, 200,
                          "{\"access_token\":\"tok1\",\"expires_in\":3600,"
                          "\"token_type\":\"Bearer\"}");
  case 400: /* an issuer that echoes what it got: never logged */
    return mhd_reply_json(c, 400,
                          "{\"error\":\"invalid_scope\",\"error_description\":"
                          "\"scope read for " SECRET " refused\"}");
  default:
    return mhd_reply_json(
        c, (unsigned)atomic_load(&answer),
        "{\"error\":\"not_found\",\"message\":\"No such path\"}");
  }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *data_size, void **state) {
  (void)cls, (void)url, (void)method, (void)version;
  upload_t *up = *state;
  if (up == NULL) {
    *state = up = calloc(1, sizeof(*up));
    return up != NULL ? MHD_YES : MHD_NO;
  }
  if (*data_size > 0) {
    size_t n = *data_size < sizeof(up->buf) - 1 - up->len
                   ? *data_size
                   : sizeof(up->buf) - 1 - up->len;
    memcpy(up->buf + up->len, data, n);
    up->len += n;
    *data_size = 0;
    return MHD_YES;
  }
  const char *auth =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  pthread_mutex_lock(&lock);
  snprintf(seen_body, sizeof(seen_body), "%.*s", (int)up->len, up->buf);
  snprintf(seen_auth, sizeof(seen_auth), "%s", auth != NULL ? auth : "");
  pthread_mutex_unlock(&lock);
  return token_answer(c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  free(*state);
  *state = NULL;
}

static void setup(void) {
  standin_reset();
  atomic_store(&answer, 200);
  seen_body[0] = seen_auth[0] = '\0';
  ck_assert_int_eq(dw_http_global_init(), 0);
  server = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
      NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
      &(struct sockaddr_in){.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
  ck_assert_ptr_nonnull(server);
  port = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void teardown(void) {
  MHD_stop_daemon(server);
  standin_reset();
}

/* One account's configuration: extra goes inside <Account>; token_url
 * has "%u" for the endpoint's port. */
static void config(dw_config_t *cfg, const char *token_url, unsigned p,
                   const char *extra) {
  char url[256], text[2048];
  snprintf(url, sizeof(url), token_url, p);
  snprintf(text, sizeof(text),
           "<Account \"a\">\n"
           "  BaseURL \"http://127.0.0.1:%u\"\n"
           "  TokenURL \"%s\"\n"
           "  ClientID \"my id\"\n"
           "  ClientSecret \"" SECRET "\"\n"
           "  <Smartmeter \"m\">\n  </Smartmeter>\n"
           "  %s\n"
           "</Account>\n",
           port, url, extra);
  oconfig_item_t *root = standin_config_parse(text);
  ck_assert_ptr_nonnull(root);
  ck_assert_int_eq(dw_config_parse(root, cfg), 0);
  standin_config_free(root);
}

/* One token renewal of the account, told to a fresh report. */
static dw_auth_result_t renew(const dw_config_t *cfg, dw_auth_verdict_t *v) {
  const dw_account_cfg_t *a = &cfg->accounts[0];
  dw_http_opts_t opts = {.timeout_ms = 5000,
                         .max_body = 65536,
                         .max_concurrency = 1,
                         .verify_peer = true,
                         .verify_host = true};
  dw_http_t *http = dw_http_create(&opts);
  dw_auth_t *auth = dw_auth_create(a, 7);
  ck_assert_ptr_nonnull(http);
  ck_assert_ptr_nonnull(auth);
  dw_auth_result_t result =
      dw_auth_renew(auth, http, dw_http_deadline_in(5000), NOW_MS, 10000, v);
  dw_report_t r;
  dw_report_init(&r, a->name, 3, false);
  dw_report_auth(&r, v, a->token_url, 1);
  dw_auth_destroy(auth);
  dw_http_destroy(http);
  return result;
}

static void assert_no_secret_said(void) {
  for (size_t i = 0; i < standin_log_count(); i++)
    ck_assert_msg(strstr(standin_log_at(i)->text, "s3cr3t") == NULL, "%s",
                  standin_log_at(i)->text);
  for (size_t i = 0; i < standin_notifications_count(); i++)
    ck_assert_ptr_null(strstr(standin_notification_at(i)->message, "s3cr3t"));
}

static const char *notification(void) {
  ck_assert_uint_eq(standin_notifications_count(), 1);
  return standin_notification_at(0)->message;
}

/* --- what is sent ------------------------------------------------------- */

/* TokenAuth "post" (the default): the credentials in the form body, then
 * the TokenParam pairs, each form-encoded; no Authorization header. */
START_TEST(post_sends_credentials_and_params_in_the_body) {
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/token", port,
         "TokenParam \"scope\" \"read:meters\"\n"
         "TokenParam \"audience\" \"https://api.example/\"");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_OK);
  ck_assert_str_eq(seen_body, "grant_type=client_credentials&client_id=my%20id"
                              "&client_secret=s3cr3t%20of%20the%20test"
                              "&scope=read%3Ameters"
                              "&audience=https%3A%2F%2Fapi%2Eexample%2F");
  ck_assert_str_eq(seen_auth, "");
  dw_config_free(&cfg);
}
END_TEST

/* TokenAuth "basic": RFC 6749 2.3.1 client_secret_basic, and neither
 * credential in the body. */
START_TEST(basic_sends_credentials_in_the_header_only) {
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/token", port,
         "TokenAuth \"basic\"\nTokenParam \"scope\" \"read\"");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_OK);
  ck_assert_str_eq(seen_body, "grant_type=client_credentials&scope=read");
  /* base64("my%20id:s3cr3t%20of%20the%20test") */
  ck_assert_str_eq(seen_auth,
                   "Basic bXklMjBpZDpzM2NyM3QlMjBvZiUyMHRoZSUyMHRlc3Q=");
  dw_config_free(&cfg);
}
END_TEST

/* --- what failures say --------------------------------------------------- */

/* A 404 from the token endpoint points at TokenURL; the log line shows the
 * URL without its query. */
START_TEST(a_404_says_check_token_url) {
  atomic_store(&answer, 404);
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/wrong/token?api_key=s3cr3t-key", port, "");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_FAILED);
  ck_assert_int_eq(v.status, 404);
  char want[256];
  snprintf(want, sizeof(want),
           "account a: cannot get a token from http://127.0.0.1:%u/wrong/"
           "token: HTTP status 404 (check TokenURL: there is no token "
           "endpoint at that address); next try in ",
           port);
  ck_assert_msg(standin_log_contains_at(LOG_ERR, want), "want %s", want);
  ck_assert_str_eq(notification(), "account a cannot authenticate: HTTP status "
                                   "404 (check TokenURL)");
  ck_assert(!standin_log_contains("api_key"));
  assert_no_secret_said();
  dw_config_free(&cfg);
}
END_TEST

/* An OAuth error names its code and the option behind it; what else the
 * issuer wrote (here it echoes the secret) is never quoted. */
START_TEST(an_oauth_error_names_its_option) {
  atomic_store(&answer, 400);
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/token", port,
         "TokenParam \"scope\" \"read\"");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_REFUSED);
  ck_assert_str_eq(v.oauth_error, "invalid_scope");
  ck_assert(standin_log_contains_at(
      LOG_ERR, ": HTTP status 400, OAuth error invalid_scope (check "
               "TokenParam: the issuer refuses the scope asked for)"));
  /* the form was refused, not the client: the notification says so */
  ck_assert_msg(strstr(notification(), "(token request refused)") != NULL, "%s",
                notification());
  assert_no_secret_said();
  dw_config_free(&cfg);
}
END_TEST

/* A token endpoint that cannot be reached is a connection problem: the
 * notification does not say "cannot authenticate". */
START_TEST(an_unreachable_endpoint_is_not_an_authentication_failure) {
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/token", closed_port(), "");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_FAILED);
  ck_assert_int_eq(v.class, DW_ERR_NETWORK);
  const char *n = notification();
  ck_assert_msg(strncmp(n,
                        "account a cannot reach its token endpoint: "
                        "request failed (connect)",
                        60) == 0,
                "%s", n);
  ck_assert_ptr_null(strstr(n, "authenticate"));
  ck_assert_ptr_null(strstr(n, "credentials"));
  dw_config_free(&cfg);
}
END_TEST

/* https:// to a plain-HTTP port: "does not speak TLS", not OpenSSL's
 * "wrong version number", and again no "cannot authenticate". */
START_TEST(https_to_a_plain_port_says_so) {
  one_shot_t plain;
  one_shot_start(&plain, ONE_SHOT_HTTP_400);
  dw_config_t cfg = {0};
  config(&cfg, "https://127.0.0.1:%u/token", plain.port, "");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_FAILED);
  one_shot_end(&plain);
  ck_assert(standin_log_contains_at(
      LOG_ERR, "request failed (tls): the server does not speak TLS there: "
               "that port serves plain HTTP (use http://, or the server's TLS "
               "port)"));
  ck_assert(!standin_log_contains("wrong version number"));
  const char *n = notification();
  ck_assert_msg(strstr(n, "cannot reach its token endpoint") != NULL, "%s", n);
  ck_assert_ptr_null(strstr(n, "authenticate"));
  dw_config_free(&cfg);
}
END_TEST

/* Refused credentials still blame the credentials (and name TokenAuth). */
START_TEST(refused_credentials_are_blamed) {
  atomic_store(&answer, 401);
  dw_config_t cfg = {0};
  config(&cfg, "http://127.0.0.1:%u/token", port, "");
  dw_auth_verdict_t v;
  ck_assert_int_eq(renew(&cfg, &v), DW_AUTH_REFUSED);
  ck_assert(standin_log_contains_at(
      LOG_ERR, "HTTP status 401 (check ClientID, the client secret and "
               "TokenAuth)"));
  ck_assert_str_eq(notification(), "account a cannot authenticate: HTTP status "
                                   "401 (credentials refused)");
  dw_config_free(&cfg);
}
END_TEST

int main(void) {
  Suite *s = suite_create("auth");
  TCase *tc = tcase_create("token");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, post_sends_credentials_and_params_in_the_body);
  tcase_add_test(tc, basic_sends_credentials_in_the_header_only);
  tcase_add_test(tc, a_404_says_check_token_url);
  tcase_add_test(tc, an_oauth_error_names_its_option);
  tcase_add_test(tc, an_unreachable_endpoint_is_not_an_authentication_failure);
  tcase_add_test(tc, https_to_a_plain_port_says_so);
  tcase_add_test(tc, refused_credentials_are_blamed);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
