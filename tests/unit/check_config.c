/* check_config.c - unit tests of the configuration rooms: dw_config and
 * the rooms it reads through (dw_option, dw_secret, dw_urlpolicy), with
 * dw_validate after them as the plugin's init runs it; and of the
 * stand-in's own config reader and recorders, which every other room's
 * tests use.
 *
 * Configurations are written in collectd.conf syntax and read with the
 * stand-in's parser; "@DIR@" in them becomes a fresh temporary directory
 * that holds the secret files below. */
#include "dw_config.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_urlpolicy.h"
#include "dw_validate.h"
#include "run_suite.h"
#include "stand_in.h"
#include "text_buf.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Secrets that must never reach a log line. */
#define SECRET "hunter2-do-not-log"
#define FILE_SECRET "file-secret-do-not-log"

static char tmp_dir[64];

/* SmartmeterFiles the tests name as "@DIR@/<name>". */
static const struct {
  const char *name;
  const char *content;
} fleet_files[] = {
    {"fleet", "# the fleet\nf1\nf2 two\r\n\nm home2 # also a block\n"},
    {"fleet-empty", "# nothing yet\n\n"},
    {"fleet-bad", "f1\nf2\nf3 not.an.instance\n"},
    {"fleet-m9", "m9\n"},
    {"fleet-block-clash", "other m\n"},
    {"fleet-self-clash", "a shared\nshared\n"},
    {"fleet-many-clashes",
     "s00 x\ns01 x\ns02 x\ns03 x\ns04 x\ns05 x\ns06 x\ns07 x\ns08 x\ns09 x\n"
     "s10 x\ns11 x\ns12 x\ns13 x\ns14 x\ns15 x\ns16 x\ns17 x\ns18 x\ns19 x\n"
     "s20 x\ns21 x\ns22 x\ns23 x\ns24 x\ns25 x\ns26 x\ns27 x\ns28 x\ns29 x\n"
     "s30 x\ns31 x\ns32 x\ns33 x\ns34 x\ns35 x\ns36 x\ns37 x\ns38 x\ns39 x\n"
     "s40 x\ns41 x\ns42 x\ns43 x\ns44 x\ns45 x\ns46 x\ns47 x\ns48 x\ns49 x\n"
     "s50 x\ns51 x\ns52 x\ns53 x\ns54 x\ns55 x\ns56 x\ns57 x\ns58 x\ns59 x\n"},
};

static void write_file(const char *name, const char *content, mode_t mode) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(content);
  ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
  ck_assert_int_eq(fchmod(fd, mode), 0);
  close(fd);
}

static void remove_file(const char *name) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
  unlink(path);
}

/* The secret files live for a whole test case and are only read: the
 * unchecked fixture runs in the parent process, so a failing test (which
 * ends its forked child at once) still leaves no directory behind. */
static void files_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/check_config.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
  write_file("secret", FILE_SECRET "\r\nsecond line\n", 0600);
  write_file("shared-secret", FILE_SECRET "\n", 0644);
  write_file("empty", "", 0600);
  write_file("blank-line", "\nsomething\n", 0600);
  char long_line[5001];
  memset(long_line, 'x', sizeof(long_line) - 1);
  long_line[sizeof(long_line) - 1] = '\0';
  write_file("long-line", long_line, 0600);
  for (size_t i = 0; i < sizeof(fleet_files) / sizeof(fleet_files[0]); i++)
    write_file(fleet_files[i].name, fleet_files[i].content, 0644);
}

static void files_teardown(void) {
  remove_file("secret");
  remove_file("shared-secret");
  remove_file("empty");
  remove_file("blank-line");
  remove_file("long-line");
  for (size_t i = 0; i < sizeof(fleet_files) / sizeof(fleet_files[0]); i++)
    remove_file(fleet_files[i].name);
  rmdir(tmp_dir);
}

/* text with every "@DIR@" replaced by the temporary directory; free it. */
static char *expand(const char *text) {
  size_t cap = strlen(text) * 4 + 1;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  size_t len = 0;
  for (const char *p = text; *p != '\0';) {
    if (strncmp(p, "@DIR@", 5) == 0) {
      len += (size_t)snprintf(out + len, cap - len, "%s", tmp_dir);
      p += 5;
    } else {
      out[len++] = *p++;
    }
  }
  out[len] = '\0';
  return out;
}

/* Hands each top-level block of text to dw_config_parse(), as collectd
 * does, then validates the whole once, as the plugin's init does (and
 * empties cfg when validation fails, as init does); returns the first
 * error (every block is still handed over). */
static int parse_text(const char *text, dw_config_t *cfg) {
  char *expanded = expand(text);
  oconfig_item_t *root = standin_config_parse(expanded);
  free(expanded);
  ck_assert_ptr_nonnull(root);
  int status = 0;
  for (int i = 0; i < root->children_num; i++) {
    ck_assert_str_eq(root->children[i].key, "Plugin");
    int rc = dw_config_parse(&root->children[i], cfg);
    if (status == 0)
      status = rc;
  }
  standin_config_free(root);
  if (status != 0)
    return status;
  dw_validated_t files;
  status = dw_validate(cfg, &files);
  dw_validated_free(&files);
  if (status != 0)
    dw_config_free(cfg);
  return status;
}

static void assert_no_secret_logged(void) {
  for (size_t i = 0; i < standin_log_count(); i++) {
    const char *text = standin_log_at(i)->text;
    ck_assert_msg(strstr(text, SECRET) == NULL, "secret logged: %s", text);
    ck_assert_msg(strstr(text, FILE_SECRET) == NULL, "secret logged: %s", text);
  }
}

static void assert_every_line_prefixed(void) {
  for (size_t i = 0; i < standin_log_count(); i++)
    ck_assert_msg(strncmp(standin_log_at(i)->text, "digiwatt plugin: ", 17) ==
                      0,
                  "no prefix: %s", standin_log_at(i)->text);
}

static void assert_default_paths(const dw_account_cfg_t *a) {
  for (int r = 0; r < DW_RES_COUNT; r++) {
    const dw_resource_info_t *info = dw_resource_info((dw_resource_t)r);
    ck_assert_str_eq(a->paths[r], info->default_path);
  }
}

static void assert_default_refresh(const dw_account_cfg_t *a) {
  for (int r = 0; r < DW_RES_COUNT; r++)
    ck_assert_int_eq(a->refresh_ms[r],
                     1000L * dw_resource_info((dw_resource_t)r)->refresh_s);
}

#define RES(r) (1u << DW_RES_##r)
#define PER(p) (1u << DW_PERIOD_##p)

/* --- good configurations ------------------------------------------------ */

START_TEST(test_minimal) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              "  <Account \"main\">\n"
                              "    BaseURL \"https://api.example/v1/\"\n"
                              "    ClientID \"my-client\"\n"
                              "    ClientSecret \"" SECRET "\"\n"
                              "    <Smartmeter \"125fd56\">\n"
                              "    </Smartmeter>\n"
                              "  </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_uint_eq(standin_log_count(), 0);
  ck_assert_uint_eq(cfg.accounts_len, 1);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert_str_eq(a->name, "main");
  ck_assert_str_eq(a->base_url, "https://api.example/v1");
  ck_assert_str_eq(a->token_url, "https://api.example/v1/auth/token");
  ck_assert_str_eq(a->client_id, "my-client");
  ck_assert_str_eq(a->client_secret, SECRET);
  ck_assert_ptr_null(a->secret_file);
  ck_assert_int_eq(a->timeout_ms, DW_DEFAULT_TIMEOUT_MS);
  ck_assert_int_eq(a->cycle_timeout_ms, 0);
  ck_assert_int_eq(a->interval_ms, 0);
  ck_assert_uint_eq(a->max_concurrency, DW_DEFAULT_MAX_CONCURRENCY);
  ck_assert_uint_eq(a->max_body, DW_DEFAULT_MAX_BODY);
  ck_assert(a->max_requests_per_s == 0); /* no limit */
  ck_assert(a->verify_peer);
  ck_assert(a->verify_host);
  ck_assert(!a->allow_insecure_http);
  ck_assert(a->monthly_history);
  ck_assert_ptr_null(a->ca_cert);
  ck_assert_ptr_null(a->ca_path);
  ck_assert_ptr_null(a->client_cert);
  ck_assert_ptr_null(a->client_key);
  ck_assert_ptr_null(a->client_key_password);
  ck_assert_ptr_null(a->proxy); /* libcurl's environment */
  ck_assert_str_eq(a->user_agent, "collectd-digiwatt/" PACKAGE_VERSION);
  ck_assert_uint_eq(a->headers.len, 0);
  ck_assert_uint_eq(a->token_params.len, 0);
  ck_assert(!a->token_auth_basic);
  ck_assert_ptr_null(a->smartmeter_file);
  ck_assert_uint_eq(a->shard.index, 0);
  ck_assert_uint_eq(a->shard.count, 0);
  ck_assert_int_eq(a->backoff_max_ms, DW_DEFAULT_BACKOFF_MAX_MS);
  ck_assert_int_eq(a->backoff_max_ms, 3600000);
  ck_assert_uint_eq(a->failure_threshold, DW_DEFAULT_FAILURE_THRESHOLD);
  ck_assert_uint_eq(a->failure_threshold, 3);
  ck_assert(a->self_metrics);
  assert_default_paths(a);
  assert_default_refresh(a);
  ck_assert_uint_eq(a->resources, DW_RES_ALL);
  ck_assert_uint_eq(a->periods, DW_PERIOD_ALL);
  ck_assert_uint_eq(a->meters_len, 1);
  ck_assert_str_eq(a->meters[0].id, "125fd56");
  ck_assert_str_eq(a->meters[0].instance, "125fd56");
  ck_assert_uint_eq(a->meters[0].resources, DW_RES_ALL);
  ck_assert_uint_eq(a->meters[0].periods, DW_PERIOD_ALL);
  dw_config_free(&cfg);
  ck_assert_ptr_null(cfg.accounts);
  ck_assert_uint_eq(cfg.accounts_len, 0);
}
END_TEST

