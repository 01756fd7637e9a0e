/* check_name.c - unit tests of the dw_name room. */
#include "dw_name.h"

#include "name_gen.h"
#include "run_suite.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define A10 "aaaaaaaaaa"
#define X10 "xxxxxxxxxx"
#define GEN_BASE 3000

typedef struct name_case {
  const char *text;
  size_t out_size;
  const char *want;
} name_case_t;

/* Expected hashes come from an independent FNV-1a implementation. */
static const name_case_t name_cases[] = {
    /* already safe: unchanged */
    {"a", 64, "a"},
    {"Water_heater", 64, "Water_heater"},
    {"-_", 64, "-_"},
    {"Oven-2_Kitchen", 64, "Oven-2_Kitchen"},
    {A10 A10 A10 A10 A10 A10 "aaa", 128, A10 A10 A10 A10 A10 A10 "aaa"},
    /* replaced bytes get the hash */
    {"Water heater", 64, "Water_heater_h7b3b47f5"},
    {"a.b", 64, "a_b_h108bf50c"},
    {"..", 64, "___ha3d4a70d"},
    {"Kitchen/Oven", 64, "Kitchen_Oven_ha87cadf6"},
    {" ", 64, "__h250c8f7f"},
    {"a\x01"
     "b",
     64, "a_b_h32f61fef"},
    {"caf\xc3\xa9", 64, "caf___ha82b5049"},
    {"\xff\xfe", 64, "___hd01ebb10"},
    {"Salle de bain (\xc3\xa9tage)", 64, "Salle_de_bain____tage__h4e608c77"},
    /* empty */
    {"", 64, "_h811c9dc5"},
    {NULL, 64, "_h811c9dc5"},
    /* too long: truncated to 63 with the hash, whatever out_size */
    {A10 A10 A10 A10 A10 A10 "aaaa", 128, A10 A10 A10 A10 A10 "aaa_hd96f0f85"},
    {X10 X10 X10 X10 X10 X10 X10, 128, X10 X10 X10 X10 X10 "xxx_h77f3c97d"},
    {X10 X10 X10 X10 X10 X10 X10, 1024, X10 X10 X10 X10 X10 "xxx_h77f3c97d"},
    {A10 A10 A10 A10 A10 A10 "aaa.", 128, A10 A10 A10 A10 A10 "aaa_h1a6f75d8"},
    /* safe, but shaped like a hashed name or ending in the "-latest" the
     * dispatcher appends: hashed, or they would merge with another name */
    {"x_y_hcaca3794", 64, "x_y_hcaca3794_h9fa2257b"},
    {"Water_heater_h7b3b47f5", 64, "Water_heater_h7b3b47f5_h47e83aa3"},
    {"fridge-latest", 64, "fridge-latest_h90e0b318"},
    {"-latest", 64, "-latest_h97baff53"},
    /* only the exact shapes are ambiguous: these stay as they are */
    {"a_hDEADBEEF", 64, "a_hDEADBEEF"},
    {"x_h0123456", 64, "x_h0123456"},
    {"x_h012345678", 64, "x_h012345678"},
    {"latest", 64, "latest"},
    {"fridge-latest2", 64, "fridge-latest2"},
    {"latest-fridge", 64, "latest-fridge"},
    {"fridge_latest", 64, "fridge_latest"},
    /* small buffers */
    {"Water_heate", 16, "Water_heate"},
    {"abcdefghijklmno", 16, "abcdefghijklmno"},
    {"abcdefghijklmnop", 16, "abcde_h068bb1f5"},
    {"Water heater", 16, "Water_h7b3b47f5"},
    {"Water heater", 11, "_h7b3b47f5"},
    /* below the documented minimum: the suffix is cut, nothing overflows */
    {"Water heater", 5, "_h7b"},
    {"Water heater", 1, ""},
};

START_TEST(test_name_table) {
  const name_case_t *c = &name_cases[_i];
  char buf[1100];
  memset(buf, '#', sizeof(buf));
  size_t len = dw_name_safe(buf, c->out_size, c->text);
  ck_assert_msg(strcmp(buf, c->want) == 0, "case %d: got \"%s\", want \"%s\"",
                _i, buf, c->want);
  ck_assert_uint_eq(len, strlen(c->want));
  /* nothing written past out_size */
  for (size_t i = c->out_size; i < sizeof(buf); i++)
    ck_assert_int_eq(buf[i], '#');
}
END_TEST

START_TEST(test_name_zero_size) {
  char buf[4] = "###";
  ck_assert_uint_eq(dw_name_safe(buf, 0, "abc"), 0);
  ck_assert_str_eq(buf, "###");
}
END_TEST

START_TEST(test_name_hash_vectors) {
  ck_assert_uint_eq(dw_name_hash(""), 0x811c9dc5u);
  ck_assert_uint_eq(dw_name_hash("a"), 0xe40c292cu);
  ck_assert_uint_eq(dw_name_hash("foobar"), 0xbf9cf968u);
}
END_TEST

/* NUL bytes are bytes like any other: '_' in the name, counted in the
 * hash, and the name does not end at them. */
START_TEST(test_name_safe_n) {
  char out[64];
  ck_assert_uint_eq(dw_name_safe_n(out, sizeof(out), "a\0b", 3), 13);
  ck_assert_str_eq(out, "a_b_h10f3abd2");
  ck_assert_uint_eq(dw_name_hash_n("a\0b", 3), 0x10f3abd2u);
  ck_assert_uint_eq(dw_name_hash_n("foobar", 6), dw_name_hash("foobar"));
  dw_name_safe_n(out, sizeof(out), "abc", 2); /* only len bytes count */
  ck_assert_str_eq(out, "ab");
  dw_name_safe_n(out, sizeof(out), "\0", 1);
  ck_assert_str_ne(out, "_h811c9dc5"); /* not the empty name */
  dw_name_safe_n(out, sizeof(out), NULL, 5);
  ck_assert_str_eq(out, "_h811c9dc5");
}
END_TEST

