/* check_url.c - unit tests of the dw_url room. */
#include "dw_resource.h"
#include "dw_url.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LONG_ID_60                                                             \
  "0123456789012345678901234567890123456789012345678901234567890"

/* --- dw_url_escape ------------------------------------------------------ */

typedef struct escape_case {
  const char *text;
  size_t out_size;
  int rc; /* expected length, or negative errno */
  const char *want;
} escape_case_t;

static const escape_case_t escape_cases[] = {
    {"125fd56", 64, 7, "125fd56"},
    {"A-Z_a~z09", 64, 9, "A-Z_a~z09"},
    {"", 64, 0, ""},
    {"", 1, 0, ""},
    {".", 64, 3, "%2E"},
    {"..", 64, 6, "%2E%2E"},
    {"../x", 64, 10, "%2E%2E%2Fx"},
    {"a/b", 64, 5, "a%2Fb"},
    {"a?b", 64, 5, "a%3Fb"},
    {"a#b", 64, 5, "a%23b"},
    {"%2F", 64, 5, "%252F"},
    {"a b", 64, 5, "a%20b"},
    {"+&=@:", 64, 15, "%2B%26%3D%40%3A"},
    {"caf\xc3\xa9", 64, 9, "caf%C3%A9"},
    {"\x01\x7f\xff", 64, 9, "%01%7F%FF"},
    {"a\\b", 64, 5, "a%5Cb"},
    /* exact fits and one byte short */
    {"abc", 4, 3, "abc"},
    {"abc", 3, -ENAMETOOLONG, ""},
    {"a.", 5, 4, "a%2E"},
    {"a.", 4, -ENAMETOOLONG, ""},
    {"a.", 3, -ENAMETOOLONG, ""},
    {"a", 0, -ENAMETOOLONG, NULL},
};

START_TEST(test_escape_table) {
  const escape_case_t *c = &escape_cases[_i];
  char buf[128];
  memset(buf, '#', sizeof(buf));
  int rc = dw_url_escape(buf, c->out_size, c->text);
  ck_assert_msg(rc == c->rc, "case %d: rc %d, want %d", _i, rc, c->rc);
  if (c->want != NULL)
    ck_assert_str_eq(buf, c->want);
  for (size_t i = c->out_size; i < sizeof(buf); i++)
    ck_assert_int_eq(buf[i], '#');
}
END_TEST

/* --- dw_url_check_template ---------------------------------------------- */

typedef struct tmpl_case {
  const char *tmpl;
  bool with_period;
  const char *why; /* NULL: accepted; else a part of the reason */
} tmpl_case_t;

