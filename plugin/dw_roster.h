/* dw_roster.h - one account's meters and their slots.
 * Owns: the meters (its <Smartmeter> blocks, then its SmartmeterFile's
 * entries, of this shard, without instance clashes) and one slot per
 * (meter, resource, period) with what the slot remembers, and re-reading
 * a changed SmartmeterFile.
 * May call: dw_config (types only), dw_meterfile, dw_shard, dw_clash,
 * dw_name, dw_cache, dw_resource, dw_log.
 *
 * Pure bookkeeping: no HTTP, no clock, no dispatch. The account builds a
 * roster at start and again when the SmartmeterFile changes, and moves
 * what the old roster knew about the meters that stay into the new one. */
#ifndef DW_ROSTER_H
#define DW_ROSTER_H

#include "dw_cache.h"
#include "dw_config.h"
#include "dw_meterfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A meter's failure state as its notifications see it (dw_report). */
typedef struct dw_meter_health {
  bool notified;           /* a FAILURE went out; an OKAY is owed */
  bool failing;            /* one of its slots failed its last attempt */
  uint16_t why_failures;   /* the failure count behind failed_why */
  uint8_t failed_resource; /* the slot that failed_why describes */
  int8_t failed_period;
  uint32_t gone_said; /* dw_report's cycle serial in which a 404 of the
                         meter was logged, 0: never */
  char *failed_why;   /* owned, only while failing (dw_meter_health_why) */
} dw_meter_health_t;

typedef struct dw_meter {
  char *id;       /* owned */
  char *instance; /* owned: Instance, or the ID made safe */
  uint32_t resources;
  uint32_t periods;
  size_t first_slot; /* the slots of a meter are contiguous */
  size_t slots_len;
  int64_t last_ok_ms; /* 0: never */
  dw_meter_health_t health;
} dw_meter_t;

/* 48 bytes: a fleet has 35 per meter. */
typedef struct dw_slot {
  uint32_t meter;             /* index into the roster's meters */
  uint8_t resource : 4;       /* dw_resource_t */
  uint8_t unsent : 1;         /* its cached values have not gone out yet */
  uint8_t months_pending : 1; /* a history month has not gone out yet */
  int8_t period;              /* dw_period_t, -1 for resources without one */
  uint16_t failures;          /* in a row */
  int64_t next_due_ms;        /* on the account's clock; 0: due now */
  dw_cache_t cache;           /* samples of the last good response */
  dw_months_t months;         /* months of its series already dispatched */
} dw_slot_t;

typedef struct dw_roster {
  dw_meter_t *meters;
  size_t meters_len;
  dw_slot_t *slots;
  size_t slots_len;
} dw_roster_t;

/* The roster of cfg's blocks and of file's entries (file may be NULL): a
 * file entry whose ID has a block takes the block's settings, meters of
 * other shards are left out, and a meter whose plugin_instance an earlier
 * one already has is logged and left out (blocks come first, so they
 * win). 0 with *out filled, or -ENOMEM with *out empty. */
__attribute__((warn_unused_result)) int
dw_roster_build(dw_roster_t *out, const dw_account_cfg_t *cfg,
                const dw_meterfile_t *file);

/* Moves what from knew about each meter that to also has (by ID): its
 * health, last success, and each slot's cache, months, failures and due
 * time. What moved is no longer in from. */
void dw_roster_adopt(dw_roster_t *to, dw_roster_t *from);

/* Replaces *r with the roster of cfg and file (file may be NULL), moving
 * over what *r knew about the meters that stay. 0, or -ENOMEM (logged)
 * with *r unchanged. */
__attribute__((warn_unused_result)) int
dw_roster_load(dw_roster_t *r, const dw_account_cfg_t *cfg,
               const dw_meterfile_t *file);

/* Re-reads cfg's SmartmeterFile when it changed since *seen (its stamp
 * when read last, updated): a broken rewrite, or one that lists no meter
 * at all (a rewrite caught half way), is logged once and the meters read
 * before are kept. */
void dw_roster_refresh(dw_roster_t *r, const dw_account_cfg_t *cfg,
                       dw_meterfile_stamp_t *seen);

/* Sets (or, with NULL, clears) the reason a failing meter's notification
 * gives, at most DW_ROSTER_WHY_MAX bytes of why; out of memory leaves
 * none. */
#define DW_ROSTER_WHY_MAX 95
void dw_meter_health_why(dw_meter_health_t *h, const char *why);

/* Frees every meter and slot and empties *r; accepts NULL. */
void dw_roster_free(dw_roster_t *r);

/* The meter a slot belongs to. */
static inline dw_meter_t *dw_roster_meter(const dw_roster_t *r,
                                          const dw_slot_t *s) {
  return &r->meters[s->meter];
}

/* The period name of a slot, or NULL for resources without one. */
const char *dw_slot_period(const dw_slot_t *s);

#endif
