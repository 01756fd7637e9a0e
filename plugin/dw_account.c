/* dw_account.c - one account's read cycle (see dw_account.h).
 *
 * State lives in meters (the fleet: <Smartmeter> blocks, the
 * SmartmeterFile, minus other shards) and slots, one per (meter,
 * resource, period): when the slot is next due, how often it failed in a
 * row, and the samples of its last good response. A cycle turns due slots
 * into jobs (URL, decoder, HTTP request), runs the jobs in waves through
 * the transport, and dispatches every slot that holds samples, fetched
 * this cycle or not, so writers see no gaps. Then it reports on itself:
 * notifications on state changes, and self-metrics. */
#include "dw_account.h"
#include "dw_cache.h"
#include "dw_decode.h"
#include "dw_dispatch.h"
#include "dw_fleet.h"
#include "dw_health.h"
#include "dw_http.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_token.h"
#include "dw_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CDTIME_TO_MS(t)                                                        \
  ((int64_t)(((t) >> 30) * 1000 + ((((t)&0x3fffffff) * 1000) >> 30)))
#define MAX_URL 2048
#define MAX_LOGGED_FAILURES 10 /* per cycle; the rest are counted */
#define MAX_NOTIFICATIONS 20   /* meter notifications per cycle */

typedef struct meter {
  char *id;       /* owned */
  char *instance; /* owned */
  uint32_t resources;
  uint32_t periods;
  size_t first_slot; /* slots of a meter are contiguous */
  size_t slots_len;
  int64_t last_ok_ms;      /* 0: never */
  bool notified;           /* a FAILURE went out; an OKAY is owed */
  bool failing;            /* one of its slots failed its last attempt */
  uint16_t why_failures;   /* the failure count behind failed_why */
  uint8_t failed_resource; /* the slot that failed_why describes */
  int8_t failed_period;
  char failed_why[96];
} meter_t;

typedef struct slot {
  uint32_t meter;      /* index into the account's meters */
  uint8_t resource;    /* dw_resource_t */
  int8_t period;       /* dw_period_t, -1 for resources without one */
  uint16_t failures;   /* in a row */
  int64_t next_due_ms; /* monotonic; 0: due now */
  dw_cache_t cache;    /* samples of the last good response */
  dw_month_memory_t months;
} slot_t;

/* A due slot during one cycle. Its decoder exists only while its
 * response arrives, so at most MaxConcurrency are alive at once. */
typedef struct job {
  struct dw_account *account;
  slot_t *slot;
  dw_dec_t *dec;
  char *url;  /* exact size */
  bool final; /* no retry after a 401 */
  dw_http_req_t req;
} job_t;

typedef struct fleet {
  meter_t *meters;
  size_t meters_len;
  slot_t *slots;
  size_t slots_len;
} fleet_t;

struct dw_account {
  dw_account_cfg_t cfg;
  char self_instance[80]; /* "account-<name>": 8 + 63 + NUL */
  dw_http_t *http;
  dw_token_t *token;
  char *token_form; /* holds the secret: wiped on destroy */
  fleet_t fleet;
  dw_fleet_stamp_t file_stamp;
  int64_t created_ms;
  uint64_t rng;
  long base_ms; /* the read interval: the unit of backoff */

  /* throttling and the token */
  int64_t paused_until_ms; /* 429/503: no request before */
  unsigned throttles;      /* in a row, for backoff without Retry-After */
  int64_t token_retry_ms;  /* no token request before */
  unsigned token_failures; /* in a row */
  bool auth_notified;      /* a FAILURE went out for the token */
  bool renewed_after_401;  /* this cycle: at most one such renewal */

  /* this cycle */
  unsigned failures;
  unsigned failures_logged;
  unsigned notifications;
  unsigned notifications_dropped;
  double response_s_sum;
  unsigned responses;

  /* since start (self-metrics) */
  uint64_t data_requests;
  uint64_t token_requests;
  uint64_t errors[DW_ERR_COUNT];
};

/* --- the fleet ------------------------------------------------------------ */

static void fleet_free(fleet_t *f) {
  for (size_t i = 0; i < f->slots_len; i++) {
    dw_cache_clear(&f->slots[i].cache);
    dw_month_memory_clear(&f->slots[i].months);
  }
  for (size_t i = 0; i < f->meters_len; i++) {
    free(f->meters[i].id);
    free(f->meters[i].instance);
  }
  free(f->slots);
  free(f->meters);
  *f = (fleet_t){0};
}

static bool in_shard(const dw_account_cfg_t *cfg, const char *id) {
  return cfg->shard_count == 0 ||
         dw_fleet_shard(id, cfg->shard_count) == cfg->shard_index;
}

static bool has_block(const dw_account_cfg_t *cfg, const char *id) {
  for (size_t i = 0; i < cfg->meters_len; i++)
    if (strcmp(cfg->meters[i].id, id) == 0)
      return true;
  return false;
}

