/* stand_in.c - a recording stand-in for the collectd daemon (see stand_in.h).
 *
 * Test code: it aborts on ENOMEM instead of threading errors through, and
 * keeps everything in plain growable arrays. */
#include "stand_in.h"
#include "run_suite.h"
#include "text_buf.h"

/* The daemon global that notifications take their host from. */
static char standin_host[] = "standin-host";
char *hostname_g = standin_host;

#include "utils_time.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* collectd's plugin_log() formats into a buffer of this size and cuts the
 * rest; the stand-in does the same so tests see what the daemon logs. */
#define STANDIN_LOG_SIZE 1024

static pthread_mutex_t standin_lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything recorded, and the settings the tests choose. */
struct standin_state {
  standin_log_t *logs;
  size_t logs_len, logs_cap;
  standin_value_t *values;
  size_t values_len, values_cap;
  standin_notification_t *notifs;
  size_t notifs_len, notifs_cap;
  cdtime_t interval;
  cdtime_t now;
  int dispatch_status;
  bool verbose;
  bool initialized;
};

static struct standin_state standin = {.interval = STANDIN_DEFAULT_INTERVAL};

static void *standin_alloc_or_die(void *p) {
  if (p == NULL) {
    fprintf(stderr, "stand_in: out of memory\n");
    abort();
  }
  return p;
}

/* Makes room for one more element of size elem at array[*len]. */
static void *standin_grow(void *array, size_t *cap, size_t len, size_t elem) {
  if (len < *cap)
    return array;
  *cap = *cap ? 2 * *cap : 16;
  return standin_alloc_or_die(realloc(array, *cap * elem));
}

/* The verbose default comes from the environment, read once. */
static void standin_init_locked(void) {
  if (standin.initialized)
    return;
  standin.verbose = getenv("STANDIN_VERBOSE") != NULL;
  standin.initialized = true;
}

void standin_reset(void) {
  pthread_mutex_lock(&standin_lock);
  for (size_t i = 0; i < standin.logs_len; i++)
    free(standin.logs[i].text);
  for (size_t i = 0; i < standin.values_len; i++)
    free(standin.values[i].values), free(standin.values[i].derives);
  free(standin.logs);
  free(standin.values);
  free(standin.notifs);
  standin = (struct standin_state){.interval = STANDIN_DEFAULT_INTERVAL};
  standin_init_locked();
  pthread_mutex_unlock(&standin_lock);
}

static void standin_record_log(int severity, const char *text) {
  pthread_mutex_lock(&standin_lock);
  standin_init_locked();
  standin.logs = standin_grow(standin.logs, &standin.logs_cap, standin.logs_len,
                              sizeof(*standin.logs));
  standin.logs[standin.logs_len++] = (standin_log_t){
      .severity = severity, .text = standin_alloc_or_die(strdup(text))};
  if (standin.verbose)
    fprintf(stderr, "stand_in: log[%d] %s\n", severity, text);
  pthread_mutex_unlock(&standin_lock);
}

void plugin_log(int level, const char *format, ...) {
  char text[STANDIN_LOG_SIZE];
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  standin_record_log(level, text);
}

int plugin_dispatch_values(value_list_t const *vl) {
  standin_value_t v = {
      .time = vl->time, .interval = vl->interval, .values_len = vl->values_len};
  snprintf(v.host, sizeof(v.host), "%s", vl->host);
  snprintf(v.plugin, sizeof(v.plugin), "%s", vl->plugin);
  snprintf(v.plugin_instance, sizeof(v.plugin_instance), "%s",
           vl->plugin_instance);
  snprintf(v.type, sizeof(v.type), "%s", vl->type);
  snprintf(v.type_instance, sizeof(v.type_instance), "%s", vl->type_instance);
  v.values = standin_alloc_or_die(
      calloc(vl->values_len ? vl->values_len : 1, sizeof(double)));
  v.derives = standin_alloc_or_die(
      calloc(vl->values_len ? vl->values_len : 1, sizeof(derive_t)));
  for (size_t i = 0; i < vl->values_len; i++) {
    v.values[i] = vl->values[i].gauge;
    v.derives[i] = vl->values[i].derive;
  }

  pthread_mutex_lock(&standin_lock);
  standin.values = standin_grow(standin.values, &standin.values_cap,
                                standin.values_len, sizeof(*standin.values));
  standin.values[standin.values_len++] = v;
  int status = standin.dispatch_status;
  pthread_mutex_unlock(&standin_lock);
  return status;
}