/* Every option away from its default, the account's Resources after the
 * <Smartmeter> that inherits them, and plain http allowed on purpose. */
static const char full_config[] =
    "<Plugin digiwatt>\n"
    "  <Account \"home_2-b\">   # a comment\n"
    "    <Smartmeter \"AB.12/x\">\n"
    "      Periods \"last-week\"\n"
    "    </Smartmeter>\n"
    "    <Smartmeter \"125fd56\">\n"
    "      Instance \"home\"\n"
    "      Resources \"savings\" \"disaggregation\"\n"
    "    </Smartmeter>\n"
    "    BaseURL \"http://api.example:8080/v1//\"\n"
    "    TokenURL \"https://sso.example/token?realm=x\"\n"
    "    ClientID \"my-client\"\n"
    "    ClientSecret \"" SECRET "\"\n"
    "    Timeout 2.5\n"
    "    CycleTimeout 30\n"
    "    Interval 60\n"
    "    MaxConcurrency 4\n"
    "    MaxBodySize 2048\n"
    "    MaxRequestsPerSecond 0.5\n"
    "    VerifyPeer false\n"
    "    VerifyHost false\n"
    "    CACert \"/etc/ssl/ca.pem\"\n"
    "    ClientCert \"/etc/ssl/cert.pem\"\n"
    "    ClientKey \"/etc/ssl/key.pem\"\n"
    "    AllowInsecureHTTP true\n"
    "    MonthlyHistory false\n"
    "    Resources \"consumption\" \"costs\" \"savings\"\n"
    "    Periods \"yesterday\" \"this-month\"\n"
    "    Path \"consumption\" \"/v2/meters/{smartmeterId}/use/{period}\"\n"
    "    Path \"savings\" \"/v2/{smartmeterId}/savings\"\n"
    "    RefreshInterval \"savings\" 21600\n"
    "    RefreshInterval \"costs\" 0\n"
    "    RefreshInterval \"performance\" 1.5\n"
    "  </Account>\n"
    "</Plugin>\n";

START_TEST(test_full) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text(full_config, &cfg), 0);
  ck_assert_uint_eq(cfg.accounts_len, 1);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert_str_eq(a->name, "home_2-b");
  ck_assert_str_eq(a->base_url, "http://api.example:8080/v1");
  ck_assert_str_eq(a->token_url, "https://sso.example/token?realm=x");
  ck_assert_str_eq(a->client_id, "my-client");
  ck_assert_str_eq(a->client_secret, SECRET);
  ck_assert_ptr_null(a->secret_file);
  ck_assert_int_eq(a->timeout_ms, 2500);
  ck_assert_int_eq(a->cycle_timeout_ms, 30000);
  ck_assert_int_eq(a->interval_ms, 60000);
  ck_assert_uint_eq(a->max_concurrency, 4);
  ck_assert_uint_eq(a->max_body, 2048);
  ck_assert(a->max_requests_per_s == 0.5);
  ck_assert(!a->verify_peer);
  ck_assert(!a->verify_host);
  ck_assert(a->allow_insecure_http);
  ck_assert(!a->monthly_history);
  ck_assert_str_eq(a->ca_cert, "/etc/ssl/ca.pem");
  ck_assert_str_eq(a->client_cert, "/etc/ssl/cert.pem");
  ck_assert_str_eq(a->client_key, "/etc/ssl/key.pem");
  for (int r = 0; r < DW_RES_COUNT; r++) {
    const char *want = dw_resource_info((dw_resource_t)r)->default_path;
    if (r == DW_RES_CONSUMPTION)
      want = "/v2/meters/{smartmeterId}/use/{period}";
    else if (r == DW_RES_SAVINGS)
      want = "/v2/{smartmeterId}/savings";
    ck_assert_str_eq(a->paths[r], want);
    long refresh = 1000L * dw_resource_info((dw_resource_t)r)->refresh_s;
    if (r == DW_RES_SAVINGS)
      refresh = 21600000;
    else if (r == DW_RES_COSTS)
      refresh = 0;
    else if (r == DW_RES_PERFORMANCE)
      refresh = 1500;
    ck_assert_int_eq(a->refresh_ms[r], refresh);
  }
  ck_assert_uint_eq(a->resources, RES(CONSUMPTION) | RES(COSTS) | RES(SAVINGS));
  ck_assert_uint_eq(a->periods, PER(YESTERDAY) | PER(THIS_MONTH));
  ck_assert_uint_eq(a->meters_len, 2);

  char safe[64];
  dw_name_safe(safe, sizeof(safe), "AB.12/x");
  ck_assert_str_ne(safe, "AB.12/x");
  ck_assert_str_eq(a->meters[0].id, "AB.12/x");
  ck_assert_str_eq(a->meters[0].instance, safe);
  ck_assert_uint_eq(a->meters[0].resources, a->resources);
  ck_assert_uint_eq(a->meters[0].periods, PER(LAST_WEEK));
  ck_assert_str_eq(a->meters[1].id, "125fd56");
  ck_assert_str_eq(a->meters[1].instance, "home");
  ck_assert_uint_eq(a->meters[1].resources, RES(SAVINGS) | RES(DISAGGREGATION));
  ck_assert_uint_eq(a->meters[1].periods, a->periods);

  /* The one log line: the warning that plain http was allowed. */
  ck_assert_uint_eq(standin_log_count(), 1);
  ck_assert_int_eq(standin_log_at(0)->severity, LOG_WARNING);
  ck_assert(standin_log_contains("AllowInsecureHTTP"));
  assert_no_secret_logged();
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_two_accounts_two_meters) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              "  <Account \"a\">\n"
                              "    BaseURL \"https://api.example\"\n"
                              "    ClientID \"id-a\"\n"
                              "    ClientSecret \"" SECRET "\"\n"
                              "    <Smartmeter \"m1\">\n"
                              "    </Smartmeter>\n"
                              "    <Smartmeter \"m2\">\n"
                              "      Instance \"a-m2\"\n"
                              "    </Smartmeter>\n"
                              "  </Account>\n"
                              "  <Account \"b\">\n"
                              "    BaseURL \"http://127.0.0.1:8080/\"\n"
                              "    ClientID \"id-b\"\n"
                              "    ClientSecret \"other\"\n"
                              "    Resources \"costs\"\n"
                              "    <Smartmeter \"m2\">\n"
                              "    </Smartmeter>\n"
                              "    <Smartmeter \"m3\">\n"
                              "      Periods \"yesterday\"\n"
                              "    </Smartmeter>\n"
                              "  </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_uint_eq(standin_log_count(), 0);
  ck_assert_uint_eq(cfg.accounts_len, 2);
  const dw_account_cfg_t *a = &cfg.accounts[0], *b = &cfg.accounts[1];
  ck_assert_str_eq(a->name, "a");
  ck_assert_str_eq(a->base_url, "https://api.example");
  ck_assert_str_eq(a->token_url, "https://api.example/auth/token");
  ck_assert_str_eq(a->client_id, "id-a");
  ck_assert_uint_eq(a->meters_len, 2);
  ck_assert_str_eq(a->meters[0].instance, "m1");
  ck_assert_str_eq(a->meters[1].id, "m2");
  ck_assert_str_eq(a->meters[1].instance, "a-m2");
  ck_assert_str_eq(b->name, "b");
  ck_assert_str_eq(b->base_url, "http://127.0.0.1:8080");
  ck_assert_str_eq(b->token_url, "http://127.0.0.1:8080/auth/token");
  ck_assert_str_eq(b->client_id, "id-b");
  ck_assert_str_eq(b->client_secret, "other");
  ck_assert(!b->allow_insecure_http);
  ck_assert_uint_eq(b->meters_len, 2);
  ck_assert_str_eq(b->meters[0].instance, "m2");
  ck_assert_uint_eq(b->meters[0].resources, RES(COSTS));
  ck_assert_uint_eq(b->meters[0].periods, DW_PERIOD_ALL);
  ck_assert_str_eq(b->meters[1].instance, "m3");
  ck_assert_uint_eq(b->meters[1].resources, RES(COSTS));
  ck_assert_uint_eq(b->meters[1].periods, PER(YESTERDAY));
  dw_config_free(&cfg);
}
END_TEST

#define ACCOUNT(name, meter)                                                   \
  "  <Account \"" name "\">\n"                                                 \
  "    BaseURL \"https://api.example\"\n"                                      \
  "    ClientID \"id\"\n"                                                      \
  "    ClientSecret \"" SECRET "\"\n"                                          \
  "    <Smartmeter \"" meter "\">\n"                                           \
  "    </Smartmeter>\n"                                                        \
  "  </Account>\n"
#define ACCOUNT_BLOCK(name, meter)                                             \
  "<Plugin digiwatt>\n" ACCOUNT(name, meter) "</Plugin>\n"

/* collectd calls the config callback once per <Plugin digiwatt> block. */
START_TEST(test_several_plugin_blocks) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(
      parse_text(ACCOUNT_BLOCK("one", "m1") ACCOUNT_BLOCK("two", "m2"), &cfg),
      0);
  ck_assert_uint_eq(cfg.accounts_len, 2);
  ck_assert_str_eq(cfg.accounts[0].name, "one");
  ck_assert_str_eq(cfg.accounts[1].name, "two");
  ck_assert_str_eq(cfg.accounts[1].meters[0].instance, "m2");

  /* A later block that clashes with an earlier one: the whole is refused
   * once every block is in, naming both. */
  ck_assert_int_eq(
      parse_text(ACCOUNT_BLOCK("three", "m3") ACCOUNT_BLOCK("one", "m4"), &cfg),
      -EINVAL);
  ck_assert(standin_log_contains("<Account \"one\">: duplicate account name"));
  ck_assert_uint_eq(cfg.accounts_len, 0);

  ck_assert_int_eq(
      parse_text(ACCOUNT_BLOCK("one", "m1") ACCOUNT_BLOCK("four", "m1"), &cfg),
      -EINVAL);
  ck_assert(standin_log_contains("plugin instance \"m1\" is already used by "
                                 "<Account \"one\"> <Smartmeter \"m1\">"));
  assert_no_secret_logged();
  dw_config_free(&cfg);
}
END_TEST