/* Appends one meter; 0 or -ENOMEM. instance NULL: the ID made safe. */
static int fleet_add(fleet_t *f, size_t *cap, const char *id,
                     const char *instance, uint32_t resources,
                     uint32_t periods) {
  if (f->meters_len == *cap) {
    size_t new_cap = *cap ? 2 * *cap : 16;
    meter_t *m = realloc(f->meters, new_cap * sizeof(*m));
    if (m == NULL)
      return -ENOMEM;
    f->meters = m;
    *cap = new_cap;
  }
  char safe[64];
  if (instance == NULL) {
    dw_name_safe(safe, sizeof(safe), id);
    instance = safe;
  }
  meter_t *m = &f->meters[f->meters_len];
  *m = (meter_t){.id = strdup(id),
                 .instance = strdup(instance),
                 .resources = resources,
                 .periods = periods};
  if (m->id == NULL || m->instance == NULL) {
    free(m->id);
    free(m->instance);
    return -ENOMEM;
  }
  f->meters_len++;
  return 0;
}

/* The meters of this shard: blocks first, then file entries without a
 * block of the same ID. */
static int fleet_collect(const dw_account_cfg_t *cfg, const dw_fleet_t *file,
                         fleet_t *f) {
  size_t cap = 0;
  for (size_t i = 0; i < cfg->meters_len; i++) {
    const dw_meter_cfg_t *m = &cfg->meters[i];
    if (in_shard(cfg, m->id) &&
        fleet_add(f, &cap, m->id, m->instance, m->resources, m->periods) != 0)
      return -ENOMEM;
  }
  for (size_t i = 0; file != NULL && i < file->len; i++) {
    const dw_fleet_entry_t *e = &file->entries[i];
    if (in_shard(cfg, e->id) && !has_block(cfg, e->id) &&
        fleet_add(f, &cap, e->id, e->instance, cfg->resources, cfg->periods) !=
            0)
      return -ENOMEM;
  }
  return 0;
}

static int by_instance(const void *x, const void *y) {
  const meter_t *const *a = x, *const *b = y;
  int c = strcmp((*a)->instance, (*b)->instance);
  return c != 0 ? c : (*a > *b) - (*a < *b); /* then by position */
}

/* Drops meters whose plugin_instance an earlier meter already uses (a
 * file edited after start-up can bring such a clash); their values would
 * silently merge with the other meter's. Blocks come first, so they win. */
static void fleet_drop_clashes(const char *account, fleet_t *f) {
  meter_t **order = calloc(f->meters_len ? f->meters_len : 1, sizeof(*order));
  if (order == NULL)
    return;
  for (size_t i = 0; i < f->meters_len; i++)
    order[i] = &f->meters[i];
  qsort(order, f->meters_len, sizeof(*order), by_instance);
  for (size_t i = 1; i < f->meters_len; i++)
    if (strcmp(order[i]->instance, order[i - 1]->instance) == 0) {
      dw_log(DW_LOG_ERR,
             "account %s: smartmeter %s is skipped: its Instance \"%s\" "
             "is taken by smartmeter %s",
             account, order[i]->id, order[i]->instance, order[i - 1]->id);
      order[i]->resources = 0; /* no slots; removed below */
    }
  free(order);
  size_t kept = 0;
  for (size_t i = 0; i < f->meters_len; i++) {
    if (f->meters[i].resources == 0 && f->meters[i].periods != 0) {
      free(f->meters[i].id);
      free(f->meters[i].instance);
      continue;
    }
    f->meters[kept++] = f->meters[i];
  }
  f->meters_len = kept;
}

static size_t meter_slot_count(const meter_t *m) {
  size_t n = 0, periods = (size_t)__builtin_popcount(m->periods);
  for (int r = 0; r < DW_RES_COUNT; r++)
    if (m->resources & (1u << r))
      n += dw_resource_info((dw_resource_t)r)->has_period ? periods : 1;
  return n;
}

static void meter_fill_slots(fleet_t *f, uint32_t index, size_t *n) {
  meter_t *m = &f->meters[index];
  m->first_slot = *n;
  for (int r = 0; r < DW_RES_COUNT; r++) {
    if (!(m->resources & (1u << r)))
      continue;
    bool has_period = dw_resource_info((dw_resource_t)r)->has_period;
    for (int p = has_period ? 0 : -1; p < (has_period ? DW_PERIOD_COUNT : 0);
         p++)
      if (p < 0 || (m->periods & (1u << p)))
        f->slots[(*n)++] = (slot_t){
            .meter = index, .resource = (uint8_t)r, .period = (int8_t)p};
  }
  m->slots_len = *n - m->first_slot;
}

static int fleet_build_slots(fleet_t *f) {
  size_t total = 0;
  for (size_t i = 0; i < f->meters_len; i++)
    total += meter_slot_count(&f->meters[i]);
  f->slots = calloc(total ? total : 1, sizeof(*f->slots));
  if (f->slots == NULL)
    return -ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < f->meters_len; i++)
    meter_fill_slots(f, (uint32_t)i, &n);
  f->slots_len = n;
  return 0;
}

