/* check_token.c - unit tests of the dw_token room. */
#include "dw_token.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every access token in the tables holds this marker, so a test can tell
 * whether an error message ever quotes one. */
#define MARK "SeCrEt"
#define JWT                                                                    \
  "eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIiwia2lkIiA6ICJiajE5UDNVT3psaEFGdVA3"   \
  "OXNXbl9PTE5EN1F1LUpJRV9oWU9wSlBKeENJIn0"
#define T0 1700000000000LL /* an arbitrary "now", in ms */
#define ERR_SIZE 256

static dw_token_t *must_create(void) {
  dw_token_t *t = dw_token_create();
  ck_assert_ptr_nonnull(t);
  return t;
}

static int parse_str(dw_token_t *t, const char *body, int64_t now_ms,
                     char *err) {
  return dw_token_parse(t, body, strlen(body), now_ms, err, ERR_SIZE);
}

/* --- valid responses ----------------------------------------------------- */

typedef struct valid_case {
  const char *body;
  const char *header;
  long lifetime_s;
} valid_case_t;

static const valid_case_t valid_cases[] = {
    /* the contract's example */
    {"{\"access_token\":\"" JWT "\",\"expires_in\":36000,"
     "\"token_type\":\"Bearer\"}",
     "Authorization: Bearer " JWT, 36000},
    {"{\"token_type\":\"bearer\",\"access_token\":\"" MARK "\","
     "\"expires_in\":60}",
     "Authorization: bearer " MARK, 60},
    {" \n{ \"access_token\" : \"" MARK "==\" , \"token_type\" : \"BEARER\" ,"
     " \"expires_in\" : 1 }\n ",
     "Authorization: BEARER " MARK "==", 1},
    {"{\"access_token\":\"A-._~+/z9" MARK "=\",\"token_type\":\"Bearer\","
     "\"expires_in\":3600}",
     "Authorization: Bearer A-._~+/z9" MARK "=", 3600},
    /* expires_in forms */
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\"}",
     "Authorization: Bearer " MARK, DW_TOKEN_DEFAULT_LIFETIME_S},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":null}",
     "Authorization: Bearer " MARK, DW_TOKEN_DEFAULT_LIFETIME_S},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":\"3600\"}",
     "Authorization: Bearer " MARK, 3600},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":\"3600.9\"}",
     "Authorization: Bearer " MARK, 3600},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":3600.9}",
     "Authorization: Bearer " MARK, 3600},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":1e3}",
     "Authorization: Bearer " MARK, 1000},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":1e300}",
     "Authorization: Bearer " MARK, DW_TOKEN_MAX_LIFETIME_S},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":\"99999999999999999999\"}",
     "Authorization: Bearer " MARK, DW_TOKEN_MAX_LIFETIME_S},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":31622400}",
     "Authorization: Bearer " MARK, 31622400},
    {"{\"access_token\":\"" MARK "\",\"token_type\":\"Bearer\","
     "\"expires_in\":31622401}",
     "Authorization: Bearer " MARK, 31622400},
    /* extra members of any shape */
    {"{\"access_token\":\"" MARK "\",\"token_type\":"
     "\"bEaReR\",\"scope\":\"read\","
     "\"refresh_expires_in\":0,\"not-before-policy\":false,"
     "\"extra\":{\"a\":[1,{\"b\":null}]}}",
     "Authorization: bEaReR " MARK, DW_TOKEN_DEFAULT_LIFETIME_S},
};

START_TEST(test_valid_table) {
  const valid_case_t *c = &valid_cases[_i];
  dw_token_t *t = must_create();
  char err[ERR_SIZE];
  int rc = parse_str(t, c->body, T0, err);
  ck_assert_msg(rc == 0, "case %d: rc %d, err \"%s\"", _i, rc, err);
  ck_assert_str_eq(err, "");
  ck_assert_str_eq(dw_token_header(t), c->header);
  ck_assert_int_eq(dw_token_lifetime_s(t), c->lifetime_s);
  ck_assert(dw_token_usable(t, T0));
  dw_token_destroy(t);
}
END_TEST

