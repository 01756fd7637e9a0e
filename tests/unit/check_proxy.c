/* check_proxy.c - unit tests of the dw_proxy room: the Proxy rules, a
 * proxy as log lines show it, and which proxy the environment gives a
 * URL (the variables are set and cleared by each test). */
#include "dw_proxy.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const proxy_vars[] = {
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
    "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

static void env_clear(void) {
  for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
    unsetenv(proxy_vars[i]);
}

/* --- dw_proxy_check ------------------------------------------------------ */

static const struct {
  const char *proxy;
  const char *why; /* NULL: accepted; else a part of the reason */
} check_cases[] = {
    {"", NULL},
    {"http://proxy:3128", NULL},
    {"http://proxy:3128/", NULL},
    {"HTTPS://proxy.example", NULL},
    {"socks5h://user:pa55@proxy:1080", NULL},
    {"socks4a://10.0.0.1:1080", NULL},
    {"proxy:3128", NULL},
    {"user:pa55@proxy", NULL},
    {"http://[::1]:3128", NULL},
    {"http://[::1]", NULL},
    {"http://u:p@[2001:db8::1]:8080/", NULL},
    {"ftp://proxy:21", "scheme"},
    {"file:///tmp/x", "scheme"},
    {"http://", "no host"},
    {"http://user@", "no host"},
    {"http://:3128", "no host"},
    {"http://proxy:0", "port"},
    {"http://proxy:65536", "port"},
    {"http://proxy:", "port"},
    {"http://proxy:31x8", "port"},
    {"http://proxy:123456", "port"},
    {"http://[::1", "no host"},
    {"http://[::1]x", "port"},
    {"http://proxy:3128/path", "no path"},
    {"http://proxy:3128?q", "no path"},
    {"http://proxy#f", "no path"},
    {"http://pro xy", "whitespace"},
    {"http://proxy\t", "whitespace"},
};

START_TEST(test_check_table) {
  const char *why = dw_proxy_check(check_cases[_i].proxy);
  if (check_cases[_i].why == NULL)
    ck_assert_msg(why == NULL, "case %d (%s): %s", _i, check_cases[_i].proxy,
                  why);
  else
    ck_assert_msg(why != NULL && strstr(why, check_cases[_i].why) != NULL,
                  "case %d (%s): %s", _i, check_cases[_i].proxy,
                  why ? why : "accepted");
}
END_TEST

/* --- dw_proxy_shown ------------------------------------------------------ */

static const struct {
  const char *proxy, *want;
} shown_cases[] = {
    {"http://proxy:3128", "proxy:3128"},
    {"http://proxy:3128/", "proxy:3128"},
    {"http://user:s3cret@proxy:3128", "proxy:3128"},
    {"user:s3cret@proxy:3128", "proxy:3128"},
    {"a@b:s3cret@proxy", "proxy"},
    {"proxy:3128", "proxy:3128"},
    {"socks5://u:s3cret@10.0.0.1:1080", "socks5://10.0.0.1:1080"},
    {"https://proxy", "https://proxy"},
    {"http://proxy:3128/x?s3cret", "proxy:3128/x"},
    {"http://[::1]:3128", "[::1]:3128"},
};

START_TEST(test_shown_table) {
  char out[DW_PROXY_SHOWN_SIZE];
  ck_assert_str_eq(dw_proxy_shown(out, shown_cases[_i].proxy),
                   shown_cases[_i].want);
}
END_TEST

/* A userinfo longer than the buffer is still never shown. */
START_TEST(test_shown_long_userinfo) {
  char proxy[600], out[DW_PROXY_SHOWN_SIZE];
  for (int scheme = 0; scheme < 2; scheme++) {
    size_t n = (size_t)snprintf(proxy, sizeof(proxy),
                                "%suser:", scheme ? "http://" : "");
    memset(proxy + n, 's', 400);
    snprintf(proxy + n + 400, sizeof(proxy) - n - 400, "@proxy:3128");
    ck_assert_str_eq(dw_proxy_shown(out, proxy), "proxy:3128");
  }
}
END_TEST

/* --- no_proxy ------------------------------------------------------------ */

static const struct {
  const char *no_proxy, *host;
  bool match;
} no_proxy_cases[] = {
    {"*", "anything.example", true},
    {"example.com", "example.com", true},
    {"example.com", "www.example.com", true},
    {".example.com", "www.example.com", true},
    {".example.com", "example.com", true},
    {"example.com.", "EXAMPLE.com", true},
    {"example.com", "example.com.", true},
    {"example.com", "nonexample.com", false},
    {"example.com", "example.co", false},
    {"a.example, b.example", "b.example", true},
    {"a.example b.example", "b.example", true},
    {",,a.example,,", "a.example", true},
    {"localhost,127.0.0.1", "127.0.0.1", true},
    {"localhost", "127.0.0.1", false},
    {"127.0.0.0/8", "127.1.2.3", true},
    {"10.0.0.0/8", "11.0.0.1", false},
    {"192.168.1.0/24", "192.168.1.77", true},
    {"192.168.1.0/24", "192.168.2.77", false},
    {"127.0.0.1", "127.0.0.2", false},
    {"127.0.0.1/0", "127.0.0.2", false}, /* libcurl: /0 is exact */
    {"::1", "[::1]", true},
    {"::1", "::1", true},
    {"2001:db8::/32", "[2001:db8:1::5]", true},
    {"2001:db8::/32", "[2001:db9::5]", false},
    {"", "example.com", false},
    {"*.example.com", "www.example.com", false},
    {"example.com", "", false},
};

