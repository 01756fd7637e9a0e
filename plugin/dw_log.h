/* dw_log.h - the one logging door for rooms that do not know collectd.
 *
 * The glue implements dw_log() with plugin_log() and puts the mandatory
 * "digiwatt plugin: " in front; unit tests link a recording stand-in.
 * Never pass a secret, a token or a response body to it. */
#ifndef DW_LOG_H
#define DW_LOG_H

/* Severities, numerically equal to collectd's LOG_*. */
#define DW_LOG_ERR 3
#define DW_LOG_WARNING 4
#define DW_LOG_NOTICE 5
#define DW_LOG_INFO 6
#define DW_LOG_DEBUG 7

void dw_log(int severity, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