int plugin_dispatch_notification(const notification_t *notif) {
  standin_notification_t n = {.severity = notif->severity, .time = notif->time};
  snprintf(n.plugin, sizeof(n.plugin), "%s", notif->plugin);
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s",
           notif->plugin_instance);
  snprintf(n.type, sizeof(n.type), "%s", notif->type);
  snprintf(n.type_instance, sizeof(n.type_instance), "%s",
           notif->type_instance);
  snprintf(n.message, sizeof(n.message), "%s", notif->message);

  pthread_mutex_lock(&standin_lock);
  standin.notifs = standin_grow(standin.notifs, &standin.notifs_cap,
                                standin.notifs_len, sizeof(*standin.notifs));
  standin.notifs[standin.notifs_len++] = n;
  pthread_mutex_unlock(&standin_lock);
  return 0;
}

cdtime_t plugin_get_interval(void) {
  pthread_mutex_lock(&standin_lock);
  cdtime_t interval = standin.interval;
  pthread_mutex_unlock(&standin_lock);
  return interval;
}

cdtime_t cdtime(void) {
  pthread_mutex_lock(&standin_lock);
  cdtime_t now = standin.now;
  pthread_mutex_unlock(&standin_lock);
  if (now != 0)
    return now;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

void standin_set_interval(cdtime_t interval) {
  pthread_mutex_lock(&standin_lock);
  standin.interval = interval;
  pthread_mutex_unlock(&standin_lock);
}

void standin_set_time(cdtime_t now) {
  pthread_mutex_lock(&standin_lock);
  standin.now = now;
  pthread_mutex_unlock(&standin_lock);
}

void standin_set_dispatch_status(int status) {
  pthread_mutex_lock(&standin_lock);
  standin.dispatch_status = status;
  pthread_mutex_unlock(&standin_lock);
}

void standin_set_verbose(bool verbose) {
  pthread_mutex_lock(&standin_lock);
  standin_init_locked();
  standin.verbose = verbose;
  pthread_mutex_unlock(&standin_lock);
}

size_t standin_log_count(void) { return standin.logs_len; }

const standin_log_t *standin_log_at(size_t i) {
  return i < standin.logs_len ? &standin.logs[i] : NULL;
}

bool standin_log_contains(const char *needle) {
  for (size_t i = 0; i < standin.logs_len; i++)
    if (strstr(standin.logs[i].text, needle) != NULL)
      return true;
  return false;
}

bool standin_log_contains_at(int severity, const char *needle) {
  for (size_t i = 0; i < standin.logs_len; i++)
    if (standin.logs[i].severity == severity &&
        strstr(standin.logs[i].text, needle) != NULL)
      return true;
  return false;
}

size_t standin_values_count(void) { return standin.values_len; }

const standin_value_t *standin_value_at(size_t i) {
  return i < standin.values_len ? &standin.values[i] : NULL;
}

const standin_value_t *standin_find_value(const char *plugin_instance,
                                          const char *type,
                                          const char *type_instance) {
  for (size_t i = standin.values_len; i-- > 0;) {
    const standin_value_t *v = &standin.values[i];
    if (strcmp(v->plugin_instance, plugin_instance) == 0 &&
        strcmp(v->type, type) == 0 &&
        strcmp(v->type_instance, type_instance) == 0)
      return v;
  }
  return NULL;
}

size_t standin_notifications_count(void) { return standin.notifs_len; }

const standin_notification_t *standin_notification_at(size_t i) {
  return i < standin.notifs_len ? &standin.notifs[i] : NULL;
}

/* --- collectd.conf syntax from a string ---------------------------------
 *
 * One statement per line: a key and its values, "<Key values>" opening a
 * block, or "</Key>" closing it. A backslash before the newline joins
 * lines, as in collectd. */

typedef struct standin_parser {
  const char *p;
  int line;
  const char *error;
} standin_parser_t;

static int parse_fail(standin_parser_t *ps, const char *error) {
  if (ps->error == NULL)
    ps->error = error;
  return -1;
}

/* Skips blanks, joined lines and a comment; stops at a newline or end. */
static void parse_skip_blank(standin_parser_t *ps) {
  for (;;) {
    if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') {
      ps->p++;
    } else if (ps->p[0] == '\\' && ps->p[1] == '\n') {
      ps->p += 2;
      ps->line++;
    } else if (*ps->p == '#') {
      while (*ps->p != '\0' && *ps->p != '\n')
        ps->p++;
    } else {
      return;
    }
  }
}

