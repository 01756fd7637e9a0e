/* dw_state.c - what an account remembers across restarts, as bytes (see
 * dw_state.h).
 *
 * The payload, all integers little-endian or LEB128 varints ("sv" is a
 * zigzag varint), every time as ms relative to the saving moment:
 *
 *   account name (varint length, bytes), saved_at (8 bytes, Unix ms)
 *   throttles, has_pause [sv paused_until], token_failures,
 *     has_retry [sv token_retry_at]
 *   names: count, then each (length, bytes): appliance names, once
 *   meters: count, then each: ID (length, bytes), flags (1: last_ok,
 *     2: failing, 4: notified), [sv last_ok], slots: count, then each:
 *     resource (byte), period + 1 (byte), failures, sv next_due,
 *     samples: count, then each: type << 4 | label (byte), appliance
 *       (0: none, else 1 + name index), month (0: current, else
 *       1 + dw_bytes_zigzag(month - 2000-01)), values (as many as the type
 * has), marks: count, then each: key (4 bytes), month (as above)
 *
 * A value is varint(dw_bytes_zigzag(v * 1000) << 1) when v has at most three
 * decimals and fits, else varint(1) and its 8 bytes. */
#include "dw_state.h"
#include "dw_bytes.h"
#include "dw_cache.h"
#include "dw_resource.h"
#include "dw_sample.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MONTH_BASE (2000 * 12) /* 2000-01 */
#define DW_BYTES_MAX_TEXT 4096       /* an ID or an appliance name */
#define STATE_MAX_SLOTS (DW_RES_COUNT * (DW_PERIOD_COUNT + 1))

/* --- writing -------------------------------------------------------------- */

static uint64_t month_code(int month) {
  return month == 0 ? 0 : 1 + dw_bytes_zigzag(month - STATE_MONTH_BASE);
}

/* The appliance names of a whole state, each once: an open-addressing
 * table over the caches' own strings (nothing is copied). */
typedef struct names {
  const char **slots; /* cap entries, NULL: free */
  uint32_t *index;
  size_t cap, len;
  const char **order; /* len entries, in index order */
} names_t;

static uint64_t names_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static int names_grow(names_t *t) {
  size_t cap = t->cap ? t->cap * 2 : 256;
  names_t n = {.slots = calloc(cap, sizeof(char *)),
               .index = calloc(cap, sizeof(uint32_t)),
               .order = realloc(t->order, (cap / 2) * sizeof(char *)),
               .cap = cap,
               .len = t->len};
  if (n.order != NULL)
    t->order = n.order;
  if (n.slots == NULL || n.index == NULL || n.order == NULL) {
    free(n.slots);
    free(n.index);
    return -ENOMEM;
  }
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slots[i] == NULL)
      continue;
    size_t j = names_hash(t->slots[i]) & (cap - 1);
    while (n.slots[j] != NULL)
      j = (j + 1) & (cap - 1);
    n.slots[j] = t->slots[i];
    n.index[j] = t->index[i];
  }
  free(t->slots);
  free(t->index);
  *t = n;
  return 0;
}

/* The index of name, added when new; -ENOMEM. */
static int64_t names_intern(names_t *t, const char *name) {
  if ((t->len + 1) * 2 > t->cap && names_grow(t) != 0)
    return -ENOMEM;
  size_t j = names_hash(name) & (t->cap - 1);
  for (; t->slots[j] != NULL; j = (j + 1) & (t->cap - 1))
    if (strcmp(t->slots[j], name) == 0)
      return t->index[j];
  t->slots[j] = name;
  t->index[j] = (uint32_t)t->len;
  t->order[t->len] = name;
  return (int64_t)t->len++;
}

static void names_free(names_t *t) {
  free(t->slots);
  free(t->index);
  free(t->order);
}

/* Every appliance name of the roster's caches into t. */
static int collect_names(names_t *t, const dw_roster_t *r) {
  for (size_t i = 0; i < r->slots_len; i++) {
    dw_cache_iter_t it = dw_cache_begin(&r->slots[i].cache);
    dw_sample_t s;
    bool latest;
    while (dw_cache_next(&it, &s, &latest, NULL))
      if (s.appliance != NULL && names_intern(t, s.appliance) < 0)
        return -ENOMEM;
  }
  return 0;
}

static bool slot_worth_saving(const dw_slot_t *s) {
  return s->cache.len > 0 || s->failures > 0 || s->next_due_ms != 0;
}

