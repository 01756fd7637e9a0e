/* check_pace.c - the token bucket of dw_pace, on simulated time.
 *
 * No test sleeps: the bucket is handed the time, so an hour of requests
 * passes in a moment, and every count below is exact. */
#include "dw_pace.h"

#include "run_suite.h"

#include <check.h>
#include <math.h>
#include <stdint.h>

/* Takes tokens at now_ms until the bucket says no; how many it gave. */
static long take_all(dw_pace_t *p, int64_t now_ms) {
  long n = 0;
  while (dw_pace_take(p, now_ms) && n < 1000000)
    n++;
  return n;
}

/* --- rate and burst, table-driven ----------------------------------------- */

typedef struct burst_case {
  double rate, burst;
  long first;      /* tokens at the start: the burst, whole */
  int64_t wait_ms; /* then until the next one */
} burst_case_t;

static const burst_case_t burst_cases[] = {
    {10, 0, 10, 100},        /* default burst: one second's worth */
    {0.5, 0, 1, 2000},       /* ... at least one token */
    {2.5, 0, 2, 200},        /* 2.5 tokens: 2 now, the half left needs 0.2 s */
    {1, 1, 1, 1000},         /* */
    {3, 5, 5, 334},          /* 1/3 s, rounded up: never early */
    {3, 0.2, 1, 334},        /* a burst below one token is one token */
    {0.001, 0, 1, 1000000},  /* the smallest rate */
    {0.0004, 0, 1, 1000000}, /* below it: the smallest, never "no limit" */
    {10000, 0, 10000, 1},    /* the largest rate: 0.1 ms per token, rounded */
    {1e9, 0, 10000, 1},      /* above it: the largest */
    {0.3333, 0, 1, 3004},    /* kept to a thousandth: 0.333 per second */
    {7, 2.5, 2, 72},         /* half a token left: 0.5 / 7 s rounded up */
};

START_TEST(test_burst_and_wait) {
  const burst_case_t *c = &burst_cases[_i];
  dw_pace_t p;
  dw_pace_init(&p, c->rate, c->burst);
  ck_assert(dw_pace_limits(&p));
  ck_assert_int_eq(dw_pace_wait_ms(&p, 5000), 0); /* it starts full */
  ck_assert_int_eq(take_all(&p, 5000), c->first);
  int64_t wait_ms = dw_pace_wait_ms(&p, 5000);
  ck_assert_msg(wait_ms == c->wait_ms, "rate %g burst %g: wait %lld, want %lld",
                c->rate, c->burst, (long long)wait_ms, (long long)c->wait_ms);
  /* exactly then, not a millisecond before */
  ck_assert(!dw_pace_take(&p, 5000 + wait_ms - 1));
  ck_assert(dw_pace_take(&p, 5000 + wait_ms));
}
END_TEST

/* --- no limit ----------------------------------------------------------------
 */

static const double unlimited_rates[] = {0, -1, -0.001, NAN, -INFINITY};

START_TEST(test_no_limit) {
  dw_pace_t p;
  dw_pace_init(&p, unlimited_rates[_i], 0);
  ck_assert(!dw_pace_limits(&p));
  int given = 0;
  for (int i = 0; i < 100000; i++) /* Check's asserts are slow in loops */
    given += dw_pace_take(&p, 0);
  ck_assert_int_eq(given, 100000);
  ck_assert_int_eq(dw_pace_wait_ms(&p, 0), 0);
  ck_assert(dw_pace_take(&p, -1000)); /* time means nothing to it */
}
END_TEST

/* --- no drift over an hour ---------------------------------------------------
 */

typedef struct drift_case {
  double rate;
  int64_t step_ms; /* how often the caller asks; 0: at the wait it was told */
} drift_case_t;

/* Asked every millisecond, at the wait it was told, or late by less
 * than the burst holds beyond one token. */
static const drift_case_t drift_cases[] = {
    {10, 1},      {10, 7},    {10, 500},    {10, 0},      {0.5, 1},
    {0.5, 250},   {0.5, 0},   {0.7, 1},     {0.7, 0},     {1.0 / 3, 1},
    {1.0 / 3, 0}, {2.5, 3},   {2.5, 0},     {7.3, 1},     {7.3, 0},
    {0.001, 0},   {0.001, 1}, {123.456, 1}, {123.456, 0}, {1000, 1},
    {10000, 0},
};

/* With requests always waiting, the bucket gives exactly the burst plus
 * rate x elapsed tokens (rounded down): over one hour at 0.5 per second
 * 1 + 1800, at 7.3 per second 7.3 + 26280 -> 26287, at 1/3 (kept as
 * 0.333) 1 + 1198.8 -> 1199. */