/* --- invalid responses --------------------------------------------------- */

#define AT "\"access_token\":\"" MARK "\""
#define TT "\"token_type\":\"Bearer\""

typedef struct invalid_case {
  const char *body;
  const char *why; /* a part of the expected reason */
} invalid_case_t;

static const invalid_case_t invalid_cases[] = {
    /* not a JSON object */
    {"", "empty"},
    {MARK, "not acceptable JSON"},
    {"{" AT "," TT, "not acceptable JSON"},
    {"{" AT "," TT "} " MARK, "not acceptable JSON"},
    {"{" AT "," TT ",\"expires_in\":NaN}", "not acceptable JSON"},
    {"{\"access_token\":\"" MARK "\xff\"," TT "}", "not acceptable JSON"},
    {"[\"" MARK "\"]", "not a JSON object"},
    {"\"" MARK "\"", "not a JSON object"},
    {"null", "not a JSON object"},
    /* limits */
    {"{" AT "," TT ",\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", "nesting"},
    {"{" AT "," TT ",\"a\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
     "20,21,22,23,24,25,26,27,28,29,30,31,32,33]}",
     "entries"},
    /* access_token */
    {"{" TT "}", "access_token is missing"},
    {"{" TT ",\"access_token\":null}", "access_token is not a string"},
    {"{" TT ",\"access_token\":12345}", "access_token is not a string"},
    {"{" TT ",\"access_token\":[\"" MARK "\"]}",
     "access_token is not a string"},
    {"{" TT ",\"access_token\":\"\"}", "access_token is empty"},
    {"{" TT ",\"access_token\":\"" MARK " x\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "\\r\\nX-Evil: 1\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "\\u0000\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "\\u0000x\"}", "b64token"},
    {"{" AT ",\"token_type\":\"Bearer\\u0000\"}", "token_type is not a word"},
    {"{" AT "," TT ",\"expires_in\":\"36\\u00000\"}",
     "expires_in is not a number"},
    {"{" TT ",\"access_token\":\"=" MARK "\"}", "b64token"},
    {"{" TT ",\"access_token\":\"==\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "=x\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK ",x\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "\\\"x\"}", "b64token"},
    {"{" TT ",\"access_token\":\"" MARK "\xc3\xa9\"}", "b64token"},
    /* token_type */
    {"{" AT "}", "token_type is missing"},
    {"{" AT ",\"token_type\":7}", "token_type is not a string"},
    {"{" AT ",\"token_type\":\"\"}", "token_type is empty or longer"},
    {"{" AT ",\"token_type\":\"abcdefghijklmnopqrstuvwxyz_-01234\"}",
     "token_type is empty or longer"},
    {"{" AT ",\"token_type\":\"Bearer x\"}", "token_type is not a word"},
    {"{" AT ",\"token_type\":\"MAC\"}", "token_type is not Bearer"},
    {"{" AT ",\"token_type\":\"DPoP\"}", "token_type is not Bearer"},
    {"{" AT ",\"token_type\":\"Bear.er\"}", "token_type is not a word"},
    {"{" AT ",\"token_type\":\"Bearer\\n\"}", "token_type is not a word"},
    {"{" AT ",\"token_type\":\"Bearer:\"}", "token_type is not a word"},
    /* expires_in */
    {"{" AT "," TT ",\"expires_in\":0}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":-1}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":-0.0}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":0.5}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":-1e300}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":\"0\"}", "at least one second"},
    {"{" AT "," TT ",\"expires_in\":1e999}", "out of the range"},
    {"{" AT "," TT ",\"expires_in\":-1e999}", "out of the range"},
    {"{" AT "," TT ",\"expires_in\":true}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":{}}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":[3600]}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"abc\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\" 3600\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"3600s\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"3600.\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\".5\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"1e3\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"0x10\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"-5\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"+5\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"nan\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"inf\"}", "expires_in is not a number"},
    {"{" AT "," TT ",\"expires_in\":\"999999999999999999999\"}",
     "expires_in is not a number"},
};

