/* dw_report.c - what an account says about itself (see dw_report.h). */
#include "dw_report.h"
#include "dw_clock.h"
#include "dw_dispatch.h"
#include "dw_log.h"
#include "dw_resource.h"
#include "dw_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void dw_report_init(dw_report_t *r, const char *account,
                    unsigned failure_threshold, bool self_metrics) {
  *r = (dw_report_t){.account = account,
                     .failure_threshold = failure_threshold,
                     .self_metrics = self_metrics};
  snprintf(r->self_instance, sizeof(r->self_instance), "account-%s", account);
}

void dw_report_cycle_begin(dw_report_t *r) {
  memset(&r->cycle, 0, sizeof(r->cycle));
  if (++r->serial == 0) /* 0 means "never" to dw_meter_health_t */
    r->serial = 1;
}

void dw_report_response(dw_report_t *r, double total_s) {
  r->cycle.response_s_sum += total_s;
  r->cycle.responses++;
}

/* The meter's reason is that of its most failed slot (the first in
 * resource and period order among equals), so a notification names the
 * resource that crossed FailureThreshold, whatever order responses
 * completed in. */
static void report_keep_reason(dw_meter_health_t *h, const dw_slot_t *s,
                               const char *why) {
  if (s->failures > h->why_failures ||
      (s->failures == h->why_failures && (s->resource < h->failed_resource ||
                                          (s->resource == h->failed_resource &&
                                           s->period <= h->failed_period)))) {
    h->why_failures = s->failures;
    h->failed_resource = s->resource;
    h->failed_period = s->period;
    dw_meter_health_why(h, why);
  }
}

/* Counts a failure of s and keeps its reason; false when its line is one
 * too many for the cycle (then it is only counted, so an outage of a
 * large fleet costs one summary line). */
static bool report_count_failure(dw_report_t *r, dw_roster_t *roster,
                                 const dw_slot_t *s, dw_err_class_t c,
                                 const char *why) {
  r->cycle.failures++;
  r->total.errors[c]++;
  report_keep_reason(&dw_roster_meter(roster, s)->health, s, why);
  return r->cycle.failures_logged < DW_REPORT_MAX_LOGGED;
}

static void report_slot_line(dw_report_t *r, const dw_roster_t *roster,
                             const dw_slot_t *s, const char *why) {
  const char *period = dw_slot_period(s);
  r->cycle.failures_logged++;
  dw_log(DW_LOG_WARNING, "account %s, smartmeter %s: %s%s%s: %s", r->account,
         dw_roster_meter(roster, s)->id,
         dw_resource_info((dw_resource_t)s->resource)->slug, period ? "/" : "",
         period ? period : "", why);
}

void dw_report_slot_failed(dw_report_t *r, dw_roster_t *roster,
                           const dw_slot_t *s, dw_err_class_t c,
                           const char *why) {
  if (report_count_failure(r, roster, s, c, why))
    report_slot_line(r, roster, s, why);
}

void dw_report_slot_gone(dw_report_t *r, dw_roster_t *roster,
                         const dw_slot_t *s, const char *why) {
  dw_meter_health_t *h = &dw_roster_meter(roster, s)->health;
  if (!report_count_failure(r, roster, s, DW_ERR_CLIENT, why) ||
      h->gone_said == r->serial)
    return;
  h->gone_said = r->serial;
  report_slot_line(r, roster, s, why);
}

void dw_report_deferred(dw_report_t *r, size_t n) {
  r->cycle.deferred += (unsigned)n;
  r->total.deferred += n;
}

void dw_report_note(dw_report_t *r, const dw_roster_t *roster,
                    const dw_slot_t *s, const char *note) {
  const dw_meter_t *m = dw_roster_meter(roster, s);
  const char *period = dw_slot_period(s);
  dw_log(DW_LOG_WARNING,
         "account %s, smartmeter %s: %s%s%s: part of the response left out: "
         "%s",
         r->account, m->id, dw_resource_info((dw_resource_t)s->resource)->slug,
         period ? "/" : "", period ? period : "", note);
}