START_TEST(test_no_drift) {
  const drift_case_t *c = &drift_cases[_i];
  const int64_t hour_ms = 3600 * 1000;
  dw_pace_t p;
  dw_pace_init(&p, c->rate, 0);
  double rate = round(c->rate * 1000) / 1000; /* kept to a thousandth */
  double burst = rate > 1 ? rate : 1;
  long want = (long)floor(burst + rate * 3600 + 1e-9);
  long got = 0;
  for (int64_t now_ms = 0;;) {
    got += take_all(&p, now_ms);
    if (now_ms == hour_ms)
      break;
    int64_t wait_ms = dw_pace_wait_ms(&p, now_ms);
    if (wait_ms <= 0) /* not ck_assert: it costs a system call */
      ck_abort_msg("rate %g at %lld ms: no token, yet a wait of %lld ms",
                   c->rate, (long long)now_ms, (long long)wait_ms);
    now_ms += c->step_ms > 0 ? c->step_ms : wait_ms;
    if (now_ms > hour_ms)
      now_ms = hour_ms;
  }
  ck_assert_msg(got == want,
                "rate %g, asked every %lld ms: %ld tokens in an "
                "hour, want %ld",
                c->rate, (long long)c->step_ms, got, want);
}
END_TEST

/* In any window, never more than the burst plus rate x window: a
 * sliding check over ten simulated minutes of a greedy caller. */
START_TEST(test_window_bound) {
  enum { RATE = 10, WINDOW_MS = 1000, SPAN_MS = 600 * 1000 };
  static int64_t at[RATE * 600 + RATE + 1];
  dw_pace_t p;
  dw_pace_init(&p, RATE, 0);
  size_t n = 0;
  for (int64_t now_ms = 0; now_ms < SPAN_MS; now_ms += 3)
    while (n < sizeof at / sizeof at[0] && dw_pace_take(&p, now_ms))
      at[n++] = now_ms;
  size_t first = 0;
  for (size_t last = 0; last < n; last++) {
    while (at[last] - at[first] >= WINDOW_MS)
      first++;
    ck_assert_uint_le(last - first + 1, 2 * RATE); /* burst 10 + 10 in 1 s */
  }
  ck_assert_uint_eq(n, RATE + RATE * (SPAN_MS - 3) / 1000); /* 10 + 5999 */
}
END_TEST

/* --- strange times -------------------------------------------------------- */

/* A clock that goes back mints nothing: the credit is kept, and accrues
 * again from the earlier time on, at the rate. */
START_TEST(test_time_backwards) {
  dw_pace_t p;
  dw_pace_init(&p, 10, 0);
  ck_assert_int_eq(take_all(&p, 100000), 10);
  ck_assert(!dw_pace_take(&p, 50000));
  ck_assert(!dw_pace_take(&p, 0));
  ck_assert(!dw_pace_take(&p, -100000));
  ck_assert_int_eq(dw_pace_wait_ms(&p, -100000), 100);
  ck_assert(!dw_pace_take(&p, -100000 + 99));
  ck_assert(dw_pace_take(&p, -100000 + 100));
  /* asked without a take at the earlier time, it counts from its own */
  ck_assert_int_eq(dw_pace_wait_ms(&p, -200000), 100100 + 100);
}
END_TEST

/* A huge gap fills the bucket to its burst and no further, and no
 * arithmetic overflows on the way. */
START_TEST(test_huge_gap) {
  dw_pace_t p;
  dw_pace_init(&p, 10000, 0);
  ck_assert_int_eq(take_all(&p, INT64_MIN), 10000);
  ck_assert(!dw_pace_take(&p, INT64_MIN));
  /* the burst, and the 9 of less than one more millisecond's accrual */
  ck_assert_int_eq(take_all(&p, INT64_MAX), 10009);
  ck_assert_int_eq(dw_pace_wait_ms(&p, INT64_MAX), 1);
  ck_assert_int_eq(dw_pace_wait_ms(&p, INT64_MIN), INT64_MAX); /* saturated */

  dw_pace_init(&p, 0.001, 0);
  ck_assert_int_eq(take_all(&p, 0), 1);
  ck_assert_int_eq(take_all(&p, INT64_MAX / 2), 1);
  ck_assert_int_eq(dw_pace_wait_ms(&p, INT64_MAX / 2), 1000000);
}
END_TEST

/* The first call, whenever it comes, finds the bucket full. */
START_TEST(test_starts_full_at_any_time) {
  dw_pace_t p;
  dw_pace_init(&p, 2, 0);
  ck_assert_int_eq(take_all(&p, -123456789), 2);
  dw_pace_init(&p, 2, 0);
  ck_assert_int_eq(take_all(&p, 987654321), 2);
  ck_assert_int_eq(dw_pace_wait_ms(&p, 987654321), 500);
}
END_TEST

static Suite *pace_suite(void) {
  Suite *s = suite_create("pace");
  TCase *tc = tcase_create("bucket");
  tcase_add_loop_test(tc, test_burst_and_wait, 0,
                      sizeof burst_cases / sizeof burst_cases[0]);
  tcase_add_loop_test(tc, test_no_limit, 0,
                      sizeof unlimited_rates / sizeof unlimited_rates[0]);
  tcase_add_loop_test(tc, test_no_drift, 0,
                      sizeof drift_cases / sizeof drift_cases[0]);
  tcase_add_test(tc, test_window_bound);
  tcase_add_test(tc, test_time_backwards);
  tcase_add_test(tc, test_huge_gap);
  tcase_add_test(tc, test_starts_full_at_any_time);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(pace_suite()); }
