/* stand_in.h - a recording stand-in for the collectd daemon, for unit tests.
 *
 * Unit tests link the rooms without collectd. This file provides the few
 * daemon functions the rooms call (plugin_log, plugin_dispatch_values,
 * plugin_dispatch_notification, plugin_get_interval, cdtime) that the
 * rooms reach through dw_log.c and dw_dispatch.c,
 * and records what they were given so a test can look at it afterwards.
 * Everything recorded is a deep copy the stand-in owns until
 * standin_reset(); pointers returned by the accessors stay valid until the
 * next call that records something or resets.
 *
 * It also reads collectd.conf syntax from a string into an oconfig_item_t
 * tree, so config tests read like the configuration they test.
 *
 * Not thread-safe beyond recording: record from any thread, but look at
 * the records only when the code under test has stopped. */
#ifndef STAND_IN_H
#define STAND_IN_H

#include "collectd.h"

#include "liboconfig/oconfig.h"
#include "plugin.h"

#include <stdbool.h>
#include <stddef.h>

/* Default of plugin_get_interval(): collectd's 10 s. */
#define STANDIN_DEFAULT_INTERVAL ((cdtime_t)10 << 30)

typedef struct standin_log {
  int severity; /* LOG_ERR ... LOG_DEBUG (DW_LOG_* are equal) */
  char *text;   /* formatted; dw_log() lines carry "digiwatt plugin: " */
} standin_log_t;

typedef struct standin_value {
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  cdtime_t time;
  cdtime_t interval;
  size_t values_len;
  double *values;    /* the gauge member of each value_t */
  derive_t *derives; /* the derive member: read this one for DERIVE types */
} standin_value_t;

typedef struct standin_notification {
  int severity; /* NOTIF_FAILURE, NOTIF_WARNING, NOTIF_OKAY */
  cdtime_t time;
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  char message[NOTIF_MAX_MSG_LEN];
} standin_notification_t;

/* Forgets every record and restores the defaults (interval 10 s, real
 * clock, dispatch succeeds, quiet). Call it in every test's setup and
 * teardown so valgrind sees nothing left. */
void standin_reset(void);

/* Log lines recorded by plugin_log() and dw_log(), oldest first. */
size_t standin_log_count(void);
const standin_log_t *standin_log_at(size_t i); /* NULL when i is too big */

/* True when any recorded log line contains needle. */
bool standin_log_contains(const char *needle);

/* Like standin_log_contains(), but only lines of exactly this severity. */
bool standin_log_contains_at(int severity, const char *needle);

/* Values recorded by plugin_dispatch_values(), oldest first. */
size_t standin_values_count(void);
const standin_value_t *standin_value_at(size_t i); /* NULL when too big */

/* The newest recorded value list with this identifier (plugin is not
 * compared), or NULL. */
const standin_value_t *standin_find_value(const char *plugin_instance,
                                          const char *type,
                                          const char *type_instance);

/* Notifications recorded by plugin_dispatch_notification(), oldest first. */
size_t standin_notifications_count(void);
const standin_notification_t *standin_notification_at(size_t i);

/* What plugin_get_interval() returns from now on. */
void standin_set_interval(cdtime_t interval);

/* What cdtime() returns from now on; 0 goes back to the real clock. */
void standin_set_time(cdtime_t now);

/* What plugin_dispatch_values() returns from now on (it records anyway). */
void standin_set_dispatch_status(int status);

/* Also print each log line to stderr (handy while writing a test); the
 * environment variable STANDIN_VERBOSE does the same. */
void standin_set_verbose(bool verbose);

/* Reads collectd.conf syntax into a tree whose root has no key and holds
 * the top-level items as children, like oconfig_parse_file(), with
 * conf_text_parse() (see conf_text.h for the syntax). NULL on a syntax
 * error, printed to stderr with its line. Free with standin_config_free(). */
oconfig_item_t *standin_config_parse(const char *text);

/* Frees a tree from standin_config_parse(); accepts NULL. */
void standin_config_free(oconfig_item_t *root);

#endif