void dw_report_throttled(dw_report_t *r, long status, int64_t wait_ms) {
  dw_log(DW_LOG_WARNING,
         "account %s: the service asks to slow down (HTTP status %ld); "
         "no request for %.1f s",
         r->account, status, (double)wait_ms / 1000.0);
}

/* The account's authentication FAILURE, once until it recovers. A token
 * endpoint that cannot be reached (network, TLS, timeout) is not called
 * an authentication failure: nothing was asked of the credentials. */
static void report_auth_failed(dw_report_t *r, uint64_t now,
                               const dw_auth_verdict_t *v, const char *why) {
  if (r->auth_notified)
    return;
  r->auth_notified = true;
  bool unreachable = v->result == DW_AUTH_FAILED &&
                     (v->class == DW_ERR_NETWORK || v->class == DW_ERR_TIMEOUT);
  dw_dispatch_notification(
      DW_NOTIF_FAILURE, r->self_instance, "digiwatt_requests", "token", now,
      "account %s %s: %s", r->account,
      unreachable ? "cannot reach its token endpoint" : "cannot authenticate",
      why);
}

/* What a failed token request asks the operator to check, or "". */
static const char *report_auth_hint(const dw_auth_verdict_t *v) {
  const char *e = v->oauth_error != NULL ? v->oauth_error : "";
  if (strcmp(e, "invalid_scope") == 0)
    return " (check TokenParam: the issuer refuses the scope asked for)";
  if (strcmp(e, "invalid_request") == 0)
    return " (check TokenParam and TokenAuth)";
  if (strcmp(e, "unsupported_grant_type") == 0 ||
      strcmp(e, "unauthorized_client") == 0)
    return " (the client may not use the client_credentials grant)";
  if (v->result == DW_AUTH_REFUSED)
    return " (check ClientID, the client secret and TokenAuth)";
  if (v->status == 404 || v->status == 410)
    return " (check TokenURL: there is no token endpoint at that address)";
  return "";
}

static void report_auth_ok(dw_report_t *r, uint64_t now) {
  if (!r->auth_notified)
    return;
  r->auth_notified = false;
  dw_log(DW_LOG_NOTICE, "account %s: authenticated again", r->account);
  dw_dispatch_notification(DW_NOTIF_OKAY, r->self_instance, "digiwatt_requests",
                           "token", now, "account %s: authenticated again",
                           r->account);
}

void dw_report_auth(dw_report_t *r, const dw_auth_verdict_t *v,
                    const char *token_url, uint64_t now) {
  if (v->result == DW_AUTH_OK) {
    report_auth_ok(r, now);
    return;
  }
  if (v->result == DW_AUTH_DEFERRED) { /* the cycle ran out: no blame */
    dw_log(DW_LOG_INFO,
           "account %s: the token endpoint did not answer before the "
           "cycle's deadline; trying again next cycle",
           r->account);
    return;
  }
  r->total.errors[v->class]++;
  if (v->result == DW_AUTH_THROTTLED) {
    /* a 429 is the service pacing us; a 503 is an outage to look at */
    dw_log(v->status == 429 ? DW_LOG_WARNING : DW_LOG_ERR,
           "account %s: the token endpoint is %s: %s", r->account,
           v->status == 429 ? "rate-limited" : "unavailable", v->why);
    report_auth_failed(r, now, v, v->why);
    return;
  }
  bool refused = v->result == DW_AUTH_REFUSED;
  char shown[DW_URL_SHOWN_SIZE];
  dw_log(DW_LOG_ERR,
         "account %s: cannot get a token from %s: %s%s; next try in %.0f s",
         r->account, dw_url_redact(shown, sizeof(shown), token_url), v->why,
         report_auth_hint(v), (double)v->wait_ms / 1000.0);
  /* invalid_request and invalid_scope refuse the form, not the client */
  const char *e = v->oauth_error != NULL ? v->oauth_error : "";
  bool form =
      strcmp(e, "invalid_request") == 0 || strcmp(e, "invalid_scope") == 0;
  char why[sizeof(v->why) + 80];
  snprintf(why, sizeof(why), "%s%s", v->why,
           refused && form                        ? " (token request refused)"
           : refused                              ? " (credentials refused)"
           : v->status == 404 || v->status == 410 ? " (check TokenURL)"
                                                  : "");
  report_auth_failed(r, now, v, why);
}

