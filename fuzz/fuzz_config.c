/* fuzz_config.c - libFuzzer harness for the configuration reader.
 *
 * The input is collectd.conf text. It is read into collectd's oconfig tree
 * with the test suites' parser (tests/unit/conf_text.c), and every
 * <Plugin digiwatt> block goes to dw_config_parse(), as collectd's config
 * callback would hand it over; the strings of the tree are exact-size heap
 * copies, so ASan sees any read past one (issue 12, item 5: BaseURL
 * "bogus"). Then:
 *
 * - every log line starts with "digiwatt plugin: " and is printable ASCII
 *   (nothing of the input is quoted raw);
 * - no secret reaches a log line: no value of ClientSecret,
 *   ClientKeyPassword, TokenParam or Header, and no query or userinfo of a
 *   URL option, when that text is distinctive (see secret_worth_checking);
 * - accepted: every account holds what the reader promises (names, URLs,
 *   IDs, paths, ranges); refused: nothing is handed out;
 * - LeakSanitizer sees nothing left once the configuration is freed. */
#include "conf_text.h"
#include "dw_config.h"
#include "dw_header.h"
#include "dw_name.h"
#include "dw_proxy.h"
#include "dw_resource.h"
#include "dw_url.h"
#include "fuzz_util.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>

#define LOG_LINES_MAX 4096
#define LOG_LINE_SIZE 1024 /* collectd's plugin_log() cuts there too */
#define SECRETS_MAX 256

/* What plugin_log() received during one input. */
static struct {
  char lines[LOG_LINES_MAX][LOG_LINE_SIZE];
  size_t len;
} logged;

/* The text of the input that must not reach a log line. */
static struct {
  const char *text[SECRETS_MAX];
  size_t len;
} secrets;

/* collectd's plugin_log, for dw_log.c. */
void plugin_log(int level, const char *format, ...);
void plugin_log(int level, const char *format, ...) {
  (void)level;
  if (logged.len == LOG_LINES_MAX)
    return;
  va_list ap;
  va_start(ap, format);
  vsnprintf(logged.lines[logged.len++], LOG_LINE_SIZE, format, ap);
  va_end(ap);
}

/* Text that is worth looking for in the log: at least 8 bytes, with a
 * letter and a digit (so no fixed wording holds it by chance), and once
 * only in the input (so no other option can have put it there). */
static bool secret_worth_checking(const char *s, const uint8_t *data,
                                  size_t size) {
  size_t len = strlen(s);
  if (len < 8 || strcspn(s, "0123456789") == len ||
      strcspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == len)
    return false;
  const uint8_t *hit = memmem(data, size, s, len);
  return hit != NULL &&
         memmem(hit + 1, size - (size_t)(hit + 1 - data), s, len) == NULL;
}

static void secret_add(const char *s, const uint8_t *data, size_t size) {
  if (secrets.len < SECRETS_MAX && secret_worth_checking(s, data, size))
    secrets.text[secrets.len++] = s;
}

/* The query and the userinfo of a URL option's value. */
static void secret_add_url_parts(char *copy, const uint8_t *data, size_t size) {
  char *query = strpbrk(copy, "?#");
  char *authority = strstr(copy, "://");
  if (authority != NULL) {
    authority += 3;
    char *end = authority + strcspn(authority, "/?#");
    char *at = memchr(authority, '@', (size_t)(end - authority));
    if (at != NULL) {
      *at = '\0';
      secret_add(authority, data, size);
    }
  }
  if (query != NULL)
    secret_add(query + 1, data, size);
}

static bool key_is(const oconfig_item_t *ci, const char *key) {
  return strcasecmp(ci->key, key) == 0;
}

/* Collects the secrets of the tree; copies of URL parts go to scratch,
 * which has room for size + 1 bytes (the whole input is never more). */
static void secrets_collect(const oconfig_item_t *ci, const uint8_t *data,
                            size_t size, char *scratch, size_t *used) {
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING)
      continue;
    const char *s = ci->values[i].value.string;
    bool url =
        key_is(ci, "BaseURL") || key_is(ci, "TokenURL") || key_is(ci, "Proxy");
    if (key_is(ci, "ClientSecret") || key_is(ci, "ClientKeyPassword") ||
        key_is(ci, "Header") || (key_is(ci, "TokenParam") && i == 1)) {
      secret_add(s, data, size);
    } else if (url && strlen(s) < size + 1 - *used) {
      char *copy = scratch + *used;
      memcpy(copy, s, strlen(s) + 1);
      *used += strlen(s) + 1;
      secret_add_url_parts(copy, data, size);
    }
  }
  for (int i = 0; i < ci->children_num; i++)
    secrets_collect(&ci->children[i], data, size, scratch, used);
}

static void check_log(void) {
  for (size_t i = 0; i < logged.len; i++) {
    const char *line = logged.lines[i];
    FUZZ_ASSERT(strncmp(line, "digiwatt plugin: ", 17) == 0);
    FUZZ_ASSERT(fuzz_printable(line, LOG_LINE_SIZE));
    for (size_t k = 0; k < secrets.len; k++)
      if (strstr(line, secrets.text[k]) != NULL) {
        fprintf(stderr, "secret \"%s\" logged: %s\n", secrets.text[k], line);
        FUZZ_ASSERT(!"a secret reached a log line");
      }
  }
}

static bool url_is_http(const char *url) {
  return strncasecmp(url, "http://", 7) == 0 ||
         strncasecmp(url, "https://", 8) == 0;
}

