/* dw_account.c - one account's read cycle (see dw_account.h).
 *
 * State lives in slots, one per (meter, resource, period): when the slot
 * is next due and the samples of its last good response. A cycle turns
 * due slots into jobs (URL, decoder, HTTP request), runs the jobs in
 * waves through the transport, and dispatches every slot that holds
 * samples, fetched this cycle or not, so writers see no gaps. */
#include "dw_account.h"
#include "dw_decode.h"
#include "dw_dispatch.h"
#include "dw_http.h"
#include "dw_log.h"
#include "dw_token.h"
#include "dw_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CDTIME_TO_MS(t) ((int64_t)(((t) >> 30) * 1000 + (((t) & 0x3fffffff) * 1000 >> 30)))
#define MAX_URL 2048
#define MAX_LOGGED_FAILURES 10 /* per cycle; the rest are counted */

typedef struct cached_sample {
  dw_sample_t s; /* s.appliance is owned here */
  bool latest;
} cached_sample_t;

typedef struct slot {
  uint32_t meter;   /* index into cfg.meters */
  uint8_t resource; /* dw_resource_t */
  int8_t period;    /* dw_period_t, -1 for resources without one */
  int64_t next_due_ms; /* monotonic; 0: due now */
  cached_sample_t *samples;
  size_t samples_len;
  dw_month_memory_t months;
} slot_t;

/* A due slot during one cycle. */
typedef struct job {
  slot_t *slot;
  dw_dec_t *dec;
  dw_http_req_t req;
  char url[MAX_URL];
} job_t;

struct dw_account {
  dw_account_cfg_t cfg;
  dw_http_t *http;
  dw_token_t *token;
  char *token_form; /* holds the secret: wiped on destroy */
  slot_t *slots;
  size_t slots_len;
  unsigned failures_logged; /* this cycle */
  unsigned failures;        /* this cycle */
  bool renewed_after_401;   /* this cycle: at most one such renewal */
};

/* --- slots ------------------------------------------------------------- */

static void slot_drop_samples(slot_t *s) {
  for (size_t i = 0; i < s->samples_len; i++)
    free((char *)s->samples[i].s.appliance);
  free(s->samples);
  s->samples = NULL;
  s->samples_len = 0;
}

static size_t count_slots(const dw_account_cfg_t *cfg) {
  size_t n = 0;
  for (size_t m = 0; m < cfg->meters_len; m++) {
    const dw_meter_cfg_t *meter = &cfg->meters[m];
    size_t periods = (size_t)__builtin_popcount(meter->periods);
    for (int r = 0; r < DW_RES_COUNT; r++)
      if (meter->resources & (1u << r))
        n += dw_resource_info((dw_resource_t)r)->has_period ? periods : 1;
  }
  return n;
}

static void fill_slots(dw_account_t *a) {
  size_t n = 0;
  for (size_t m = 0; m < a->cfg.meters_len; m++) {
    const dw_meter_cfg_t *meter = &a->cfg.meters[m];
    for (int r = 0; r < DW_RES_COUNT; r++) {
      if (!(meter->resources & (1u << r)))
        continue;
      bool has_period = dw_resource_info((dw_resource_t)r)->has_period;
      for (int p = has_period ? 0 : -1; p < (has_period ? DW_PERIOD_COUNT : 0);
           p++) {
        if (p >= 0 && !(meter->periods & (1u << p)))
          continue;
        a->slots[n++] = (slot_t){
            .meter = (uint32_t)m, .resource = (uint8_t)r, .period = (int8_t)p};
      }
    }
  }
}

/* --- lifecycle ------------------------------------------------------------ */