static int put_samples(dw_bytes_t *b, names_t *t, const dw_cache_t *c) {
  int status = dw_bytes_put_varint(b, c->len);
  dw_cache_iter_t it = dw_cache_begin(c);
  dw_sample_t s;
  bool latest;
  while (status == 0 && dw_cache_next(&it, &s, &latest, NULL)) {
    int64_t name = s.appliance ? names_intern(t, s.appliance) : -1;
    status = name < -1 ? -ENOMEM : 0;
    status = status ||
             dw_bytes_put_byte(b, (unsigned)s.type << 4 | (unsigned)s.label) ||
             dw_bytes_put_varint(b, (uint64_t)(name + 1)) ||
             dw_bytes_put_varint(b, month_code(s.month));
    for (size_t v = 0; v < s.values_len && status == 0; v++)
      status = dw_bytes_put_value(b, s.values[v]);
  }
  return status ? -ENOMEM : 0;
}

static int put_marks(dw_bytes_t *b, const dw_months_t *m) {
  int status = dw_bytes_put_varint(b, m->len);
  for (size_t i = 0; i < m->len && status == 0; i++)
    status = dw_bytes_put_le(b, m->marks[i].key, 4) ||
             dw_bytes_put_varint(b, month_code(m->marks[i].month));
  return status ? -ENOMEM : 0;
}

/* A time on the account's clock as ms after the saving moment. */
static int64_t wall_offset(int64_t mono_ms, dw_state_now_t now) {
  return mono_ms - now.mono_ms;
}

static int put_slot(dw_bytes_t *b, names_t *t, const dw_slot_t *s,
                    dw_state_now_t now) {
  int status = dw_bytes_put_byte(b, s->resource) ||
               dw_bytes_put_byte(b, (unsigned)(s->period + 1)) ||
               dw_bytes_put_varint(b, s->failures) ||
               dw_bytes_put_svarint(b, wall_offset(s->next_due_ms, now)) ||
               put_samples(b, t, &s->cache) || put_marks(b, &s->months);
  return status ? -ENOMEM : 0;
}

static int put_meter(dw_bytes_t *b, names_t *t, const dw_roster_t *r,
                     const dw_meter_t *m, dw_state_now_t now) {
  size_t n = 0;
  for (size_t i = 0; i < m->slots_len; i++)
    n += slot_worth_saving(&r->slots[m->first_slot + i]);
  unsigned flags =
      (m->last_ok_ms != 0) | m->health.failing << 1 | m->health.notified << 2;
  int status = dw_bytes_put_text(b, m->id) || dw_bytes_put_byte(b, flags);
  if (status == 0 && m->last_ok_ms != 0)
    status = dw_bytes_put_svarint(b, wall_offset(m->last_ok_ms, now));
  status = status || dw_bytes_put_varint(b, n);
  for (size_t i = 0; i < m->slots_len && status == 0; i++) {
    const dw_slot_t *s = &r->slots[m->first_slot + i];
    if (slot_worth_saving(s))
      status = put_slot(b, t, s, now);
  }
  return status ? -ENOMEM : 0;
}

static int put_account(dw_bytes_t *b, const char *account,
                       const dw_state_account_t *a, dw_state_now_t now) {
  int status = dw_bytes_put_text(b, account) ||
               dw_bytes_put_le(b, (uint64_t)now.wall_ms, 8) ||
               dw_bytes_put_varint(b, a->throttles) ||
               dw_bytes_put_byte(b, a->paused_until_ms != 0);
  if (status == 0 && a->paused_until_ms != 0)
    status = dw_bytes_put_svarint(b, wall_offset(a->paused_until_ms, now));
  status = status || dw_bytes_put_varint(b, a->token_failures) ||
           dw_bytes_put_byte(b, a->token_retry_at_ms != 0);
  if (status == 0 && a->token_retry_at_ms != 0)
    status = dw_bytes_put_svarint(b, wall_offset(a->token_retry_at_ms, now));
  return status ? -ENOMEM : 0;
}

int dw_state_encode(dw_bytes_t *out, const char *account,
                    const dw_state_account_t *acct, const dw_roster_t *r,
                    dw_state_now_t now) {
  names_t t = {0};
  int status = collect_names(&t, r) || put_account(out, account, acct, now);
  status = status || dw_bytes_put_varint(out, t.len);
  for (size_t i = 0; i < t.len && status == 0; i++)
    status = dw_bytes_put_text(out, t.order[i]);
  status = status || dw_bytes_put_varint(out, r->meters_len);
  for (size_t i = 0; i < r->meters_len && status == 0; i++)
    status = put_meter(out, &t, r, &r->meters[i], now);
  names_free(&t);
  return status ? -ENOMEM : 0;
}

/* --- reading -------------------------------------------------------------- */

static int get_month(dw_reader_t *rd) {
  uint64_t code = dw_bytes_get_varint(rd);
  if (code == 0)
    return 0;
  int64_t month = dw_bytes_unzigzag(code - 1) + STATE_MONTH_BASE;
  if (month < 1 || month > 10000 * 12) {
    dw_bytes_fail(rd, "a month is out of range");
    return 0;
  }
  return (int)month;
}