#define N_INVALID ((int)(sizeof(invalid_cases) / sizeof(invalid_cases[0])))

/* Each invalid body is refused with its reason, leaves the old token as
 * it was, and the reason never quotes the token. */
START_TEST(test_invalid_table) {
  const invalid_case_t *c = &invalid_cases[_i];
  dw_token_t *t = must_create();
  char err[ERR_SIZE];
  ck_assert_int_eq(
      parse_str(t,
                "{\"access_token\":\"old\",\"token_type\":\"Bearer\","
                "\"expires_in\":600}",
                T0, err),
      0);
  int rc = parse_str(t, c->body, T0 + 1000, err);
  ck_assert_msg(rc == -EINVAL, "case %d: rc %d", _i, rc);
  ck_assert_msg(strstr(err, c->why) != NULL, "case %d: err \"%s\"", _i, err);
  ck_assert_msg(strstr(err, MARK) == NULL, "case %d quotes: %s", _i, err);
  ck_assert_str_eq(dw_token_header(t), "Authorization: Bearer old");
  ck_assert_int_eq(dw_token_lifetime_s(t), 600);
  ck_assert(dw_token_usable(t, T0 + 539999));
  ck_assert(!dw_token_usable(t, T0 + 540000));
  dw_token_destroy(t);
}
END_TEST

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  ck_assert_ptr_nonnull(s);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

/* access_token of exactly DW_TOKEN_MAX_LEN passes, one byte more fails. */
START_TEST(test_token_length_limit) {
  char *tok = repeat('A', DW_TOKEN_MAX_LEN + 1);
  size_t body_size = DW_TOKEN_MAX_LEN + 128;
  char *body = malloc(body_size);
  ck_assert_ptr_nonnull(body);
  dw_token_t *t = must_create();
  char err[ERR_SIZE];

  tok[DW_TOKEN_MAX_LEN] = '\0';
  snprintf(body, body_size, "{\"access_token\":\"%s\",%s}", tok, TT);
  ck_assert_int_eq(parse_str(t, body, T0, err), 0);
  ck_assert_uint_eq(strlen(dw_token_header(t)),
                    strlen("Authorization: Bearer ") + DW_TOKEN_MAX_LEN);

  tok[DW_TOKEN_MAX_LEN] = 'A';
  snprintf(body, body_size, "{\"access_token\":\"%s\",%s}", tok, TT);
  ck_assert_int_eq(parse_str(t, body, T0, err), -EINVAL);
  ck_assert_ptr_null(strstr(err, "AAAA"));

  free(body);
  free(tok);
  dw_token_destroy(t);
}
END_TEST

/* A body over DW_TOKEN_MAX_BODY is refused before it is parsed. */
START_TEST(test_body_size_limit) {
  char *body = repeat(' ', DW_TOKEN_MAX_BODY + 1);
  const char *json = "{" AT "," TT "}";
  memcpy(body, json, strlen(json));
  dw_token_t *t = must_create();
  char err[ERR_SIZE];
  ck_assert_int_eq(
      dw_token_parse(t, body, DW_TOKEN_MAX_BODY, T0, err, sizeof(err)), 0);
  ck_assert_int_eq(
      dw_token_parse(t, body, DW_TOKEN_MAX_BODY + 1, T0, err, sizeof(err)),
      -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "16384"));
  free(body);
  dw_token_destroy(t);
}
END_TEST

