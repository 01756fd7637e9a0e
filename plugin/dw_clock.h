/* dw_clock.h - where the rooms' time comes from.
 * Owns: the clock type that callers hand to the rooms that need time, and
 * the process's monotonic clock. May call: clock_gettime.
 *
 * Rooms never read a clock of their own: time is an argument. A room that
 * runs on its own (an account's cycle) is given a dw_clock_t at create and
 * reads it once at the start of each cycle; that one "now" is passed down
 * to everything the cycle does. Tests give a clock they move by hand. */
#ifndef DW_CLOCK_H
#define DW_CLOCK_H

#include <stdint.h>

typedef struct dw_clock {
  int64_t (*now_ms)(void *ud); /* monotonic milliseconds, never back */
  void *ud;
} dw_clock_t;

/* CLOCK_MONOTONIC in milliseconds. */
dw_clock_t dw_clock_monotonic(void);

/* Reads a clock. */
static inline int64_t dw_clock_read(const dw_clock_t *c) {
  return c->now_ms(c->ud);
}

#endif