static const tmpl_case_t tmpl_cases[] = {
    {"/smartmeters/{smartmeterId}/costs/{period}", true, NULL},
    {"/smartmeters/{smartmeterId}/savings", false, NULL},
    {"/{smartmeterId}/{period}", true, NULL},
    {"/{smartmeterId}", false, NULL},
    {"/{smartmeterId}/", false, NULL},
    {"/{smartmeterId}/...", false, NULL},
    {"/v1.2/{smartmeterId}", false, NULL},
    {"/meters/id-{smartmeterId}.json", false, NULL},
    {"/{smartmeterId}/a%2Fb", false, NULL},
    {"/x/{smartmeterId}.json/{period}", true, NULL},
    /* shape */
    {NULL, false, "start with '/'"},
    {"", false, "start with '/'"},
    {"smartmeters/{smartmeterId}", false, "start with '/'"},
    {"https://evil.example/{smartmeterId}", false, "start with '/'"},
    /* placeholders */
    {"/smartmeters/savings", false, "{smartmeterId} exactly once"},
    {"/{smartmeterId}/{smartmeterId}", false, "{smartmeterId} exactly once"},
    {"/{smartmeterId}/costs", true, "{period} exactly once"},
    {"/{smartmeterId}/{period}/{period}", true, "{period} exactly once"},
    {"/{smartmeterId}/costs/{period}", false, "resource has none"},
    {"/{smartmeterId}/{id}", false, "not {smartmeterId} or {period}"},
    {"/{smartmeterid}", false, "not {smartmeterId} or {period}"},
    {"/{smartmeterId}/x}", false, "not {smartmeterId} or {period}"},
    {"/{smartmeterId}/{", false, "not {smartmeterId} or {period}"},
    {"/{{smartmeterId}}", false, "not {smartmeterId} or {period}"},
    /* forbidden bytes */
    {"/{smartmeterId}?x=1", false, "'?' or '#'"},
    {"/{smartmeterId}#top", false, "'?' or '#'"},
    {"/{smartmeterId}\\x", false, "backslash"},
    {"/{smartmeterId} x", false, "whitespace"},
    {"/{smartmeterId}\tx", false, "control byte"},
    {"/{smartmeterId}\r\nHost: x", false, "control byte"},
    {"/{smartmeterId}\x7f", false, "control byte"},
    {"/{smartmeterId}/caf\xc3\xa9", false, "non-ASCII"},
    /* dot segments */
    {"/../{smartmeterId}", false, "'.' or '..' segment"},
    {"/./{smartmeterId}", false, "'.' or '..' segment"},
    {"/{smartmeterId}/..", false, "'.' or '..' segment"},
    {"/{smartmeterId}/.", false, "'.' or '..' segment"},
    {"/a/../{smartmeterId}/b", false, "'.' or '..' segment"},
    {"/{smartmeterId}/%2e%2E", false, "'.' or '..' segment"},
    {"/{smartmeterId}/.%2e/x", false, "'.' or '..' segment"},
    {"/{smartmeterId}/.{period}", true, "'.' or '..' segment"},
    {"/.{smartmeterId}.", false, "'.' or '..' segment"},
    {"/x/{period}.{smartmeterId}", true, "'.' or '..' segment"},
};

START_TEST(test_template_table) {
  const tmpl_case_t *c = &tmpl_cases[_i];
  const char *why = "unset";
  int rc = dw_url_check_template(c->tmpl, c->with_period, &why);
  if (c->why == NULL) {
    ck_assert_msg(rc == 0, "case %d refused: %s", _i, why);
    ck_assert_ptr_null(why);
  } else {
    ck_assert_msg(rc == -EINVAL, "case %d accepted", _i);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, c->why) != NULL, "case %d: reason \"%s\"", _i,
                  why);
  }
  /* why is optional */
  ck_assert_int_eq(dw_url_check_template(c->tmpl, c->with_period, NULL), rc);
}
END_TEST

/* Every default path of the resource table passes its own check. */
START_TEST(test_template_defaults) {
  const dw_resource_info_t *info = dw_resource_info((dw_resource_t)_i);
  const char *why = NULL;
  ck_assert_msg(
      dw_url_check_template(info->default_path, info->has_period, &why) == 0,
      "%s: %s", info->slug, why);
  ck_assert_int_eq(
      dw_url_check_template(info->default_path, !info->has_period, &why),
      -EINVAL);
}
END_TEST

/* --- dw_url_build -------------------------------------------------------- */

#define BASE "https://api.digiwatt.example/v1"
#define COSTS "/smartmeters/{smartmeterId}/costs/{period}"
#define SAVINGS "/smartmeters/{smartmeterId}/savings"

typedef struct build_case {
  const char *base, *tmpl, *meter_id, *period;
  size_t out_size;
  int rc;
  const char *want;
} build_case_t;