/* Odd arguments: NULL token, NULL body, no room for err. */
START_TEST(test_bad_arguments) {
  dw_token_t *t = must_create();
  char err[ERR_SIZE];
  const char *body = "{" AT "," TT "}";
  ck_assert_int_eq(dw_token_parse(NULL, body, strlen(body), T0, err, 256),
                   -EINVAL);
  ck_assert_int_eq(dw_token_parse(t, NULL, 5, T0, err, sizeof(err)), -EINVAL);
  ck_assert_int_eq(dw_token_parse(t, NULL, 0, T0, err, sizeof(err)), -EINVAL);
  ck_assert_ptr_null(dw_token_header(t));
  ck_assert_int_eq(dw_token_parse(t, "[]", 2, T0, NULL, 0), -EINVAL);
  char tiny[8];
  memset(tiny, '#', sizeof(tiny));
  ck_assert_int_eq(dw_token_parse(t, "[]", 2, T0, tiny, 4), -EINVAL);
  ck_assert_str_eq(tiny, "tok");
  ck_assert_int_eq(tiny[4], '#');
  ck_assert_int_eq(dw_token_parse(t, body, strlen(body), T0, NULL, 0), 0);
  ck_assert_str_eq(dw_token_header(t), "Authorization: Bearer " MARK);
  dw_token_destroy(t);
}
END_TEST

/* --- expiry and renewal -------------------------------------------------- */

typedef struct expiry_case {
  long expires_in_s;
  int64_t renew_after_ms; /* from the parse time */
} expiry_case_t;

static const expiry_case_t expiry_cases[] = {
    {1, 500},                     /* margin 5 s capped at half: 0.5 s */
    {2, 1000},                    /* half */
    {8, 4000},                    /* 5 s minimum capped at half: 4 s */
    {10, 5000},                   /* minimum 5 s is exactly half */
    {11, 6000},                   /* minimum 5 s */
    {50, 45000},                  /* a tenth is exactly the minimum */
    {100, 90000},                 /* a tenth: 10 s */
    {300, 270000},                /* the default lifetime: 30 s */
    {3000, 2700000},              /* a tenth is exactly the maximum */
    {4000, 3700000},              /* maximum 300 s */
    {36000, 35700000},            /* the contract's example */
    {DW_TOKEN_MAX_LIFETIME_S + 5, /* clamped, then 300 s */
     DW_TOKEN_MAX_LIFETIME_S * 1000 - 300000},
};

static int parse_with_lifetime(dw_token_t *t, long expires_in_s,
                               int64_t now_ms) {
  char body[256];
  char err[ERR_SIZE];
  snprintf(body, sizeof(body), "{" AT "," TT ",\"expires_in\":%ld}",
           expires_in_s);
  return parse_str(t, body, now_ms, err);
}

START_TEST(test_expiry_table) {
  const expiry_case_t *c = &expiry_cases[_i];
  const int64_t starts[] = {T0, 0, -5000000};
  for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
    int64_t now_ms = starts[i];
    dw_token_t *t = must_create();
    ck_assert_int_eq(parse_with_lifetime(t, c->expires_in_s, now_ms), 0);
    ck_assert(dw_token_usable(t, now_ms));
    ck_assert(dw_token_usable(t, now_ms - 1000)); /* clock stepped back */
    ck_assert_msg(dw_token_usable(t, now_ms + c->renew_after_ms - 1),
                  "case %d: not usable 1 ms before renewal", _i);
    ck_assert_msg(!dw_token_usable(t, now_ms + c->renew_after_ms),
                  "case %d: still usable at renewal", _i);
    ck_assert(!dw_token_usable(t, INT64_MAX));
    /* the header stays until replaced or invalidated */
    ck_assert_ptr_nonnull(dw_token_header(t));
    dw_token_destroy(t);
  }
}
END_TEST

/* A "now" near the end of int64 saturates instead of wrapping. */
START_TEST(test_expiry_saturates) {
  dw_token_t *t = must_create();
  ck_assert_int_eq(parse_with_lifetime(t, 3600, INT64_MAX - 10), 0);
  ck_assert(dw_token_usable(t, INT64_MAX - 1));
  ck_assert(!dw_token_usable(t, INT64_MAX));
  dw_token_destroy(t);
}
END_TEST

