/* dw_worker.h - a thread of the plugin's own that runs an account's cycles.
 * Owns: the thread, the tick handed over by collectd's read callback, and
 * stopping. May call: pthreads.
 *
 * collectd's read threads serve the whole host: a read callback that
 * fetches a fleet for 100 s holds one of them (of five by default) for
 * 100 s, and SIGTERM waits for it. So the read callback only hands a tick
 * to the account's worker and returns; the worker runs the cycle. Ticks
 * that arrive while a cycle runs are merged into one: the next cycle
 * starts as soon as the running one ends, at the newest tick's time. So
 * cycles keep collectd's grid: two cycles never share a time (which an
 * RRD file, one update per second at most, would refuse), however late
 * one of them started.
 *
 * Stopping is prompt whatever the cycle is doing: the stop flag is set,
 * the owner's interrupt function makes a running cycle end (the transport
 * aborts its transfers), and the thread is joined. */
#ifndef DW_WORKER_H
#define DW_WORKER_H

#include <pthread.h>
#include <stdint.h>

typedef struct dw_worker dw_worker_t;

typedef struct dw_worker_ops {
  /* One cycle at the tick's wall time now with the read interval
   * (cdtime_t both). */
  void (*cycle)(void *ud, uint64_t now, uint64_t interval);
  /* Makes a running cycle end soon, and any later one at once; called
   * from the stopping thread while cycle may run: thread-safe. */
  void (*interrupt)(void *ud);
  /* Starts the thread (collectd's plugin_thread_create in the plugin,
   * pthread_create in tests); 0 or an errno value. */
  int (*spawn)(pthread_t *thread, void *(*start)(void *), void *arg,
               const char *name);
} dw_worker_ops_t;

/* A running worker for ud (not owned) named name (a thread name, at most
 * 15 bytes are kept); NULL when the thread could not be started. */
dw_worker_t *dw_worker_start(const char *name, const dw_worker_ops_t *ops,
                             void *ud);

/* Hands a tick (collectd's time now, and the read interval) over and
 * returns at once: the worker runs a cycle for it as soon as it is free.
 * 1 when a cycle was still running (the tick replaces any other waiting),
 * 0 when the worker was idle. */
int dw_worker_tick(dw_worker_t *w, uint64_t now, uint64_t interval);

/* Cycles run to their end (for tests); counts every cycle the worker
 * has finished. */
uint64_t dw_worker_cycles(dw_worker_t *w);

/* Waits until the worker is idle with no tick waiting (for tests and the
 * one-shot test read). */
void dw_worker_wait_idle(dw_worker_t *w);

/* Stops the worker: no cycle starts any more, a running one is
 * interrupted, the thread is joined, and w is freed. Accepts NULL. */
void dw_worker_stop(dw_worker_t *w);

#endif
