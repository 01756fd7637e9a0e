/* dw_pace.h - a token bucket: whether a request may start now.
 * Owns: the bucket's rate, burst and credit, and their arithmetic on a
 * time the caller passes in. May call: nothing.
 *
 * The transport keeps one bucket per account for as long as it lives, so
 * every request of the account (data and token) spends from the same
 * bucket, across batches and cycles. Time is an argument: the bucket
 * reads no clock, so a test drives an hour through it in a moment. The
 * arithmetic is integral (credit in millionths of a token, the rate in
 * thousandths of a request per second), so over any span the bucket
 * allows exactly what rate and burst say, with no drift however often it
 * is asked. */
#ifndef DW_PACE_H
#define DW_PACE_H

#include <stdbool.h>
#include <stdint.h>

/* Requests per second a bucket can hold to: a positive rate is rounded
 * to a thousandth and kept within these. */
#define DW_PACE_RATE_MIN 0.001
#define DW_PACE_RATE_MAX 10000.0

typedef struct dw_pace {
  int64_t rate;    /* millionths of a token per ms; 0: no limit */
  int64_t cap;     /* the burst, in millionths of a token */
  int64_t credit;  /* millionths of a token at last_ms */
  int64_t last_ms; /* when credit was last brought up to date */
  bool started;    /* false until the first call: the bucket starts full */
} dw_pace_t;

/* A bucket of rate requests per second (0, negative or NaN: no limit)
 * holding burst tokens (and less than a millisecond's accrual more: see
 * dw_pace.c); burst <= 0 picks one second's worth, at least one token.
 * It starts full. */
void dw_pace_init(dw_pace_t *p, double rate, double burst);

/* True when the bucket limits at all. */
bool dw_pace_limits(const dw_pace_t *p);

/* Takes a token at now_ms if one is there: true when the request may
 * start. Time that went backwards mints nothing; credit accrues again
 * from the earlier time on. */
bool dw_pace_take(dw_pace_t *p, int64_t now_ms);

/* Milliseconds from now_ms until dw_pace_take would give a token: 0 when
 * one is there (or without a limit), else exactly the wait: a take at
 * now_ms + wait gives a token, one a millisecond earlier would not. */
int64_t dw_pace_wait_ms(const dw_pace_t *p, int64_t now_ms);

#endif
