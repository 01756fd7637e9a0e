/* check_validate.c - the whole-configuration checks of dw_validate, and
 * the promise behind them: each SmartmeterFile is read once at start,
 * by validation, and the accounts are built from what it read. */
#include "dw_account.h"
#include "dw_config.h"
#include "dw_http.h"
#include "dw_validate.h"
#include "run_suite.h"
#include "stand_in.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char file_path[64];

static void write_meters(const char *text) {
  FILE *f = fopen(file_path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void setup(void) {
  standin_reset();
  snprintf(file_path, sizeof(file_path), "/tmp/check_validate.XXXXXX");
  int fd = mkstemp(file_path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

static void teardown(void) {
  unlink(file_path);
  standin_reset();
}

/* Each top-level block of text through dw_config_parse(), as collectd
 * hands them over; no validation. */
static void parse_blocks(const char *text, dw_config_t *cfg) {
  oconfig_item_t *root = standin_config_parse(text);
  ck_assert_ptr_nonnull(root);
  for (int i = 0; i < root->children_num; i++)
    ck_assert_int_eq(dw_config_parse(&root->children[i], cfg), 0);
  standin_config_free(root);
}

static char *account_text(const char *name, const char *extra) {
  static char text[1024];
  snprintf(text, sizeof(text),
           "<Plugin digiwatt>\n <Account \"%s\">\n"
           "  BaseURL \"http://127.0.0.1:9\"\n  ClientID \"id\"\n"
           "  ClientSecret \"s\"\n  Timeout 1\n%s </Account>\n</Plugin>\n",
           name, extra);
  return text;
}

/* Reading the configuration reads no SmartmeterFile: a missing one is
 * found by validation. */
START_TEST(parsing_reads_no_meter_file) {
  unlink(file_path);
  char extra[256];
  snprintf(extra, sizeof(extra), "  SmartmeterFile \"%s\"\n", file_path);
  dw_config_t cfg = {0};
  parse_blocks(account_text("a", extra), &cfg);
  ck_assert_uint_eq(standin_log_count(), 0);
  dw_validated_t v;
  ck_assert_int_eq(dw_validate(&cfg, &v), -EINVAL);
  ck_assert(standin_log_contains_at(LOG_ERR, "cannot open: No such file"));
  ck_assert_uint_eq(v.len, 0);
  dw_config_free(&cfg);
}
END_TEST

/* Checks across <Plugin> blocks happen once, over the whole. */
START_TEST(validation_sees_every_block) {
  dw_config_t cfg = {0};
  parse_blocks(account_text("a", "  <Smartmeter \"m\">\n  </Smartmeter>\n"),
               &cfg);
  parse_blocks(account_text("b", "  <Smartmeter \"m\">\n  </Smartmeter>\n"),
               &cfg);
  parse_blocks(account_text("a", "  <Smartmeter \"n\">\n  </Smartmeter>\n"),
               &cfg);
  ck_assert_uint_eq(cfg.accounts_len, 3);
  ck_assert_uint_eq(standin_log_count(), 0);
  dw_validated_t v;
  ck_assert_int_eq(dw_validate(&cfg, &v), -EINVAL);
  ck_assert(standin_log_contains_at(LOG_ERR,
                                    "<Account \"a\">: duplicate account name"));
  ck_assert(standin_log_contains_at(
      LOG_ERR, "<Account \"b\"> <Smartmeter \"m\">: plugin instance \"m\" is "
               "already used by <Account \"a\"> <Smartmeter \"m\">"));
  ck_assert_uint_eq(standin_log_count(), 2);
  dw_config_free(&cfg);
}
END_TEST

/* The file is read by validation, and the account is built from that
 * reading: removing the file afterwards loses no meter. */
START_TEST(each_meter_file_is_read_once) {
  write_meters("f1\nf2 second\n");
  char extra[256];
  snprintf(extra, sizeof(extra), "  SmartmeterFile \"%s\"\n", file_path);
  dw_config_t cfg = {0};
  parse_blocks(account_text("a", extra), &cfg);
  dw_validated_t v;
  ck_assert_int_eq(dw_validate(&cfg, &v), 0);
  ck_assert_uint_eq(v.len, 1);
  ck_assert_uint_eq(v.files[0].file.len, 2);
  unlink(file_path);

  ck_assert_int_eq(dw_http_global_init(), 0);
  dw_account_t *a = dw_account_create(&cfg.accounts[0], &v.files[0].file,
                                      &v.files[0].stamp, dw_clock_monotonic());
  ck_assert_ptr_nonnull(a);
  ck_assert_uint_eq(v.files[0].file.len, 0); /* moved into the account */
  dw_validated_free(&v);
  dw_config_free(&cfg);
  /* nothing answers on port 9: the cycle fails fast, and still reports
   * on every meter it holds */
  dw_account_read(a, (uint64_t)1795000000 << 30, (uint64_t)10 << 30);
  ck_assert_ptr_nonnull(
      standin_find_value("f1", "digiwatt_data_age_seconds", ""));
  ck_assert_ptr_nonnull(
      standin_find_value("second", "digiwatt_data_age_seconds", ""));
  ck_assert(!standin_log_contains("SmartmeterFile"));
  dw_account_destroy(a);
}
END_TEST

static Suite *validate_suite(void) {
  Suite *s = suite_create("validate");
  TCase *tc = tcase_create("validate");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, parsing_reads_no_meter_file);
  tcase_add_test(tc, validation_sees_every_block);
  tcase_add_test(tc, each_meter_file_is_read_once);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(validate_suite()); }