/* What the decode works with. */
typedef struct decode {
  dw_reader_t rd;
  dw_state_now_t now;
  int64_t saved_ms; /* wall time of the save */
  const dw_state_limits_t *lim;
  char **names;
  size_t names_len;
  bool oom;
} decode_t;

/* A saved time back on the account's clock, at most limit_ms ahead of
 * now and, with past set, not after now. */
static int64_t get_time(decode_t *d, int64_t limit_ms, bool past) {
  int64_t ahead = d->saved_ms + dw_bytes_unzigzag(dw_bytes_get_varint(&d->rd)) -
                  d->now.wall_ms;
  if (ahead > limit_ms)
    ahead = limit_ms;
  if (past && ahead > 0)
    ahead = 0;
  return d->now.mono_ms + ahead;
}

static int get_names(decode_t *d) {
  size_t n = dw_bytes_get_count(&d->rd, UINT32_MAX);
  if (d->rd.why != NULL)
    return -EINVAL;
  d->names = calloc(n ? n : 1, sizeof(char *));
  if (d->names == NULL)
    return -ENOMEM;
  for (; d->names_len < n; d->names_len++)
    if ((d->names[d->names_len] = dw_bytes_get_text(&d->rd, &d->oom)) == NULL)
      return d->oom ? -ENOMEM : -EINVAL;
  return 0;
}

static int get_sample(decode_t *d, dw_cache_t *c) {
  unsigned tl = dw_bytes_get_byte(&d->rd);
  dw_sample_t s = {.type = (dw_type_t)(tl >> 4),
                   .label = (dw_label_t)(tl & 15)};
  uint64_t name = dw_bytes_get_varint(&d->rd);
  s.month = get_month(&d->rd);
  if (s.type >= DW_TYPE_COUNT || s.label >= DW_LABEL_COUNT ||
      name > d->names_len)
    return dw_bytes_fail(&d->rd, "a sample is of no known kind");
  s.appliance = name ? d->names[name - 1] : NULL;
  s.values_len = s.type == DW_TYPE_PERFORMANCE ? 3 : 1;
  for (size_t i = 0; i < s.values_len; i++)
    s.values[i] = dw_bytes_get_value(&d->rd);
  if (d->rd.why != NULL)
    return -EINVAL;
  int status = dw_cache_add(c, &s);
  return status == -EINVAL ? dw_bytes_fail(&d->rd, "a slot has too many names")
                           : status;
}

/* The month marks, numbered for the sealed cache c. */
static int get_marks(decode_t *d, dw_slot_t *s) {
  size_t n = dw_bytes_get_count(&d->rd, UINT16_MAX);
  dw_months_t m = {.marks = calloc(n ? n : 1, sizeof(dw_month_mark_t))};
  if (m.marks == NULL)
    return -ENOMEM;
  for (; m.len < n; m.len++) {
    m.marks[m.len].key = (uint32_t)dw_bytes_get_le(&d->rd, 4);
    m.marks[m.len].month = get_month(&d->rd);
  }
  int status = d->rd.why != NULL ? -EINVAL : dw_months_adopt(&m, &s->cache);
  s->months = m;
  if (status != 0)
    dw_months_clear(&s->months);
  return status;
}

static long slot_limit_ms(const decode_t *d, unsigned resource) {
  long refresh = d->lim->refresh_ms[resource];
  return refresh > d->lim->backoff_max_ms ? refresh : d->lim->backoff_max_ms;
}

static bool slot_known(unsigned resource, int period) {
  if (resource >= DW_RES_COUNT)
    return false;
  if (!dw_resource_info((dw_resource_t)resource)->has_period)
    return period == -1;
  return period >= 0 && period < DW_PERIOD_COUNT;
}

static int get_slot(decode_t *d, dw_slot_t *s, uint32_t meter) {
  *s = (dw_slot_t){.meter = meter};
  unsigned resource = dw_bytes_get_byte(&d->rd);
  int period = (int)dw_bytes_get_byte(&d->rd) - 1;
  if (!slot_known(resource, period))
    return dw_bytes_fail(&d->rd, "a slot is of no known resource");
  s->resource = (uint8_t)resource;
  s->period = (int8_t)period;
  uint64_t failures = dw_bytes_get_varint(&d->rd);
  s->failures = failures > UINT16_MAX ? UINT16_MAX : (uint16_t)failures;
  s->next_due_ms = get_time(d, slot_limit_ms(d, resource), false);
  size_t n = dw_bytes_get_count(&d->rd, UINT16_MAX);
  int status = d->rd.why != NULL ? -EINVAL : 0;
  for (size_t i = 0; i < n && status == 0; i++)
    status = get_sample(d, &s->cache);
  if (status == 0)
    status = dw_cache_seal(&s->cache);
  if (status != 0)
    return status;
  status = get_marks(d, s);
  s->unsent = s->cache.len > 0;
  s->months_pending = dw_months_pending(&s->months, &s->cache);
  return status;
}

