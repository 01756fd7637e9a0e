/* dw_resource.h - the ten Digiwatt resources and the six periods.
 * Owns: the resource and period tables. May call: nothing.
 *
 * One table says, per resource, its slug (the contract's path segment and
 * the name used in the configuration), whether it takes a period, its
 * default path template and its default refresh interval. */
#ifndef DW_RESOURCE_H
#define DW_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum dw_resource {
  DW_RES_COSTS = 0,
  DW_RES_CONSUMPTION,
  DW_RES_CONSUMPTION_DISTRIBUTION,
  DW_RES_PERFORMANCE,
  DW_RES_SAVINGS,
  DW_RES_CONSUMPTION_HISTORY,
  DW_RES_COSTS_HISTORY,
  DW_RES_YEARLY_CONSUMPTION_DISTRIBUTION,
  DW_RES_YEARLY_COMPOUND_CONSUMPTION,
  DW_RES_DISAGGREGATION,
  DW_RES_COUNT
} dw_resource_t;

typedef enum dw_period {
  DW_PERIOD_YESTERDAY = 0,
  DW_PERIOD_LAST_SEVEN_DAYS,
  DW_PERIOD_THIS_WEEK,
  DW_PERIOD_LAST_WEEK,
  DW_PERIOD_THIS_MONTH,
  DW_PERIOD_LAST_MONTH,
  DW_PERIOD_COUNT
} dw_period_t;

#define DW_RES_ALL ((uint32_t)((1u << DW_RES_COUNT) - 1))
#define DW_PERIOD_ALL ((uint32_t)((1u << DW_PERIOD_COUNT) - 1))

typedef struct dw_resource_info {
  const char *slug;         /* "consumption-distribution" */
  bool has_period;          /* path and identifiers carry a period */
  const char *default_path; /* "/smartmeters/{smartmeterId}/..." */
  unsigned refresh_s;       /* default RefreshInterval, seconds */
} dw_resource_info_t;

/* The table row of a resource; r must be below DW_RES_COUNT. */
const dw_resource_info_t *dw_resource_info(dw_resource_t r);

/* Finds a resource by slug; 0, or -ENOENT when the slug is unknown. */
__attribute__((warn_unused_result)) int
dw_resource_from_slug(const char *slug, dw_resource_t *out);

/* The enum name of a period ("last-seven-days"); p below DW_PERIOD_COUNT. */
const char *dw_period_name(dw_period_t p);

/* Finds a period by name; 0, or -ENOENT when the name is unknown. */
__attribute__((warn_unused_result)) int dw_period_from_name(const char *name,
                                                            dw_period_t *out);

#endif
