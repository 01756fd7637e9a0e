/* dw_report.h - what an account says about itself.
 * Owns: the account's counters (this cycle, since start), the log lines
 * about failures (at most 10 per cycle, then a count), the FAILURE/OKAY
 * notifications of its meters and its token, and its self-metrics.
 * May call: dw_dispatch, dw_roster (reads meters and slots, writes their
 * health), dw_auth (verdicts only), dw_health, dw_resource, dw_url (URLs
 * as log lines show them), dw_clock (time units), dw_log.
 *
 * The account tells the report what happened; the report decides what is
 * said, how often, and to whom. */
#ifndef DW_REPORT_H
#define DW_REPORT_H

#include "dw_auth.h"
#include "dw_health.h"
#include "dw_roster.h"

#include <stdbool.h>
#include <stdint.h>

#define DW_REPORT_MAX_LOGGED 10   /* failure lines per cycle */
#define DW_REPORT_MAX_NOTIFIED 20 /* meter notifications per cycle */

typedef struct dw_report {
  const char *account;    /* borrowed: the account's name */
  char self_instance[80]; /* "account-<name>": 8 + 63 + NUL */
  unsigned failure_threshold;
  bool self_metrics;
  bool auth_notified;     /* a FAILURE went out for the token */
  const long *refresh_ms; /* borrowed: the RefreshInterval per resource,
                             for the data ages' cadence (NULL: every
                             cycle) */
  int64_t ages_sent_ms;   /* when they last went out (0: never) */
  uint32_t serial;        /* of the running cycle, from 1 */
  struct {
    unsigned failures;
    unsigned failures_logged;
    unsigned notifications;
    unsigned notifications_dropped;
    unsigned responses;
    unsigned deferred;
    double response_s_sum;
  } cycle;
  struct {
    uint64_t data_requests;
    uint64_t token_requests;
    uint64_t deferred; /* requests the cycles had no time for */
    uint64_t errors[DW_ERR_COUNT];
  } total;
} dw_report_t;

/* A report for account (which must outlive it). */
void dw_report_init(dw_report_t *r, const char *account,
                    unsigned failure_threshold, bool self_metrics);

/* Starts a cycle's counts over. */
void dw_report_cycle_begin(dw_report_t *r);

/* A data request got an answer (any status) after total_s seconds. */
void dw_report_response(dw_report_t *r, double total_s);

/* A slot's request failed with class c: counted, the meter's reason kept
 * for its notification, and logged unless the cycle's lines are used up.
 * Call after the slot's failure count went up. */
void dw_report_slot_failed(dw_report_t *r, dw_roster_t *roster,
                           const dw_slot_t *s, dw_err_class_t c,
                           const char *why);

/* n due requests waited for the next cycle: not sent, or cut by the
 * cycle's deadline. Not a failure: counted, never logged one by one. */
void dw_report_deferred(dw_report_t *r, size_t n);

/* A slot's response was used, but its decoder left parts out: one
 * warning line naming the account, meter and resource, with note (the
 * decoder's summary, which never quotes the body). */
void dw_report_note(dw_report_t *r, const dw_roster_t *roster,
                    const dw_slot_t *s, const char *note);
/* A slot's request failed for good (a 404 or 410: the meter or its path
 * is unknown): counted as a client error like dw_report_slot_failed(),
 * but logged once per meter and cycle, however many of its resources
 * said so. */
void dw_report_slot_gone(dw_report_t *r, dw_roster_t *roster,
                         const dw_slot_t *s, const char *why);

/* The service asked the account to pause (429 or 503) for wait_ms. */
void dw_report_throttled(dw_report_t *r, long status, int64_t wait_ms);

/* A token renewal ended with v (token_url for the log line): an OKAY
 * when the account recovers, otherwise counted, logged and one FAILURE
 * until it recovers. now is the cycle's time (cdtime_t). */
void dw_report_auth(dw_report_t *r, const dw_auth_verdict_t *v,
                    const char *token_url, uint64_t now);

/* Moves each meter along its failure state and sends what changed. */
void dw_report_meters(dw_report_t *r, dw_roster_t *roster, uint64_t now);

/* Ends the cycle: the count of failures not logged, and the self-metrics:
 * the account's every cycle; each meter's data age (from now_ms, or from
 * created_ms for a meter never fetched) every tenth of the shortest
 * RefreshInterval the meters use (at least every cycle), with that as
 * its interval: a meter's data changes only when it is fetched, so a
 * finer age costs the writers without telling more. */
void dw_report_cycle_end(dw_report_t *r, const dw_roster_t *roster,
                         uint64_t now, uint64_t interval, double cycle_s,
                         int64_t now_ms, int64_t created_ms);

#endif
