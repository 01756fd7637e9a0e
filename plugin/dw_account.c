/* dw_account.c - one account's read cycle (see dw_account.h).
 *
 * A cycle turns the due slots of the roster into waves of requests, runs
 * each wave through dw_fetch, and applies each result to its slot as it
 * arrives: fresh samples replace the slot's cache, a failure backs the
 * slot off, a 429/503 pauses the whole account. Then every slot that holds
 * samples is dispatched, fetched this cycle or not, so writers see no
 * gaps, and the report says what happened. */
#include "dw_account.h"
#include "dw_auth.h"
#include "dw_dispatch.h"
#include "dw_emit.h"
#include "dw_fetch.h"
#include "dw_health.h"
#include "dw_http.h"
#include "dw_keep.h"
#include "dw_log.h"
#include "dw_report.h"
#include "dw_roster.h"
#include "dw_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URL 2048
#define EMIT_PAUSE_MS 20
/* A wave ends with its slowest request, so waves are large enough to keep
 * the transport's queue full, and never larger than the due set. */
#define WAVE_PER_CONCURRENCY 64
#define WAVE_MIN 256

struct dw_account {
  dw_account_cfg_t cfg;
  dw_clock_t clock;
  dw_http_t *http;
  dw_auth_t *auth;
  dw_report_t report;
  dw_emit_t emit;
  dw_keep_t keep; /* the state file */
  struct {
    dw_roster_t roster;
    dw_meterfile_stamp_t stamp; /* of the SmartmeterFile read last */
  } meters;
  struct {
    int64_t paused_until_ms; /* 429/503: no request before */
    unsigned throttles;      /* in a row, for backoff without Retry-After */
    uint64_t rng;            /* jitter of every backoff */
    long base_ms;            /* the read interval: the unit of backoff */
  } pace;
  struct { /* what the last cycle says, for a test read */
    size_t due, stored;
    dw_auth_result_t auth; /* of its last token request */
    bool auth_tried;
    char auth_why[256];
  } last;
  int64_t created_ms;
};

/* What one cycle decides with: one now, one deadline. */
typedef struct cycle {
  int64_t now_ms;    /* the account's clock, read once */
  uint64_t now;      /* wall time of the cycle (cdtime_t) */
  uint64_t interval; /* the read interval (cdtime_t) */
  dw_http_deadline_t deadline;
  bool renewed_after_401; /* at most one such renewal per cycle */
  bool out_of_time;       /* the deadline came first: the rest waits */
} cycle_t;

/* The due slots of one wave and their requests. */
typedef struct wave {
  dw_account_t *a;
  cycle_t *c;
  dw_slot_t **slots;
  dw_fetch_item_t *items;
  char **urls;   /* exact size, freed after the wave */
  bool *refused; /* got a 401 that may still be retried */
  size_t n, cap;
  size_t refused_count;
  bool final; /* a 401 now is a failure, not a reason to renew */
} wave_t;

/* --- the roster ----------------------------------------------------------- */

/* --- lifecycle ------------------------------------------------------------ */

static dw_http_t *account_http(const dw_account_cfg_t *cfg) {
  dw_http_opts_t opts = {
      .timeout_ms = cfg->timeout_ms,
      .max_body = cfg->max_body,
      .max_concurrency = cfg->max_concurrency,
      .max_requests_per_s = cfg->max_requests_per_s,
      .verify_peer = cfg->verify_peer,
      .verify_host = cfg->verify_host,
      .ca_cert = cfg->ca_cert,
      .client_cert = cfg->client_cert,
      .client_key = cfg->client_key,
      /* wt-options (issue 11): the HTTP options; UserAgent has its default
       * from dw_config */
      .ca_path = cfg->ca_path,
      .key_password = cfg->client_key_password,
      .user_agent = cfg->user_agent,
      .proxy = cfg->proxy,
      .headers = (const char *const *)cfg->headers.items,
  };
  return dw_http_create(&opts);
}

/* The pause of a big dispatch (a restart's cached values, RepeatCached):
 * DW_EMIT_PACE_EVERY samples per EMIT_PAUSE_MS, 100,000 a second, which
 * collectd's write threads keep up with; none once stopping. */