/* Where state is kept: plugin-level options, the last block's word wins,
 * "" turns it off, and a block in error changes nothing. */
START_TEST(test_state_options) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text(ACCOUNT_BLOCK("one", "m1"), &cfg), 0);
  ck_assert_ptr_null(cfg.state_dir); /* the default: BaseDir/digiwatt */
  ck_assert_int_eq(cfg.state_save_ms, 0);
  dw_config_free(&cfg);
  ck_assert_int_eq(
      parse_text(
          "<Plugin digiwatt>\n  StateDirectory \"/var/x\"\n"
          "  StateSaveInterval 5\n" ACCOUNT(
              "one",
              "m1") "</Plugin>\n"
                    "<Plugin digiwatt>\n  StateDirectory \"\"\n</Plugin>\n",
          &cfg),
      0);
  ck_assert_str_eq(cfg.state_dir, "");
  ck_assert_int_eq(cfg.state_save_ms, 5000);
  dw_config_free(&cfg);
  ck_assert_int_eq(
      parse_text("<Plugin digiwatt>\n  StateSaveInterval 0\n" ACCOUNT(
                     "one", "m1") "</Plugin>\n",
                 &cfg),
      -EINVAL);
  ck_assert(standin_log_contains("StateSaveInterval"));
  ck_assert_int_eq(
      parse_text("<Plugin digiwatt>\n  StateDirectroy \"/x\"\n" ACCOUNT(
                     "one", "m1") "</Plugin>\n",
                 &cfg),
      -EINVAL);
  ck_assert(standin_log_contains("did you mean StateDirectory?"));
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_secret_file) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"main\">\n"
                              "  BaseURL \"https://api.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecretFile \"@DIR@/secret\"\n"
                              "  <Smartmeter \"m\">\n"
                              "  </Smartmeter>\n"
                              " </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_uint_eq(standin_log_count(), 0);
  char path[128];
  snprintf(path, sizeof(path), "%s/secret", tmp_dir);
  ck_assert_str_eq(cfg.accounts[0].client_secret, FILE_SECRET);
  ck_assert_str_eq(cfg.accounts[0].secret_file, path);
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_secret_file_readable_by_others) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"main\">\n"
                              "  BaseURL \"https://api.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecretFile \"@DIR@/shared-secret\"\n"
                              "  <Smartmeter \"m\">\n"
                              "  </Smartmeter>\n"
                              " </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_str_eq(cfg.accounts[0].client_secret, FILE_SECRET);
  ck_assert_uint_eq(standin_log_count(), 1);
  char want[160];
  snprintf(want, sizeof(want), "ClientSecretFile \"%s/shared-secret\"",
           tmp_dir);
  ck_assert(standin_log_contains_at(LOG_WARNING, want));
  ck_assert(standin_log_contains_at(LOG_WARNING, "group or others"));
  assert_no_secret_logged();
  assert_every_line_prefixed();
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_case_insensitive_names) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(
      parse_text("<Plugin digiwatt>\n"
                 " <account \"main\">\n"
                 "  baseurl \"https://api.example\"\n"
                 "  CLIENTID \"id\"\n"
                 "  clientSecret \"" SECRET "\"\n"
                 "  TIMEOUT 3\n"
                 "  verifypeer false\n"
                 "  resources \"costs\"\n"
                 "  pAtH \"costs\" \"/c/{smartmeterId}/{period}\"\n"
                 "  <SMARTMETER \"m\">\n"
                 "   instance \"x\"\n"
                 "  </SMARTMETER>\n"
                 " </account>\n"
                 "</Plugin>\n",
                 &cfg),
      0);
  ck_assert_uint_eq(standin_log_count(), 0);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert_str_eq(a->base_url, "https://api.example");
  ck_assert_str_eq(a->client_id, "id");
  ck_assert_str_eq(a->client_secret, SECRET);
  ck_assert_int_eq(a->timeout_ms, 3000);
  ck_assert(!a->verify_peer);
  ck_assert_uint_eq(a->resources, RES(COSTS));
  ck_assert_str_eq(a->paths[DW_RES_COSTS], "/c/{smartmeterId}/{period}");
  ck_assert_str_eq(a->meters[0].instance, "x");
  dw_config_free(&cfg);
}
END_TEST

/* The last of a repeated option wins; <Smartmeter> blocks accumulate. */
START_TEST(test_last_wins) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"main\">\n"
                              "  BaseURL \"https://first.example\"\n"
                              "  BaseURL \"https://second.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecret \"first\"\n"
                              "  ClientSecret \"" SECRET "\"\n"
                              "  Resources \"costs\"\n"
                              "  Resources \"savings\"\n"
                              "  Path \"savings\" \"/one/{smartmeterId}\"\n"
                              "  Path \"savings\" \"/two/{smartmeterId}\"\n"
                              "  RefreshInterval \"savings\" 10\n"
                              "  RefreshInterval \"savings\" 20\n"
                              "  <Smartmeter \"m1\">\n"
                              "   Instance \"first\"\n"
                              "   Instance \"second\"\n"
                              "  </Smartmeter>\n"
                              "  <Smartmeter \"m2\">\n"
                              "  </Smartmeter>\n"
                              " </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert_str_eq(a->base_url, "https://second.example");
  ck_assert_str_eq(a->client_secret, SECRET);
  ck_assert_uint_eq(a->resources, RES(SAVINGS));
  ck_assert_str_eq(a->paths[DW_RES_SAVINGS], "/two/{smartmeterId}");
  ck_assert_int_eq(a->refresh_ms[DW_RES_SAVINGS], 20000);
  ck_assert_uint_eq(a->meters_len, 2);
  ck_assert_str_eq(a->meters[0].instance, "second");
  ck_assert_str_eq(a->meters[1].instance, "m2");
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_empty_block_and_null) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n</Plugin>\n", &cfg), 0);
  ck_assert_uint_eq(cfg.accounts_len, 0);
  ck_assert_ptr_null(cfg.accounts);
  dw_config_free(&cfg);
  dw_config_free(NULL);
  dw_account_cfg_free(NULL);
  ck_assert_uint_eq(standin_log_count(), 0);
}
END_TEST

/* --- bad configurations ----------------------------------------------------
 */

typedef struct bad_case {
  const char *text;    /* the options inside <Account "main"> */
  const char *want[3]; /* each in some log line */
  const char *absent;  /* in no log line, or NULL */
} bad_case_t;

/* The valid options a bad case builds on; each case adds its mistake. */
#define GOOD_URL "  BaseURL \"https://api.example\"\n"
#define GOOD_ID "  ClientID \"id\"\n"
#define GOOD_SECRET "  ClientSecret \"" SECRET "\"\n"
#define GOOD_METER "  <Smartmeter \"m\">\n  </Smartmeter>\n"
#define GOOD GOOD_URL GOOD_ID GOOD_SECRET GOOD_METER