static int by_id(const void *x, const void *y) {
  const meter_t *const *a = x, *const *b = y;
  return strcmp((*a)->id, (*b)->id);
}

/* Moves what the old fleet knew about a meter (cache, due times, failure
 * state) into the new one, so a reload loses nothing for kept meters. */
static void meter_adopt(fleet_t *to, meter_t *m, fleet_t *from, meter_t *old) {
  m->last_ok_ms = old->last_ok_ms;
  m->failing = old->failing;
  m->notified = old->notified;
  for (size_t i = 0; i < m->slots_len; i++) {
    slot_t *s = &to->slots[m->first_slot + i];
    for (size_t j = 0; j < old->slots_len; j++) {
      slot_t *o = &from->slots[old->first_slot + j];
      if (o->resource != s->resource || o->period != s->period)
        continue;
      uint32_t meter = s->meter;
      *s = *o;
      s->meter = meter;
      *o = (slot_t){0}; /* ownership moved */
      break;
    }
  }
}

static void fleet_adopt(fleet_t *to, fleet_t *from) {
  meter_t **index =
      calloc(from->meters_len ? from->meters_len : 1, sizeof(*index));
  if (index == NULL)
    return; /* the new fleet starts fresh: nothing is lost but caches */
  for (size_t i = 0; i < from->meters_len; i++)
    index[i] = &from->meters[i];
  qsort(index, from->meters_len, sizeof(*index), by_id);
  for (size_t i = 0; i < to->meters_len; i++) {
    meter_t *key = &to->meters[i];
    meter_t **old =
        bsearch(&key, index, from->meters_len, sizeof(*index), by_id);
    if (old != NULL)
      meter_adopt(to, key, from, *old);
  }
  free(index);
}

/* Builds the fleet from the configuration and, when configured, the
 * SmartmeterFile; on success replaces a->fleet, carrying over state. */
static int fleet_load(dw_account_t *a) {
  dw_fleet_t file = {0};
  dw_fleet_stamp_t stamp = {0};
  if (a->cfg.smartmeter_file != NULL) {
    char err[256];
    int status =
        dw_fleet_load(a->cfg.smartmeter_file, &file, &stamp, err, sizeof(err));
    if (status != 0) {
      dw_log(DW_LOG_ERR,
             "account %s: SmartmeterFile \"%s\": %s; keeping the %zu "
             "smartmeters read before",
             a->cfg.name, a->cfg.smartmeter_file, err, a->fleet.meters_len);
      return status;
    }
  }
  fleet_t f = {0};
  int status = fleet_collect(&a->cfg, &file, &f);
  if (status == 0) {
    fleet_drop_clashes(a->cfg.name, &f);
    status = fleet_build_slots(&f);
  }
  dw_fleet_free(&file);
  if (status != 0) {
    fleet_free(&f);
    dw_log(DW_LOG_ERR, "account %s: out of memory building the fleet",
           a->cfg.name);
    return status;
  }
  fleet_adopt(&f, &a->fleet);
  fleet_free(&a->fleet);
  a->fleet = f;
  a->file_stamp = stamp;
  return 0;
}

/* Re-reads the SmartmeterFile when it changed since the last read. */
static void fleet_refresh(dw_account_t *a) {
  dw_fleet_stamp_t now;
  if (a->cfg.smartmeter_file == NULL ||
      dw_fleet_stat(a->cfg.smartmeter_file, &now) != 0 ||
      dw_fleet_stamp_equal(&now, &a->file_stamp))
    return;
  size_t before = a->fleet.meters_len;
  if (fleet_load(a) == 0)
    dw_log(DW_LOG_INFO,
           "account %s: SmartmeterFile \"%s\" changed: %zu smartmeters "
           "(%zu before)",
           a->cfg.name, a->cfg.smartmeter_file, a->fleet.meters_len, before);
  else
    a->file_stamp = now; /* logged once; wait for the next change */
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
  snprintf(a->self_instance, sizeof(a->self_instance), "account-%s",
           a->cfg.name);
  a->created_ms = dw_http_now_ms();
  a->rng = (uint64_t)a->created_ms * 0x9E3779B97F4A7C15ull | 1;

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
  if (a->http == NULL || a->token == NULL || a->token_form == NULL ||
      fleet_load(a) != 0) {
    dw_account_destroy(a);
    return NULL;
  }
  if (a->cfg.shard_count > 0)
    dw_log(DW_LOG_INFO, "account %s: shard %u of %u: %zu smartmeters",
           a->cfg.name, a->cfg.shard_index, a->cfg.shard_count,
           a->fleet.meters_len);
  return a;
}