static void check_meter(const dw_meter_cfg_t *m) {
  size_t len = strlen(m->id);
  FUZZ_ASSERT(len >= 1 && len <= DW_MAX_ID_LEN);
  for (size_t i = 0; i < len; i++)
    FUZZ_ASSERT((unsigned char)m->id[i] > ' ' && m->id[i] != 0x7f);
  FUZZ_ASSERT(dw_name_is_safe(m->instance, strlen(m->instance)));
  FUZZ_ASSERT(m->resources != 0 && (m->resources & ~DW_RES_ALL) == 0);
  FUZZ_ASSERT(m->periods != 0 && (m->periods & ~DW_PERIOD_ALL) == 0);
}

/* What goes into a request as it is must be one clean line each. */
static void check_http_options(const dw_account_cfg_t *a) {
  FUZZ_ASSERT(a->user_agent != NULL && a->user_agent[0] != '\0');
  for (const char *p = a->user_agent; *p != '\0'; p++)
    FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
  FUZZ_ASSERT(a->headers.len <= 32 && a->token_params.len <= 32);
  FUZZ_ASSERT(a->headers.len == 0 || a->headers.items[a->headers.len] == NULL);
  for (size_t i = 0; i < a->headers.len; i++) {
    FUZZ_ASSERT(dw_header_check(a->headers.items[i]) == NULL);
    FUZZ_ASSERT(strpbrk(a->headers.items[i], "\r\n") == NULL);
  }
  for (size_t i = 0; i < a->token_params.len; i++) {
    FUZZ_ASSERT(dw_header_check_param(a->token_params.items[i].name) == NULL);
    FUZZ_ASSERT(a->token_params.items[i].value[0] != '\0');
  }
  FUZZ_ASSERT(a->proxy == NULL || dw_proxy_check(a->proxy) == NULL);
  FUZZ_ASSERT(a->client_key_password == NULL || a->client_key != NULL);
}

static void check_account(const dw_account_cfg_t *a) {
  FUZZ_ASSERT(dw_name_is_safe(a->name, strlen(a->name)));
  FUZZ_ASSERT(url_is_http(a->base_url) && url_is_http(a->token_url));
  FUZZ_ASSERT(strpbrk(a->base_url, "?# \t\r\n") == NULL);
  FUZZ_ASSERT(a->client_id != NULL && a->client_id[0] != '\0');
  FUZZ_ASSERT(a->client_secret != NULL && a->client_secret[0] != '\0');
  FUZZ_ASSERT(a->timeout_ms >= 100 && a->timeout_ms <= 300000);
  FUZZ_ASSERT(a->max_concurrency >= 1 && a->max_concurrency <= 1024);
  FUZZ_ASSERT(a->max_body >= 1024 && a->max_body <= 64 * 1024 * 1024);
  FUZZ_ASSERT(a->backoff_max_ms >= 1000 && a->backoff_max_ms <= 86400000);
  FUZZ_ASSERT(a->shard.count == 0 || a->shard.index < a->shard.count);
  FUZZ_ASSERT((a->client_cert == NULL) == (a->client_key == NULL));
  FUZZ_ASSERT(a->meters_len > 0 || a->smartmeter_file != NULL);
  for (int r = 0; r < DW_RES_COUNT; r++) {
    const char *why = NULL;
    FUZZ_ASSERT(a->paths[r] != NULL);
    FUZZ_ASSERT(dw_url_check_template(
                    a->paths[r], dw_resource_info((dw_resource_t)r)->has_period,
                    &why) == 0);
    FUZZ_ASSERT(a->refresh_ms[r] >= 0 && a->refresh_ms[r] <= 31L * 86400000);
  }
  for (size_t i = 0; i < a->meters_len; i++)
    check_meter(&a->meters[i]);
  check_http_options(a);
}

/* Hands every <Plugin digiwatt> block over, as collectd does; 0 when all
 * were accepted. */
static int parse_blocks(const oconfig_item_t *root, dw_config_t *cfg) {
  int status = 0;
  for (int i = 0; i < root->children_num; i++) {
    const oconfig_item_t *ci = &root->children[i];
    if (!key_is(ci, "Plugin") || ci->values_num != 1 ||
        ci->values[0].type != OCONFIG_TYPE_STRING ||
        strcasecmp(ci->values[0].value.string, "digiwatt") != 0)
      continue;
    size_t before = cfg->accounts_len;
    int rc = dw_config_parse(ci, cfg);
    FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    FUZZ_ASSERT(rc == 0 || cfg->accounts_len == before);
    if (status == 0)
      status = rc;
  }
  return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  char *scratch = malloc(size + 1);
  FUZZ_ASSERT(text != NULL && scratch != NULL);
  memcpy(text, data, size);
  text[size] = '\0';
  logged.len = 0;
  secrets.len = 0;
  oconfig_item_t *root = conf_text_parse(text, NULL, 0, NULL);
  free(text);
  if (root != NULL) {
    size_t used = 0;
    secrets_collect(root, data, size, scratch, &used);
    dw_config_t cfg = {0};
    parse_blocks(root, &cfg);
    check_log();
    for (size_t i = 0; i < cfg.accounts_len; i++)
      check_account(&cfg.accounts[i]);
    dw_config_free(&cfg);
    FUZZ_ASSERT(cfg.accounts == NULL && cfg.accounts_len == 0);
  }
  conf_text_free(root);
  free(scratch);
  return 0;
}
