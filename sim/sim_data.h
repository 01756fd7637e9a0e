/* sim_data.h - the simulator's resources and their deterministic bodies.
 *
 * Every figure is a pure function of (meter, resource, period, field,
 * appliance, month) and, for the histories, of the date taken as today:
 * the same request always yields the same bytes. The formula is written
 * down in sim/README.md so a test can predict any value. This table is
 * deliberately independent of plugin/dw_resource.c: the simulator is the
 * plugin's oracle and must not agree with it by construction. */
#ifndef SIM_DATA_H
#define SIM_DATA_H

#include "sim_json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sim_res {
  SIM_RES_COSTS = 0,
  SIM_RES_CONSUMPTION,
  SIM_RES_CONSUMPTION_DISTRIBUTION,
  SIM_RES_PERFORMANCE,
  SIM_RES_SAVINGS,
  SIM_RES_CONSUMPTION_HISTORY,
  SIM_RES_COSTS_HISTORY,
  SIM_RES_YEARLY_CONSUMPTION_DISTRIBUTION,
  SIM_RES_YEARLY_COMPOUND_CONSUMPTION,
  SIM_RES_DISAGGREGATION,
  SIM_RES_COUNT
} sim_res_t;

#define SIM_PERIOD_COUNT 6
#define SIM_PERIOD_THIS_WEEK 2
#define SIM_PRICE_PER_KWH 0.30

typedef struct sim_date {
  int year;
  int month; /* 1..12 */
  int day;   /* 1..31 */
} sim_date_t;

typedef struct sim_query {
  const char *meter; /* decoded smartmeterId */
  sim_res_t res;
  int period;          /* 0..SIM_PERIOD_COUNT-1, or -1 without one */
  sim_date_t today;    /* UTC date the histories end before */
  bool odd_appliances; /* the odd-appliances fault: hostile names */
} sim_query_t;

#define SIM_FNV_OFFSET 0xcbf29ce484222325ULL

/* FNV-1a 64 of n bytes, continuing from h (SIM_FNV_OFFSET to start). */
uint64_t sim_fnv1a(const void *p, size_t n, uint64_t h);

/* The resource with that path slug, or -1. */
int sim_res_from_slug(const char *slug);

/* The path slug of r ("consumption-distribution"). */
const char *sim_res_slug(sim_res_t r);

/* Whether r's path ends with a period segment. */
bool sim_res_has_period(sim_res_t r);

/* Whether r lists appliances by name (the odd-appliances fault applies). */
bool sim_res_has_appliances(sim_res_t r);

/* The period with that name ("last-seven-days"), or -1. */
int sim_period_from_name(const char *name);

/* Parses a strict "YYYY-MM-DD"; 0 or -EINVAL. */
__attribute__((warn_unused_result)) int sim_date_parse(const char *text,
                                                       sim_date_t *out);

/* Today's date in UTC. */
sim_date_t sim_date_today_utc(void);

/* Writes the 200 body of q through w (whose flags shape faults). */
void sim_data_render(sim_jw_t *w, const sim_query_t *q);

#endif
