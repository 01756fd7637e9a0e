/* dw_emit.c - which of a slot's samples go out, and when (see dw_emit.h).
 */
#include "dw_emit.h"
#include "dw_clock.h"
#include "dw_dispatch.h"
#include "dw_log.h"

uint64_t dw_emit_interval(const dw_emit_t *e, const dw_slot_t *s,
                          uint64_t read_interval) {
  long refresh_ms = e->refresh_ms[s->resource];
  uint64_t refresh = refresh_ms > 0 ? dw_cdtime_of_ms(refresh_ms) : 0;
  return refresh > read_interval ? refresh : read_interval;
}

static dw_dispatch_target_t emit_target(dw_roster_t *r, const dw_slot_t *s,
                                        uint64_t now, uint64_t interval) {
  return (dw_dispatch_target_t){
      .plugin_instance = dw_roster_meter(r, s)->instance,
      .period = dw_slot_period(s),
      .time = now,
      .interval = interval,
  };
}

/* Sends what the flags ask of the slot's samples; false after the first
 * failed dispatch (logged). *sent counts the values dispatched, not the
 * samples looked at: a backfill walks every month of a series to send
 * one, and a pause for the walk would only slow the worker down. */
static bool emit_slot(const dw_emit_t *e, dw_slot_t *s,
                      const dw_dispatch_target_t *t, bool current, bool months,
                      size_t *sent) {
  months = months && e->monthly_history;
  dw_cache_iter_t it = dw_cache_begin(&s->cache);
  dw_sample_t sample;
  bool latest;
  uint16_t series;
  while (dw_cache_next(&it, &sample, &latest, &series)) {
    int now = current ? dw_dispatch_current(t, &sample, latest) : 0;
    int month =
        now >= 0 && months && sample.month != 0
            ? dw_dispatch_month(t, &sample, dw_months_at(&s->months, series))
            : 0;
    if (now < 0 || month < 0) {
      dw_log(DW_LOG_WARNING, "account %s: dispatching a value of %s failed",
             e->account, t->plugin_instance);
      return false;
    }
    *sent += (size_t)(now + month);
  }
  if (current)
    s->unsent = false;
  s->months_pending =
      e->monthly_history && dw_months_pending(&s->months, &s->cache);
  return true;
}

void dw_emit_arrival(const dw_emit_t *e, dw_roster_t *r, dw_slot_t *s,
                     uint64_t now, uint64_t read_interval) {
  s->unsent = true;
  if (e->repeat_cached)
    return;
  dw_dispatch_target_t t =
      emit_target(r, s, now, dw_emit_interval(e, s, read_interval));
  size_t sent = 0;
  emit_slot(e, s, &t, true, true, &sent);
}

/* A pause once DW_EMIT_PACE_EVERY more samples went out. */
static void emit_pace(const dw_emit_t *e, size_t sent, size_t *paced) {
  if (e->pace == NULL || sent - *paced < DW_EMIT_PACE_EVERY)
    return;
  *paced = sent;
  e->pace(e->pace_ud);
}

size_t dw_emit_cycle(const dw_emit_t *e, dw_roster_t *r, uint64_t now,
                     uint64_t read_interval) {
  size_t changed = 0, sent = 0, paced = 0;
  for (size_t i = 0; i < r->slots_len; i++) {
    dw_slot_t *s = &r->slots[i];
    if (s->cache.len == 0)
      continue;
    changed += s->unsent || s->months_pending;
    if (e->repeat_cached) {
      dw_dispatch_target_t t = emit_target(r, s, now, read_interval);
      emit_slot(e, s, &t, true, true, &sent);
    } else if (s->unsent || s->months_pending) {
      dw_dispatch_target_t t =
          emit_target(r, s, now, dw_emit_interval(e, s, read_interval));
      emit_slot(e, s, &t, s->unsent, s->unsent || s->months_pending, &sent);
    }
    emit_pace(e, sent, &paced);
  }
  return changed;
}