void dw_account_destroy(dw_account_t *a) {
  if (a == NULL)
    return;
  fleet_free(&a->fleet);
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

/* --- failures ---------------------------------------------------------------
 */

static const char *slot_period(const slot_t *s) {
  return s->period < 0 ? NULL : dw_period_name((dw_period_t)s->period);
}

static meter_t *slot_meter(dw_account_t *a, const slot_t *s) {
  return &a->fleet.meters[s->meter];
}

/* Records and logs one failed request of a slot, and schedules the slot's
 * retry; past MAX_LOGGED_FAILURES per cycle failures are only counted, so
 * an outage of a large fleet costs one summary line. */
static void slot_failed(dw_account_t *a, slot_t *s, dw_err_class_t class,
                        const char *why, int64_t now_ms) {
  meter_t *m = slot_meter(a, s);
  a->failures++;
  a->errors[class]++;
  if (s->failures < UINT16_MAX)
    s->failures++;
  s->next_due_ms =
      now_ms + dw_health_backoff_ms(s->failures, a->base_ms,
                                    a->cfg.backoff_max_ms, &a->rng);
  /* The meter's reason is that of its most failed slot (the first in
   * resource and period order among equals), so a notification names the
   * resource that crossed FailureThreshold, whatever order responses
   * completed in. */
  if (s->failures > m->why_failures ||
      (s->failures == m->why_failures && (s->resource < m->failed_resource ||
                                          (s->resource == m->failed_resource &&
                                           s->period <= m->failed_period)))) {
    m->why_failures = s->failures;
    m->failed_resource = s->resource;
    m->failed_period = s->period;
    snprintf(m->failed_why, sizeof(m->failed_why), "%s", why);
  }
  if (a->failures_logged >= MAX_LOGGED_FAILURES)
    return;
  a->failures_logged++;
  const char *period = slot_period(s);
  dw_log(DW_LOG_WARNING, "account %s, smartmeter %s: %s%s%s: %s", a->cfg.name,
         m->id, dw_resource_info((dw_resource_t)s->resource)->slug,
         period ? "/" : "", period ? period : "", why);
}

static void describe_http_failure(const dw_http_req_t *req, char *out,
                                  size_t out_size) {
  if (req->error != DW_HTTP_OK)
    snprintf(out, out_size, "request failed (%s): %s",
             dw_http_error_name(req->error), req->errmsg);
  else if (req->retry_after_s >= 0)
    snprintf(out, out_size, "HTTP status %ld, Retry-After %ld s", req->status,
             req->retry_after_s);
  else
    snprintf(out, out_size, "HTTP status %ld", req->status);
}

/* A 429 or 503 pauses every request of the account: until Retry-After
 * when the server gave one, else for an exponential backoff. */
static void throttle(dw_account_t *a, const dw_http_req_t *req,
                     int64_t now_ms) {
  a->throttles++;
  int64_t wait_ms = req->retry_after_s >= 0
                        ? req->retry_after_s * 1000
                        : dw_health_backoff_ms(a->throttles, a->base_ms,
                                               a->cfg.backoff_max_ms, &a->rng);
  if (wait_ms > a->cfg.backoff_max_ms)
    wait_ms = a->cfg.backoff_max_ms;
  if (now_ms + wait_ms > a->paused_until_ms) {
    a->paused_until_ms = now_ms + wait_ms;
    dw_log(DW_LOG_WARNING,
           "account %s: the service asks to slow down (HTTP status %ld); "
           "no request for %.1f s",
           a->cfg.name, req->status, (double)wait_ms / 1000.0);
  }
}

/* --- the token ------------------------------------------------------------ */

typedef struct token_body {
  char buf[DW_TOKEN_MAX_BODY];
  size_t len;
  bool too_large;
} token_body_t;

static int token_on_body(void *ud, const char *buf, size_t len) {
  token_body_t *body = ud;
  if (len > sizeof(body->buf) - body->len) {
    body->too_large = true;
    return -1;
  }
  memcpy(body->buf + body->len, buf, len);
  body->len += len;
  return 0;
}

/* Runs the token request; 0 with a new token, else a reason in why. */
static int token_request(dw_account_t *a, int64_t deadline_ms,
                         dw_http_req_t *req, char *why, size_t why_size) {
  token_body_t *body = calloc(1, sizeof(*body));
  if (body == NULL) {
    snprintf(why, why_size, "out of memory");
    return -ENOMEM;
  }
  *req = (dw_http_req_t){.url = a->cfg.token_url,
                         .form_body = a->token_form,
                         .on_body = token_on_body,
                         .ud = body};
  dw_http_req_t *reqs[] = {req};
  a->token_requests++;
  int status = dw_http_run(a->http, reqs, 1, deadline_ms);
  if (status != 0) {
    snprintf(why, why_size, "out of memory");
  } else if (body->too_large) {
    snprintf(why, why_size, "the token response is too large (over %d bytes)",
             DW_TOKEN_MAX_BODY);
    status = -EIO;
  } else if (req->error != DW_HTTP_OK || req->status < 200 ||
             req->status > 299) {
    describe_http_failure(req, why, why_size);
    status = -EIO;
  } else {
    char err[128] = "";
    status = dw_token_parse(a->token, body->buf, body->len, dw_http_now_ms(),
                            err, sizeof(err));
    if (status != 0)
      snprintf(why, why_size, "unusable token response: %s", err);
  }
  explicit_bzero(body, sizeof(*body));
  free(body);
  return status;
}

static void token_recovered(dw_account_t *a, uint64_t now) {
  a->token_failures = 0;
  if (a->auth_notified) {
    a->auth_notified = false;
    dw_log(DW_LOG_NOTICE, "account %s: authenticated again", a->cfg.name);
    dw_dispatch_notification(DW_NOTIF_OKAY, a->self_instance,
                             "digiwatt_requests", "token", now,
                             "account %s: authenticated again", a->cfg.name);
  }
}

/* Sends the account's authentication FAILURE, once until it recovers. */
static void auth_failed(dw_account_t *a, uint64_t now, const char *why) {
  if (a->auth_notified)
    return;
  a->auth_notified = true;
  dw_dispatch_notification(
      DW_NOTIF_FAILURE, a->self_instance, "digiwatt_requests", "token", now,
      "account %s cannot authenticate: %s", a->cfg.name, why);
}

/* Gets a fresh token, or says why not and when to try again: refused
 * credentials and broken answers back off exponentially (and notify once);
 * a throttled token endpoint pauses the account and is not a credential
 * problem. 0 or -EIO. Never logs the secret or the token. */
static int token_renew(dw_account_t *a, int64_t deadline_ms, uint64_t now) {
  dw_http_req_t req;
  char why[256] = "";
  int64_t now_ms = dw_http_now_ms();
  if (token_request(a, deadline_ms, &req, why, sizeof(why)) == 0) {
    token_recovered(a, now);
    return 0;
  }
  if (dw_health_is_throttle(&req)) {
    /* not a credentials problem: the service is busy or down */
    a->errors[req.status == 429 ? DW_ERR_RATE_LIMIT : DW_ERR_SERVER]++;
    /* a 429 is the service pacing us; a 503 is an outage to look at */
    dw_log(req.status == 429 ? DW_LOG_WARNING : DW_LOG_ERR,
           "account %s: the token endpoint is %s: %s", a->cfg.name,
           req.status == 429 ? "rate-limited" : "unavailable", why);
    throttle(a, &req, now_ms);
    auth_failed(a, now, why);
    return -EIO;
  }
  bool refused = req.error == DW_HTTP_OK &&
                 (req.status == 400 || req.status == 401 || req.status == 403);
  a->errors[refused ? DW_ERR_AUTH
                    : dw_health_classify(&req, req.status == 200)]++;
  a->token_failures++;
  int64_t wait_ms = dw_health_backoff_ms(a->token_failures, a->base_ms,
                                         a->cfg.backoff_max_ms, &a->rng);
  a->token_retry_ms = now_ms + wait_ms;
  dw_log(DW_LOG_ERR,
         "account %s: cannot get a token from %s: %s%s; next try in %.0f s",
         a->cfg.name, a->cfg.token_url, why,
         refused ? " (check ClientID and the client secret)" : "",
         (double)wait_ms / 1000.0);
  if (refused) {
    size_t used = strlen(why);
    snprintf(why + used, sizeof(why) - used, " (credentials refused)");
  }
  auth_failed(a, now, why);
  return -EIO;
}

/* --- fetching ---------------------------------------------------------------
 */

static int job_on_body(void *ud, const char *buf, size_t len) {
  job_t *job = ud;
  if (job->dec == NULL &&
      (job->dec = dw_dec_create((dw_resource_t)job->slot->resource, NULL)) ==
          NULL)
    return -1;
  return dw_dec_feed(job->dec, buf, len) == 0 ? 0 : -1;
}

/* The slot's next due time: its refresh interval from now, shortened by
 * up to a tenth by a per-slot hash, so that a fleet fetched in one cycle
 * spreads its next fetches instead of bursting again together. */
static int64_t next_due(const dw_account_t *a, const slot_t *s,
                        int64_t now_ms) {
  long refresh_ms = a->cfg.refresh_ms[s->resource];
  if (refresh_ms <= 0)
    return 0;
  uint64_t h = (uint64_t)(s - a->fleet.slots + 1) * 0x9E3779B97F4A7C15ull;
  return now_ms + refresh_ms -
         (int64_t)((h >> 40) % ((uint64_t)refresh_ms / 10 + 1));
}

/* Decodes a finished 2xx response and replaces the slot's samples. */
static void job_store(dw_account_t *a, job_t *job, int64_t now_ms) {
  dw_cache_t fresh = {0};
  if (job->dec == NULL) /* an empty body: the decoder says what is wrong */
    job->dec = dw_dec_create((dw_resource_t)job->slot->resource, NULL);
  int status = job->dec == NULL ? -ENOMEM
                                : dw_dec_finish(job->dec, dw_cache_add, &fresh);
  if (status != 0) {
    char why[256];
    snprintf(why, sizeof(why), "cannot decode the response: %s",
             job->dec && dw_dec_error(job->dec) ? dw_dec_error(job->dec)
                                                : "out of memory");
    slot_failed(a, job->slot, DW_ERR_DECODE, why, now_ms);
    dw_cache_clear(&fresh);
    return;
  }
  dw_cache_seal(&fresh);
  slot_t *s = job->slot;
  dw_cache_clear(&s->cache);
  s->cache = fresh;
  s->failures = 0;
  s->next_due_ms = next_due(a, s, now_ms);
  slot_meter(a, s)->last_ok_ms = now_ms;
}

/* Prepares a job for its slot; 0 or a negative errno. */
static int job_init(dw_account_t *a, job_t *job, slot_t *slot, int64_t now_ms) {
  const meter_t *meter = slot_meter(a, slot);
  char url[MAX_URL];
  *job = (job_t){.account = a, .slot = slot};
  int status =
      dw_url_build(url, sizeof(url), a->cfg.base_url,
                   a->cfg.paths[slot->resource], meter->id, slot_period(slot));
  if (status == 0 && (job->url = strdup(url)) == NULL)
    status = -ENOMEM;
  if (status != 0)
    slot_failed(a, slot, DW_ERR_CLIENT,
                status == -ENAMETOOLONG
                    ? "the request URL would be longer than 2048 bytes"
                : status == -ENOMEM
                    ? "out of memory"
                    : "cannot build the request URL from the Path template",
                now_ms);
  return status;
}

/* Logs and counts a job that ended without a usable response. */
static void job_report(dw_account_t *a, job_t *job, int64_t now_ms) {
  const dw_http_req_t *req = &job->req;
  char why[256];
  bool decode_failed = req->error == DW_HTTP_ERR_ABORTED && job->dec != NULL &&
                       dw_dec_error(job->dec) != NULL;
  if (decode_failed)
    snprintf(why, sizeof(why), "cannot decode the response: %s",
             dw_dec_error(job->dec));
  else
    describe_http_failure(req, why, sizeof(why));
  slot_failed(a, job->slot, dw_health_classify(req, decode_failed), why,
              now_ms);
  if (dw_health_is_throttle(req))
    throttle(a, req, now_ms);
}

static void job_done(void *ud, dw_http_req_t *req);

/* (Re)arms a job's request for one attempt. */
static void job_arm(dw_account_t *a, job_t *job, bool final) {
  dw_dec_destroy(job->dec);
  job->dec = NULL;
  job->final = final;
  job->req = (dw_http_req_t){.url = job->url,
                             .auth_header = dw_token_header(a->token),
                             .on_body = job_on_body,
                             .on_done = job_done,
                             .ud = job};
}

static bool job_refused(const job_t *job) {
  return job->req.error == DW_HTTP_OK && job->req.status == 401;
}

/* Stores or reports a finished job as soon as it ends (so its decoder is
 * freed early); a 401 is left for the caller unless this was the last
 * attempt. */
static void job_done(void *ud, dw_http_req_t *req) {
  job_t *job = ud;
  dw_account_t *a = job->account;
  int64_t now_ms = dw_http_now_ms();
  bool final = job->final;
  if (req->error == DW_HTTP_OK) {
    a->response_s_sum += req->total_s;
    a->responses++;
  }
  if (req->error == DW_HTTP_OK && req->status >= 200 && req->status <= 299) {
    job_store(a, job, now_ms);
  } else if (!job_refused(job) || final) {
    job_report(a, job, now_ms);
  }
  dw_dec_destroy(job->dec);
  job->dec = NULL;
}

/* Runs jobs[0..n) through the transport (each settles as it ends);
 * returns how many got a 401 that may still be retried. */
static size_t run_jobs(dw_account_t *a, job_t **jobs, size_t n,
                       int64_t deadline_ms, bool final) {
  dw_http_req_t **reqs = calloc(n ? n : 1, sizeof(*reqs));
  if (reqs == NULL || n == 0) {
    int64_t now_ms = dw_http_now_ms();
    for (size_t i = 0; reqs == NULL && i < n; i++)
      slot_failed(a, jobs[i]->slot, DW_ERR_CLIENT, "out of memory", now_ms);
    free(reqs);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    job_arm(a, jobs[i], final);
    reqs[i] = &jobs[i]->req;
  }
  a->data_requests += n;
  int status = dw_http_run(a->http, reqs, n, deadline_ms);
  free(reqs);
  size_t refused = 0;
  for (size_t i = 0; i < n; i++) {
    if (status != 0) /* nothing ran: on_done was never called */
      slot_failed(a, jobs[i]->slot, DW_ERR_CLIENT, "out of memory",
                  dw_http_now_ms());
    else if (job_refused(jobs[i]) && !final)
      refused++;
  }
  return refused;
}

/* Fetches one wave of due slots. A 401 means the token was revoked or
 * expired early: it is renewed once per cycle and the refused requests
 * run once more; a second 401 counts as an error. */
static void fetch_wave(dw_account_t *a, job_t *jobs, job_t **ptrs, size_t n,
                       int64_t deadline_ms, uint64_t now) {
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
    if (token_renew(a, deadline_ms, now) == 0) {
      run_jobs(a, ptrs, k, deadline_ms, true);
    } else {
      int64_t now_ms = dw_http_now_ms();
      for (size_t i = 0; i < k; i++)
        slot_failed(a, ptrs[i]->slot, DW_ERR_AUTH,
                    "HTTP status 401, and no new token", now_ms);
    }
  }
  for (size_t i = 0; i < n; i++) {
    dw_dec_destroy(jobs[i].dec);
    free(jobs[i].url);
    jobs[i] = (job_t){0};
  }
}