dw_account_t *dw_account_create(dw_account_cfg_t *cfg) {
  dw_account_t *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    dw_account_cfg_free(cfg);
    return NULL;
  }
  a->cfg = *cfg;
  *cfg = (dw_account_cfg_t){0};

  dw_http_opts_t opts = {
      .timeout_ms = a->cfg.timeout_ms,
      .max_body = a->cfg.max_body,
      .max_concurrency = a->cfg.max_concurrency,
      .verify_peer = a->cfg.verify_peer,
      .verify_host = a->cfg.verify_host,
      .ca_cert = a->cfg.ca_cert,
      .client_cert = a->cfg.client_cert,
      .client_key = a->cfg.client_key,
      .user_agent = "collectd-digiwatt/" PACKAGE_VERSION,
  };
  a->http = dw_http_create(&opts);
  a->token = dw_token_create();
  a->token_form = dw_url_token_form(a->cfg.client_id, a->cfg.client_secret);
  a->slots_len = count_slots(&a->cfg);
  a->slots = calloc(a->slots_len ? a->slots_len : 1, sizeof(*a->slots));
  if (a->http == NULL || a->token == NULL || a->token_form == NULL ||
      a->slots == NULL) {
    dw_account_destroy(a);
    return NULL;
  }
  fill_slots(a);
  return a;
}

void dw_account_destroy(dw_account_t *a) {
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->slots_len; i++) {
    slot_drop_samples(&a->slots[i]);
    dw_month_memory_clear(&a->slots[i].months);
  }
  free(a->slots);
  if (a->token_form != NULL) {
    explicit_bzero(a->token_form, strlen(a->token_form));
    free(a->token_form);
  }
  dw_token_destroy(a->token);
  dw_http_destroy(a->http);
  dw_account_cfg_free(&a->cfg);
  free(a);
}

const char *dw_account_name(const dw_account_t *a) { return a->cfg.name; }

long dw_account_interval_ms(const dw_account_t *a) {
  return a->cfg.interval_ms;
}

/* --- failures ----------------------------------------------------------- */

static const char *slot_period(const slot_t *s) {
  return s->period < 0 ? NULL : dw_period_name((dw_period_t)s->period);
}

/* Logs one failed slot; past MAX_LOGGED_FAILURES per cycle they are only
 * counted, so an outage of a large fleet costs one summary line. */
static void slot_failed(dw_account_t *a, const slot_t *s, const char *why) {
  a->failures++;
  if (a->failures_logged >= MAX_LOGGED_FAILURES)
    return;
  a->failures_logged++;
  const char *period = slot_period(s);
  dw_log(DW_LOG_WARNING, "account %s, smartmeter %s: %s%s%s: %s", a->cfg.name,
         a->cfg.meters[s->meter].id,
         dw_resource_info((dw_resource_t)s->resource)->slug, period ? "/" : "",
         period ? period : "", why);
}

static void describe_http_failure(const dw_http_req_t *req, char *out,
                                  size_t out_size) {
  if (req->error != DW_HTTP_OK)
    snprintf(out, out_size, "request failed (%s): %s",
             dw_http_error_name(req->error), req->errmsg);
  else
    snprintf(out, out_size, "HTTP status %ld", req->status);
}

/* --- the token ------------------------------------------------------------ */

typedef struct token_body {
  char buf[DW_TOKEN_MAX_BODY];
  size_t len;
} token_body_t;

static int token_on_body(void *ud, const char *buf, size_t len) {
  token_body_t *body = ud;
  if (len > sizeof(body->buf) - body->len)
    return -1;
  memcpy(body->buf + body->len, buf, len);
  body->len += len;
  return 0;
}

/* Gets a fresh token; 0, or -EACCES (refused) / -EIO (transport, bad
 * answer) after logging why, never with the secret or the token. */
