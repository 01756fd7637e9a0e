/* dw_resource.c - the resource and period tables. */
#include "dw_resource.h"

#include <errno.h>
#include <string.h>

#define MINUTE 60u
#define HOUR (60u * MINUTE)

/* Refresh intervals follow how often the service can change a figure:
 * period figures move at most a few times an hour, the 30-day savings and
 * the monthly histories at most once a day (once a month for closed
 * months, but a new month must not wait a month to appear). */
static const dw_resource_info_t resources[DW_RES_COUNT] = {
    [DW_RES_COSTS] = {"costs", true,
                      "/smartmeters/{smartmeterId}/costs/{period}",
                      15 * MINUTE},
    [DW_RES_CONSUMPTION] = {"consumption", true,
                            "/smartmeters/{smartmeterId}/consumption/{period}",
                            15 * MINUTE},
    [DW_RES_CONSUMPTION_DISTRIBUTION] =
        {"consumption-distribution", true,
         "/smartmeters/{smartmeterId}/consumption-distribution/{period}", HOUR},
    [DW_RES_PERFORMANCE] = {"performance", true,
                            "/smartmeters/{smartmeterId}/performance/{period}",
                            HOUR},
    [DW_RES_SAVINGS] = {"savings", false, "/smartmeters/{smartmeterId}/savings",
                        6 * HOUR},
    [DW_RES_CONSUMPTION_HISTORY] =
        {"consumption-history", false,
         "/smartmeters/{smartmeterId}/consumption-history", 6 * HOUR},
    [DW_RES_COSTS_HISTORY] = {"costs-history", false,
                              "/smartmeters/{smartmeterId}/costs-history",
                              6 * HOUR},
    [DW_RES_YEARLY_CONSUMPTION_DISTRIBUTION] =
        {"yearly-consumption-distribution", false,
         "/smartmeters/{smartmeterId}/yearly-consumption-distribution",
         6 * HOUR},
    [DW_RES_YEARLY_COMPOUND_CONSUMPTION] =
        {"yearly-compound-consumption", false,
         "/smartmeters/{smartmeterId}/yearly-compound-consumption", 6 * HOUR},
    [DW_RES_DISAGGREGATION] =
        {"disaggregation", true,
         "/smartmeters/{smartmeterId}/disaggregation/{period}", HOUR},
};

static const char *const periods[DW_PERIOD_COUNT] = {
    [DW_PERIOD_YESTERDAY] = "yesterday",
    [DW_PERIOD_LAST_SEVEN_DAYS] = "last-seven-days",
    [DW_PERIOD_THIS_WEEK] = "this-week",
    [DW_PERIOD_LAST_WEEK] = "last-week",
    [DW_PERIOD_THIS_MONTH] = "this-month",
    [DW_PERIOD_LAST_MONTH] = "last-month",
};

const dw_resource_info_t *dw_resource_info(dw_resource_t r) {
  return &resources[r];
}

int dw_resource_from_slug(const char *slug, dw_resource_t *out) {
  for (int r = 0; r < DW_RES_COUNT; r++) {
    if (strcmp(slug, resources[r].slug) == 0) {
      *out = (dw_resource_t)r;
      return 0;
    }
  }
  return -ENOENT;
}

const char *dw_period_name(dw_period_t p) { return periods[p]; }

int dw_period_from_name(const char *name, dw_period_t *out) {
  for (int p = 0; p < DW_PERIOD_COUNT; p++) {
    if (strcmp(name, periods[p]) == 0) {
      *out = (dw_period_t)p;
      return 0;
    }
  }
  return -ENOENT;
}
