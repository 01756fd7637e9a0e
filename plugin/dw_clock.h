/* dw_clock.h - where the rooms' time comes from.
 * Owns: the clock type that callers hand to the rooms that need time, the
 * process's monotonic clock, pauses on it, and collectd's time unit in
 * milliseconds. May call: clock_gettime, nanosleep.
 *
 * Rooms never read a clock of their own: time is an argument. A room that
 * runs on its own (an account's cycle) is given a dw_clock_t at create and
 * reads it once at the start of each cycle; that one "now" is passed down
 * to everything the cycle does. Tests give a clock they move by hand. */
#ifndef DW_CLOCK_H
#define DW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct dw_clock {
  int64_t (*now_ms)(void *ud);         /* monotonic milliseconds, never back */
  void (*pause_ms)(void *ud, long ms); /* waits; NULL: a clock that never
                                          waits (tests) */
  void *ud;
} dw_clock_t;

/* CLOCK_MONOTONIC in milliseconds, and nanosleep for pauses. */
dw_clock_t dw_clock_monotonic(void);

/* Reads a clock. */
static inline int64_t dw_clock_read(const dw_clock_t *c) {
  return c->now_ms(c->ud);
}

/* Lets ms pass on a clock (tests' clocks may only count it). */
static inline void dw_clock_pause(const dw_clock_t *c, long ms) {
  if (c->pause_ms != NULL)
    c->pause_ms(c->ud, ms);
}

/* collectd's cdtime_t (2^-30 s) from and to milliseconds. */
static inline uint64_t dw_cdtime_of_ms(int64_t ms) {
  return (((uint64_t)ms / 1000) << 30) | ((((uint64_t)ms % 1000) << 30) / 1000);
}

static inline int64_t dw_cdtime_to_ms(uint64_t t) {
  return (int64_t)((t >> 30) * 1000 + (((t & 0x3fffffff) * 1000) >> 30));
}

#endif