static const bad_case_t bad_cases[] = {
    /* unknown names */
    {GOOD "  Tiemout 5\n",
     {"digiwatt plugin: <Account \"main\">: unknown option \"Tiemout\"; did "
      "you mean Timeout?"},
     NULL},
    {GOOD "  Colour \"red\"\n", {"unknown option \"Colour\""}, "did you mean"},
    {GOOD "  verifypeeer false\n",
     {"unknown option \"verifypeeer\"; did you mean VerifyPeer?"},
     NULL},
    /* one mistake, one error: a typo of an option is not also reported
     * as that option missing */
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFil \"@DIR@/secret\"\n",
     {"unknown option \"ClientSecretFil\"; did you mean ClientSecretFile?"},
     "is required"},
    {GOOD_URL GOOD_ID GOOD_METER "  ClientScret \"" SECRET "\"\n",
     {"unknown option \"ClientScret\"; did you mean ClientSecret?"},
     "is required"},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseUrI \"https://api.example\"\n",
     {"did you mean BaseURL?"},
     "is required"},
    {GOOD_URL GOOD_SECRET GOOD_METER "  ClientD \"id\"\n",
     {"did you mean ClientID?"},
     "is required"},
    {GOOD_URL GOOD_ID GOOD_SECRET "  <Smartmeterr \"m\">\n  </Smartmeterr>\n",
     {"unknown option \"Smartmeterr\"; did you mean Smartmeter?"},
     "no smartmeter configured"},
    {GOOD_URL GOOD_ID GOOD_SECRET "  SmartmeterFiel \"@DIR@/fleet\"\n",
     {"did you mean SmartmeterFile?"},
     "no smartmeter configured"},
    {GOOD "  ClientCert \"/c.pem\"\n  ClientKy \"/k.pem\"\n",
     {"did you mean ClientKey?"},
     "go together"},
    {GOOD "  <Smartmeter \"x\">\n   Instanse \"y\"\n  </Smartmeter>\n",
     {"<Account \"main\"> <Smartmeter \"x\">: unknown option \"Instanse\"; "
      "did you mean Instance?"},
     NULL},
    {GOOD "  Resources \"consumption\" \"consumtion\"\n",
     {"unknown resource \"consumtion\"", "known: costs, consumption"},
     NULL},
    {GOOD "  <Smartmeter \"x\">\n   Resources \"gas\"\n  </Smartmeter>\n",
     {"<Smartmeter \"x\">: Resources: unknown resource \"gas\""},
     NULL},
    {GOOD "  Path \"gas\" \"/x/{smartmeterId}\"\n",
     {"Path: unknown resource \"gas\""},
     NULL},
    {GOOD "  RefreshInterval \"gas\" 10\n",
     {"RefreshInterval: unknown resource \"gas\""},
     NULL},
    {GOOD "  Periods \"yesterday\" \"tomorrow\"\n",
     {"unknown period \"tomorrow\"", "known: yesterday, last-seven-days"},
     NULL},
    /* required options, and the secret from exactly one place */
    {GOOD_ID GOOD_SECRET GOOD_METER, {"BaseURL is required"}, NULL},
    {GOOD_URL GOOD_SECRET GOOD_METER, {"ClientID is required"}, NULL},
    {GOOD_URL GOOD_ID GOOD_METER,
     {"ClientSecret or ClientSecretFile is required"},
     NULL},
    {GOOD "  ClientSecretFile \"@DIR@/secret\"\n",
     {"ClientSecret and ClientSecretFile both given"},
     NULL},
    {GOOD_URL GOOD_ID, {"<Account \"main\">: no smartmeter configured"}, NULL},
    /* smartmeter IDs and instances */
    {GOOD "  <Smartmeter \"12 34\">\n  </Smartmeter>\n",
     {"<Account \"main\"> <Smartmeter \"12 34\">: the smartmeter ID must not "
      "contain whitespace"},
     NULL},
    {GOOD "  <Smartmeter \"12\t34\">\n  </Smartmeter>\n",
     {"<Smartmeter \"12\\x0934\">: the smartmeter ID must not contain "
      "whitespace"},
     NULL},
    {GOOD "  <Smartmeter \"\">\n  </Smartmeter>\n",
     {"the smartmeter ID must not be empty"},
     NULL},
    {GOOD "  <Smartmeter>\n  </Smartmeter>\n",
     {"<Smartmeter> needs one string"},
     NULL},
    {GOOD "  <Smartmeter \"m\">\n  </Smartmeter>\n",
     {"<Smartmeter \"m\">: duplicate smartmeter ID"},
     NULL},
    {GOOD "  <Smartmeter \"x\">\n   Instance \"my home\"\n  </Smartmeter>\n",
     {"Instance \"my home\" may only hold the characters [A-Za-z0-9_-]"},
     NULL},
    {GOOD "  <Smartmeter \"x\">\n   Instance \"\"\n  </Smartmeter>\n",
     {"Instance must not be empty"},
     NULL},
    {GOOD "  <Smartmeter \"x\">\n   Instance \"m\"\n  </Smartmeter>\n",
     {"<Smartmeter \"x\">: plugin instance \"m\" is already used by <Account "
      "\"main\"> <Smartmeter \"m\">"},
     NULL},
    /* path templates */
    {GOOD "  Path \"consumption\" \"/meters/{period}\"\n",
     {"Path \"consumption\" \"/meters/{period}\"", "{smartmeterId}"},
     NULL},
    {GOOD "  Path \"savings\" \"/s/{smartmeterId}/savings/{period}\"\n",
     {"Path \"savings\"", "{period}"},
     NULL},
    {GOOD "  Path \"costs\" \"/c/{smartmeterId}/{period}?x=1\"\n",
     {"Path \"costs\"", "'?'"},
     NULL},
    {GOOD "  Path \"costs\"\n", {"Path needs two strings"}, NULL},
    /* URLs */
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"http://api.example/v1\"\n",
     {"BaseURL \"http://api.example/v1\"", "AllowInsecureHTTP true"},
     NULL},
    {GOOD "  TokenURL \"http://sso.example/token\"\n",
     {"TokenURL \"http://sso.example/token\"", "AllowInsecureHTTP"},
     NULL},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"ftp://api.example\"\n",
     {"BaseURL \"ftp://api.example\": only http:// and https://"},
     NULL},
    {GOOD "  TokenURL \"file:///etc/passwd\"\n",
     {"TokenURL \"file:///etc/passwd\": only http:// and https://"},
     NULL},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"https:///v1\"\n",
     {"has no host"},
     NULL},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"https://a.example/v1?x\"\n",
     {"must not contain '?' or '#'"},
     NULL},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"https://api.example/a b\"\n",
     {"BaseURL must not contain whitespace"},
     NULL},
    {GOOD_ID GOOD_SECRET GOOD_METER
     "  BaseURL \"https://me:pa55word@api.example\"\n",
     {"BaseURL must not contain user:password@"},
     "pa55word"},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"\"\n",
     {"BaseURL must not be empty"},
     NULL},
    /* URLs in errors: no userinfo, query or fragment; no value that is
     * not a URL at all (issue 12, items 5 and 7) */
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"bogus-s3cret\"\n",
     {"BaseURL is not a URL: it must start with https://"},
     "s3cret"},
    {GOOD "  TokenURL \"s3cret\"\n", {"TokenURL is not a URL"}, "s3cret"},
    {GOOD "  TokenURL \"http://sso.example/token?api_key=s3cret\"\n",
     {"TokenURL \"http://sso.example/token\": plain http://"},
     "s3cret"},
    {GOOD "  TokenURL \"https://sso.example/token#s3cret\"\n",
     {"TokenURL \"https://sso.example/token\": must not contain '#'"},
     "s3cret"},
    {GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"ftp://me:s3cret@x/?k=v\"\n",
     {"BaseURL \"ftp://x/\": only http:// and https://"},
     "s3cret"},
    {GOOD "  TokenURL \"https://sso.example/t?k=s3cret\"\n"
          "  AllowInsecureHTTP true\n"
          "  BaseURL \"http://api.example/v1?s3cret\"\n",
     {"BaseURL \"http://api.example/v1\": must not contain '?' or '#'"},
     "s3cret"},
    /* numbers and their ranges */
    {GOOD "  Timeout 0.05\n", {"Timeout must be between 0.1 and 300"}, NULL},
    {GOOD "  Timeout 301\n", {"Timeout must be between 0.1 and 300"}, NULL},
    {GOOD "  CycleTimeout -1\n", {"CycleTimeout must be between 0 and"}, NULL},
    {GOOD "  Interval 0\n", {"Interval must be between 1 and"}, NULL},
    {GOOD "  MaxConcurrency 0\n",
     {"MaxConcurrency must be between 1 and 1024"},
     NULL},
    {GOOD "  MaxConcurrency 1.5\n",
     {"MaxConcurrency needs a whole number"},
     NULL},
    {GOOD "  MaxBodySize 1023\n",
     {"MaxBodySize must be between 1024 and 67108864"},
     NULL},
    {GOOD "  RefreshInterval \"savings\" -5\n",
     {"RefreshInterval \"savings\" must be between 0 and"},
     NULL},
    {GOOD "  MaxRequestsPerSecond -1\n",
     {"<Account \"main\">: MaxRequestsPerSecond must be 0 (no limit) or "
      "between 0.001 and 10000 requests per second (got -1)"},
     NULL},
    {GOOD "  MaxRequestsPerSecond 0.0005\n", /* not rounded to no limit */
     {"MaxRequestsPerSecond must be 0 (no limit) or between 0.001 and 10000",
      "(got 0.0005)"},
     NULL},
    {GOOD "  MaxRequestsPerSecond 10001\n",
     {"MaxRequestsPerSecond must be 0 (no limit) or between 0.001 and 10000"},
     NULL},
    {GOOD "  MaxRequestsPerSecond \"10\"\n",
     {"MaxRequestsPerSecond needs one number: requests per second, or 0 for "
      "no limit"},
     NULL},
    {GOOD "  MaxRequestsPerSecond 5 10\n",
     {"MaxRequestsPerSecond needs one number"},
     NULL},
    {GOOD "  MaxRequestsPerSecond true\n",
     {"MaxRequestsPerSecond needs one number"},
     NULL},
    /* values of the wrong type or count */
    {GOOD "  Timeout \"10\"\n", {"Timeout needs one number"}, NULL},
    {GOOD "  Timeout 1 2\n", {"Timeout needs one number"}, NULL},
    {GOOD "  Timeout\n", {"Timeout needs one number"}, NULL},
    {GOOD "  VerifyPeer \"maybe-s3cret\"\n",
     {"VerifyPeer needs one boolean: true or false"},
     "s3cret"},
    {GOOD "  VerifyPeer 1\n", {"VerifyPeer needs one boolean"}, NULL},
    {GOOD "  VerifyPeer true false\n", {"VerifyPeer needs one boolean"}, NULL},
    {GOOD "  ClientID 42\n", {"ClientID needs one string"}, NULL},
    {GOOD "  ClientSecret 12345\n", {"ClientSecret needs one string"}, NULL},
    {GOOD "  ClientSecret \"\"\n", {"ClientSecret must not be empty"}, NULL},
    {GOOD "  Resources\n", {"Resources needs one or more strings"}, NULL},
    {GOOD "  Periods 7\n", {"Periods needs strings only"}, NULL},
    {GOOD "  RefreshInterval \"savings\" \"10\"\n",
     {"RefreshInterval needs a resource and a number of seconds"},
     NULL},
    {GOOD "  <Timeout 5>\n   Foo 1\n  </Timeout>\n",
     {"Timeout is an option, not a block"},
     NULL},
    /* TLS client identity */
    {GOOD "  ClientCert \"/c.pem\"\n",
     {"ClientCert and ClientKey go together"},
     NULL},
    {GOOD "  ClientKey \"/k.pem\"\n",
     {"ClientCert and ClientKey go together"},
     NULL},
    /* Header: "Name: value", no control bytes, not the plugin's own;
     * the value (it may be a key) is never quoted */
    {GOOD "  Header \"Authorization: Bearer " SECRET "\"\n",
     {"Header \"Authorization: ...\": Authorization is the plugin's: the "
      "token goes there"},
     NULL},
    {GOOD "  Header \"host: x\"\n", {"Header \"host: ...\": Host comes"}, NULL},
    {GOOD "  Header \"Content-Length: 0\"\n", {"Content-Length is"}, NULL},
    {GOOD "  Header \"User-Agent: x\"\n", {"use UserAgent"}, NULL},
    {GOOD "  Header \"Proxy-Authorization: Basic x\"\n",
     {"put the proxy's user:password in Proxy"},
     NULL},
    {GOOD "  Header \"X-Key: " SECRET "\r\"\n",
     {"Header \"X-Key: ...\": the header's value holds a line break"},
     NULL},
    {GOOD "  Header \"X-Key: a\x01" SECRET "\"\n",
     {"holds a line break or another control character"},
     NULL},
    {GOOD "  Header \"X-Key:   \"\n", {"the header's value is empty"}, NULL},
    {GOOD "  Header \"" SECRET "\"\n",
     {"Header: a header must be \"Name: value\""},
     NULL},
    {GOOD "  Header \"X Key: v\"\n",
     {"a header must be \"Name: value\""},
     NULL},
    {GOOD "  Header 42\n", {"Header needs one string"}, NULL},
    /* UserAgent */
    {GOOD "  UserAgent \"\"\n", {"UserAgent must not be empty"}, NULL},
    {GOOD "  UserAgent \"a\rb\"\n",
     {"UserAgent must not hold a line break or another control character"},
     NULL},
    /* TokenParam, TokenAuth */
    {GOOD "  TokenParam \"scope\"\n",
     {"TokenParam needs two strings: a name and a value"},
     NULL},
    {GOOD "  TokenParam \"client_secret\" \"" SECRET "\"\n",
     {"TokenParam \"client_secret\": the token request sends grant_type, "
      "client_id and client_secret itself"},
     NULL},
    {GOOD "  TokenParam \"Grant_Type\" \"password\"\n",
     {"TokenParam \"Grant_Type\": the token request sends"},
     NULL},
    {GOOD "  TokenParam \"scope\" \"\"\n",
     {"TokenParam \"scope\": the value must be 1 to 4096 bytes"},
     NULL},
    {GOOD "  TokenParam \"\" \"x\"\n",
     {"TokenParam: the parameter's name must be 1 to 256 bytes"},
     NULL},
    {GOOD "  TokenAuth \"digest-s3cret\"\n",
     {"TokenAuth must be \"post\" (the credentials in the form body, the "
      "default) or \"basic\""},
     "s3cret"},
    {GOOD "  TokenAuth 1\n", {"TokenAuth must be"}, NULL},
    /* Proxy: shown without its userinfo */
    {GOOD "  Proxy \"ftp://proxy:21\"\n",
     {"Proxy \"ftp://proxy:21\": the proxy's scheme must be http://"},
     NULL},
    {GOOD "  Proxy \"http://user:s3cret@proxy:99999\"\n",
     {"Proxy \"proxy:99999\": the proxy's port must be a number from 1 to "
      "65535"},
     "s3cret"},
    {GOOD "  Proxy \"u:s3cret@proxy:80/x?y\"\n",
     {"Proxy \"proxy:80\": the proxy is [scheme://][user:password@]host"},
     "s3cret"},
    {GOOD "  Proxy \"http://:3128\"\n", {"the proxy has no host"}, NULL},
    {GOOD "  Proxy \"http://pro xy:3128\"\n",
     {"must not contain whitespace"},
     NULL},
    {GOOD "  Proxy 3128\n", {"Proxy needs one string"}, NULL},
    /* TLS: CAPath, the key's password */
    {GOOD "  CAPath \"\"\n", {"CAPath must not be empty"}, NULL},
    {GOOD "  ClientKeyPassword \"" SECRET "\"\n",
     {"ClientKeyPassword is the passphrase of ClientKey"},
     NULL},
    {GOOD "  ClientCert \"/c.pem\"\n  ClientKey \"/k.pem\"\n"
          "  ClientKeyPassword \"" SECRET "\"\n"
          "  ClientKeyPasswordFile \"@DIR@/secret\"\n",
     {"ClientKeyPassword and ClientKeyPasswordFile both given"},
     NULL},
    {GOOD "  ClientCert \"/c.pem\"\n  ClientKey \"/k.pem\"\n"
          "  ClientKeyPasswordFile \"@DIR@/empty\"\n",
     {"ClientKeyPasswordFile \"", "/empty\": the first line is empty"},
     NULL},
    {GOOD "  ClientCert \"/c.pem\"\n  ClientKey \"/k.pem\"\n"
          "  ClientKeyPasswordFile \"" SECRET "\"\n",
     {"cannot open ClientKeyPasswordFile (a relative path, not shown)"},
     NULL},
    /* secret files */
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"@DIR@/empty\"\n",
     {"ClientSecretFile \"", "/empty\": the first line is empty"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"@DIR@/blank-line\"\n",
     {"/blank-line\": the first line is empty"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"@DIR@/long-line\"\n",
     {"/long-line\": the first line is too long"},
     "xxxxxxxx"},
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"@DIR@/missing\"\n",
     {"cannot open ClientSecretFile \"", "/missing\": No such file"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"@DIR@\"\n",
     {"is not a regular file"},
     NULL},
    /* the secret itself where its file belongs: not quoted back */
    {GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"" SECRET "\"\n",
     {"<Account \"main\">: cannot open ClientSecretFile (a relative path, "
      "not shown): No such file"},
     NULL},
    /* SmartmeterFile */
    {GOOD "  SmartmeterFile \"\"\n",
     {"SmartmeterFile must not be empty"},
     NULL},
    {GOOD "  SmartmeterFile 1\n", {"SmartmeterFile needs one string"}, NULL},
    {GOOD "  SmartmeterFile \"@DIR@/missing\"\n",
     {"<Account \"main\">: SmartmeterFile \"",
      "/missing\": cannot open: No such file"},
     NULL},
    {GOOD "  SmartmeterFile \"@DIR@\"\n",
     {"<Account \"main\">: SmartmeterFile \"", "\": not a regular file"},
     NULL},
    {GOOD "  SmartmeterFile \"@DIR@/fleet-bad\"\n",
     {"<Account \"main\">: SmartmeterFile \"",
      "/fleet-bad\": line 3: the instance \"not.an.instance\" must be"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_SECRET "  SmartmeterFile \"@DIR@/fleet-empty\"\n",
     {"<Account \"main\">: no smartmeter configured: SmartmeterFile \"",
      "/fleet-empty\" lists none and there is no <Smartmeter> block"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_SECRET,
     {"<Account \"main\">: no smartmeter configured: add a <Smartmeter "
      "\"ID\"> block or a SmartmeterFile"},
     NULL},
    {GOOD "  SmartmeterFile \"@DIR@/fleet-block-clash\"\n",
     {"<Account \"main\"> SmartmeterFile \"",
      "/fleet-block-clash\" meter \"other\": plugin instance \"m\" is "
      "already used by <Account \"main\"> <Smartmeter \"m\">"},
     NULL},
    {GOOD_URL GOOD_ID GOOD_SECRET
     "  SmartmeterFile \"@DIR@/fleet-self-clash\"\n",
     {"/fleet-self-clash\" meter \"shared\": plugin instance \"shared\" is "
      "already used by <Account \"main\"> SmartmeterFile \"",
      "/fleet-self-clash\" meter \"a\""},
     NULL},
    /* Shard */
    {GOOD "  Shard 1\n",
     {"Shard needs two numbers: an index and a count"},
     NULL},
    {GOOD "  Shard 0 1 2\n", {"Shard needs two numbers"}, NULL},
    {GOOD "  Shard \"0\" 2\n", {"Shard needs two numbers"}, NULL},
    {GOOD "  Shard 0 0\n",
     {"Shard: the count must be a whole number from 1 to 1024 (got 0)"},
     NULL},
    {GOOD "  Shard 0 1025\n",
     {"the count must be a whole number", "1025"},
     NULL},
    {GOOD "  Shard 0 2.5\n", {"the count must be a whole number", "2.5"}, NULL},
    {GOOD "  Shard 2 2\n",
     {"Shard: the index must be a whole number from 0 to 1, one less than "
      "the count (got 2)"},
     NULL},
    {GOOD "  Shard -1 2\n", {"the index must be a whole number", "-1"}, NULL},
    {GOOD "  Shard 0.5 2\n", {"the index must be a whole number", "0.5"}, NULL},
    /* BackoffMax, FailureThreshold, SelfMetrics */
    {GOOD "  BackoffMax 0.5\n",
     {"BackoffMax must be between 1 and 86400"},
     NULL},
    {GOOD "  BackoffMax 86401\n",
     {"BackoffMax must be between 1 and 86400"},
     NULL},
    {GOOD "  BackoffMax \"60\"\n", {"BackoffMax needs one number"}, NULL},
    {GOOD "  FailureThreshold 0\n",
     {"FailureThreshold must be between 1 and 1000"},
     NULL},
    {GOOD "  FailureThreshold 1001\n",
     {"FailureThreshold must be between 1 and 1000"},
     NULL},
    {GOOD "  FailureThreshold 2.5\n",
     {"FailureThreshold needs a whole number"},
     NULL},
    {GOOD "  SelfMetrics \"nope\"\n", {"SelfMetrics needs one boolean"}, NULL},
    {GOOD "  SelfMetrics\n", {"SelfMetrics needs one boolean"}, NULL},
};

/* Wraps a bad case's options in <Plugin digiwatt> <Account "main">. */
static char *bad_text(const char *options) {
  static const char head[] = "<Plugin digiwatt>\n <Account \"main\">\n";
  static const char tail[] = " </Account>\n</Plugin>\n";
  size_t size = sizeof(head) + strlen(options) + sizeof(tail);
  char *text = malloc(size);
  ck_assert_ptr_nonnull(text);
  snprintf(text, size, "%s%s%s", head, options, tail);
  return text;
}

/* collectd's own plugins take a quoted boolean (cf_util_get_boolean:
 * "true", "yes", "on", "false", "no", "off", any case), with a warning;
 * so does this one, for every boolean option. */
START_TEST(test_quoted_booleans) {
  dw_config_t cfg = {0};
  char *text = bad_text(GOOD "  VerifyPeer \"false\"\n"
                             "  VerifyHost \"Off\"\n"
                             "  MonthlyHistory \"NO\"\n"
                             "  SelfMetrics \"no\"\n"
                             "  AllowInsecureHTTP \"yes\"\n");
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  free(text);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert(!a->verify_peer);
  ck_assert(!a->verify_host);
  ck_assert(!a->monthly_history);
  ck_assert(!a->self_metrics);
  ck_assert(a->allow_insecure_http);
  ck_assert_uint_eq(standin_log_count(), 5);
  ck_assert(standin_log_contains_at(
      LOG_WARNING, "<Account \"main\">: VerifyPeer \"false\": a quoted boolean "
                   "is taken, as collectd does, but deprecated; write it "
                   "unquoted: VerifyPeer false"));
  ck_assert(standin_log_contains_at(LOG_WARNING, "write it unquoted: "
                                                 "VerifyHost false"));
  ck_assert(standin_log_contains_at(LOG_WARNING, "AllowInsecureHTTP true"));
  dw_config_free(&cfg);

  standin_reset();
  text = bad_text(GOOD "  VerifyPeer \"TRUE\"\n  VerifyHost \"on\"\n"
                       "  SelfMetrics \"Yes\"\n");
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  free(text);
  ck_assert(cfg.accounts[0].verify_peer);
  ck_assert(cfg.accounts[0].verify_host);
  ck_assert(cfg.accounts[0].self_metrics);
  ck_assert_uint_eq(standin_log_count(), 3);
  dw_config_free(&cfg);
}
END_TEST

/* An option given with a bad value is one mistake: the error about the
 * value, not also "X is required". */
static const char *const one_error_texts[] = {
    GOOD_URL GOOD_SECRET GOOD_METER "  ClientID \"\"\n",
    GOOD_URL GOOD_SECRET GOOD_METER "  ClientID 42\n",
    GOOD_ID GOOD_SECRET GOOD_METER "  BaseURL \"\"\n",
    GOOD_URL GOOD_ID GOOD_METER "  ClientSecret \"\"\n",
    GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFile \"\"\n",
    GOOD_URL GOOD_ID GOOD_METER "  ClientSecretFil \"@DIR@/secret\"\n",
    GOOD_URL GOOD_ID GOOD_SECRET "  SmartmeterFile \"\"\n",
    GOOD "  ClientCert \"/c.pem\"\n  ClientKey \"\"\n",
};

START_TEST(test_one_mistake_one_error) {
  dw_config_t cfg = {0};
  char *text = bad_text(one_error_texts[_i]);
  ck_assert_int_eq(parse_text(text, &cfg), -EINVAL);
  free(text);
  if (standin_log_count() != 1)
    for (size_t i = 0; i < standin_log_count(); i++)
      fprintf(stderr, "case %d log: %s\n", _i, standin_log_at(i)->text);
  ck_assert_uint_eq(standin_log_count(), 1);
  ck_assert(!standin_log_contains("is required"));
  assert_no_secret_logged();
}
END_TEST

/* The HTTP and OAuth options of issue 11: Proxy, Header, UserAgent,
 * TokenParam, TokenAuth, CAPath, ClientKeyPassword(File). Header and
 * TokenParam accumulate; the others, as ever, take the last one. */
START_TEST(test_http_options) {
  dw_config_t cfg = {0};
  char *text = bad_text(GOOD "  ClientCert \"/etc/ssl/c.pem\"\n"
                             "  ClientKey \"/etc/ssl/k.pem\"\n"
                             "  ClientKeyPassword \"" SECRET "\"\n"
                             "  CAPath \"/etc/ssl/certs\"\n"
                             "  Proxy \"http://user:" SECRET "@proxy:3128\"\n"
                             "  UserAgent \"my-agent/1.0 (ops@example)\"\n"
                             "  Header \"X-Api-Key: " SECRET "\"\n"
                             "  header \"X-Tenant:\tblue  \"\n"
                             "  TokenParam \"scope\" \"read:meters\"\n"
                             "  TokenParam \"audience\" \"" SECRET "\"\n"
                             "  TokenParam \"scope\" \"write\"\n"
                             "  TokenAuth \"Basic\"\n");
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  free(text);
  ck_assert_uint_eq(standin_log_count(), 0);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  ck_assert_str_eq(a->client_key_password, SECRET);
  ck_assert_str_eq(a->ca_path, "/etc/ssl/certs");
  ck_assert_str_eq(a->proxy, "http://user:" SECRET "@proxy:3128");
  ck_assert_str_eq(a->user_agent, "my-agent/1.0 (ops@example)");
  ck_assert_uint_eq(a->headers.len, 2);
  ck_assert_str_eq(a->headers.items[0], "X-Api-Key: " SECRET);
  ck_assert_str_eq(a->headers.items[1], "X-Tenant:\tblue  ");
  ck_assert_ptr_null(a->headers.items[2]);
  ck_assert_uint_eq(a->token_params.len, 3);
  ck_assert_str_eq(a->token_params.items[0].name, "scope");
  ck_assert_str_eq(a->token_params.items[0].value, "read:meters");
  ck_assert_str_eq(a->token_params.items[1].value, SECRET);
  ck_assert_str_eq(a->token_params.items[2].value, "write");
  ck_assert(a->token_auth_basic);
  dw_config_free(&cfg);

  /* Proxy "" turns the environment's proxy off; the password comes from a
   * file; TokenAuth "post" is the default's spelling. */
  standin_reset();
  text = bad_text(GOOD "  Proxy \"\"\n  TokenAuth \"post\"\n"
                       "  ClientCert \"/c.pem\"\n  ClientKey \"/k.pem\"\n"
                       "  ClientKeyPasswordFile \"@DIR@/secret\"\n"
                       "  Proxy \"socks5h://[::1]:1080\"\n"
                       "  Proxy \"\"\n");
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  free(text);
  ck_assert_uint_eq(standin_log_count(), 0);
  a = &cfg.accounts[0];
  ck_assert_str_eq(a->proxy, "");
  ck_assert(!a->token_auth_basic);
  ck_assert_str_eq(a->client_key_password, FILE_SECRET);
  char path[128];
  snprintf(path, sizeof(path), "%s/secret", tmp_dir);
  ck_assert_str_eq(a->key_password_file, path);
  dw_config_free(&cfg);
}
END_TEST

/* --- MaxRequestsPerSecond at its edges, table-driven ---------------------- */

static const struct rate_case {
  const char *text;
  double want;
} rate_cases[] = {
    {"0", 0}, {"0.001", 0.001}, {"0.5", 0.5}, {"10", 10}, {"10000", 10000},
};

START_TEST(test_rate_accepted) {
  char options[256];
  snprintf(options, sizeof(options), GOOD "  MaxRequestsPerSecond %s\n",
           rate_cases[_i].text);
  dw_config_t cfg = {0};
  char *text = bad_text(options);
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  free(text);
  ck_assert_uint_eq(cfg.accounts_len, 1);
  ck_assert(cfg.accounts[0].max_requests_per_s == rate_cases[_i].want);
  ck_assert_uint_eq(standin_log_count(), 0);
  dw_config_free(&cfg);
}
END_TEST

/* At most 32 Header lines and 32 TokenParams per account. */
START_TEST(test_list_limits) {
  for (int kind = 0; kind < 2; kind++) {
    text_t t = {0};
    text_puts(&t, GOOD);
    for (int i = 0; i < 33; i++) {
      char line[64];
      snprintf(line, sizeof(line),
               kind == 0 ? "  Header \"X-N%d: v\"\n"
                         : "  TokenParam \"p%d\" \"v\"\n",
               i);
      text_puts(&t, line);
    }
    char *text = bad_text(text_str(&t));
    free(t.data);
    dw_config_t cfg = {0};
    standin_reset();
    ck_assert_int_eq(parse_text(text, &cfg), -EINVAL);
    free(text);
    ck_assert_uint_eq(standin_log_count(), 1);
    ck_assert(standin_log_contains_at(
        LOG_ERR, kind == 0 ? "at most 32 Header options per account"
                           : "at most 32 TokenParam options per account"));
  }
}
END_TEST

/* --- fleets: SmartmeterFile, Shard and the wave 2 options ----------------- */

/* An account whose meters all come from a file, with every new option
 * away from its default. The file's meters are not copied. */
START_TEST(test_fleet_options) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"fleet\">\n"
                              "  BaseURL \"https://api.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecret \"" SECRET "\"\n"
                              "  SmartmeterFile \"@DIR@/missing\"\n"
                              "  SmartmeterFile \"@DIR@/fleet\"\n"
                              "  Shard 2 3\n"
                              "  BackoffMax 60\n"
                              "  FailureThreshold 5\n"
                              "  SelfMetrics false\n"
                              " </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_uint_eq(standin_log_count(), 0);
  const dw_account_cfg_t *a = &cfg.accounts[0];
  char path[128];
  snprintf(path, sizeof(path), "%s/fleet", tmp_dir);
  ck_assert_str_eq(a->smartmeter_file, path);
  ck_assert_uint_eq(a->meters_len, 0);
  ck_assert_ptr_null(a->meters);
  ck_assert_uint_eq(a->shard.index, 2);
  ck_assert_uint_eq(a->shard.count, 3);
  ck_assert_int_eq(a->backoff_max_ms, 60000);
  ck_assert_uint_eq(a->failure_threshold, 5);
  ck_assert(!a->self_metrics);
  assert_default_refresh(a);
  dw_config_free(&cfg);
}
END_TEST

/* The ends of each range, and a meter ID in both the file and a block:
 * the block wins, so the file's Instance ("home2") is not in use and
 * another account may have it. */
START_TEST(test_fleet_with_blocks) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"a\">\n"
                              "  BaseURL \"https://api.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecret \"" SECRET "\"\n"
                              "  SmartmeterFile \"@DIR@/fleet\"\n"
                              "  <Smartmeter \"m\">\n"
                              "   Instance \"home\"\n"
                              "  </Smartmeter>\n"
                              "  Shard 0 1\n"
                              "  BackoffMax 86400\n"
                              "  FailureThreshold 1000\n"
                              "  SelfMetrics true\n"
                              " </Account>\n"
                              " <Account \"b\">\n"
                              "  BaseURL \"https://api.example\"\n"
                              "  ClientID \"id\"\n"
                              "  ClientSecret \"" SECRET "\"\n"
                              "  <Smartmeter \"x\">\n"
                              "   Instance \"home2\"\n"
                              "  </Smartmeter>\n"
                              "  Shard 1023 1024\n"
                              "  BackoffMax 1\n"
                              "  FailureThreshold 1\n"
                              " </Account>\n"
                              "</Plugin>\n",
                              &cfg),
                   0);
  ck_assert_uint_eq(standin_log_count(), 0);
  const dw_account_cfg_t *a = &cfg.accounts[0], *b = &cfg.accounts[1];
  ck_assert_uint_eq(a->meters_len, 1);
  ck_assert_str_eq(a->meters[0].instance, "home");
  ck_assert_uint_eq(a->shard.index, 0);
  ck_assert_uint_eq(a->shard.count, 1);
  ck_assert_int_eq(a->backoff_max_ms, 86400000);
  ck_assert_uint_eq(a->failure_threshold, 1000);
  ck_assert(a->self_metrics);
  ck_assert_ptr_null(b->smartmeter_file);
  ck_assert_uint_eq(b->shard.index, 1023);
  ck_assert_uint_eq(b->shard.count, 1024);
  ck_assert_int_eq(b->backoff_max_ms, 1000);
  ck_assert_uint_eq(b->failure_threshold, 1);
  ck_assert(b->self_metrics);
  dw_config_free(&cfg);
}
END_TEST

