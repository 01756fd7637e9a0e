/* dw_sample.c - the names of the sample types and labels (see dw_sample.h). */
#include "dw_sample.h"

static const char *const type_names[DW_TYPE_COUNT] = {
    [DW_TYPE_ENERGY] = "digiwatt_energy_kwh",
    [DW_TYPE_COST] = "digiwatt_cost",
    [DW_TYPE_TREND] = "digiwatt_trend_percent",
    [DW_TYPE_SHARE] = "digiwatt_share_percent",
    [DW_TYPE_PERFORMANCE] = "digiwatt_performance_kwh",
};

static const char *const label_names[DW_LABEL_COUNT] = {
    [DW_LABEL_COSTS] = "costs",
    [DW_LABEL_CONSUMPTION] = "consumption",
    [DW_LABEL_DISTRIBUTION] = "distribution",
    [DW_LABEL_PERFORMANCE] = "performance",
    [DW_LABEL_SAVINGS] = "savings",
    [DW_LABEL_SAVING_POTENTIAL] = "saving-potential",
    [DW_LABEL_CONSUMPTION_HISTORY] = "consumption-history",
    [DW_LABEL_COSTS_FORECAST] = "costs-forecast",
    [DW_LABEL_COSTS_HISTORY] = "costs-history",
    [DW_LABEL_YEARLY_DISTRIBUTION] = "yearly-distribution",
    [DW_LABEL_YEARLY_COMPOUND] = "yearly-compound",
    [DW_LABEL_YEARLY_COMPOUND_TOTAL] = "yearly-compound-total",
    [DW_LABEL_DISAGGREGATION] = "disaggregation",
};

const char *dw_type_name(dw_type_t t) {
  return (unsigned)t < DW_TYPE_COUNT ? type_names[t] : NULL;
}

const char *dw_label_name(dw_label_t l) {
  return (unsigned)l < DW_LABEL_COUNT ? label_names[l] : NULL;
}
