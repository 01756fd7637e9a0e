/* dw_dispatch.c - samples into collectd value lists (see dw_dispatch.h). */
#include "dw_dispatch.h"
#include "dw_name.h"

#include "collectd.h"
#include "plugin.h"
#include "utils_time.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dw_dispatch_type_instance(char *out, size_t out_size, const dw_sample_t *s,
                               const char *period) {
  char appliance[64] = "";
  if (s->appliance != NULL)
    dw_name_safe_carried(appliance, sizeof(appliance), s->appliance);
  snprintf(out, out_size, "%s%s%s%s%s", dw_label_name(s->label),
           period ? "-" : "", period ? period : "", s->appliance ? "-" : "",
           appliance);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so month timestamps never depend on the local zone. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t dw_month_start_unix(int month) {
  return days_from_civil(month / 12, month % 12 + 1, 1) * 86400;
}

/* Hinnant's civil_from_days, year and month only. */
int dw_month_of_unix(int64_t t) {
  int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2);
  return (int)(y * 12 + m - 1);
}

static int dispatch_values(const dw_dispatch_target_t *t, const dw_sample_t *s,
                           const char *type_instance, cdtime_t time) {
  value_t values[DW_SAMPLE_MAX_VALUES];
  for (size_t i = 0; i < s->values_len; i++)
    values[i].gauge = s->values[i];

  value_list_t vl = VALUE_LIST_INIT;
  vl.values = values;
  vl.values_len = s->values_len;
  vl.time = time;
  vl.interval = t->interval;
  snprintf(vl.plugin, sizeof(vl.plugin), "%s", DW_PLUGIN_NAME);
  snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
           t->plugin_instance);
  snprintf(vl.type, sizeof(vl.type), "%s", dw_type_name(s->type));
  snprintf(vl.type_instance, sizeof(vl.type_instance), "%s", type_instance);
  return plugin_dispatch_values(&vl) == 0 ? 1 : -EIO;
}

/* A month value goes out at its month's timestamp only when it is newer
 * than every month already dispatched for its series, and at most one
 * month per series and cycle: twelve values of one identifier at once
 * race in writers (collectd's csv loses the first row when several write
 * threads create its file together), and a fleet's backfill is spread
 * over twelve cycles instead of one burst. */
int dw_dispatch_month(const dw_dispatch_target_t *t, const dw_sample_t *s,
                      dw_month_mark_t *mark) {
  if (s->month == 0 || mark == NULL)
    return mark == NULL && s->month != 0 ? -EINVAL : 0;
  if (s->month <= mark->month || mark->sent_at == t->time)
    return 0;
  char type_instance[DATA_MAX_NAME_LEN - sizeof("-latest")];
  dw_dispatch_type_instance(type_instance, sizeof(type_instance), s, t->period);
  cdtime_t time = TIME_T_TO_CDTIME_T_STATIC(dw_month_start_unix(s->month));
  int sent = dispatch_values(t, s, type_instance, time);
  if (sent > 0) {
    mark->month = s->month;
    mark->sent_at = t->time;
  }
  return sent;
}

int dw_dispatch_current(const dw_dispatch_target_t *t, const dw_sample_t *s,
                        bool latest) {
  if (s->month != 0 && !latest)
    return 0;
  /* label, period and a safe appliance name take at most 101 bytes, so
   * the "-latest" twin always fits collectd's 128. */
  char type_instance[DATA_MAX_NAME_LEN - sizeof("-latest")];
  dw_dispatch_type_instance(type_instance, sizeof(type_instance), s, t->period);
  if (s->month == 0)
    return dispatch_values(t, s, type_instance, t->time);
  char twin[DATA_MAX_NAME_LEN];
  snprintf(twin, sizeof(twin), "%s-latest", type_instance);
  return dispatch_values(t, s, twin, t->time);
}

int dw_dispatch_own(const char *plugin_instance, const char *type,
                    const char *type_instance, uint64_t time, uint64_t interval,
                    bool derive, double value) {
  value_t v;
  if (derive)
    v.derive = (derive_t)llround(value);
  else
    v.gauge = value;
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &v;
  vl.values_len = 1;
  vl.time = time;
  vl.interval = interval;
  snprintf(vl.plugin, sizeof(vl.plugin), "%s", DW_PLUGIN_NAME);
  snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
           plugin_instance);
  snprintf(vl.type, sizeof(vl.type), "%s", type);
  snprintf(vl.type_instance, sizeof(vl.type_instance), "%s",
           type_instance ? type_instance : "");
  return plugin_dispatch_values(&vl) == 0 ? 0 : -EIO;
}

void dw_dispatch_notification(int severity, const char *plugin_instance,
                              const char *type, const char *type_instance,
                              uint64_t time, const char *format, ...) {
  notification_t n = {.severity = severity, .time = time};
  va_list ap;
  va_start(ap, format);
  vsnprintf(n.message, sizeof(n.message), format, ap);
  va_end(ap);
  /* Unlike value lists, notifications do not get the host filled in. */
  snprintf(n.host, sizeof(n.host), "%s", hostname_g ? hostname_g : "");
  snprintf(n.plugin, sizeof(n.plugin), "%s", DW_PLUGIN_NAME);
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s", plugin_instance);
  snprintf(n.type, sizeof(n.type), "%s", type);
  snprintf(n.type_instance, sizeof(n.type_instance), "%s",
           type_instance ? type_instance : "");
  plugin_dispatch_notification(&n);
}