/* --- life cycle ---------------------------------------------------------- */

START_TEST(test_empty_token) {
  dw_token_t *t = must_create();
  ck_assert(!dw_token_usable(t, T0));
  ck_assert(!dw_token_usable(t, INT64_MIN));
  ck_assert_ptr_null(dw_token_header(t));
  ck_assert_int_eq(dw_token_lifetime_s(t), 0);
  dw_token_invalidate(t);
  ck_assert_ptr_null(dw_token_header(t));
  dw_token_destroy(t);
  /* NULL is accepted everywhere */
  dw_token_destroy(NULL);
  dw_token_invalidate(NULL);
  ck_assert(!dw_token_usable(NULL, T0));
  ck_assert_ptr_null(dw_token_header(NULL));
  ck_assert_int_eq(dw_token_lifetime_s(NULL), 0);
}
END_TEST

START_TEST(test_invalidate) {
  dw_token_t *t = must_create();
  ck_assert_int_eq(parse_with_lifetime(t, 3600, T0), 0);
  ck_assert(dw_token_usable(t, T0 + 1000));
  dw_token_invalidate(t);
  ck_assert(!dw_token_usable(t, T0 + 1000));
  ck_assert_ptr_null(dw_token_header(t));
  /* a new token can be parsed after a 401 */
  ck_assert_int_eq(parse_with_lifetime(t, 60, T0 + 2000), 0);
  ck_assert(dw_token_usable(t, T0 + 2000));
  ck_assert_int_eq(dw_token_lifetime_s(t), 60);
  dw_token_destroy(t);
}
END_TEST

/* A new token replaces the old one, header and expiry both. */
START_TEST(test_replace) {
  dw_token_t *t = must_create();
  char err[ERR_SIZE];
  ck_assert_int_eq(
      parse_str(t,
                "{\"access_token\":\"first\",\"token_type\":\"Bearer\","
                "\"expires_in\":100}",
                T0, err),
      0);
  ck_assert_str_eq(dw_token_header(t), "Authorization: Bearer first");
  ck_assert(!dw_token_usable(t, T0 + 90000));
  ck_assert_int_eq(
      parse_str(t,
                "{\"access_token\":\"second\",\"token_type\":\"bearer\","
                "\"expires_in\":200}",
                T0 + 90000, err),
      0);
  ck_assert_str_eq(dw_token_header(t), "Authorization: bearer second");
  ck_assert_int_eq(dw_token_lifetime_s(t), 200);
  ck_assert(dw_token_usable(t, T0 + 90000 + 179999));
  ck_assert(!dw_token_usable(t, T0 + 90000 + 180000));
  dw_token_destroy(t);
}
END_TEST

static Suite *token_suite(void) {
  Suite *s = suite_create("dw_token");
  TCase *tc = tcase_create("parse");
  tcase_add_loop_test(tc, test_valid_table, 0,
                      (int)(sizeof(valid_cases) / sizeof(valid_cases[0])));
  tcase_add_loop_test(tc, test_invalid_table, 0, N_INVALID);
  tcase_add_test(tc, test_token_length_limit);
  tcase_add_test(tc, test_body_size_limit);
  tcase_add_test(tc, test_bad_arguments);
  suite_add_tcase(s, tc);
  tc = tcase_create("expiry");
  tcase_add_loop_test(tc, test_expiry_table, 0,
                      (int)(sizeof(expiry_cases) / sizeof(expiry_cases[0])));
  tcase_add_test(tc, test_expiry_saturates);
  suite_add_tcase(s, tc);
  tc = tcase_create("life");
  tcase_add_test(tc, test_empty_token);
  tcase_add_test(tc, test_invalidate);
  tcase_add_test(tc, test_replace);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(token_suite()); }