static int roster_room(dw_roster_t *r, size_t *cap, size_t more) {
  if (r->slots_len + more <= *cap)
    return 0;
  size_t n = *cap ? *cap * 2 : 256;
  while (n < r->slots_len + more)
    n *= 2;
  dw_slot_t *p = realloc(r->slots, n * sizeof(*p));
  if (p == NULL)
    return -ENOMEM;
  r->slots = p;
  *cap = n;
  return 0;
}

static int get_meter(decode_t *d, dw_roster_t *r, size_t *slots_cap) {
  dw_meter_t *m = &r->meters[r->meters_len];
  *m = (dw_meter_t){.id = dw_bytes_get_text(&d->rd, &d->oom)};
  if (m->id == NULL)
    return d->oom ? -ENOMEM : -EINVAL;
  r->meters_len++; /* owned by r from here on */
  unsigned flags = dw_bytes_get_byte(&d->rd);
  if (flags & 1)
    m->last_ok_ms = get_time(d, 0, true);
  if (m->last_ok_ms == 0 && (flags & 1))
    m->last_ok_ms = -1; /* 0 means never */
  m->health.failing = flags & 2;
  m->health.notified = flags & 4;
  size_t n = dw_bytes_get_count(&d->rd, STATE_MAX_SLOTS);
  if (d->rd.why != NULL)
    return -EINVAL;
  if (roster_room(r, slots_cap, n) != 0)
    return -ENOMEM;
  m->first_slot = r->slots_len;
  for (size_t i = 0; i < n; i++) {
    int status =
        get_slot(d, &r->slots[r->slots_len], (uint32_t)(m - r->meters));
    r->slots_len++; /* what it holds is freed with r */
    m->slots_len++;
    if (status != 0)
      return status;
  }
  return 0;
}

static int get_account(decode_t *d, const char *account,
                       dw_state_account_t *a) {
  bool oom = false;
  char *name = dw_bytes_get_text(&d->rd, &oom);
  if (name == NULL)
    return oom ? -ENOMEM : -EINVAL;
  bool ours = strcmp(name, account) == 0;
  free(name);
  if (!ours)
    return dw_bytes_fail(&d->rd, "it is another account's");
  d->saved_ms = (int64_t)dw_bytes_get_le(&d->rd, 8);
  long limit = d->lim->backoff_max_ms;
  a->throttles = (unsigned)dw_bytes_get_varint(&d->rd);
  if (dw_bytes_get_byte(&d->rd))
    a->paused_until_ms = get_time(d, limit, false);
  a->token_failures = (unsigned)dw_bytes_get_varint(&d->rd);
  if (dw_bytes_get_byte(&d->rd))
    a->token_retry_at_ms = get_time(d, limit, false);
  return d->rd.why != NULL ? -EINVAL : 0;
}

static int decode_all(decode_t *d, const char *account, dw_roster_t *r,
                      dw_state_account_t *acct) {
  int status = get_account(d, account, acct);
  if (status == 0)
    status = get_names(d);
  size_t n = status == 0 ? dw_bytes_get_count(&d->rd, SIZE_MAX / 2) : 0;
  if (status == 0 && d->rd.why != NULL)
    status = -EINVAL;
  if (status == 0 &&
      (r->meters = calloc(n ? n : 1, sizeof(dw_meter_t))) == NULL)
    status = -ENOMEM;
  size_t slots_cap = 0;
  for (size_t i = 0; i < n && status == 0; i++)
    status = get_meter(d, r, &slots_cap);
  if (status == 0 && d->rd.p != d->rd.end)
    status = dw_bytes_fail(&d->rd, "bytes follow its end");
  return status;
}

int dw_state_decode(const void *data, size_t len, const char *account,
                    dw_state_now_t now, const dw_state_limits_t *lim,
                    dw_roster_t *r, dw_state_account_t *acct, char *why,
                    size_t why_size) {
  decode_t d = {.rd = {.p = data, .end = (const unsigned char *)data + len},
                .now = now,
                .lim = lim};
  *r = (dw_roster_t){0};
  *acct = (dw_state_account_t){0};
  int status = decode_all(&d, account, r, acct);
  for (size_t i = 0; i < d.names_len; i++)
    free(d.names[i]);
  free(d.names);
  if (status != 0) {
    snprintf(why, why_size, "%s",
             status == -ENOMEM ? "out of memory"
             : d.rd.why        ? d.rd.why
                               : "it is damaged");
    dw_roster_free(r);
    *acct = (dw_state_account_t){0};
  }
  return status;
}
