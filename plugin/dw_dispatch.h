/* dw_dispatch.h - samples into collectd value lists and notifications.
 * Owns: the identifier of every value, month stamps, the "-latest" twins.
 * May call: collectd's plugin_dispatch_*, dw_cache (months), dw_name,
 * dw_sample, dw_log.
 *
 * Builds the identifier of README.md's table (plugin "digiwatt", the
 * meter's plugin_instance, the sample's type, and
 * label ["-" period] ["-" safe(appliance)] as type_instance) and calls
 * plugin_dispatch_values(). Monthly history values go out twice:
 *
 *  - month-stamped (time = 00:00:00 UTC on the 1st of that month), each
 *    (series, month) once, oldest first and one month per series and
 *    cycle, so collectd's cache never sees a value older than the one
 *    before ("value too old") and writers never get a burst of one
 *    identifier (dw_dispatch_month, with the series' mark);
 *  - the newest month of each series again as "<type_instance>-latest" at
 *    the value's time, which is what RRD files can hold
 *    (dw_dispatch_current).
 * Which samples go out when (once per response, or every cycle) is the
 * caller's choice. */
#ifndef DW_DISPATCH_H
#define DW_DISPATCH_H

#include "dw_cache.h"
#include "dw_log.h"
#include "dw_sample.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dw_dispatch_target {
  const char *plugin_instance;
  const char *period; /* NULL for resources without one */
  uint64_t time;      /* cdtime_t the values go out at (and the cycle's) */
  uint64_t interval;  /* cdtime_t: how long until the next value */
} dw_dispatch_target_t;

/* A current sample (month 0) at t->time, or, when latest, the newest
 * month of a series as its "-latest" twin at t->time; other month
 * samples send nothing. The value lists dispatched (1 or 0), or a
 * negative errno. */
__attribute__((warn_unused_result)) int
dw_dispatch_current(const dw_dispatch_target_t *t, const dw_sample_t *s,
                    bool latest);

/* A month-stamped sample at its month's timestamp, when it is newer than
 * mark->month and its series sent none this cycle (mark->sent_at is not
 * t->time); mark records it. Nothing for a current sample. The value
 * lists dispatched (1 or 0), or a negative errno (-EINVAL: a month
 * sample without a mark). */
__attribute__((warn_unused_result)) int
dw_dispatch_month(const dw_dispatch_target_t *t, const dw_sample_t *s,
                  dw_month_mark_t *mark);

/* Builds the type_instance of s for period (or NULL) into out. */
void dw_dispatch_type_instance(char *out, size_t out_size, const dw_sample_t *s,
                               const char *period);

/* Dispatches one plugin-own value (a self-metric) under plugin
 * "digiwatt"; derive selects DERIVE (value rounded) over GAUGE. */
__attribute__((warn_unused_result)) int
dw_dispatch_own(const char *plugin_instance, const char *type,
                const char *type_instance, uint64_t time, uint64_t interval,
                bool derive, double value);

#define DW_NOTIF_FAILURE 1 /* equal to collectd's NOTIF_* */
#define DW_NOTIF_WARNING 2
#define DW_NOTIF_OKAY 4

/* Sends a notification from plugin "digiwatt" (message cut at collectd's
 * 256 bytes). Never pass a secret or a token. */
void dw_dispatch_notification(int severity, const char *plugin_instance,
                              const char *type, const char *type_instance,
                              uint64_t time, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

/* Unix seconds of 00:00:00 UTC on the first day of month (year*12+m-1). */
int64_t dw_month_start_unix(int month);

/* The month (year*12+m-1, UTC) that Unix time t falls in; the inverse of
 * dw_month_start_unix(), for the window of months a cycle accepts. */
int dw_month_of_unix(int64_t t);

#endif