static bool parse_is_word_byte(char c) {
  return c != '\0' && !isspace((unsigned char)c) && c != '"' && c != '<' &&
         c != '>' && c != '#';
}

static char *parse_word(standin_parser_t *ps) {
  const char *start = ps->p;
  while (parse_is_word_byte(*ps->p))
    ps->p++;
  if (ps->p == start)
    return NULL;
  return standin_alloc_or_die(strndup(start, (size_t)(ps->p - start)));
}

/* A "quoted string"; a backslash makes the next byte literal. */
static char *parse_quoted(standin_parser_t *ps) {
  char *out = standin_alloc_or_die(malloc(strlen(ps->p) + 1));
  size_t len = 0;
  ps->p++; /* the opening quote */
  while (*ps->p != '"') {
    if (*ps->p == '\\' && ps->p[1] != '\0')
      ps->p++;
    if (*ps->p == '\0' || *ps->p == '\n') {
      free(out);
      parse_fail(ps, "unterminated quoted string");
      return NULL;
    }
    out[len++] = *ps->p++;
  }
  ps->p++;
  out[len] = '\0';
  return out;
}

/* An unquoted word as collectd reads it: boolean, number or string. */
static oconfig_value_t parse_classify(char *word) {
  static const char *const yes[] = {"true", "yes", "on"};
  static const char *const no[] = {"false", "no", "off"};
  for (size_t i = 0; i < 3; i++) {
    if (strcasecmp(word, yes[i]) == 0 || strcasecmp(word, no[i]) == 0) {
      int boolean = strcasecmp(word, yes[i]) == 0;
      free(word);
      return (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN,
                               .value.boolean = boolean};
    }
  }
  char *end = NULL;
  double number = strtod(word, &end);
  if ((isdigit((unsigned char)word[0]) || strchr("+-.", word[0]) != NULL) &&
      *end == '\0' && end != word) {
    free(word);
    return (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER,
                             .value.number = number};
  }
  return (oconfig_value_t){.type = OCONFIG_TYPE_STRING, .value.string = word};
}

/* Reads values up to the end of the line (or '>' inside a block head). */
static int parse_values(standin_parser_t *ps, oconfig_item_t *item,
                        bool in_block_head) {
  for (;;) {
    parse_skip_blank(ps);
    char c = *ps->p;
    if (c == '\0' || c == '\n' || (in_block_head && c == '>'))
      return 0;
    char *text = c == '"' ? parse_quoted(ps) : parse_word(ps);
    if (text == NULL)
      return parse_fail(ps, "unexpected character");
    item->values = standin_alloc_or_die(realloc(
        item->values, (size_t)(item->values_num + 1) * sizeof(*item->values)));
    item->values[item->values_num++] =
        c == '"' ? (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                                     .value.string = text}
                 : parse_classify(text);
  }
}

static void item_clear(oconfig_item_t *item) {
  free(item->key);
  for (int i = 0; i < item->values_num; i++)
    if (item->values[i].type == OCONFIG_TYPE_STRING)
      free(item->values[i].value.string);
  free(item->values);
  for (int i = 0; i < item->children_num; i++)
    item_clear(&item->children[i]);
  free(item->children);
}

static int parse_items(standin_parser_t *ps, oconfig_item_t *parent,
                       const char *closing);

/* The rest of the line after a statement must be blank. */
static int parse_end_of_line(standin_parser_t *ps) {
  parse_skip_blank(ps);
  if (*ps->p != '\0' && *ps->p != '\n')
    return parse_fail(ps, "unexpected text after the statement");
  return 0;
}

