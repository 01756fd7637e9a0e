/* dw_log.c - the one door to collectd's log (see dw_log.h). */
#include "dw_log.h"

#include "collectd.h"
#include "plugin.h"

#include <stdio.h>

#define LOG_MESSAGE_SIZE 1024

static void log_v(int severity, const char *where, const char *format,
                  va_list ap) {
  char message[LOG_MESSAGE_SIZE];
  vsnprintf(message, sizeof(message), format, ap);
  if (where != NULL)
    plugin_log(severity, DW_PLUGIN_NAME " plugin: %s: %s", where, message);
  else
    plugin_log(severity, DW_PLUGIN_NAME " plugin: %s", message);
}

void dw_log(int severity, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  log_v(severity, NULL, format, ap);
  va_end(ap);
}

void dw_log_at(int severity, const char *where, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  log_v(severity, where, format, ap);
  va_end(ap);
}