static const build_case_t build_cases[] = {
    {BASE, COSTS, "125fd56", "yesterday", 256, 0,
     BASE "/smartmeters/125fd56/costs/yesterday"},
    {BASE "/", COSTS, "125fd56", "last-seven-days", 256, 0,
     BASE "/smartmeters/125fd56/costs/last-seven-days"},
    {BASE "///", SAVINGS, "125fd56", NULL, 256, 0,
     BASE "/smartmeters/125fd56/savings"},
    {BASE, SAVINGS, "125fd56", "ignored", 256, 0,
     BASE "/smartmeters/125fd56/savings"},
    {"", SAVINGS, "m", NULL, 256, 0, "/smartmeters/m/savings"},
    {"/", SAVINGS, "m", NULL, 256, 0, "/smartmeters/m/savings"},
    /* hostile IDs stay inside their segment */
    {BASE, SAVINGS, "..", NULL, 256, 0, BASE "/smartmeters/%2E%2E/savings"},
    {BASE, SAVINGS, ".", NULL, 256, 0, BASE "/smartmeters/%2E/savings"},
    {BASE, SAVINGS, "../x", NULL, 256, 0,
     BASE "/smartmeters/%2E%2E%2Fx/savings"},
    {BASE, SAVINGS, "a/b", NULL, 256, 0, BASE "/smartmeters/a%2Fb/savings"},
    {BASE, SAVINGS, "a?b", NULL, 256, 0, BASE "/smartmeters/a%3Fb/savings"},
    {BASE, SAVINGS, "a#b", NULL, 256, 0, BASE "/smartmeters/a%23b/savings"},
    {BASE, SAVINGS, "%2F", NULL, 256, 0, BASE "/smartmeters/%252F/savings"},
    {BASE, SAVINGS, "a\\b", NULL, 256, 0, BASE "/smartmeters/a%5Cb/savings"},
    {BASE, SAVINGS, "@evil.example", NULL, 256, 0,
     BASE "/smartmeters/%40evil%2Eexample/savings"},
    {BASE, SAVINGS, "\xe2\x9a\xa1meter", NULL, 256, 0,
     BASE "/smartmeters/%E2%9A%A1meter/savings"},
    {BASE, SAVINGS, "a\r\nHost: x", NULL, 256, 0,
     BASE "/smartmeters/a%0D%0AHost%3A%20x/savings"},
    {BASE, COSTS, "m", "../admin", 256, 0,
     BASE "/smartmeters/m/costs/%2E%2E%2Fadmin"},
    /* too long */
    {BASE, SAVINGS, LONG_ID_60 LONG_ID_60 LONG_ID_60 LONG_ID_60, NULL, 256,
     -ENAMETOOLONG, ""},
    {BASE, SAVINGS, "..........................................", NULL, 128,
     -ENAMETOOLONG, ""},
    {BASE BASE BASE BASE BASE BASE BASE BASE, SAVINGS, "m", NULL, 128,
     -ENAMETOOLONG, ""},
    {BASE, SAVINGS, "m", NULL, 0, -ENAMETOOLONG, NULL},
    /* refused */
    {BASE, SAVINGS, "", NULL, 256, -EINVAL, ""},
    {BASE, SAVINGS, NULL, NULL, 256, -EINVAL, ""},
    {BASE, COSTS, "m", NULL, 256, -EINVAL, ""},
    {NULL, SAVINGS, "m", NULL, 256, -EINVAL, ""},
    {BASE, NULL, "m", NULL, 256, -EINVAL, ""},
};

#define N_BUILD_CASES ((int)(sizeof(build_cases) / sizeof(build_cases[0])))

START_TEST(test_build_table) {
  const build_case_t *c = &build_cases[_i];
  char buf[512];
  memset(buf, '#', sizeof(buf));
  int rc =
      dw_url_build(buf, c->out_size, c->base, c->tmpl, c->meter_id, c->period);
  ck_assert_msg(rc == c->rc, "case %d: rc %d, want %d", _i, rc, c->rc);
  if (c->want != NULL)
    ck_assert_str_eq(buf, c->want);
  for (size_t i = c->out_size; i < sizeof(buf); i++)
    ck_assert_int_eq(buf[i], '#');
}
END_TEST

