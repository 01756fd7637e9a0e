/* dw_emit.h - which of a slot's samples go out, and when.
 * Owns: the dispatch policy: a response's values once, when it arrives,
 * stamped with the slot's refresh interval (or, with RepeatCached, every
 * cycle); history months one per series and cycle until none is pending.
 * May call: dw_dispatch, dw_roster, dw_cache, dw_resource, dw_clock (time
 * units), dw_log.
 *
 * Writers and time-series stores pay for every point: a value the API
 * gives once per RefreshInterval is written once per RefreshInterval,
 * with vl.interval telling collectd's cache, the RRD step,
 * write_prometheus and the threshold plugin how long it stays current. */
#ifndef DW_EMIT_H
#define DW_EMIT_H

#include "dw_resource.h"
#include "dw_roster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A cycle's dispatch pauses after every DW_EMIT_PACE_EVERY values, so
 * that a restart's (or RepeatCached's) hundreds of thousands of values do
 * not pile up in collectd's write queue faster than its write threads
 * take them: the queue's burst is what a peak of memory is made of. */
#define DW_EMIT_PACE_EVERY 2000

typedef struct dw_emit {
  const char *account;    /* for log lines */
  bool repeat_cached;     /* RepeatCached: every value every cycle */
  bool monthly_history;   /* MonthlyHistory: month-stamped values too */
  const long *refresh_ms; /* the account's RefreshInterval per resource */
  void (*pace)(void *ud); /* the pause, or NULL */
  void *pace_ud;
} dw_emit_t;

/* How long a slot's values stay current: the larger of its
 * RefreshInterval and the read interval (cdtime_t both). */
uint64_t dw_emit_interval(const dw_emit_t *e, const dw_slot_t *s,
                          uint64_t read_interval);

/* A slot's fresh response, just stored: its current values and "-latest"
 * twins at now, and the first pending month of each series (nothing with
 * RepeatCached: the cycle sends everything). */
void dw_emit_arrival(const dw_emit_t *e, dw_roster_t *r, dw_slot_t *s,
                     uint64_t now, uint64_t read_interval);

/* The end of a cycle at now: with RepeatCached, every slot's values again
 * (at the read interval); otherwise the values of slots that have not
 * sent theirs yet (restored at start), and the next month of every
 * series with months pending, calling e->pace after every
 * DW_EMIT_PACE_EVERY values dispatched. Returns how many slots had
 * something to send (what they remember of it changed). */
size_t dw_emit_cycle(const dw_emit_t *e, dw_roster_t *r, uint64_t now,
                     uint64_t read_interval);

#endif