/* True when the account may send requests now; a token is fetched when
 * needed (unless its retry time has not come). */
static bool ready_to_fetch(dw_account_t *a, int64_t now_ms, int64_t deadline_ms,
                           uint64_t now) {
  if (now_ms < a->paused_until_ms)
    return false;
  if (dw_token_usable(a->token, now_ms))
    return true;
  if (now_ms < a->token_retry_ms)
    return false;
  return token_renew(a, deadline_ms, now) == 0;
}

/* Fetches every slot due at now_ms, in waves that bound the memory a
 * cycle needs whatever the fleet size; stops early when the service asks
 * the account to slow down. */
static void fetch_due(dw_account_t *a, int64_t now_ms, int64_t deadline_ms,
                      uint64_t now) {
  /* Large waves keep the transport's queue full (a wave ends with its
   * slowest request); a job costs about 300 bytes. */
  size_t wave = 64 * (size_t)a->cfg.max_concurrency;
  if (wave < 256)
    wave = 256;
  job_t *jobs = calloc(wave, sizeof(*jobs));
  job_t **ptrs = calloc(wave, sizeof(*ptrs));
  if (jobs == NULL || ptrs == NULL) {
    dw_log(DW_LOG_ERR, "account %s: out of memory", a->cfg.name);
    goto out;
  }
  bool checked = false;
  size_t n = 0;
  for (size_t i = 0; i <= a->fleet.slots_len; i++) {
    slot_t *slot = i < a->fleet.slots_len ? &a->fleet.slots[i] : NULL;
    if (slot != NULL && slot->next_due_ms <= now_ms) {
      if (!checked && !ready_to_fetch(a, now_ms, deadline_ms, now))
        goto out; /* every due slot stays due */
      checked = true;
      if (job_init(a, &jobs[n], slot, now_ms) == 0)
        n++;
    }
    if (n > 0 && (n == wave || slot == NULL)) {
      fetch_wave(a, jobs, ptrs, n, deadline_ms, now);
      n = 0;
      if (dw_http_now_ms() < a->paused_until_ms)
        goto out;
    }
  }
  if (checked && a->paused_until_ms <= now_ms)
    a->throttles = 0; /* a cycle went through unthrottled */
out:
  free(ptrs);
  free(jobs);
}