START_TEST(test_name_distinct) {
  char a[64], b[64];
  dw_name_safe(a, sizeof(a), "Water heater");
  dw_name_safe(b, sizeof(b), "Water_heater");
  ck_assert_str_ne(a, b);
  dw_name_safe(a, sizeof(a), "a.b");
  dw_name_safe(b, sizeof(b), "a/b");
  ck_assert_str_ne(a, b);
}
END_TEST

static bool all_safe(const char *s) {
  for (; *s != '\0'; s++) {
    if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789_-",
               *s) == NULL)
      return false;
  }
  return true;
}

/* Any byte string, any buffer of at least 16: safe, non-empty, <= 63. */
START_TEST(test_name_random) {
  srand(4242);
  for (int n = 0; n < 2000; n++) {
    char text[200];
    size_t text_len = (size_t)(rand() % 199);
    for (size_t i = 0; i < text_len; i++)
      text[i] = (char)(1 + rand() % 255);
    text[text_len] = '\0';
    size_t out_size = 16 + (size_t)(rand() % 120);
    char out[136];
    size_t len = dw_name_safe(out, out_size, text);
    ck_assert_uint_eq(len, strlen(out));
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_le(len, 63);
    ck_assert_uint_lt(len, out_size);
    ck_assert(all_safe(out));
  }
}
END_TEST

/* --- the property: two different names never get one safe name ------- */

static int gen_by_safe(const void *x, const void *y) {
  const gen_name_t *a = x, *b = y;
  int c = strcmp(a->safe, b->safe);
  return c != 0 ? c : gen_by_text(x, y);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

START_TEST(test_name_injective) {
  size_t n;
  gen_name_t *names = gen_names(GEN_BASE, 0x9e3779b97f4a7c15ull, &n);
  ck_assert_uint_gt(n, 2 * GEN_BASE);
  for (size_t i = 0; i < n; i++) {
    dw_name_safe_n(names[i].safe, sizeof(names[i].safe), names[i].text,
                   names[i].len);
    /* the twin the dispatcher builds can never be a name's own form */
    ck_assert_msg(!ends_with(names[i].safe, "-latest"), "%s", names[i].safe);
  }
  qsort(names, n, sizeof(*names), gen_by_safe);
  for (size_t i = 1; i < n; i++) {
    char a[DW_SHOWN_SIZE], b[DW_SHOWN_SIZE];
    ck_assert_msg(
        strcmp(names[i - 1].safe, names[i].safe) != 0,
        "\"%s\" and \"%s\" both become %s",
        dw_name_printable(a, sizeof(a), names[i - 1].text, names[i - 1].len),
        dw_name_printable(b, sizeof(b), names[i].text, names[i].len),
        names[i].safe);
  }
  free(names);
}
END_TEST

static const struct {
  const char *text;
  bool safe;
} safe_cases[] = {
    {"home", true},      {"a-b_C9", true},       {"", false},
    {"a b", false},      {"a.b", false},         {"a/b", false},
    {"\xc3\xa9", false}, {"account-main", true},
};

START_TEST(test_is_safe_table) {
  ck_assert_int_eq(
      dw_name_is_safe(safe_cases[_i].text, strlen(safe_cases[_i].text)),
      safe_cases[_i].safe);
}
END_TEST

START_TEST(test_is_safe_length) {
  char text[65];
  memset(text, 'x', sizeof(text));
  ck_assert(dw_name_is_safe(text, 63));
  ck_assert(!dw_name_is_safe(text, 64));
}
END_TEST

START_TEST(test_printable) {
  char out[12]; /* (12 - 4) / 4 = 2 input bytes before the cut */
  ck_assert_str_eq(dw_name_printable(out, sizeof(out), "ab", 2), "ab");
  ck_assert_str_eq(dw_name_printable(out, sizeof(out), "abc", 3), "ab...");
  ck_assert_str_eq(dw_name_printable(out, sizeof(out), "\"\n", 2), "\\\"\\x0a");
  ck_assert_str_eq(dw_name_printable(out, sizeof(out), "\xff\xfe", 2),
                   "\\xff\\xfe");
  char wide[84];
  char in[100];
  memset(in, 0x01, sizeof(in));
  dw_name_printable(wide, sizeof(wide), in, sizeof(in)); /* 20 x "\x01" */
  ck_assert_uint_eq(strlen(wide), 20 * 4 + 3);
}
END_TEST

static Suite *name_suite(void) {
  Suite *s = suite_create("dw_name");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_name_table, 0,
                      (int)(sizeof(name_cases) / sizeof(name_cases[0])));
  tcase_add_test(tc, test_name_zero_size);
  tcase_add_test(tc, test_name_hash_vectors);
  tcase_add_test(tc, test_name_safe_n);
  tcase_add_test(tc, test_name_distinct);
  tcase_add_test(tc, test_name_random);
  tcase_add_test(tc, test_name_injective);
  tcase_add_loop_test(tc, test_is_safe_table, 0,
                      sizeof(safe_cases) / sizeof(safe_cases[0]));
  tcase_add_test(tc, test_is_safe_length);
  tcase_add_test(tc, test_printable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(name_suite()); }
