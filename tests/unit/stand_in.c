/* stand_in.c - a recording stand-in for the collectd daemon (see stand_in.h).
 *
 * Test code: it aborts on ENOMEM instead of threading errors through, and
 * keeps everything in plain growable arrays. */
#include "stand_in.h"
#include "conf_text.h"
#include "run_suite.h"
#include "text_buf.h"

/* The daemon global that notifications take their host from. */
static char standin_host[] = "standin-host";
char *hostname_g = standin_host;

#include "utils_time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

oconfig_item_t *standin_config_parse(const char *text) {
  char error[128];
  int line = 0;
  oconfig_item_t *root = conf_text_parse(text, error, sizeof(error), &line);
  if (root == NULL)
    fprintf(stderr, "stand_in: config line %d: %s\n", line, error);
  return root;
}

void standin_config_free(oconfig_item_t *root) { conf_text_free(root); }

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