/* A file meter's default instance clashes with another account's block,
 * in either order and across <Plugin> blocks: validation of the whole
 * refuses it. */
START_TEST(test_fleet_clash_across_accounts) {
  static const char file_account[] = "<Plugin digiwatt>\n"
                                     " <Account \"a\">\n"
                                     "  BaseURL \"https://api.example\"\n"
                                     "  ClientID \"id\"\n"
                                     "  ClientSecret \"" SECRET "\"\n"
                                     "  SmartmeterFile \"@DIR@/fleet-m9\"\n"
                                     " </Account>\n"
                                     "</Plugin>\n";
  char want[256];
  snprintf(want, sizeof(want),
           "<Account \"b\"> <Smartmeter \"m9\">: plugin instance \"m9\" is "
           "already used by <Account \"a\"> SmartmeterFile \"%s/fleet-m9\" "
           "meter \"m9\"; give one of them another Instance",
           tmp_dir);
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text(file_account, &cfg), 0);
  ck_assert_int_eq(parse_text(ACCOUNT_BLOCK("b", "m9"), &cfg), -EINVAL);
  ck_assert_msg(standin_log_contains_at(LOG_ERR, want), "want %s", want);
  ck_assert_uint_eq(standin_log_count(), 1);
  ck_assert_uint_eq(cfg.accounts_len, 0);
  dw_config_free(&cfg);

  /* The block first: the file's meter is the later one. */
  standin_reset();
  ck_assert_int_eq(parse_text(ACCOUNT_BLOCK("b", "m9"), &cfg), 0);
  ck_assert_int_eq(parse_text(file_account, &cfg), -EINVAL);
  snprintf(want, sizeof(want),
           "<Account \"a\"> SmartmeterFile \"%s/fleet-m9\" meter \"m9\": "
           "plugin instance \"m9\" is already used by <Account \"b\"> "
           "<Smartmeter \"m9\">",
           tmp_dir);
  ck_assert_msg(standin_log_contains_at(LOG_ERR, want), "want %s", want);
  ck_assert_uint_eq(cfg.accounts_len, 0);
  assert_no_secret_logged();
  assert_every_line_prefixed();
  dw_config_free(&cfg);
}
END_TEST

