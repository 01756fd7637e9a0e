/* dw_roster.c - one account's meters and their slots (see dw_roster.h). */
#include "dw_roster.h"
#include "dw_clash.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_resource.h"
#include "dw_shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* dw_slot_t keeps the resource in 4 bits */
_Static_assert(DW_RES_COUNT <= 16, "dw_slot_t.resource is 4 bits");

const char *dw_slot_period(const dw_slot_t *s) {
  return s->period < 0 ? NULL : dw_period_name((dw_period_t)s->period);
}

void dw_meter_health_why(dw_meter_health_t *h, const char *why) {
  free(h->failed_why);
  h->failed_why = why != NULL ? strndup(why, DW_ROSTER_WHY_MAX) : NULL;
}

static void roster_free_meter(dw_meter_t *m) {
  free(m->id);
  free(m->instance);
  free(m->health.failed_why);
  *m = (dw_meter_t){0};
}

void dw_roster_free(dw_roster_t *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->slots_len; i++) {
    dw_cache_clear(&r->slots[i].cache);
    dw_months_clear(&r->slots[i].months);
  }
  for (size_t i = 0; i < r->meters_len; i++)
    roster_free_meter(&r->meters[i]);
  free(r->slots);
  free(r->meters);
  *r = (dw_roster_t){0};
}

static bool roster_in_shard(const dw_account_cfg_t *cfg, const char *id) {
  return cfg->shard.count == 0 ||
         dw_shard_of(id, cfg->shard.count) == cfg->shard.index;
}

/* Appends one meter; 0 or -ENOMEM. instance NULL: the ID made safe. */
static int roster_add(dw_roster_t *r, size_t *cap, const char *id,
                      const char *instance, uint32_t resources,
                      uint32_t periods) {
  if (r->meters_len == *cap) {
    size_t new_cap = *cap ? 2 * *cap : 16;
    dw_meter_t *m = realloc(r->meters, new_cap * sizeof(*m));
    if (m == NULL)
      return -ENOMEM;
    r->meters = m;
    *cap = new_cap;
  }
  char safe[DW_NAME_MAX + 1];
  if (instance == NULL) {
    dw_name_safe(safe, sizeof(safe), id);
    instance = safe;
  }
  dw_meter_t *m = &r->meters[r->meters_len];
  *m = (dw_meter_t){.id = strdup(id),
                    .instance = strdup(instance),
                    .resources = resources,
                    .periods = periods};
  if (m->id == NULL || m->instance == NULL) {
    roster_free_meter(m);
    return -ENOMEM;
  }
  r->meters_len++;
  return 0;
}

static int roster_compare_ids(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The meters of this shard: blocks first, then the file's entries whose
 * ID no block has (looked up in the sorted block IDs). */
static int roster_collect(dw_roster_t *r, const dw_account_cfg_t *cfg,
                          const dw_meterfile_t *file) {
  size_t cap = 0;
  const char **ids =
      malloc((cfg->meters_len ? cfg->meters_len : 1) * sizeof(*ids));
  if (ids == NULL)
    return -ENOMEM;
  int status = 0;
  for (size_t i = 0; i < cfg->meters_len && status == 0; i++) {
    const dw_meter_cfg_t *m = &cfg->meters[i];
    ids[i] = m->id;
    if (roster_in_shard(cfg, m->id))
      status =
          roster_add(r, &cap, m->id, m->instance, m->resources, m->periods);
  }
  qsort(ids, cfg->meters_len, sizeof(*ids), roster_compare_ids);
  for (size_t i = 0; file != NULL && i < file->len && status == 0; i++) {
    const dw_meterfile_entry_t *e = &file->entries[i];
    if (roster_in_shard(cfg, e->id) &&
        bsearch(&e->id, ids, cfg->meters_len, sizeof(*ids),
                roster_compare_ids) == NULL)
      status =
          roster_add(r, &cap, e->id, e->instance, cfg->resources, cfg->periods);
  }
  free(ids);
  return status;
}

/* Leaves out each meter whose plugin_instance an earlier meter already
 * has (a file edited after start-up can bring such a clash): its values
 * would silently merge with the other meter's. */
static int roster_drop_clashes(dw_roster_t *r, const char *account) {
  size_t n = r->meters_len, clashes = 0;
  const char **names = calloc(n ? n : 1, sizeof(*names));
  size_t *first = malloc((n ? n : 1) * sizeof(*first));
  int status = names && first ? 0 : -ENOMEM;
  for (size_t i = 0; status == 0 && i < n; i++)
    names[i] = r->meters[i].instance;
  if (status == 0)
    status = dw_clash_find(names, n, first, &clashes);
  for (size_t i = 0; status == 0 && i < n; i++)
    if (first[i] != DW_CLASH_NONE)
      dw_log(DW_LOG_ERR,
             "account %s: smartmeter %s is skipped: its Instance \"%s\" "
             "is taken by smartmeter %s",
             account, r->meters[i].id, r->meters[i].instance,
             r->meters[first[i]].id);
  size_t kept = 0; /* after logging: compacting moves meters */
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (first[i] == DW_CLASH_NONE)
      r->meters[kept++] = r->meters[i];
    else
      roster_free_meter(&r->meters[i]);
  }
  if (status == 0)
    r->meters_len = kept;
  free(names);
  free(first);
  return status;
}

static size_t roster_slot_count(const dw_meter_t *m) {
  size_t n = 0, periods = (size_t)__builtin_popcount(m->periods);
  for (int r = 0; r < DW_RES_COUNT; r++)
    if (m->resources & (1u << r))
      n += dw_resource_info((dw_resource_t)r)->has_period ? periods : 1;
  return n;
}