static void account_emit_pace(void *ud) {
  dw_account_t *a = ud;
  if (!dw_http_stopped(a->http))
    dw_clock_pause(&a->clock, EMIT_PAUSE_MS);
}

dw_account_t *dw_account_create(dw_account_cfg_t *cfg, dw_meterfile_t *file,
                                const dw_meterfile_stamp_t *stamp,
                                dw_clock_t clock) {
  dw_account_t *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    dw_account_cfg_free(cfg);
    dw_meterfile_free(file);
    return NULL;
  }
  a->cfg = *cfg;
  *cfg = (dw_account_cfg_t){0};
  a->clock = clock;
  a->created_ms = dw_clock_read(&clock);
  a->pace.rng = (uint64_t)a->created_ms * 0x9E3779B97F4A7C15ull | 1;
  dw_report_init(&a->report, a->cfg.name, a->cfg.failure_threshold,
                 a->cfg.self_metrics);
  a->report.refresh_ms = a->cfg.refresh_ms;
  a->emit = (dw_emit_t){.account = a->cfg.name,
                        .repeat_cached = a->cfg.repeat_cached,
                        .monthly_history = a->cfg.monthly_history,
                        .refresh_ms = a->cfg.refresh_ms,
                        .pace = account_emit_pace,
                        .pace_ud = a};
  dw_keep_init(&a->keep, a->cfg.name, a->cfg.state_file, a->cfg.state_save_ms,
               a->cfg.refresh_ms, a->cfg.backoff_max_ms);
  a->http = account_http(&a->cfg);
  a->auth = dw_auth_create(&a->cfg, dw_health_random(&a->pace.rng));
  int status = a->http && a->auth ? 0 : -ENOMEM;
  if (status == 0)
    status = dw_roster_load(&a->meters.roster, &a->cfg, file);
  if (status == 0 && file != NULL)
    a->meters.stamp = *stamp;
  dw_meterfile_free(file);
  if (status != 0) {
    dw_account_destroy(a);
    return NULL;
  }
  return a;
}

void dw_account_destroy(dw_account_t *a) {
  if (a == NULL)
    return;
  dw_roster_free(&a->meters.roster);
  dw_auth_destroy(a->auth);
  dw_http_destroy(a->http);
  dw_account_cfg_free(&a->cfg);
  free(a);
}

const char *dw_account_name(const dw_account_t *a) { return a->cfg.name; }

long dw_account_interval_ms(const dw_account_t *a) {
  return a->cfg.interval_ms;
}

/* --- what results do to slots --------------------------------------------- */

/* A failed request of a slot: counted, reported, and retried after a
 * backoff. */
static void account_slot_failed(dw_account_t *a, dw_slot_t *s,
                                dw_err_class_t class, const char *why,
                                int64_t now_ms) {
  if (s->failures < UINT16_MAX)
    s->failures++;
  s->next_due_ms =
      now_ms + dw_health_backoff_ms(s->failures, a->pace.base_ms,
                                    a->cfg.backoff_max_ms, &a->pace.rng);
  dw_report_slot_failed(&a->report, &a->meters.roster, s, class, why);
}

/* wt-options (issue 11): a 404 or 410 cannot be helped by asking again
 * soon: the slot waits BackoffMax (dw_health) and the report says it once
 * per meter and cycle. */
static void account_slot_gone(dw_account_t *a, dw_slot_t *s, const char *why,
                              int64_t now_ms) {
  if (s->failures < UINT16_MAX)
    s->failures++;
  s->next_due_ms =
      now_ms + dw_health_retry_ms(true, s->failures, a->pace.base_ms,
                                  a->cfg.backoff_max_ms, &a->pace.rng);
  dw_report_slot_gone(&a->report, &a->meters.roster, s, why);
}

/* The slot's next due time: its refresh interval from now, shortened by
 * up to a tenth by a per-slot hash, so that a fleet fetched in one cycle
 * spreads its next fetches instead of bursting again together. */