/* Sixty meters of one file share an instance: fifty lines, then a count. */
START_TEST(test_fleet_many_clashes) {
  dw_config_t cfg = {0};
  char *text = bad_text(GOOD_URL GOOD_ID GOOD_SECRET
                        "  SmartmeterFile \"@DIR@/fleet-many-clashes\"\n");
  ck_assert_int_eq(parse_text(text, &cfg), -EINVAL);
  free(text);
  ck_assert_uint_eq(standin_log_count(), 51);
  ck_assert(standin_log_contains_at(LOG_ERR, "meter \"s01\": plugin instance "
                                             "\"x\" is already used by"));
  ck_assert(standin_log_contains_at(LOG_ERR, "meter \"s50\": plugin instance"));
  ck_assert(!standin_log_contains("meter \"s51\": plugin instance"));
  ck_assert(standin_log_contains_at(
      LOG_ERR, "<Plugin digiwatt>: 9 more plugin instance clashes"));
  ck_assert_ptr_null(cfg.accounts);
}
END_TEST

START_TEST(test_bad_table) {
  const bad_case_t *c = &bad_cases[_i];
  dw_config_t cfg = {0};
  char *text = bad_text(c->text);
  int status = parse_text(text, &cfg);
  free(text);
  ck_assert_msg(status == -EINVAL, "case %d: status %d", _i, status);
  ck_assert_ptr_null(cfg.accounts);
  ck_assert_uint_eq(cfg.accounts_len, 0);
  ck_assert(standin_log_count() > 0);
  for (size_t w = 0; w < 3 && c->want[w] != NULL; w++) {
    if (!standin_log_contains_at(LOG_ERR, c->want[w])) {
      for (size_t i = 0; i < standin_log_count(); i++)
        fprintf(stderr, "case %d log: %s\n", _i, standin_log_at(i)->text);
      ck_abort_msg("case %d: no error line contains '%s'", _i, c->want[w]);
    }
  }
  if (c->absent != NULL)
    ck_assert(!standin_log_contains(c->absent));
  assert_no_secret_logged();
  assert_every_line_prefixed();
}
END_TEST