static int token_renew(dw_account_t *a, int64_t deadline_ms) {
  token_body_t *body = calloc(1, sizeof(*body));
  if (body == NULL)
    return -ENOMEM;
  dw_http_req_t req = {.url = a->cfg.token_url,
                       .form_body = a->token_form,
                       .on_body = token_on_body,
                       .ud = body};
  dw_http_req_t *reqs[] = {&req};
  int status = dw_http_run(a->http, reqs, 1, deadline_ms);
  char why[256] = "";
  if (status != 0) {
    snprintf(why, sizeof(why), "out of memory");
  } else if (req.error != DW_HTTP_OK || req.status < 200 || req.status > 299) {
    describe_http_failure(&req, why, sizeof(why));
    status = (req.status == 400 || req.status == 401 || req.status == 403)
                 ? -EACCES
                 : -EIO;
  } else {
    char err[128] = "";
    status = dw_token_parse(a->token, body->buf, body->len, dw_http_now_ms(),
                            err, sizeof(err));
    if (status != 0)
      snprintf(why, sizeof(why), "unusable token response: %s", err);
  }
  explicit_bzero(body, sizeof(*body));
  free(body);
  if (status != 0)
    dw_log(DW_LOG_ERR, "account %s: cannot get a token from %s: %s%s",
           a->cfg.name, a->cfg.token_url, why,
           status == -EACCES ? " (check ClientID and the client secret)" : "");
  return status == -ENOMEM ? -EIO : status;
}

/* --- fetching --------------------------------------------------------------- */

typedef struct decoded {
  cached_sample_t *items;
  size_t len;
  size_t cap;
} decoded_t;

static int collect_sample(void *ud, const dw_sample_t *s) {
  decoded_t *d = ud;
  if (d->len == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 16;
    cached_sample_t *items = realloc(d->items, cap * sizeof(*items));
    if (items == NULL)
      return -ENOMEM;
    d->items = items;
    d->cap = cap;
  }
  cached_sample_t *c = &d->items[d->len];
  *c = (cached_sample_t){.s = *s};
  if (s->appliance != NULL && (c->s.appliance = strdup(s->appliance)) == NULL)
    return -ENOMEM;
  d->len++;
  return 0;
}

static bool same_series(const dw_sample_t *x, const dw_sample_t *y) {
  return strcmp(x->type, y->type) == 0 && strcmp(x->label, y->label) == 0 &&
         (x->appliance == y->appliance ||
          (x->appliance && y->appliance &&
           strcmp(x->appliance, y->appliance) == 0));
}

static int by_month(const void *x, const void *y) {
  const cached_sample_t *a = x, *b = y;
  return (a->s.month > b->s.month) - (a->s.month < b->s.month);
}

/* Orders month samples oldest first (the dispatcher relies on it) and
 * marks the newest month of each series. */
static void mark_latest(decoded_t *d) {
  /* qsort is not stable; the decoder's order only matters between
   * samples of different series, which never compete for the cache. */
  qsort(d->items, d->len, sizeof(*d->items), by_month);
  for (size_t i = 0; i < d->len; i++) {
    if (d->items[i].s.month == 0)
      continue;
    d->items[i].latest = true;
    for (size_t j = i + 1; j < d->len && d->items[i].latest; j++)
      if (d->items[j].s.month > d->items[i].s.month &&
          same_series(&d->items[i].s, &d->items[j].s))
        d->items[i].latest = false;
  }
}

static void decoded_free(decoded_t *d) {
  for (size_t i = 0; i < d->len; i++)
    free((char *)d->items[i].s.appliance);
  free(d->items);
}

static int job_on_body(void *ud, const char *buf, size_t len) {
  job_t *job = ud;
  return dw_dec_feed(job->dec, buf, len) == 0 ? 0 : -1;
}

/* The slot's next due time: its refresh interval from now, shortened by
 * up to a tenth by a per-slot hash so that a fleet fetched in one cycle
 * spreads its next fetches instead of bursting again together. */
static int64_t next_due(const dw_account_t *a, const slot_t *s, int64_t now_ms) {
  long refresh_ms = a->cfg.refresh_ms[s->resource];
  if (refresh_ms <= 0)
    return 0;
  uint64_t h = (uint64_t)(s - a->slots) * 0x9E3779B97F4A7C15ull;
  return now_ms + refresh_ms - (int64_t)((h >> 40) % ((uint64_t)refresh_ms / 10 + 1));
}