static int64_t account_next_due(const dw_account_t *a, const dw_slot_t *s,
                                int64_t now_ms) {
  long refresh_ms = a->cfg.refresh_ms[s->resource];
  if (refresh_ms <= 0) /* every cycle; after what an earlier cycle deferred */
    return now_ms;
  uint64_t h =
      (uint64_t)(s - a->meters.roster.slots + 1) * 0x9E3779B97F4A7C15ull;
  return now_ms + refresh_ms -
         (int64_t)((h >> 40) % ((uint64_t)refresh_ms / 10 + 1));
}

/* Fresh samples replace the slot's (the old ones go back to be freed)
 * and go out; the meter's data is as new as the cycle. */
static void account_slot_stored(dw_account_t *a, const cycle_t *c, dw_slot_t *s,
                                dw_cache_t *fresh, int64_t now_ms) {
  if (dw_months_adopt(&s->months, fresh) != 0)
    dw_log(DW_LOG_WARNING,
           "account %s: out of memory: history months go out again",
           a->cfg.name);
  dw_cache_t old = s->cache;
  s->cache = *fresh;
  *fresh = old;
  s->failures = 0;
  s->next_due_ms = account_next_due(a, s, now_ms);
  dw_roster_meter(&a->meters.roster, s)->last_ok_ms = c->now_ms;
  dw_emit_arrival(&a->emit, &a->meters.roster, s, c->now, c->interval);
}

/* A 429 or 503 pauses every request of the account: until Retry-After
 * when the server gave one, else for an exponential backoff. */
static void account_pause(dw_account_t *a, long status, long retry_after_s,
                          int64_t now_ms) {
  a->pace.throttles++;
  int64_t wait_ms =
      retry_after_s >= 0
          ? retry_after_s * 1000
          : dw_health_backoff_ms(a->pace.throttles, a->pace.base_ms,
                                 a->cfg.backoff_max_ms, &a->pace.rng);
  if (wait_ms > a->cfg.backoff_max_ms)
    wait_ms = a->cfg.backoff_max_ms;
  if (now_ms + wait_ms > a->pace.paused_until_ms) {
    a->pace.paused_until_ms = now_ms + wait_ms;
    dw_report_throttled(&a->report, status, wait_ms);
  }
}

/* Gets a fresh token; a throttled token endpoint pauses the account, and
 * one the deadline cut leaves the rest of the cycle to the next. */
static bool account_renew(dw_account_t *a, cycle_t *c) {
  dw_auth_verdict_t v;
  a->report.total.token_requests++;
  dw_auth_renew(a->auth, a->http, c->deadline, c->now_ms, a->pace.base_ms, &v);
  dw_report_auth(&a->report, &v, a->cfg.token_url, c->now);
  a->last.auth_tried = true;
  a->last.auth = v.result;
  snprintf(a->last.auth_why, sizeof(a->last.auth_why), "%s",
           v.result == DW_AUTH_OK ? "" : v.why);
  if (v.result == DW_AUTH_THROTTLED)
    account_pause(a, v.status, v.retry_after_s, c->now_ms);
  if (v.result == DW_AUTH_DEFERRED)
    c->out_of_time = true;
  return v.result == DW_AUTH_OK;
}

/* True when the account may send requests now; a token is fetched when
 * needed (unless its retry time has not come). */
static bool account_ready(dw_account_t *a, cycle_t *c) {
  if (c->now_ms < a->pace.paused_until_ms)
    return false;
  if (dw_auth_usable(a->auth, c->now_ms))
    return true;
  if (!dw_auth_may_request(a->auth, c->now_ms))
    return false;
  return account_renew(a, c);
}

/* --- waves ---------------------------------------------------------------- */