START_TEST(test_bad_cross_account) {
  static const char *const texts[] = {
      "<Plugin digiwatt>\n" ACCOUNT("dup", "m1")
          ACCOUNT("dup", "m2") "</Plugin>\n",
      "<Plugin digiwatt>\n" ACCOUNT("a", "same")
          ACCOUNT("b", "same") "</Plugin>\n",
      "<Plugin digiwatt>\n <Account \"main account\">\n" GOOD
      " </Account>\n</Plugin>\n",
      "<Plugin digiwatt>\n <Account>\n" GOOD " </Account>\n</Plugin>\n",
      "<Plugin digiwatt>\n Account \"x\"\n</Plugin>\n",
      "<Plugin digiwatt>\n Interval 10\n</Plugin>\n",
      "<Plugin digiwatt>\n <Acount \"x\">\n </Acount>\n</Plugin>\n",
  };
  static const char *const wants[] = {
      "<Account \"dup\">: duplicate account name",
      "<Account \"b\"> <Smartmeter \"same\">: plugin instance \"same\" is "
      "already used by <Account \"a\"> <Smartmeter \"same\">",
      "<Account \"main account\">: the account name must be 1 to 63 "
      "characters of [A-Za-z0-9_-]",
      "<Account>: <Account> needs one string: the account name",
      "<Account \"x\">: no smartmeter configured",
      "<Plugin digiwatt>: unknown option \"Interval\"",
      "<Plugin digiwatt>: unknown option \"Acount\"; did you mean Account?",
  };
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text(texts[_i], &cfg), -EINVAL);
  ck_assert_ptr_null(cfg.accounts);
  ck_assert_msg(standin_log_contains_at(LOG_ERR, wants[_i]), "want %s",
                wants[_i]);
  assert_no_secret_logged();
  dw_config_free(&cfg);
}
END_TEST

START_TEST(test_long_id) {
  char id[DW_MAX_ID_LEN + 2];
  memset(id, 'a', sizeof(id) - 1);
  id[sizeof(id) - 1] = '\0';
  char options[512];
  snprintf(options, sizeof(options),
           GOOD "  <Smartmeter \"%s\">\n  </Smartmeter>\n", id);
  dw_config_t cfg = {0};
  char *text = bad_text(options);
  ck_assert_int_eq(parse_text(text, &cfg), -EINVAL);
  ck_assert(standin_log_contains("the smartmeter ID is longer than 256 bytes"));
  /* The log line shows a bounded part of it. */
  ck_assert(standin_log_contains("aaaa...\">"));
  ck_assert_uint_lt(strlen(standin_log_at(0)->text), 300);

  /* One byte less is fine. */
  standin_reset();
  id[DW_MAX_ID_LEN] = '\0';
  free(text);
  snprintf(options, sizeof(options),
           GOOD "  <Smartmeter \"%s\">\n  </Smartmeter>\n", id);
  text = bad_text(options);
  ck_assert_int_eq(parse_text(text, &cfg), 0);
  ck_assert_str_eq(cfg.accounts[0].meters[1].id, id);
  ck_assert_uint_le(strlen(cfg.accounts[0].meters[1].instance), 63);
  free(text);
  dw_config_free(&cfg);
}
END_TEST

/* A URL shorter than "https://" is read only up to its NUL (issue 12,
 * item 5: the host was computed as url + 7 or + 8 before the scheme was
 * checked). Each URL ends right before a page that may not be read, so
 * reading past it crashes this test with or without ASan. */
static const char *const short_urls[] = {"bogus",  "",        "h",
                                         "http:/", "https:/", "ftp://"};

START_TEST(test_short_url_read_in_bounds) {
  long page = sysconf(_SC_PAGESIZE);
  char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(map, MAP_FAILED);
  ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
  const char *text = short_urls[_i];
  size_t size = strlen(text) + 1;
  char *url = map + page - size;
  memcpy(url, text, size);
  ck_assert_int_eq(
      dw_urlpolicy_check("<Account \"main\">", "BaseURL", url, true, false),
      -EINVAL);
  ck_assert(standin_log_contains_at(LOG_ERR, "BaseURL"));
  munmap(map, 2 * (size_t)page);
}
END_TEST

/* Every error of a block is logged, not only the first, and the secret
 * appears in none of them. */
