/* check_worker.c - the account's own thread, dw_worker.
 *
 * The worker's promises are about who waits for whom: a tick never waits
 * for a cycle, ticks that come during a cycle make one more cycle (not
 * one each), and stopping ends a cycle that would otherwise run for ever.
 * A broken promise hangs a test, which Check's timeout turns into a
 * failure; nothing here measures time. */
#include "dw_worker.h"

#include "run_suite.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A cycle that can be held at its start until the test lets it go, and
 * that, once held, runs until interrupted when `forever` is set. */
typedef struct job {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  bool hold;        /* cycles wait at their start while set */
  bool forever;     /* cycles run until interrupted */
  bool interrupted; /* sticky, like the transport's stop */
  unsigned started, interrupts;
  uint64_t last_now, last_interval;
} job_t;

static void job_cycle(void *ud, uint64_t now, uint64_t interval) {
  job_t *j = ud;
  pthread_mutex_lock(&j->lock);
  j->started++;
  j->last_now = now;
  j->last_interval = interval;
  pthread_cond_broadcast(&j->changed);
  while ((j->hold || j->forever) && !j->interrupted)
    pthread_cond_wait(&j->changed, &j->lock);
  pthread_mutex_unlock(&j->lock);
}

static void job_interrupt(void *ud) {
  job_t *j = ud;
  pthread_mutex_lock(&j->lock);
  j->interrupted = true;
  j->interrupts++;
  pthread_cond_broadcast(&j->changed);
  pthread_mutex_unlock(&j->lock);
}

static int spawn(pthread_t *t, void *(*start)(void *), void *arg,
                 const char *name) {
  (void)name;
  return pthread_create(t, NULL, start, arg);
}

static int spawn_fails(pthread_t *t, void *(*start)(void *), void *arg,
                       const char *name) {
  (void)t, (void)start, (void)arg, (void)name;
  return 11; /* EAGAIN */
}

static const dw_worker_ops_t ops = {
    .cycle = job_cycle, .interrupt = job_interrupt, .spawn = spawn};

static job_t *job_new(void) {
  static job_t j;
  j = (job_t){0};
  pthread_mutex_init(&j.lock, NULL);
  pthread_cond_init(&j.changed, NULL);
  return &j;
}

static void job_set_hold(job_t *j, bool hold) {
  pthread_mutex_lock(&j->lock);
  j->hold = hold;
  pthread_cond_broadcast(&j->changed);
  pthread_mutex_unlock(&j->lock);
}

/* Waits until n cycles have started. */
static void job_wait_started(job_t *j, unsigned n) {
  pthread_mutex_lock(&j->lock);
  while (j->started < n)
    pthread_cond_wait(&j->changed, &j->lock);
  pthread_mutex_unlock(&j->lock);
}

START_TEST(test_a_tick_runs_one_cycle_at_its_time) {
  job_t *j = job_new();
  dw_worker_t *w = dw_worker_start("test", &ops, j);
  ck_assert_ptr_nonnull(w);
  ck_assert_int_eq(dw_worker_tick(w, 1234567, 42), 0);
  dw_worker_wait_idle(w);
  ck_assert_uint_eq(dw_worker_cycles(w), 1);
  ck_assert_uint_eq(j->started, 1);
  ck_assert_uint_eq(j->last_now, 1234567);
  ck_assert_uint_eq(j->last_interval, 42);
  dw_worker_stop(w);
}
END_TEST

/* Five ticks during a held cycle: each returns at once, and together
 * they make exactly one more cycle, at the newest tick's time. */
START_TEST(test_ticks_during_a_cycle_merge_into_one) {
  job_t *j = job_new();
  job_set_hold(j, true);
  dw_worker_t *w = dw_worker_start("test", &ops, j);
  ck_assert_int_eq(dw_worker_tick(w, 100, 1), 0);
  job_wait_started(j, 1);
  for (uint64_t i = 2; i <= 6; i++)
    ck_assert_int_eq(dw_worker_tick(w, 100 * i, i), 1); /* did not wait */
  job_set_hold(j, false);
  dw_worker_wait_idle(w);
  ck_assert_uint_eq(dw_worker_cycles(w), 2);
  ck_assert_uint_eq(j->started, 2);
  ck_assert_uint_eq(j->last_interval, 6);
  ck_assert_uint_eq(j->last_now, 600);
  dw_worker_stop(w);
}
END_TEST

/* A cycle that would never end on its own ends when the worker stops:
 * the interrupt reaches it, and stop returns. */
START_TEST(test_stop_interrupts_a_running_cycle) {
  job_t *j = job_new();
  j->forever = true;
  dw_worker_t *w = dw_worker_start("test", &ops, j);
  dw_worker_tick(w, 1, 1);
  job_wait_started(j, 1);
  dw_worker_stop(w);
  ck_assert_uint_eq(j->interrupts, 1);
  ck_assert(j->interrupted);
  ck_assert_uint_eq(j->started, 1); /* and no cycle after it */
}
END_TEST

/* A tick that waits when stop comes is dropped: no cycle starts. */
START_TEST(test_stop_drops_a_waiting_tick) {
  job_t *j = job_new();
  j->forever = true;
  dw_worker_t *w = dw_worker_start("test", &ops, j);
  dw_worker_tick(w, 1, 1);
  job_wait_started(j, 1);
  ck_assert_int_eq(dw_worker_tick(w, 2, 1), 1);
  dw_worker_stop(w);
  ck_assert_uint_eq(j->started, 1);
}
END_TEST

START_TEST(test_an_idle_worker_stops) {
  job_t *j = job_new();
  dw_worker_t *w = dw_worker_start("test", &ops, j);
  dw_worker_stop(w);
  ck_assert_uint_eq(j->started, 0);
  dw_worker_stop(NULL);
}
END_TEST

START_TEST(test_no_thread_no_worker) {
  job_t *j = job_new();
  dw_worker_ops_t failing = ops;
  failing.spawn = spawn_fails;
  ck_assert_ptr_null(dw_worker_start("test", &failing, j));
}
END_TEST

static Suite *worker_suite(void) {
  Suite *s = suite_create("worker");
  TCase *tc = tcase_create("worker");
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, test_a_tick_runs_one_cycle_at_its_time);
  tcase_add_test(tc, test_ticks_during_a_cycle_merge_into_one);
  tcase_add_test(tc, test_stop_interrupts_a_running_cycle);
  tcase_add_test(tc, test_stop_drops_a_waiting_tick);
  tcase_add_test(tc, test_an_idle_worker_stops);
  tcase_add_test(tc, test_no_thread_no_worker);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(worker_suite()); }
