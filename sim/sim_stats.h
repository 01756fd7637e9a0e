/* sim_stats.h - what the simulator has served, for GET /_control/stats.
 *
 * Counts every request except the control endpoints: per path (bounded:
 * past SIM_STATS_MAX_PATHS distinct paths the rest count as "(other)"),
 * per status, and the most requests ever in flight at once. Thread-safe. */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include "sim_json.h"

#include <stdbool.h>

#define SIM_STATS_MAX_PATHS 4096
#define SIM_STATS_MAX_PATH_LEN 1024

typedef struct sim_stats sim_stats_t;

/* Zeroed counters; NULL on ENOMEM. */
sim_stats_t *sim_stats_create(void);

/* Frees the counters; accepts NULL. */
void sim_stats_destroy(sim_stats_t *s);

/* A request for path (the token endpoint when token) has started. */
void sim_stats_begin(sim_stats_t *s, const char *path, bool token);

/* The request was answered with status (and a fault changed it). */
void sim_stats_answer(sim_stats_t *s, unsigned status, bool faulted);

/* A request that sim_stats_begin() counted has ended. */
void sim_stats_end(sim_stats_t *s);

/* Zeroes every counter; max_in_flight restarts from the current load. */
void sim_stats_reset(sim_stats_t *s);

/* Writes the counters as the JSON object of sim/README.md to out. */
void sim_stats_describe(sim_stats_t *s, sim_buf_t *out);

#endif
