/* dw_pace.c - a token bucket on a time the caller passes in (see
 * dw_pace.h).
 *
 * The default burst is one second's worth of requests, at least one.
 * Any window of W seconds then sees at most burst + rate x W requests
 * (plus a millisecond's worth, see pace_limit): a server that limits per
 * second, as APIs state their limits, is never sent more than twice its
 * rate in one second, and over a minute 1/60 more than the rate. In
 * exchange the transport's loop loses nothing by being busy: credit that
 * accrues while it decodes a response, waits for a free connection or
 * starts the next read cycle stays in the bucket up to a second's worth,
 * so the rate actually sent is the configured one, which the request
 * budget of doc/fleet.md counts on. A burst of one token would drop the
 * credit of every such moment; at a rate of one per second or less the
 * burst is one token anyway, and a moment is small against a token's
 * second or more. */
#include "dw_pace.h"

#include <math.h>
#include <stdint.h>

/* One token, in the millionths the credit is kept in. */
#define PACE_TOKEN 1000000

void dw_pace_init(dw_pace_t *p, double rate, double burst) {
  *p = (dw_pace_t){0};
  if (!(rate > 0)) /* also NaN */
    return;
  if (rate > DW_PACE_RATE_MAX)
    rate = DW_PACE_RATE_MAX;
  /* requests per second x 1000 = millionths of a token per ms; a rate
   * below a thousandth is a thousandth, never "no limit" */
  p->rate = llround(rate * 1000);
  if (p->rate < 1)
    p->rate = 1;
  if (!(burst > 0))
    burst = rate > 1 ? rate : 1;
  if (burst < 1) /* a bucket that never holds a whole token never gives one */
    burst = 1;
  if (burst > DW_PACE_RATE_MAX)
    burst = DW_PACE_RATE_MAX;
  p->cap = llround(burst * PACE_TOKEN);
  p->credit = p->cap;
}

bool dw_pace_limits(const dw_pace_t *p) { return p->rate > 0; }

/* The most credit the bucket holds: the burst, and less than one more
 * millisecond's accrual. Time comes in whole milliseconds, so a token due
 * at 333.3 ms is taken at 334; the credit of the 0.7 ms past it belongs
 * to the next token, and cutting it at the burst would make every token
 * of a one-token bucket late by the fraction: drift. */
static int64_t pace_limit(const dw_pace_t *p) { return p->cap + p->rate - 1; }

/* The credit at now_ms: what the bucket held at last_ms, plus what
 * accrued since, up to the limit. Computed so that no gap, however long,
 * overflows. */
static int64_t pace_credit_at(const dw_pace_t *p, int64_t now_ms) {
  if (!p->started || now_ms <= p->last_ms)
    return p->credit;
  uint64_t elapsed_ms = (uint64_t)now_ms - (uint64_t)p->last_ms;
  int64_t room = pace_limit(p) - p->credit;
  if (elapsed_ms > (uint64_t)(room / p->rate))
    return pace_limit(p);
  return p->credit + (int64_t)elapsed_ms * p->rate;
}

bool dw_pace_take(dw_pace_t *p, int64_t now_ms) {
  if (p->rate == 0)
    return true;
  p->credit = pace_credit_at(p, now_ms);
  /* a time before last_ms moves last_ms back: the credit is kept, and
   * what accrues from there on is what really passes after the jump */
  p->last_ms = now_ms;
  p->started = true;
  if (p->credit < PACE_TOKEN)
    return false;
  p->credit -= PACE_TOKEN;
  return true;
}

int64_t dw_pace_wait_ms(const dw_pace_t *p, int64_t now_ms) {
  if (p->rate == 0)
    return 0;
  int64_t credit = pace_credit_at(p, now_ms);
  if (credit >= PACE_TOKEN)
    return 0;
  int64_t wait_ms = (PACE_TOKEN - credit + p->rate - 1) / p->rate; /* up */
  if (!p->started || now_ms >= p->last_ms)
    return wait_ms;
  /* before last_ms nothing accrues until last_ms comes (unless a take at
   * now_ms moves it back) */
  uint64_t behind_ms = (uint64_t)p->last_ms - (uint64_t)now_ms;
  if (behind_ms > (uint64_t)(INT64_MAX - wait_ms))
    return INT64_MAX;
  return (int64_t)behind_ms + wait_ms;
}
