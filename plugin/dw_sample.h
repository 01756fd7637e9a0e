/* dw_sample.h - the plugin-neutral record that decoders produce.
 *
 * A sample is one value (or the three values of a performance triple) with
 * the part of its identifier that the response decides: the collectd type,
 * a static label and, where the response names one, an appliance and a
 * calendar month. The dispatcher turns it into a collectd identifier:
 *
 *   type_instance = label ["-" period] ["-" identifier_safe(appliance)]
 *
 * Nothing here knows collectd, yajl or curl. */
#ifndef DW_SAMPLE_H
#define DW_SAMPLE_H

#include <stddef.h>

/* Types of types.db.d/digiwatt.db; the unit is part of the name. */
#define DW_TYPE_ENERGY "digiwatt_energy_kwh"
#define DW_TYPE_COST "digiwatt_cost"
#define DW_TYPE_TREND "digiwatt_trend_percent"
#define DW_TYPE_SHARE "digiwatt_share_percent"
#define DW_TYPE_PERFORMANCE "digiwatt_performance_kwh"

#define DW_SAMPLE_MAX_VALUES 3

typedef struct dw_sample {
  const char *type;      /* one of DW_TYPE_*, static */
  const char *label;     /* static, identifier-safe, e.g. "consumption" */
  const char *appliance; /* raw free text or NULL; valid during the sink call */
  int month;             /* 0: a current value; else year * 12 + (month - 1) */
  size_t values_len;     /* 1, or 3 for DW_TYPE_PERFORMANCE (min, max, user) */
  double values[DW_SAMPLE_MAX_VALUES]; /* NaN marks a null in a triple */
} dw_sample_t;

/* Receives one sample; returns 0 to go on, a negative errno to stop. */
typedef int (*dw_sample_sink_t)(void *ud, const dw_sample_t *sample);

#endif