/* --- health: notifications and self-metrics ------------------------------- */

/* Sends one meter notification unless this cycle's share is used up;
 * true when it went out (only then may the meter's state change). */
static bool notify_meter(dw_account_t *a, const meter_t *m, int severity,
                         uint64_t now) {
  if (a->notifications >= MAX_NOTIFICATIONS) {
    a->notifications_dropped++;
    return false;
  }
  a->notifications++;
  const char *slug = dw_resource_info((dw_resource_t)m->failed_resource)->slug;
  if (severity == DW_NOTIF_OKAY) {
    dw_dispatch_notification(severity, m->instance, "digiwatt_data_age_seconds",
                             slug, now, "smartmeter %s (account %s) recovered",
                             m->id, a->cfg.name);
    return true;
  }
  const char *period = m->failed_period < 0
                           ? NULL
                           : dw_period_name((dw_period_t)m->failed_period);
  dw_dispatch_notification(
      severity, m->instance, "digiwatt_data_age_seconds", slug, now,
      "smartmeter %s (account %s): %s%s%s failed %u times in a row: %s", m->id,
      a->cfg.name, slug, period ? "/" : "", period ? period : "",
      m->why_failures, m->failed_why);
  return true;
}

/* The most failed slot of a meter, or NULL when none is failing. */
static const slot_t *worst_slot(const dw_account_t *a, const meter_t *m) {
  const slot_t *worst = NULL;
  for (size_t i = 0; i < m->slots_len; i++) {
    const slot_t *s = &a->fleet.slots[m->first_slot + i];
    if (s->failures > 0 && (worst == NULL || s->failures > worst->failures))
      worst = s;
  }
  return worst;
}

