/* dw_clock.c - the process's monotonic clock (see dw_clock.h). */
#include "dw_clock.h"

#include <time.h>

static int64_t clock_monotonic_ms(void *unused) {
  (void)unused;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

dw_clock_t dw_clock_monotonic(void) {
  return (dw_clock_t){.now_ms = clock_monotonic_ms, .ud = NULL};
}