/* Every success fits in exactly strlen + 1 bytes and fails one byte less;
 * every -ENAMETOOLONG is about room only, every -EINVAL is not. */
START_TEST(test_build_exact_size) {
  const build_case_t *c = &build_cases[_i];
  if (c->rc != 0) {
    char big[4096];
    int rc = dw_url_build(big, sizeof(big), c->base, c->tmpl, c->meter_id,
                          c->period);
    ck_assert_int_eq(rc, c->rc == -ENAMETOOLONG ? 0 : c->rc);
    return;
  }
  size_t need = strlen(c->want) + 1;
  char *buf = malloc(need); /* heap, so valgrind sees any overrun */
  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(
      dw_url_build(buf, need, c->base, c->tmpl, c->meter_id, c->period), 0);
  ck_assert_str_eq(buf, c->want);
  ck_assert_int_eq(
      dw_url_build(buf, need - 1, c->base, c->tmpl, c->meter_id, c->period),
      -ENAMETOOLONG);
  ck_assert_str_eq(buf, "");
  free(buf);
}
END_TEST

/* --- dw_url_token_form --------------------------------------------------- */

typedef struct form_case {
  const char *id, *secret, *want;
} form_case_t;

#define GRANT "grant_type=client_credentials&client_id="

static const form_case_t form_cases[] = {
    {"client", "s3cret", GRANT "client&client_secret=s3cret"},
    {"my client", "p@ss w&rd=+%",
     GRANT "my%20client&client_secret="
           "p%40ss%20w%26rd%3D%2B%25"},
    {"a.b", "caf\xc3\xa9~", GRANT "a%2Eb&client_secret=caf%C3%A9~"},
    {"", "", GRANT "&client_secret="},
    {NULL, NULL, "grant_type=client_credentials"}, /* TokenAuth "basic" */
    {"id", NULL, GRANT "id&client_secret="},
    {"x&client_secret=y", "z", GRANT "x%26client_secret%3Dy&client_secret=z"},
};

START_TEST(test_form_table) {
  const form_case_t *c = &form_cases[_i];
  char *form = dw_url_token_form(c->id, c->secret, NULL, 0);
  ck_assert_ptr_nonnull(form);
  ck_assert_str_eq(form, c->want);
  free(form);
}
END_TEST

/* TokenParam pairs follow the credentials, names and values encoded. */
START_TEST(test_form_params) {
  static const dw_url_param_t params[] = {
      {"scope", "read:meters write"},
      {"audience", "https://api.example/"},
      {"x&y=z", "a+b%c"},
      {"empty", ""},
  };
  char *form = dw_url_token_form("id", "s3cret", params, 4);
  ck_assert_ptr_nonnull(form);
  ck_assert_str_eq(form, GRANT "id&client_secret=s3cret"
                               "&scope=read%3Ameters%20write"
                               "&audience=https%3A%2F%2Fapi%2Eexample%2F"
                               "&x%26y%3Dz=a%2Bb%25c&empty=");
  free(form);
  form = dw_url_token_form(NULL, NULL, params, 1);
  ck_assert_str_eq(form, "grant_type=client_credentials"
                         "&scope=read%3Ameters%20write");
  free(form);
}
END_TEST

/* --- dw_url_basic_auth ---------------------------------------------------- */

static const struct {
  const char *id, *secret, *want;
} basic_cases[] = {
    /* base64("client:s3cret") */
    {"client", "s3cret", "Authorization: Basic Y2xpZW50OnMzY3JldA=="},
    /* RFC 6749 2.3.1: each form-encoded first, so a ':' in the ID cannot
     * move the split: base64("a%3Ab:p%40ss%20w") */
    {"a:b", "p@ss w", "Authorization: Basic YSUzQWI6cCU0MHNzJTIwdw=="},
    /* base64(":") */
    {"", "", "Authorization: Basic Og=="},
    {NULL, NULL, "Authorization: Basic Og=="},
    /* base64("ab:c"), base64("abc:de"): the two paddings */
    {"ab", "c", "Authorization: Basic YWI6Yw=="},
    {"abc", "de", "Authorization: Basic YWJjOmRl"},
};