/* Sends one meter notification unless this cycle's share is used up;
 * true when it went out (only then may the meter's state change). */
static bool report_notify_meter(dw_report_t *r, const dw_meter_t *m,
                                int severity, uint64_t now) {
  if (r->cycle.notifications >= DW_REPORT_MAX_NOTIFIED) {
    r->cycle.notifications_dropped++;
    return false;
  }
  r->cycle.notifications++;
  const dw_meter_health_t *h = &m->health;
  const char *slug = dw_resource_info((dw_resource_t)h->failed_resource)->slug;
  if (severity == DW_NOTIF_OKAY) {
    dw_dispatch_notification(severity, m->instance, "digiwatt_data_age_seconds",
                             slug, now, "smartmeter %s (account %s) recovered",
                             m->id, r->account);
    return true;
  }
  const char *period = h->failed_period < 0
                           ? NULL
                           : dw_period_name((dw_period_t)h->failed_period);
  dw_dispatch_notification(
      severity, m->instance, "digiwatt_data_age_seconds", slug, now,
      "smartmeter %s (account %s): %s%s%s failed %u times in a row: %s", m->id,
      r->account, slug, period ? "/" : "", period ? period : "",
      h->why_failures, h->failed_why ? h->failed_why : "(out of memory)");
  return true;
}

/* The most failed slot of a meter, or NULL when none is failing. */
static const dw_slot_t *report_worst_slot(const dw_roster_t *roster,
                                          const dw_meter_t *m) {
  const dw_slot_t *worst = NULL;
  for (size_t i = 0; i < m->slots_len; i++) {
    const dw_slot_t *s = &roster->slots[m->first_slot + i];
    if (s->failures > 0 && (worst == NULL || s->failures > worst->failures))
      worst = s;
  }
  return worst;
}

/* FAILURE once one of a meter's resources has failed FailureThreshold
 * times in a row; OKAY once none of its resources is failing any more (a
 * resource waiting out its backoff while the others succeed is still
 * failing). Only changes notify; a notification the per-cycle limit held
 * back is tried again next cycle. */
void dw_report_meters(dw_report_t *r, dw_roster_t *roster, uint64_t now) {
  for (size_t i = 0; i < roster->meters_len; i++) {
    dw_meter_t *m = &roster->meters[i];
    dw_meter_health_t *h = &m->health;
    const dw_slot_t *worst = report_worst_slot(roster, m);
    h->failing = worst != NULL;
    if (worst == NULL) {
      h->why_failures = 0;
      if (h->failed_why != NULL)
        dw_meter_health_why(h, NULL);
    } else if (worst->resource != h->failed_resource ||
               worst->period != h->failed_period) {
      /* the slot the reason described has recovered since */
      h->failed_resource = worst->resource;
      h->failed_period = worst->period;
      h->why_failures = worst->failures;
      dw_meter_health_why(h, "see the log");
    }
    if (worst != NULL && !h->notified &&
        worst->failures >= r->failure_threshold)
      h->notified = report_notify_meter(r, m, DW_NOTIF_FAILURE, now);
    else if (worst == NULL && h->notified)
      h->notified = !report_notify_meter(r, m, DW_NOTIF_OKAY, now);
  }
  if (r->cycle.notifications_dropped > 0)
    dw_dispatch_notification(
        DW_NOTIF_WARNING, r->self_instance, "digiwatt_meters", "failed", now,
        "account %s: %u more smartmeters changed state this cycle; their "
        "notifications follow in the next cycles (at most %d per cycle)",
        r->account, r->cycle.notifications_dropped, DW_REPORT_MAX_NOTIFIED);
}

