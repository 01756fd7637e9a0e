/* dw_clock.c - the process's monotonic clock (see dw_clock.h). */
#include "dw_clock.h"

#include <time.h>

static int64_t clock_monotonic_ms(void *unused) {
  (void)unused;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clock_pause_ms(void *unused, long ms) {
  (void)unused;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0)
    ; /* EINTR: the rest of it */
}

dw_clock_t dw_clock_monotonic(void) {
  return (dw_clock_t){
      .now_ms = clock_monotonic_ms, .pause_ms = clock_pause_ms, .ud = NULL};
}