/* One "<Key values>" ... "</Key>" block into item (the '<' is read). */
static int parse_block(standin_parser_t *ps, oconfig_item_t *item) {
  parse_skip_blank(ps);
  item->key = parse_word(ps);
  if (item->key == NULL)
    return parse_fail(ps, "block without a key");
  if (parse_values(ps, item, true) != 0)
    return -1;
  if (*ps->p != '>')
    return parse_fail(ps, "block head without '>'");
  ps->p++;
  if (parse_end_of_line(ps) != 0)
    return -1;
  return parse_items(ps, item, item->key);
}

/* "</Key>", which must close the block named closing. */
static int parse_block_end(standin_parser_t *ps, const char *closing) {
  ps->p += 2; /* "</" */
  char *key = parse_word(ps);
  bool matches =
      key != NULL && closing != NULL && strcasecmp(key, closing) == 0;
  free(key);
  if (!matches)
    return parse_fail(ps, "closing tag without a matching block");
  if (*ps->p != '>')
    return parse_fail(ps, "closing tag without '>'");
  ps->p++;
  return parse_end_of_line(ps);
}

static void parse_append(oconfig_item_t *parent, const oconfig_item_t *child) {
  parent->children = standin_alloc_or_die(
      realloc(parent->children,
              (size_t)(parent->children_num + 1) * sizeof(*parent->children)));
  parent->children[parent->children_num++] = *child;
}

/* Statements until the end of text (closing NULL) or "</closing>". */
static int parse_items(standin_parser_t *ps, oconfig_item_t *parent,
                       const char *closing) {
  for (;;) {
    parse_skip_blank(ps);
    if (*ps->p == '\n') {
      ps->p++;
      ps->line++;
      continue;
    }
    if (*ps->p == '\0')
      return closing == NULL ? 0 : parse_fail(ps, "block not closed");
    if (ps->p[0] == '<' && ps->p[1] == '/')
      return parse_block_end(ps, closing);

    oconfig_item_t child = {0};
    int status;
    if (*ps->p == '<') {
      ps->p++;
      status = parse_block(ps, &child);
    } else {
      child.key = parse_word(ps);
      status = child.key == NULL ? parse_fail(ps, "expected a key")
                                 : parse_values(ps, &child, false);
    }
    if (status != 0) {
      item_clear(&child);
      return -1;
    }
    parse_append(parent, &child);
  }
}

/* The children moved while their arrays grew: set parents at the end. */
static void parse_set_parents(oconfig_item_t *item) {
  for (int i = 0; i < item->children_num; i++) {
    item->children[i].parent = item;
    parse_set_parents(&item->children[i]);
  }
}

oconfig_item_t *standin_config_parse(const char *text) {
  oconfig_item_t *root = standin_alloc_or_die(calloc(1, sizeof(*root)));
  standin_parser_t ps = {.p = text, .line = 1};
  if (parse_items(&ps, root, NULL) != 0) {
    fprintf(stderr, "stand_in: config line %d: %s\n", ps.line, ps.error);
    standin_config_free(root);
    return NULL;
  }
  parse_set_parents(root);
  return root;
}

void standin_config_free(oconfig_item_t *root) {
  if (root == NULL)
    return;
  item_clear(root);
  free(root);
}

int standin_run_suite(Suite *suite) {
  SRunner *sr = srunner_create(suite);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void text_append(text_t *t, const char *s, size_t len) {
  if (t->len + len + 1 > t->cap) {
    size_t cap = t->cap == 0 ? 256 : t->cap;
    while (cap < t->len + len + 1)
      cap *= 2;
    t->data = realloc(t->data, cap);
    ck_assert_ptr_nonnull(t->data);
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, len);
  t->len += len;
  t->data[t->len] = '\0';
}

void text_puts(text_t *t, const char *s) { text_append(t, s, strlen(s)); }

void text_repeat(text_t *t, const char *s, size_t times) {
  for (size_t i = 0; i < times; i++)
    text_puts(t, s);
}

const char *text_str(const text_t *t) { return t->data != NULL ? t->data : ""; }