/* Decodes a finished 2xx response and replaces the slot's samples. */
static void job_store(dw_account_t *a, job_t *job, int64_t now_ms) {
  decoded_t d = {0};
  int status = dw_dec_finish(job->dec, collect_sample, &d);
  if (status != 0) {
    char why[256];
    snprintf(why, sizeof(why), "cannot decode the response: %s",
             dw_dec_error(job->dec) ? dw_dec_error(job->dec) : "out of memory");
    slot_failed(a, job->slot, why);
    decoded_free(&d);
    return;
  }
  mark_latest(&d);
  slot_drop_samples(job->slot);
  job->slot->samples = d.items;
  job->slot->samples_len = d.len;
  job->slot->next_due_ms = next_due(a, job->slot, now_ms);
}

/* Prepares a job for its slot; 0 or a negative errno. */
static int job_init(dw_account_t *a, job_t *job, slot_t *slot) {
  const dw_meter_cfg_t *meter = &a->cfg.meters[slot->meter];
  *job = (job_t){.slot = slot};
  int status = dw_url_build(job->url, sizeof(job->url), a->cfg.base_url,
                            a->cfg.paths[slot->resource], meter->id,
                            slot_period(slot));
  if (status != 0) {
    slot_failed(a, slot,
                status == -ENAMETOOLONG
                    ? "the request URL would be longer than 2048 bytes"
                    : "cannot build the request URL from the Path template");
    return status;
  }
  return 0;
}

/* (Re)arms a job's decoder and request for one attempt. */
static int job_arm(dw_account_t *a, job_t *job) {
  dw_dec_destroy(job->dec);
  job->dec = dw_dec_create((dw_resource_t)job->slot->resource, NULL);
  if (job->dec == NULL)
    return -ENOMEM;
  job->req = (dw_http_req_t){.url = job->url,
                             .auth_header = dw_token_header(a->token),
                             .on_body = job_on_body,
                             .ud = job};
  return 0;
}

static bool job_refused(const job_t *job) {
  return job->req.error == DW_HTTP_OK && job->req.status == 401;
}

/* Stores or reports a finished job; a 401 is left for the caller. */
static void job_settle(dw_account_t *a, job_t *job, int64_t now_ms,
                       bool final) {
  const dw_http_req_t *req = &job->req;
  char why[256];
  if (req->error == DW_HTTP_OK && req->status >= 200 && req->status <= 299) {
    job_store(a, job, now_ms);
    return;
  }
  if (job_refused(job) && !final)
    return;
  if (req->error == DW_HTTP_ERR_ABORTED && dw_dec_error(job->dec) != NULL)
    snprintf(why, sizeof(why), "cannot decode the response: %s",
             dw_dec_error(job->dec));
  else
    describe_http_failure(req, why, sizeof(why));
  slot_failed(a, job->slot, why);
}

/* Runs jobs[0..n) through the transport; returns how many got a 401. */
static size_t run_jobs(dw_account_t *a, job_t **jobs, size_t n,
                       int64_t deadline_ms, bool final) {
  dw_http_req_t **reqs = calloc(n ? n : 1, sizeof(*reqs));
  size_t armed = 0, refused = 0;
  for (size_t i = 0; reqs != NULL && i < n; i++)
    if (job_arm(a, jobs[i]) == 0)
      reqs[armed++] = &jobs[i]->req;
  if (reqs == NULL || armed < n || dw_http_run(a->http, reqs, armed, deadline_ms) != 0) {
    for (size_t i = 0; i < n; i++)
      slot_failed(a, jobs[i]->slot, "out of memory");
    free(reqs);
    return 0;
  }
  free(reqs);
  int64_t now_ms = dw_http_now_ms();
  for (size_t i = 0; i < n; i++) {
    job_settle(a, jobs[i], now_ms, final);
    if (job_refused(jobs[i]))
      refused++;
  }
  return refused;
}

/* Fetches one wave of due slots. A 401 means the token was revoked or
 * expired early: it is renewed once per cycle and the refused requests
 * run once more; a second 401 counts as an error. */