/* Moves each meter along its failure state. FAILURE once one of its
 * resources has failed FailureThreshold times in a row; OKAY once none of
 * its resources is failing any more (a resource waiting out its backoff
 * while the others succeed is still failing). Only changes notify; a
 * notification the per-cycle limit held back is tried again next cycle. */
static void update_meters(dw_account_t *a, uint64_t now) {
  for (size_t i = 0; i < a->fleet.meters_len; i++) {
    meter_t *m = &a->fleet.meters[i];
    const slot_t *worst = worst_slot(a, m);
    m->failing = worst != NULL;
    if (worst == NULL)
      m->why_failures = 0;
    else if (worst->resource != m->failed_resource ||
             worst->period != m->failed_period) {
      /* the slot the reason described has recovered since */
      m->failed_resource = worst->resource;
      m->failed_period = worst->period;
      m->why_failures = worst->failures;
      snprintf(m->failed_why, sizeof(m->failed_why), "see the log");
    }
    if (worst != NULL && !m->notified &&
        worst->failures >= a->cfg.failure_threshold)
      m->notified = notify_meter(a, m, DW_NOTIF_FAILURE, now);
    else if (worst == NULL && m->notified)
      m->notified = !notify_meter(a, m, DW_NOTIF_OKAY, now);
  }
  if (a->notifications_dropped > 0)
    dw_dispatch_notification(
        DW_NOTIF_WARNING, a->self_instance, "digiwatt_meters", "failed", now,
        "account %s: %u more smartmeters changed state this cycle; their "
        "notifications follow in the next cycles (at most %d per cycle)",
        a->cfg.name, a->notifications_dropped, MAX_NOTIFICATIONS);
}

