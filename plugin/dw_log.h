/* dw_log.h - the one door to collectd's log, for every room.
 * Owns: the plugin's name and the "digiwatt plugin: " prefix of every line.
 * May call: collectd's plugin_log (in dw_log.c) and nothing else.
 *
 * Unit tests link the recording stand-in of plugin_log, so they see each
 * line exactly as collectd would. Never pass a secret, a token, a URL's
 * query or a response body to it. */
#ifndef DW_LOG_H
#define DW_LOG_H

#include <stdarg.h>

#define DW_PLUGIN_NAME "digiwatt"

/* Severities, numerically equal to collectd's LOG_*. */
#define DW_LOG_ERR 3
#define DW_LOG_WARNING 4
#define DW_LOG_NOTICE 5
#define DW_LOG_INFO 6
#define DW_LOG_DEBUG 7

/* "digiwatt plugin: <message>"; the message is cut at 1023 bytes. */
void dw_log(int severity, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* "digiwatt plugin: <where>: <message>", where names the configuration
 * block or the account a line is about. */
void dw_log_at(int severity, const char *where, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