/* Applies one result to its slot as soon as its request ended. */
static void account_on_result(void *ud, size_t i, const dw_fetch_result_t *r) {
  wave_t *w = ud;
  dw_account_t *a = w->a;
  dw_slot_t *s = w->slots[i];
  /* the cycle's now, moved on to when the answer came: a Retry-After or
   * a backoff counts from the answer, as the server meant it */
  int64_t now_ms = w->c->now_ms + r->req->ended_ms;
  if (r->req->sent) /* not one the deadline left unsent: that is deferred */
    a->report.total.data_requests++;
  if (r->req->error == DW_HTTP_OK)
    dw_report_response(&a->report, r->req->total_s);
  if (r->outcome == DW_FETCH_OK) {
    if (r->note != NULL)
      dw_report_note(&a->report, &a->meters.roster, s, r->note);
    account_slot_stored(a, w->c, s, r->cache, now_ms);
    a->last.stored++;
  } else if (r->outcome == DW_FETCH_DEFERRED) { /* due first next cycle */
    dw_report_deferred(&a->report, 1);
    w->c->out_of_time = true;
  } else if (r->outcome == DW_FETCH_REFUSED && !w->final) {
    w->refused[i] = true;
    w->refused_count++;
  } else if (r->permanent) { /* wt-options: a 404 or 410 */
    account_slot_gone(a, s, r->why, now_ms);
  } else { /* a failure; a second 401 is one too */
    account_slot_failed(a, s, r->class, r->why, now_ms);
    if (dw_health_is_throttle(r->req))
      account_pause(a, r->req->status, r->req->retry_after_s, now_ms);
  }
}

/* Runs w's requests; every slot of the wave is settled afterwards. */
static void account_run(dw_account_t *a, wave_t *w) {
  memset(w->refused, 0, w->n * sizeof(*w->refused));
  w->refused_count = 0;
  /* months up to the cycle's next one: a month stamped further out would
   * keep every later month of its series from going out */
  int max_month = dw_month_of_unix((int64_t)(w->c->now >> 30)) + 1;
  if (dw_fetch_run(a->http, dw_auth_header(a->auth), w->items, w->n,
                   w->c->deadline, max_month, account_on_result, w) == 0)
    return;
  for (size_t i = 0; i < w->n; i++) /* nothing ran */
    account_slot_failed(a, w->slots[i], DW_ERR_CLIENT, "out of memory",
                        w->c->now_ms);
}

/* A 401 means the token was revoked or expired early: it is renewed once
 * per cycle and the refused requests run once more. */
static void account_retry_refused(dw_account_t *a, wave_t *w) {
  size_t k = 0;
  for (size_t i = 0; i < w->n; i++) {
    if (!w->refused[i])
      continue;
    w->slots[k] = w->slots[i];
    w->items[k] = w->items[i];
    k++;
  }
  dw_auth_invalidate(a->auth);
  w->c->renewed_after_401 = true;
  if (!account_renew(a, w->c)) {
    if (w->c->out_of_time) { /* the renewal was cut: nobody's fault */
      dw_report_deferred(&a->report, k);
      return;
    }
    for (size_t i = 0; i < k; i++)
      account_slot_failed(a, w->slots[i], DW_ERR_AUTH,
                          "HTTP status 401, and no new token", w->c->now_ms);
    return;
  }
  w->n = k;
  w->final = true;
  account_run(a, w);
}

static void account_run_wave(dw_account_t *a, wave_t *w) {
  w->final = w->c->renewed_after_401;
  account_run(a, w);
  if (w->refused_count > 0)
    account_retry_refused(a, w);
  for (size_t i = 0; i < w->cap; i++) {
    free(w->urls[i]);
    w->urls[i] = NULL;
  }
  w->n = 0;
}

/* Adds a due slot's request to the wave; a URL that cannot be built
 * fails the slot. */
static void account_wave_add(dw_account_t *a, wave_t *w, dw_slot_t *s) {
  const dw_meter_t *m = dw_roster_meter(&a->meters.roster, s);
  char url[MAX_URL];
  int status =
      dw_url_build(url, sizeof(url), a->cfg.base_url, a->cfg.paths[s->resource],
                   m->id, dw_slot_period(s));
  char *copy = status == 0 ? strdup(url) : NULL;
  if (status == 0 && copy == NULL)
    status = -ENOMEM;
  if (status != 0) {
    account_slot_failed(
        a, s, DW_ERR_CLIENT,
        status == -ENAMETOOLONG ? "the request URL would be longer than 2048 "
                                  "bytes"
        : status == -ENOMEM
            ? "out of memory"
            : "cannot build the request URL from the Path template",
        w->c->now_ms);
    return;
  }
  w->urls[w->n] = copy;
  w->items[w->n] =
      (dw_fetch_item_t){.url = copy, .resource = (dw_resource_t)s->resource};
  w->slots[w->n++] = s;
}