static void dispatch_self(dw_account_t *a, uint64_t now, uint64_t interval,
                          double cycle_s, int64_t now_ms) {
  const char *pi = a->self_instance;
  int status = 0;
  status |= dw_dispatch_own(pi, "digiwatt_requests", "data", now, interval,
                            true, (double)a->data_requests);
  status |= dw_dispatch_own(pi, "digiwatt_requests", "token", now, interval,
                            true, (double)a->token_requests);
  for (int c = 0; c < DW_ERR_COUNT; c++)
    status |= dw_dispatch_own(pi, "digiwatt_errors",
                              dw_err_class_name((dw_err_class_t)c), now,
                              interval, true, (double)a->errors[c]);
  if (a->responses > 0)
    status |=
        dw_dispatch_own(pi, "digiwatt_response_time_seconds", NULL, now,
                        interval, false, a->response_s_sum / a->responses);
  status |= dw_dispatch_own(pi, "digiwatt_cycle_seconds", NULL, now, interval,
                            false, cycle_s);
  size_t failed = 0;
  for (size_t i = 0; i < a->fleet.meters_len; i++) {
    const meter_t *m = &a->fleet.meters[i];
    failed += m->failing;
    int64_t since = m->last_ok_ms ? m->last_ok_ms : a->created_ms;
    status |=
        dw_dispatch_own(m->instance, "digiwatt_data_age_seconds", NULL, now,
                        interval, false, (double)(now_ms - since) / 1000.0);
  }
  status |= dw_dispatch_own(pi, "digiwatt_meters", "ok", now, interval, false,
                            (double)(a->fleet.meters_len - failed));
  status |= dw_dispatch_own(pi, "digiwatt_meters", "failed", now, interval,
                            false, (double)failed);
  if (status != 0)
    dw_log(DW_LOG_WARNING, "account %s: dispatching self-metrics failed",
           a->cfg.name);
}

/* --- the cycle --------------------------------------------------------------
 */

static void dispatch_slot(dw_account_t *a, slot_t *s, uint64_t now,
                          uint64_t interval) {
  dw_dispatch_target_t t = {
      .plugin_instance = slot_meter(a, s)->instance,
      .period = slot_period(s),
      .time = now,
      .interval = interval,
      .monthly_history = a->cfg.monthly_history,
      .memory = &s->months,
  };
  for (uint32_t i = 0; i < s->cache.len; i++) {
    dw_sample_t sample;
    bool latest;
    dw_cache_get(&s->cache, i, &sample, &latest);
    if (dw_dispatch_sample(&t, &sample, latest) != 0) {
      dw_log(DW_LOG_WARNING, "account %s: dispatching a value of %s failed",
             a->cfg.name, t.plugin_instance);
      return;
    }
  }
}

static void cycle_reset(dw_account_t *a, uint64_t interval) {
  a->base_ms = (long)CDTIME_TO_MS(interval);
  a->failures = 0;
  a->failures_logged = 0;
  a->notifications = 0;
  a->notifications_dropped = 0;
  a->response_s_sum = 0;
  a->responses = 0;
  a->renewed_after_401 = false;
}

int dw_account_read(dw_account_t *a, uint64_t now, uint64_t interval) {
  int64_t start_ms = dw_http_now_ms();
  cycle_reset(a, interval);
  long budget_ms =
      a->cfg.cycle_timeout_ms > 0 ? a->cfg.cycle_timeout_ms : a->base_ms;
  fleet_refresh(a);

  fetch_due(a, start_ms, start_ms + budget_ms, now);
  for (size_t i = 0; i < a->fleet.slots_len; i++)
    dispatch_slot(a, &a->fleet.slots[i], now, interval);
  update_meters(a, now);

  if (a->failures > a->failures_logged)
    dw_log(DW_LOG_WARNING, "account %s: %u more requests failed this cycle",
           a->cfg.name, a->failures - a->failures_logged);
  int64_t end_ms = dw_http_now_ms();
  if (a->cfg.self_metrics)
    dispatch_self(a, now, interval, (double)(end_ms - start_ms) / 1000.0,
                  end_ms);
  return a->failures > 0 || a->token_failures > 0 ? -EIO : 0;
}