START_TEST(test_no_proxy_table) {
  ck_assert_msg(dw_proxy_no_proxy_matches(no_proxy_cases[_i].no_proxy,
                                          no_proxy_cases[_i].host) ==
                    no_proxy_cases[_i].match,
                "case %d: %s in %s", _i, no_proxy_cases[_i].host,
                no_proxy_cases[_i].no_proxy);
}
END_TEST

/* --- which proxy a URL goes through -------------------------------------- */

START_TEST(test_for_configured) {
  char out[DW_PROXY_SHOWN_SIZE];
  const char *from = NULL;
  env_clear();
  setenv("http_proxy", "http://env-proxy:9", 1);
  ck_assert(dw_proxy_for("http://u:s3cret@mine:3128", "http://127.0.0.1/x", out,
                         &from));
  ck_assert_str_eq(out, "mine:3128");
  ck_assert_str_eq(from, "Proxy");
  /* Proxy "": none, whatever the environment says */
  ck_assert(!dw_proxy_for("", "http://127.0.0.1/x", out, &from));
  ck_assert_str_eq(out, "");
  env_clear();
}
END_TEST

START_TEST(test_for_environment) {
  char out[DW_PROXY_SHOWN_SIZE];
  const char *from = NULL;
  env_clear();
  ck_assert(!dw_proxy_for(NULL, "http://127.0.0.1/x", out, &from));

  setenv("http_proxy", "http://u:s3cret@127.0.0.1:9", 1);
  ck_assert(dw_proxy_for(NULL, "http://127.0.0.1:8080/x", out, &from));
  ck_assert_str_eq(out, "127.0.0.1:9");
  ck_assert_str_eq(from, "http_proxy");
  /* http_proxy is not for https:// */
  ck_assert(!dw_proxy_for(NULL, "https://api.example/x", out, &from));

  /* the uppercase HTTP_PROXY is never read (libcurl: CGI safety) */
  env_clear();
  setenv("HTTP_PROXY", "http://p:1", 1);
  ck_assert(!dw_proxy_for(NULL, "http://api.example/x", out, &from));
  setenv("HTTPS_PROXY", "http://p:2", 1);
  ck_assert(dw_proxy_for(NULL, "https://api.example/x", out, &from));
  ck_assert_str_eq(from, "HTTPS_PROXY");
  setenv("https_proxy", "http://p:3", 1);
  ck_assert(dw_proxy_for(NULL, "HTTPS://api.example/x", out, &from));
  ck_assert_str_eq(from, "https_proxy");
  ck_assert_str_eq(out, "p:3");

  /* all_proxy for both; an empty variable counts as unset */
  env_clear();
  setenv("http_proxy", "", 1);
  setenv("ALL_PROXY", "socks5://p:4", 1);
  ck_assert(dw_proxy_for(NULL, "http://api.example/x", out, &from));
  ck_assert_str_eq(from, "ALL_PROXY");
  ck_assert_str_eq(out, "socks5://p:4");

  /* no_proxy (then NO_PROXY) keeps a host out */
  setenv("NO_PROXY", "api.example", 1);
  ck_assert(!dw_proxy_for(NULL, "http://user@api.example:80/x", out, &from));
  setenv("no_proxy", "other.example", 1);
  ck_assert(dw_proxy_for(NULL, "http://api.example/x", out, &from));
  setenv("no_proxy", "127.0.0.1,[::1]", 1);
  ck_assert(!dw_proxy_for(NULL, "http://127.0.0.1:8080/x", out, &from));
  env_clear();
}
END_TEST

START_TEST(test_userinfo) {
  char out[64];
  env_clear();
  ck_assert(
      dw_proxy_userinfo("http://u:s3cret@p:1", "http://h/", out, sizeof(out)));
  ck_assert_str_eq(out, "u:s3cret");
  ck_assert(!dw_proxy_userinfo("http://p:1", "http://h/", out, sizeof(out)));
  ck_assert(!dw_proxy_userinfo("", "http://h/", out, sizeof(out)));
  ck_assert(!dw_proxy_userinfo(NULL, "http://h/", out, sizeof(out)));
  setenv("http_proxy", "a:b@p:1", 1);
  ck_assert(dw_proxy_userinfo(NULL, "http://h/", out, sizeof(out)));
  ck_assert_str_eq(out, "a:b");
  ck_assert(!dw_proxy_userinfo(NULL, "http://h/", out, 3)); /* no room */
  env_clear();
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void) {
  Suite *s = suite_create("dw_proxy");
  TCase *tc = tcase_create("proxy");
  tcase_add_loop_test(tc, test_check_table, 0, N(check_cases));
  tcase_add_loop_test(tc, test_shown_table, 0, N(shown_cases));
  tcase_add_test(tc, test_shown_long_userinfo);
  tcase_add_loop_test(tc, test_no_proxy_table, 0, N(no_proxy_cases));
  tcase_add_test(tc, test_for_configured);
  tcase_add_test(tc, test_for_environment);
  tcase_add_test(tc, test_userinfo);
  suite_add_tcase(s, tc);
  return standin_run_suite(s);
}