static size_t account_wave_size(const dw_account_t *a, size_t due) {
  size_t wave = WAVE_PER_CONCURRENCY * (size_t)a->cfg.max_concurrency;
  if (wave < WAVE_MIN)
    wave = WAVE_MIN;
  return due < wave ? due : wave;
}

static void wave_free(wave_t *w) {
  free(w->slots);
  free(w->items);
  free(w->urls);
  free(w->refused);
}

/* A due slot and when it fell due. */
typedef struct due {
  int64_t due_ms;
  uint32_t slot;
} due_t;

static int account_by_due(const void *x, const void *y) {
  const due_t *a = x, *b = y;
  if (a->due_ms != b->due_ms)
    return a->due_ms < b->due_ms ? -1 : 1;
  return (a->slot > b->slot) - (a->slot < b->slot);
}

/* The slots due now, longest due first: what an earlier cycle deferred
 * goes out before what fell due since. NULL with *n 0 when none (or on
 * ENOMEM, logged: the slots stay due). */
static due_t *account_due_slots(const dw_account_t *a, const cycle_t *c,
                                size_t *n) {
  const dw_roster_t *roster = &a->meters.roster;
  *n = 0;
  for (size_t i = 0; i < roster->slots_len; i++)
    *n += roster->slots[i].next_due_ms <= c->now_ms;
  if (*n == 0)
    return NULL;
  due_t *due = malloc(*n * sizeof(*due));
  if (due == NULL) {
    dw_log(DW_LOG_ERR, "account %s: out of memory", a->cfg.name);
    *n = 0;
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < roster->slots_len; i++)
    if (roster->slots[i].next_due_ms <= c->now_ms)
      due[k++] = (due_t){roster->slots[i].next_due_ms, (uint32_t)i};
  qsort(due, *n, sizeof(*due), account_by_due);
  return due;
}

/* Why the next wave may not go out, or NULL when it may. A wave never
 * goes out without a token (a renewal after a 401 may have failed). */
static const char *account_stop_reason(const dw_account_t *a,
                                       const cycle_t *c) {
  if (c->now_ms < a->pace.paused_until_ms)
    return "paused";
  if (c->out_of_time || dw_http_deadline_passed(c->deadline) ||
      dw_http_stopped(a->http))
    return "deadline";
  if (dw_auth_header(a->auth) == NULL)
    return "no token";
  return NULL;
}

/* Fetches every slot due now, in waves that bound the memory a cycle
 * needs whatever the fleet size. Stops when the service asks the account
 * to slow down (the rest waits out the pause), and when the deadline or a
 * lost token leaves no way to send the rest this cycle (deferred: due
 * first next cycle, not a failure). */
static void account_fetch_due(dw_account_t *a, cycle_t *c) {
  size_t n_due;
  due_t *due = account_due_slots(a, c, &n_due);
  a->last.due = n_due;
  if (n_due == 0 || !account_ready(a, c)) {
    free(due); /* every due slot stays due */
    return;
  }
  wave_t w = {.a = a, .c = c, .cap = account_wave_size(a, n_due)};
  w.slots = calloc(w.cap, sizeof(*w.slots));
  w.items = calloc(w.cap, sizeof(*w.items));
  w.urls = calloc(w.cap, sizeof(*w.urls));
  w.refused = calloc(w.cap, sizeof(*w.refused));
  const char *stop = NULL;
  size_t next = 0;
  if (!w.slots || !w.items || !w.urls || !w.refused) {
    dw_log(DW_LOG_ERR, "account %s: out of memory", a->cfg.name);
    goto out;
  }
  while (next < n_due && (stop = account_stop_reason(a, c)) == NULL) {
    while (next < n_due && w.n < w.cap)
      account_wave_add(a, &w, &a->meters.roster.slots[due[next++].slot]);
    if (w.n > 0)
      account_run_wave(a, &w);
  }
  if (stop != NULL && strcmp(stop, "paused") != 0)
    dw_report_deferred(&a->report, n_due - next);
  if (stop == NULL)
    a->pace.throttles = 0; /* a cycle went through unthrottled */
out:
  wave_free(&w);
  free(due);
}