START_TEST(test_every_error_logged) {
  dw_config_t cfg = {0};
  ck_assert_int_eq(parse_text("<Plugin digiwatt>\n"
                              " <Account \"main\">\n"
                              "  BaseURL \"ftp://x\"\n"
                              "  ClientSecret \"" SECRET "\"\n"
                              "  ClientSecretFile \"@DIR@/secret\"\n"
                              "  Timeout 0\n"
                              "  Tiemout 5\n"
                              "  <Smartmeter \"1 2\">\n"
                              "   Instance \"a b\"\n"
                              "   Periods \"never\"\n"
                              "  </Smartmeter>\n"
                              " </Account>\n"
                              " Bogus 1\n"
                              "</Plugin>\n",
                              &cfg),
                   -EINVAL);
  static const char *const wants[] = {
      "only http:// and https://",
      "ClientID is required",
      "ClientSecret and ClientSecretFile both given",
      "Timeout must be between",
      "unknown option \"Tiemout\"",
      "the smartmeter ID must not contain whitespace",
      "Instance \"a b\" may only hold",
      "unknown period \"never\"",
      "<Plugin digiwatt>: unknown option \"Bogus\"",
  };
  for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
    ck_assert_msg(standin_log_contains_at(LOG_ERR, wants[i]), "want %s",
                  wants[i]);
  ck_assert_uint_eq(standin_log_count(), sizeof(wants) / sizeof(wants[0]));
  assert_no_secret_logged();
  assert_every_line_prefixed();
  ck_assert_ptr_null(cfg.accounts);
}
END_TEST

/* --- the stand-in itself ----------------------------------------------------
 */

START_TEST(test_standin_parser) {
  oconfig_item_t *root = standin_config_parse(
      "# leading comment\n"
      "Key \"a \\\"quoted\\\" \\\\ text\" 42 -1.5 0x10 true off word\n"
      "<Block \"arg\" 7>\n"
      "  Inner yes # trailing comment\n"
      "  <Nested>\n"
      "  </Nested>\n"
      "</Block>\n"
      "Joined 1 \\\n 2\n");
  ck_assert_ptr_nonnull(root);
  ck_assert_ptr_null(root->key);
  ck_assert_int_eq(root->children_num, 3);
  const oconfig_item_t *key = &root->children[0];
  ck_assert_str_eq(key->key, "Key");
  ck_assert_int_eq(key->values_num, 7);
  ck_assert_int_eq(key->values[0].type, OCONFIG_TYPE_STRING);
  ck_assert_str_eq(key->values[0].value.string, "a \"quoted\" \\ text");
  ck_assert_int_eq(key->values[1].type, OCONFIG_TYPE_NUMBER);
  ck_assert_double_eq(key->values[1].value.number, 42);
  ck_assert_double_eq(key->values[2].value.number, -1.5);
  ck_assert_double_eq(key->values[3].value.number, 16);
  ck_assert_int_eq(key->values[4].type, OCONFIG_TYPE_BOOLEAN);
  ck_assert_int_eq(key->values[4].value.boolean, 1);
  ck_assert_int_eq(key->values[5].value.boolean, 0);
  ck_assert_int_eq(key->values[6].type, OCONFIG_TYPE_STRING);
  ck_assert_str_eq(key->values[6].value.string, "word");
  const oconfig_item_t *block = &root->children[1];
  ck_assert_str_eq(block->key, "Block");
  ck_assert_int_eq(block->values_num, 2);
  ck_assert_str_eq(block->values[0].value.string, "arg");
  ck_assert_int_eq(block->children_num, 2);
  ck_assert_ptr_eq(block->parent, root);
  ck_assert_str_eq(block->children[0].key, "Inner");
  ck_assert_int_eq(block->children[0].values[0].value.boolean, 1);
  ck_assert_ptr_eq(block->children[1].parent, block);
  ck_assert_str_eq(block->children[1].key, "Nested");
  ck_assert_int_eq(root->children[2].values_num, 2);
  standin_config_free(root);
  standin_config_free(NULL);

  /* Blocks nest 16 deep at most (the config fuzzer reads with it too). */
  text_t nest = {0};
  for (int depth = 1; depth <= 17; depth++) {
    nest.len = 0;
    text_repeat(&nest, "<B>\n", (size_t)depth);
    text_repeat(&nest, "</B>\n", (size_t)depth);
    root = standin_config_parse(text_str(&nest));
    ck_assert_msg((root != NULL) == (depth <= 16), "depth %d", depth);
    standin_config_free(root);
  }
  /* Many options and values: every one is kept. */
  nest.len = 0;
  text_repeat(&nest, "Key 1 \"two\" 3 4 5\n", 1000);
  root = standin_config_parse(text_str(&nest));
  ck_assert_ptr_nonnull(root);
  ck_assert_int_eq(root->children_num, 1000);
  ck_assert_int_eq(root->children[999].values_num, 5);
  ck_assert_str_eq(root->children[999].values[1].value.string, "two");
  standin_config_free(root);
  free(nest.data);
}
END_TEST

START_TEST(test_standin_recorders) {
  ck_assert_uint_eq(plugin_get_interval(), STANDIN_DEFAULT_INTERVAL);
  standin_set_interval(TIME_T_TO_CDTIME_T(60));
  ck_assert_uint_eq(plugin_get_interval(), TIME_T_TO_CDTIME_T(60));
  standin_set_time(TIME_T_TO_CDTIME_T(1700000000));
  ck_assert_uint_eq(cdtime(), TIME_T_TO_CDTIME_T(1700000000));
  standin_set_time(0);
  ck_assert_uint_gt(cdtime(), TIME_T_TO_CDTIME_T(1700000000));

  value_t values[2] = {{.gauge = 1.5}, {.gauge = -2}};
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = values;
  vl.values_len = 2;
  vl.time = 123;
  vl.interval = 456;
  snprintf(vl.plugin, sizeof(vl.plugin), "digiwatt");
  snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "home");
  snprintf(vl.type, sizeof(vl.type), "gauge");
  snprintf(vl.type_instance, sizeof(vl.type_instance), "x");
  ck_assert_int_eq(plugin_dispatch_values(&vl), 0);
  values[0].gauge = 99; /* the record is a copy */
  standin_set_dispatch_status(-1);
  ck_assert_int_eq(plugin_dispatch_values(&vl), -1);
  ck_assert_uint_eq(standin_values_count(), 2);
  const standin_value_t *v = standin_value_at(0);
  ck_assert_str_eq(v->plugin, "digiwatt");
  ck_assert_uint_eq(v->time, 123);
  ck_assert_uint_eq(v->interval, 456);
  ck_assert_uint_eq(v->values_len, 2);
  ck_assert_double_eq(v->values[0], 1.5);
  ck_assert_double_eq(v->values[1], -2);
  ck_assert_ptr_eq(standin_find_value("home", "gauge", "x"),
                   standin_value_at(1));
  ck_assert_ptr_null(standin_find_value("home", "gauge", "y"));
  ck_assert_ptr_null(standin_value_at(2));

  notification_t n = {.severity = NOTIF_FAILURE};
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "home");
  snprintf(n.message, sizeof(n.message), "token refused");
  ck_assert_int_eq(plugin_dispatch_notification(&n), 0);
  ck_assert_uint_eq(standin_notifications_count(), 1);
  ck_assert_str_eq(standin_notification_at(0)->message, "token refused");
  ck_assert_int_eq(standin_notification_at(0)->severity, NOTIF_FAILURE);

  dw_log(DW_LOG_NOTICE, "cycle took %d ms", 12);
  ERROR("other plugin: %s", "boom");
  ck_assert_uint_eq(standin_log_count(), 2);
  ck_assert_int_eq(standin_log_at(0)->severity, LOG_NOTICE);
  ck_assert_str_eq(standin_log_at(0)->text,
                   "digiwatt plugin: cycle took 12 ms");
  ck_assert(standin_log_contains_at(LOG_ERR, "boom"));
  ck_assert(!standin_log_contains_at(LOG_WARNING, "boom"));
  ck_assert_ptr_null(standin_log_at(2));

  standin_reset();
  ck_assert_uint_eq(standin_log_count(), 0);
  ck_assert_uint_eq(standin_values_count(), 0);
  ck_assert_uint_eq(standin_notifications_count(), 0);
  ck_assert_uint_eq(plugin_get_interval(), STANDIN_DEFAULT_INTERVAL);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *good = tcase_create("good");
  tcase_add_unchecked_fixture(good, files_setup, files_teardown);
  tcase_add_checked_fixture(good, standin_reset, standin_reset);
  tcase_add_test(good, test_minimal);
  tcase_add_test(good, test_full);
  tcase_add_test(good, test_two_accounts_two_meters);
  tcase_add_test(good, test_several_plugin_blocks);
  tcase_add_test(good, test_state_options);
  tcase_add_test(good, test_secret_file);
  tcase_add_test(good, test_secret_file_readable_by_others);
  tcase_add_test(good, test_case_insensitive_names);
  tcase_add_test(good, test_last_wins);
  tcase_add_test(good, test_empty_block_and_null);
  tcase_add_test(good, test_fleet_options);
  tcase_add_test(good, test_fleet_with_blocks);
  tcase_add_test(good, test_fleet_clash_across_accounts);
  tcase_add_test(good, test_quoted_booleans);
  tcase_add_test(good, test_http_options);
  tcase_add_test(good, test_list_limits);
  tcase_add_loop_test(good, test_rate_accepted, 0,
                      sizeof(rate_cases) / sizeof(rate_cases[0]));
  suite_add_tcase(s, good);

  TCase *bad = tcase_create("bad");
  tcase_add_unchecked_fixture(bad, files_setup, files_teardown);
  tcase_add_checked_fixture(bad, standin_reset, standin_reset);
  tcase_add_loop_test(bad, test_bad_table, 0,
                      sizeof(bad_cases) / sizeof(bad_cases[0]));
  tcase_add_loop_test(bad, test_bad_cross_account, 0, 7);
  tcase_add_test(bad, test_long_id);
  tcase_add_loop_test(bad, test_one_mistake_one_error, 0,
                      sizeof(one_error_texts) / sizeof(one_error_texts[0]));
  tcase_add_loop_test(bad, test_short_url_read_in_bounds, 0,
                      sizeof(short_urls) / sizeof(short_urls[0]));
  tcase_add_test(bad, test_every_error_logged);
  tcase_add_test(bad, test_fleet_many_clashes);
  suite_add_tcase(s, bad);

  TCase *standin = tcase_create("stand_in");
  tcase_add_checked_fixture(standin, standin_reset, standin_reset);
  tcase_add_test(standin, test_standin_parser);
  tcase_add_test(standin, test_standin_recorders);
  suite_add_tcase(s, standin);
  return s;
}

int main(void) { return standin_run_suite(config_suite()); }