static void roster_fill_slots(dw_roster_t *r, uint32_t index, size_t *n) {
  dw_meter_t *m = &r->meters[index];
  m->first_slot = *n;
  for (int res = 0; res < DW_RES_COUNT; res++) {
    if (!(m->resources & (1u << res)))
      continue;
    bool has_period = dw_resource_info((dw_resource_t)res)->has_period;
    for (int p = has_period ? 0 : -1; p < (has_period ? DW_PERIOD_COUNT : 0);
         p++)
      if (p < 0 || (m->periods & (1u << p)))
        r->slots[(*n)++] = (dw_slot_t){
            .meter = index, .resource = (uint8_t)res, .period = (int8_t)p};
  }
  m->slots_len = *n - m->first_slot;
}

static int roster_build_slots(dw_roster_t *r) {
  size_t total = 0;
  for (size_t i = 0; i < r->meters_len; i++)
    total += roster_slot_count(&r->meters[i]);
  r->slots = calloc(total ? total : 1, sizeof(*r->slots));
  if (r->slots == NULL)
    return -ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < r->meters_len; i++)
    roster_fill_slots(r, (uint32_t)i, &n);
  r->slots_len = n;
  return 0;
}

int dw_roster_build(dw_roster_t *out, const dw_account_cfg_t *cfg,
                    const dw_meterfile_t *file) {
  dw_roster_t r = {0};
  int status = roster_collect(&r, cfg, file);
  if (status == 0)
    status = roster_drop_clashes(&r, cfg->name);
  if (status == 0)
    status = roster_build_slots(&r);
  if (status != 0) {
    dw_roster_free(&r);
    *out = (dw_roster_t){0};
    return status;
  }
  *out = r;
  return 0;
}

static int roster_by_id(const void *x, const void *y) {
  const dw_meter_t *const *a = x, *const *b = y;
  return strcmp((*a)->id, (*b)->id);
}

/* Moves what from knew about one meter into its twin in to. */
static void roster_adopt_meter(dw_roster_t *to, dw_meter_t *m,
                               dw_roster_t *from, dw_meter_t *old) {
  m->last_ok_ms = old->last_ok_ms;
  m->health.failing = old->health.failing;
  m->health.notified = old->health.notified;
  for (size_t i = 0; i < m->slots_len; i++) {
    dw_slot_t *s = &to->slots[m->first_slot + i];
    for (size_t j = 0; j < old->slots_len; j++) {
      dw_slot_t *o = &from->slots[old->first_slot + j];
      if (o->resource != s->resource || o->period != s->period)
        continue;
      uint32_t meter = s->meter;
      *s = *o;
      s->meter = meter;
      *o = (dw_slot_t){0}; /* ownership moved */
      break;
    }
  }
}

void dw_roster_adopt(dw_roster_t *to, dw_roster_t *from) {
  dw_meter_t **index =
      malloc((from->meters_len ? from->meters_len : 1) * sizeof(*index));
  if (index == NULL)
    return; /* the new roster starts fresh: nothing is lost but caches */
  for (size_t i = 0; i < from->meters_len; i++)
    index[i] = &from->meters[i];
  qsort(index, from->meters_len, sizeof(*index), roster_by_id);
  for (size_t i = 0; i < to->meters_len; i++) {
    dw_meter_t *key = &to->meters[i];
    dw_meter_t **old =
        bsearch(&key, index, from->meters_len, sizeof(*index), roster_by_id);
    if (old != NULL)
      roster_adopt_meter(to, key, from, *old);
  }
  free(index);
}

/* --- loading ---------------------------------------------------------------
 */

int dw_roster_load(dw_roster_t *r, const dw_account_cfg_t *cfg,
                   const dw_meterfile_t *file) {
  dw_roster_t fresh;
  int status = dw_roster_build(&fresh, cfg, file);
  if (status != 0) {
    dw_log(DW_LOG_ERR, "account %s: out of memory building the roster",
           cfg->name);
    return status;
  }
  dw_roster_adopt(&fresh, r);
  dw_roster_free(r);
  *r = fresh;
  return 0;
}

void dw_roster_refresh(dw_roster_t *r, const dw_account_cfg_t *cfg,
                       dw_meterfile_stamp_t *seen) {
  const char *path = cfg->smartmeter_file;
  dw_meterfile_stamp_t stamp;
  if (path == NULL || dw_meterfile_stat(path, &stamp) != 0 ||
      dw_meterfile_stamp_equal(&stamp, seen))
    return;
  *seen = stamp; /* said once, whatever happens: wait for the next change */
  dw_meterfile_t file = {0};
  char err[256];
  size_t before = r->meters_len;
  if (dw_meterfile_load(path, &file, seen, err, sizeof(err)) != 0) {
    dw_log(DW_LOG_ERR,
           "account %s: SmartmeterFile \"%s\": %s; keeping the %zu "
           "smartmeters read before",
           cfg->name, path, err, before);
    return;
  }
  if (file.len == 0 && before > 0)
    /* most likely a rewrite caught half way; an operator who means it
     * leaves a comment line, or restarts */
    dw_log(DW_LOG_WARNING,
           "account %s: SmartmeterFile \"%s\" lists no smartmeter; keeping "
           "the %zu smartmeters read before",
           cfg->name, path, before);
  else if (dw_roster_load(r, cfg, &file) == 0)
    dw_log(DW_LOG_INFO,
           "account %s: SmartmeterFile \"%s\" changed: %zu smartmeters "
           "(%zu before)",
           cfg->name, path, r->meters_len, before);
  dw_meterfile_free(&file);
}