/* --- the state ------------------------------------------------------------ */

static dw_state_now_t account_now(const cycle_t *c) {
  return (dw_state_now_t){.mono_ms = c->now_ms,
                          .wall_ms = dw_cdtime_to_ms(c->now)};
}

static dw_state_account_t account_state(const dw_account_t *a) {
  dw_state_account_t s = {.paused_until_ms = a->pace.paused_until_ms,
                          .throttles = a->pace.throttles};
  dw_auth_backoff(a->auth, &s.token_failures, &s.token_retry_at_ms);
  return s;
}

/* At the first cycle: what the state file remembers. */
static void account_restore(dw_account_t *a, const cycle_t *c) {
  dw_state_account_t s = account_state(a);
  if (!dw_keep_restore(&a->keep, &a->meters.roster, &s, account_now(c)))
    return;
  a->pace.paused_until_ms = s.paused_until_ms;
  a->pace.throttles = s.throttles;
  dw_auth_set_backoff(a->auth, s.token_failures, s.token_retry_at_ms);
}

void dw_account_save(dw_account_t *a, uint64_t now) {
  cycle_t c = {.now_ms = dw_clock_read(&a->clock), .now = now};
  dw_state_account_t s = account_state(a);
  dw_keep_save(&a->keep, &a->meters.roster, &s, account_now(&c), true);
}

/* --- the cycle ------------------------------------------------------------ */

int dw_account_read(dw_account_t *a, uint64_t now, uint64_t interval) {
  cycle_t c = {
      .now_ms = dw_clock_read(&a->clock), .now = now, .interval = interval};
  a->pace.base_ms = (long)dw_cdtime_to_ms(interval);
  long budget_ms =
      a->cfg.cycle_timeout_ms > 0 ? a->cfg.cycle_timeout_ms : a->pace.base_ms;
  c.deadline = dw_http_deadline_in(budget_ms);
  dw_report_cycle_begin(&a->report);
  a->last.due = a->last.stored = 0;
  a->last.auth_tried = false;
  dw_roster_refresh(&a->meters.roster, &a->cfg, &a->meters.stamp);
  account_restore(a, &c);

  uint64_t requests =
      a->report.total.data_requests + a->report.total.token_requests;
  account_fetch_due(a, &c);
  dw_roster_t *roster = &a->meters.roster;
  if (dw_emit_cycle(&a->emit, roster, now, interval) > 0 ||
      a->report.total.data_requests + a->report.total.token_requests !=
          requests)
    dw_keep_touch(&a->keep);
  dw_report_meters(&a->report, roster, now);

  /* the second reading measures the cycle; it decides nothing */
  double cycle_s = (double)(dw_clock_read(&a->clock) - c.now_ms) / 1000.0;
  dw_report_cycle_end(&a->report, roster, now, interval, cycle_s, c.now_ms,
                      a->created_ms);
  dw_state_account_t s = account_state(a);
  dw_keep_save(&a->keep, roster, &s, account_now(&c), false);
  return a->report.cycle.failures > 0 || dw_auth_failures(a->auth) > 0 ? -EIO
                                                                       : 0;
}

void dw_account_interrupt(dw_account_t *a) { dw_http_stop(a->http); }

int dw_account_verdict(const dw_account_t *a, char *why, size_t why_size) {
  if (a->last.auth_tried && a->last.auth != DW_AUTH_OK) {
    snprintf(why, why_size, "%s: %s",
             a->last.auth == DW_AUTH_REFUSED
                 ? "the token endpoint refused the credentials (check "
                   "ClientID and ClientSecret)"
                 : "no token from the token endpoint (check TokenURL)",
             a->last.auth_why);
    return -EIO;
  }
  if (a->last.due > 0 && a->last.stored == 0) {
    snprintf(why, why_size,
             "none of its %zu due requests succeeded (the lines above say "
             "why)",
             a->last.due);
    return -EIO;
  }
  return 0;
}
