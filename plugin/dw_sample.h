/* dw_sample.h - the plugin-neutral record that decoders produce.
 * Owns: the sample record and the closed sets of types and labels.
 * May call: nothing (dw_sample.c holds only the name tables).
 *
 * A sample is one value (or the three values of a performance triple) with
 * the part of its identifier that the response decides: the collectd type,
 * a label and, where the response names one, an appliance and a calendar
 * month. The dispatcher turns it into a collectd identifier:
 *
 *   type_instance = label ["-" period] ["-" identifier_safe(appliance)]
 *
 * Types and labels are enums, so the decoders, the packed cache and the
 * state file agree on them by construction, not by matching strings. */
#ifndef DW_SAMPLE_H
#define DW_SAMPLE_H

#include <stddef.h>

/* Types of types.db.d/digiwatt.db; the unit is part of the name. */
typedef enum dw_type {
  DW_TYPE_ENERGY = 0,  /* digiwatt_energy_kwh */
  DW_TYPE_COST,        /* digiwatt_cost */
  DW_TYPE_TREND,       /* digiwatt_trend_percent */
  DW_TYPE_SHARE,       /* digiwatt_share_percent */
  DW_TYPE_PERFORMANCE, /* digiwatt_performance_kwh: min, max, user */
  DW_TYPE_COUNT
} dw_type_t;

/* The first part of a type_instance; every label is identifier-safe. */
typedef enum dw_label {
  DW_LABEL_COSTS = 0,
  DW_LABEL_CONSUMPTION,
  DW_LABEL_DISTRIBUTION,
  DW_LABEL_PERFORMANCE,
  DW_LABEL_SAVINGS,
  DW_LABEL_SAVING_POTENTIAL,
  DW_LABEL_CONSUMPTION_HISTORY,
  DW_LABEL_COSTS_FORECAST,
  DW_LABEL_COSTS_HISTORY,
  DW_LABEL_YEARLY_DISTRIBUTION,
  DW_LABEL_YEARLY_COMPOUND,
  DW_LABEL_YEARLY_COMPOUND_TOTAL,
  DW_LABEL_DISAGGREGATION,
  DW_LABEL_COUNT
} dw_label_t;

#define DW_SAMPLE_MAX_VALUES 3

typedef struct dw_sample {
  dw_type_t type;
  dw_label_t label;
  const char *appliance; /* the name as it was sent, or its digest when it
                            held a NUL or was cut (dw_name.h); NULL when
                            none; valid during the sink call */
  int month;             /* 0: a current value; else year * 12 + (month - 1) */
  size_t values_len;     /* 1, or 3 for DW_TYPE_PERFORMANCE (min, max, user) */
  double values[DW_SAMPLE_MAX_VALUES]; /* NaN marks a null in a triple */
} dw_sample_t;

/* Receives one sample; returns 0 to go on, a negative errno to stop. */
typedef int (*dw_sample_sink_t)(void *ud, const dw_sample_t *sample);

/* The collectd type name ("digiwatt_energy_kwh"), or NULL when t is not a
 * dw_type_t. Static. */
const char *dw_type_name(dw_type_t t);

/* The label as it appears in the type_instance ("consumption-history"),
 * or NULL when l is not a dw_label_t. Static. */
const char *dw_label_name(dw_label_t l);

#endif