static void fetch_wave(dw_account_t *a, job_t *jobs, job_t **ptrs, size_t n,
                       int64_t deadline_ms) {
  for (size_t i = 0; i < n; i++)
    ptrs[i] = &jobs[i];
  size_t refused = run_jobs(a, ptrs, n, deadline_ms, a->renewed_after_401);
  if (refused > 0) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (job_refused(ptrs[i]))
        ptrs[k++] = ptrs[i];
    dw_token_invalidate(a->token);
    a->renewed_after_401 = true;
    if (token_renew(a, deadline_ms) == 0) {
      run_jobs(a, ptrs, k, deadline_ms, true);
    } else {
      for (size_t i = 0; i < k; i++)
        slot_failed(a, ptrs[i]->slot, "HTTP status 401, and no new token");
    }
  }
  for (size_t i = 0; i < n; i++) {
    dw_dec_destroy(jobs[i].dec);
    jobs[i].dec = NULL;
  }
}

/* Fetches every slot due at now_ms, in waves that bound the memory a
 * cycle needs whatever the fleet size. */
static void fetch_due(dw_account_t *a, int64_t now_ms, int64_t deadline_ms) {
  size_t wave = 16 * (size_t)a->cfg.max_concurrency;
  if (wave < 256)
    wave = 256;
  job_t *jobs = calloc(wave, sizeof(*jobs));
  job_t **ptrs = calloc(wave, sizeof(*ptrs));
  if (jobs == NULL || ptrs == NULL) {
    dw_log(DW_LOG_ERR, "account %s: out of memory", a->cfg.name);
    goto out;
  }
  bool have_token = dw_token_usable(a->token, now_ms);
  size_t n = 0;
  for (size_t i = 0; i <= a->slots_len; i++) {
    slot_t *slot = i < a->slots_len ? &a->slots[i] : NULL;
    if (slot != NULL && slot->next_due_ms <= now_ms) {
      if (!have_token && token_renew(a, deadline_ms) != 0) {
        a->failures++; /* logged once; every due slot stays due */
        goto out;
      }
      have_token = true;
      if (job_init(a, &jobs[n], slot) == 0)
        n++;
    }
    if (n > 0 && (n == wave || slot == NULL)) {
      fetch_wave(a, jobs, ptrs, n, deadline_ms);
      n = 0;
    }
  }
out:
  free(ptrs);
  free(jobs);
}

/* --- dispatching -------------------------------------------------------- */

static void dispatch_slot(dw_account_t *a, slot_t *s, uint64_t now,
                          uint64_t interval) {
  dw_dispatch_target_t t = {
      .plugin_instance = a->cfg.meters[s->meter].instance,
      .period = slot_period(s),
      .time = now,
      .interval = interval,
      .monthly_history = a->cfg.monthly_history,
      .memory = &s->months,
  };
  for (size_t i = 0; i < s->samples_len; i++)
    if (dw_dispatch_sample(&t, &s->samples[i].s, s->samples[i].latest) != 0) {
      dw_log(DW_LOG_WARNING, "account %s: dispatching a value of %s failed",
             a->cfg.name, t.plugin_instance);
      return;
    }
}

int dw_account_read(dw_account_t *a, uint64_t now, uint64_t interval) {
  int64_t start_ms = dw_http_now_ms();
  long budget_ms = a->cfg.cycle_timeout_ms > 0 ? a->cfg.cycle_timeout_ms
                                               : (long)CDTIME_TO_MS(interval);
  a->failures = 0;
  a->failures_logged = 0;
  a->renewed_after_401 = false;

  fetch_due(a, start_ms, start_ms + budget_ms);
  for (size_t i = 0; i < a->slots_len; i++)
    dispatch_slot(a, &a->slots[i], now, interval);

  if (a->failures > a->failures_logged)
    dw_log(DW_LOG_WARNING, "account %s: %u more requests failed this cycle",
           a->cfg.name, a->failures - a->failures_logged);
  return a->failures > 0 ? -EIO : 0;
}