START_TEST(test_basic_table) {
  char *line = dw_url_basic_auth(basic_cases[_i].id, basic_cases[_i].secret);
  ck_assert_ptr_nonnull(line);
  ck_assert_str_eq(line, basic_cases[_i].want);
  free(line);
}
END_TEST

/* A long secret: the line holds exactly the encoding, nothing more. */
START_TEST(test_basic_long) {
  char secret[4097];
  memset(secret, '%', sizeof(secret) - 1); /* each becomes %25 */
  secret[sizeof(secret) - 1] = '\0';
  char *line = dw_url_basic_auth("id", secret);
  ck_assert_ptr_nonnull(line);
  size_t raw = 3 + 3 * 4096; /* "id:" and the encoded secret */
  ck_assert_uint_eq(strlen(line),
                    strlen("Authorization: Basic ") + 4 * ((raw + 2) / 3));
  free(line);
}
END_TEST

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1; /* lowercase hex would be a bug here: we promise uppercase */
}

/* A strict form decoder for one value ending at '&' or NUL. */
static const char *form_decode(const char *p, char *out) {
  while (*p != '\0' && *p != '&') {
    if (*p == '%') {
      int hi = hex_value(p[1]), lo = hex_value(hi >= 0 ? p[2] : '\0');
      ck_assert(hi >= 0 && lo >= 0);
      *out++ = (char)(hi * 16 + lo);
      p += 3;
    } else {
      ck_assert(strchr("-_~", *p) != NULL || (*p >= '0' && *p <= '9') ||
                (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
      *out++ = *p++;
    }
  }
  *out = '\0';
  return p;
}

/* Random byte strings survive encode + decode unchanged. */
START_TEST(test_form_round_trip) {
  srand(77);
  for (int n = 0; n < 500; n++) {
    char id[64], secret[64], got_id[64], got_secret[64];
    for (size_t i = 0; i < sizeof(id) - 1; i++) {
      id[i] = (char)(1 + rand() % 255);
      secret[i] = (char)(1 + rand() % 255);
    }
    id[rand() % 64] = '\0';
    secret[rand() % 64] = '\0';
    id[63] = secret[63] = '\0';
    char *form = dw_url_token_form(id, secret, NULL, 0);
    ck_assert_ptr_nonnull(form);
    ck_assert(strncmp(form, GRANT, strlen(GRANT)) == 0);
    const char *p = form_decode(form + strlen(GRANT), got_id);
    ck_assert(strncmp(p, "&client_secret=", 15) == 0);
    p = form_decode(p + 15, got_secret);
    ck_assert_int_eq(*p, '\0');
    ck_assert_str_eq(got_id, id);
    ck_assert_str_eq(got_secret, secret);
    free(form);
  }
}
END_TEST

/* --- dw_url_is_loopback_http / dw_url_is_https -------------------------- */

typedef struct scheme_case {
  const char *url;
  bool loopback_http;
  bool https;
} scheme_case_t;

static const scheme_case_t scheme_cases[] = {
    {"http://127.0.0.1/", true, false},
    {"http://127.0.0.1", true, false},
    {"http://127.0.0.1:8080/token", true, false},
    {"http://127.1.2.3:65535/", true, false},
    {"http://127.255.255.254/x", true, false},
    {"http://127.0.0.0/", true, false},
    {"HTTP://LOCALHOST:1/", true, false},
    {"http://localhost", true, false},
    {"Http://LocalHost/a?b", true, false},
    {"http://[::1]:8080/", true, false},
    {"http://[::1]", true, false},
    {"http://127.0.0.1:0/", true, false},
    /* userinfo, lookalike hosts */
    {"http://127.0.0.1@evil.example/", false, false},
    {"http://localhost@evil.example/", false, false},
    {"http://[::1]@evil.example/", false, false},
    {"http://user@127.0.0.1/", false, false},
    {"http://127.0.0.1:80@evil.example/", false, false},
    {"http://127.0.0.1.evil.example/", false, false},
    {"http://127.0.0.1.nip.io/", false, false},
    {"http://localhost.evil.example/", false, false},
    {"http://localhostx/", false, false},
    {"http://127.0.0.1\\@evil.example/", false, false},
    {"http://127.0.0.1%40evil.example/", false, false},
    {"http://127.0.0.1?x", false, false},
    {"http://127.0.0.1#x", false, false},
    {"http://127.0.0.1 /", false, false},
    /* not loopback, or not a plain IPv4 literal */
    {"http://128.0.0.1/", false, false},
    {"http://126.0.0.1/", false, false},
    {"http://127.0.0/", false, false},
    {"http://127.0.0.1.2/", false, false},
    {"http://127.0.0.256/", false, false},
    {"http://127.0.0.1234/", false, false},
    {"http://127.0.0.01/", false, false},
    {"http://0177.0.0.1/", false, false},
    {"http://2130706433/", false, false},
    {"http://127.0.0.x/", false, false},
    {"http://[::2]/", false, false},
    {"http://[::1/", false, false},
    {"http://[0:0:0:0:0:0:0:1]/", false, false},
    {"http://example.com/127.0.0.1", false, false},
    /* ports */
    {"http://127.0.0.1:/", false, false},
    {"http://127.0.0.1:65536/", false, false},
    {"http://127.0.0.1:123456/", false, false},
    {"http://127.0.0.1:80x/", false, false},
    /* schemes */
    {"https://127.0.0.1/", false, true},
    {"https://api.digiwatt.example/v1", false, true},
    {"HTTPS://API.DIGIWATT.EXAMPLE", false, true},
    {"https://", false, true},
    {"http://api.digiwatt.example/", false, false},
    {"https:/x", false, false},
    {"httpsx://x", false, false},
    {"ftp://127.0.0.1/", false, false},
    {"http:/127.0.0.1/", false, false},
    {" http://127.0.0.1/", false, false},
    {"http://", false, false},
    {"", false, false},
    {NULL, false, false},
};

START_TEST(test_scheme_table) {
  const scheme_case_t *c = &scheme_cases[_i];
  ck_assert_msg(dw_url_is_loopback_http(c->url) == c->loopback_http,
                "loopback case %d: %s", _i, c->url ? c->url : "(null)");
  ck_assert_msg(dw_url_is_https(c->url) == c->https, "https case %d: %s", _i,
                c->url ? c->url : "(null)");
}
END_TEST

/* --- dw_url_redact ------------------------------------------------------- */

typedef struct redact_case {
  const char *url;
  size_t size;
  const char *want;
} redact_case_t;

static const redact_case_t redact_cases[] = {
    {"https://api.example/v1", 64, "https://api.example/v1"},
    {"https://sso.example/token?api_key=s3cret", 64,
     "https://sso.example/token"},
    {"https://sso.example/token#frag=s3cret", 64, "https://sso.example/token"},
    {"https://me:s3cret@api.example:8443/v1", 64,
     "https://api.example:8443/v1"},
    {"http://a@b:s3cret@127.0.0.1:9/x?y#z", 64, "http://127.0.0.1:9/x"},
    {"https://api.example?s3cret", 64, "https://api.example"},
    {"https://api.example/a@b/c", 64, "https://api.example/a@b/c"},
    {"socks5h://u:s3cret@proxy:1080", 64, "socks5h://proxy:1080"},
    {"HTTP://Host/Path", 64, "HTTP://Host/Path"},
    {"https://h/a b\"c\\d\x01\xc3\xa9", 64, "https://h/a%20b%22c%5Cd%01%C3%A9"},
    {"https://", 64, "https://"},
    /* not a URL: nothing of it is shown */
    {"s3cret", 64, "(not a URL)"},
    {"", 64, "(not a URL)"},
    {NULL, 64, "(not a URL)"},
    {"api.example/x?s3cret", 64, "(not a URL)"},
    {"://x", 64, "(not a URL)"},
    {"1http://x", 64, "(not a URL)"},
    {"me:s3cret@api.example", 64, "(not a URL)"},
    /* cut to fit, exact fits */
    {"https://api.example/v1", 23, "https://api.example/v1"},
    {"https://api.example/v1", 22, "https://api.exampl..."},
    {"https://api.example/v1", 12, "https://..."},
    {"https://h/\x01\x02", 16, "https://h/..."},
    {"https://h/\x01\x02", 17, "https://h/%01%02"},
    {"https://h/", 8, "http..."},
};

START_TEST(test_redact_table) {
  const redact_case_t *c = &redact_cases[_i];
  char buf[128];
  memset(buf, '#', sizeof(buf));
  ck_assert_ptr_eq(dw_url_redact(buf, c->size, c->url), buf);
  ck_assert_msg(strcmp(buf, c->want) == 0, "case %d: \"%s\", want \"%s\"", _i,
                buf, c->want);
  ck_assert_ptr_null(strstr(buf, "s3cret"));
  for (size_t i = c->size; i < sizeof(buf); i++)
    ck_assert_int_eq(buf[i], '#');
}
END_TEST

/* Every size from 8 to the whole fits, never past it, always terminated. */
START_TEST(test_redact_every_size) {
  static const char url[] = "https://u:p@api.example:8443/v1/x%20y?q=s3cret";
  char buf[96];
  for (size_t size = 8; size < sizeof(buf); size++) {
    memset(buf, '#', sizeof(buf));
    dw_url_redact(buf, size, url);
    ck_assert_uint_lt(strlen(buf), size);
    for (size_t i = size; i < sizeof(buf); i++)
      ck_assert_int_eq(buf[i], '#');
    ck_assert_ptr_null(strstr(buf, "s3cret"));
    ck_assert_ptr_null(strstr(buf, "u:p"));
  }
  dw_url_redact(NULL, 64, url);
  buf[0] = '#';
  dw_url_redact(buf, 7, url); /* too small: untouched */
  ck_assert_int_eq(buf[0], '#');
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *url_suite(void) {
  Suite *s = suite_create("dw_url");
  TCase *tc = tcase_create("escape");
  tcase_add_loop_test(tc, test_escape_table, 0, N(escape_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("template");
  tcase_add_loop_test(tc, test_template_table, 0, N(tmpl_cases));
  tcase_add_loop_test(tc, test_template_defaults, 0, DW_RES_COUNT);
  suite_add_tcase(s, tc);
  tc = tcase_create("build");
  tcase_add_loop_test(tc, test_build_table, 0, N_BUILD_CASES);
  tcase_add_loop_test(tc, test_build_exact_size, 0, N_BUILD_CASES);
  suite_add_tcase(s, tc);
  tc = tcase_create("form");
  tcase_add_loop_test(tc, test_form_table, 0, N(form_cases));
  tcase_add_test(tc, test_form_round_trip);
  tcase_add_test(tc, test_form_params);
  tcase_add_loop_test(tc, test_basic_table, 0, N(basic_cases));
  tcase_add_test(tc, test_basic_long);
  suite_add_tcase(s, tc);
  tc = tcase_create("scheme");
  tcase_add_loop_test(tc, test_scheme_table, 0, N(scheme_cases));
  suite_add_tcase(s, tc);
  tc = tcase_create("redact");
  tcase_add_loop_test(tc, test_redact_table, 0, N(redact_cases));
  tcase_add_test(tc, test_redact_every_size);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(url_suite()); }