/* A tenth of the shortest RefreshInterval the meters use, in ms. */
static long report_age_every_ms(const dw_report_t *r,
                                const dw_roster_t *roster) {
  uint32_t used = 0;
  for (size_t i = 0; i < roster->meters_len; i++)
    used |= roster->meters[i].resources;
  long shortest = -1;
  for (int res = 0; res < DW_RES_COUNT && r->refresh_ms != NULL; res++)
    if ((used & (1u << res)) && (shortest < 0 || r->refresh_ms[res] < shortest))
      shortest = r->refresh_ms[res];
  return shortest > 0 ? shortest / 10 : 0;
}

/* The data age of every meter, when its cadence says; how many fail. */
static int report_ages(dw_report_t *r, const dw_roster_t *roster, uint64_t now,
                       uint64_t interval, int64_t now_ms, int64_t created_ms) {
  uint64_t every = dw_cdtime_of_ms(report_age_every_ms(r, roster));
  if (every < interval)
    every = interval;
  int64_t every_ms = dw_cdtime_to_ms(every);
  /* half a cycle early is on time: cycles are not exactly an interval
   * apart */
  if (r->ages_sent_ms != 0 &&
      now_ms - r->ages_sent_ms < every_ms - dw_cdtime_to_ms(interval) / 2)
    return 0;
  r->ages_sent_ms = now_ms != 0 ? now_ms : 1;
  int status = 0;
  for (size_t i = 0; i < roster->meters_len; i++) {
    const dw_meter_t *m = &roster->meters[i];
    int64_t since = m->last_ok_ms ? m->last_ok_ms : created_ms;
    status |=
        dw_dispatch_own(m->instance, "digiwatt_data_age_seconds", NULL, now,
                        every, false, (double)(now_ms - since) / 1000.0);
  }
  return status;
}

static void report_self_metrics(dw_report_t *r, const dw_roster_t *roster,
                                uint64_t now, uint64_t interval, double cycle_s,
                                int64_t now_ms, int64_t created_ms) {
  const char *pi = r->self_instance;
  int status = 0;
  status |= dw_dispatch_own(pi, "digiwatt_requests", "data", now, interval,
                            true, (double)r->total.data_requests);
  status |= dw_dispatch_own(pi, "digiwatt_requests", "token", now, interval,
                            true, (double)r->total.token_requests);
  status |= dw_dispatch_own(pi, "digiwatt_requests", "deferred", now, interval,
                            true, (double)r->total.deferred);
  for (int c = 0; c < DW_ERR_COUNT; c++)
    status |= dw_dispatch_own(pi, "digiwatt_errors",
                              dw_err_class_name((dw_err_class_t)c), now,
                              interval, true, (double)r->total.errors[c]);
  if (r->cycle.responses > 0)
    status |= dw_dispatch_own(pi, "digiwatt_response_time_seconds", NULL, now,
                              interval, false,
                              r->cycle.response_s_sum / r->cycle.responses);
  status |= dw_dispatch_own(pi, "digiwatt_cycle_seconds", NULL, now, interval,
                            false, cycle_s);
  size_t failed = 0;
  for (size_t i = 0; i < roster->meters_len; i++)
    failed += roster->meters[i].health.failing;
  status |= report_ages(r, roster, now, interval, now_ms, created_ms);
  status |= dw_dispatch_own(pi, "digiwatt_meters", "ok", now, interval, false,
                            (double)(roster->meters_len - failed));
  status |= dw_dispatch_own(pi, "digiwatt_meters", "failed", now, interval,
                            false, (double)failed);
  if (status != 0)
    dw_log(DW_LOG_WARNING, "account %s: dispatching self-metrics failed",
           r->account);
}

void dw_report_cycle_end(dw_report_t *r, const dw_roster_t *roster,
                         uint64_t now, uint64_t interval, double cycle_s,
                         int64_t now_ms, int64_t created_ms) {
  if (r->cycle.failures > r->cycle.failures_logged)
    dw_log(DW_LOG_WARNING, "account %s: %u more requests failed this cycle",
           r->account, r->cycle.failures - r->cycle.failures_logged);
  if (r->self_metrics)
    report_self_metrics(r, roster, now, interval, cycle_s, now_ms, created_ms);
}
