/* dw_worker.c - a thread of the plugin's own that runs an account's cycles
 * (see dw_worker.h).
 *
 * One mutex guards the tick and the flags; the thread sleeps on a
 * condition variable between cycles and holds no lock while a cycle
 * runs, so dw_worker_tick never waits for a cycle. */
#include "dw_worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dw_worker {
  dw_worker_ops_t ops;
  void *ud;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* a tick came, or stop */
  pthread_cond_t idle; /* a cycle ended */
  bool ticked;         /* a tick waits */
  bool running;        /* a cycle runs */
  bool stopping;
  uint64_t now, interval; /* of the newest tick */
  uint64_t cycles;        /* finished */
};

/* Waits for a tick; false when the worker is to stop. */
static bool worker_next(dw_worker_t *w, uint64_t *now, uint64_t *interval) {
  pthread_mutex_lock(&w->lock);
  while (!w->ticked && !w->stopping)
    pthread_cond_wait(&w->wake, &w->lock);
  bool go = !w->stopping;
  if (go) {
    w->ticked = false;
    w->running = true;
    *now = w->now;
    *interval = w->interval;
  }
  pthread_mutex_unlock(&w->lock);
  return go;
}

static void worker_done(dw_worker_t *w) {
  pthread_mutex_lock(&w->lock);
  w->running = false;
  w->cycles++;
  pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg) {
  dw_worker_t *w = arg;
  uint64_t now, interval;
  while (worker_next(w, &now, &interval)) {
    w->ops.cycle(w->ud, now, interval);
    worker_done(w);
  }
  return NULL;
}

dw_worker_t *dw_worker_start(const char *name, const dw_worker_ops_t *ops,
                             void *ud) {
  dw_worker_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  w->ops = *ops;
  w->ud = ud;
  if (pthread_mutex_init(&w->lock, NULL) != 0) {
    free(w);
    return NULL;
  }
  pthread_cond_init(&w->wake, NULL);
  pthread_cond_init(&w->idle, NULL);
  char short_name[16];
  snprintf(short_name, sizeof(short_name), "%s", name);
  if (w->ops.spawn(&w->thread, worker_main, w, short_name) != 0) {
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  return w;
}

int dw_worker_tick(dw_worker_t *w, uint64_t now, uint64_t interval) {
  pthread_mutex_lock(&w->lock);
  int busy = w->running || w->ticked;
  w->ticked = true;
  w->now = now;
  w->interval = interval;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  return busy;
}

uint64_t dw_worker_cycles(dw_worker_t *w) {
  pthread_mutex_lock(&w->lock);
  uint64_t n = w->cycles;
  pthread_mutex_unlock(&w->lock);
  return n;
}

void dw_worker_wait_idle(dw_worker_t *w) {
  pthread_mutex_lock(&w->lock);
  while ((w->running || w->ticked) && !w->stopping)
    pthread_cond_wait(&w->idle, &w->lock);
  pthread_mutex_unlock(&w->lock);
}

void dw_worker_stop(dw_worker_t *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  pthread_cond_broadcast(&w->wake);
  pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->lock);
  /* outside the lock, and whether or not a cycle runs: the interrupt is
   * sticky, so a cycle that was about to start ends at once too */
  if (w->ops.interrupt != NULL)
    w->ops.interrupt(w->ud);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->idle);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w);
}
