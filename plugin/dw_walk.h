/* dw_walk.h - walking a parsed JSON tree into sample records.
 * Owns: the records a decoder collects, the digests of the names among
 * them, the path that error messages name, and the checks every
 * resource's shape shares (members, entries, months, duplicates).
 * May call: dw_json, dw_sample, dw_name (names that cannot travel as they
 * are).
 *
 * The toolkit of dw_decode: each resource's walker (in dw_decode.c) is a
 * few calls to these. A walk collects every sample first, so a response
 * that fails a check emits nothing. */
#ifndef DW_WALK_H
#define DW_WALK_H

#include "dw_json.h"
#include "dw_sample.h"

#include <stdbool.h>
#include <stddef.h>

#define DW_WALK_ERROR_BYTES 256
#define DW_WALK_PATH_BYTES 96
#define DW_WALK_MAX_POS_DEPTH 2

/* The first month taken: 2000-01 (year * 12 + month - 1). Earlier ones
 * are no plausible reading, and 1970-01 would be stamped 0, which
 * collectd replaces with "now". */
#define DW_WALK_MONTH_MIN (2000 * 12)
/* The last month dw_walk_parse_month() reads; the default max_month. */
#define DW_WALK_MONTH_MAX (9999 * 12 + 11)

/* An entry function's answer (and dw_walk_member's, deeper than the
 * document's own object): this entry is skipped, with a note. */
#define DW_WALK_SKIP 1

/* What a walk left out, for one warning: the first note and a count. */
typedef struct dw_walk_notes {
  size_t count;
  char first[DW_WALK_ERROR_BYTES];
} dw_walk_notes_t;

/* The first error of a decoder, prefixed with the resource's slug. */
typedef struct dw_walk_error {
  int code; /* 0 while nothing went wrong, else a negative errno */
  const char *prefix;
  char text[DW_WALK_ERROR_BYTES];
} dw_walk_error_t;

/* A collected sample and where it came from, for the duplicate report. */
typedef struct dw_walk_rec {
  dw_sample_t sample;
  size_t seq; /* collection order */
  size_t pos_depth;
  size_t pos[DW_WALK_MAX_POS_DEPTH]; /* entry indexes, outermost first */
} dw_walk_rec_t;

typedef struct dw_walk {
  dw_walk_error_t *err;
  dw_walk_notes_t *notes;
  int max_month; /* months after it are skipped (DW_WALK_MONTH_MIN..) */
  dw_walk_rec_t *recs;
  size_t len;
  size_t cap;
  char **digests; /* of the names in recs that are no C string as sent */
  size_t digests_len;
  size_t digests_cap;
  size_t pos_depth;
  size_t pos[DW_WALK_MAX_POS_DEPTH];
  size_t path_len;
  char path[DW_WALK_PATH_BYTES]; /* "entry 3: member 'values'" */
} dw_walk_t;

/* What dw_walk_each_entry() passes on to a per-entry function. */
typedef struct dw_series {
  dw_type_t type;
  dw_label_t label;
  const char *appliance;
} dw_series_t;

typedef int (*dw_walk_entry_fn)(dw_walk_t *w, const dw_json_t *entry,
                                const dw_series_t *series);

/* Records the first error only; returns the error that is kept. */
int dw_walk_error_set(dw_walk_error_t *e, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A shape error at the current path; -EINVAL (or the earlier error). */
int dw_walk_fail(dw_walk_t *w, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Notes a part of the response left out, at the current path (never
 * quoting the body: say where, and what kind of thing was found). */
void dw_walk_warn(dw_walk_t *w, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends a segment to the path; returns the length to restore. */
size_t dw_walk_path_push(dw_walk_t *w, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void dw_walk_path_pop(dw_walk_t *w, size_t old_len);

/* The member key of obj when it has type want; *out is NULL when it is
 * null, optional and absent, or optional of another type (left out with a
 * note). A required member that is absent or of another type fails the
 * response in the document's own object (-EINVAL) and skips what holds it
 * deeper (DW_WALK_SKIP, with a note). */
int dw_walk_member(dw_walk_t *w, const dw_json_t *obj, const char *key,
                   dw_json_type_t want, bool required, const dw_json_t **out);

/* A number member into *out: a JSON number or a string that is all a
 * number. *present is false when it is null or optional and absent, and
 * when it holds anything else or a number out of the range of a double
 * (left out with a note); absent and required as dw_walk_member(). */
int dw_walk_number(dw_walk_t *w, const dw_json_t *obj, const char *key,
                   bool required, double *out, bool *present);

/* One sample from the number member key of obj, divided by divisor (1000
 * turns Wh into kWh); nothing when the member is null, optional and
 * absent, or left out. */
int dw_walk_add_member(dw_walk_t *w, const dw_json_t *obj, const char *key,
                       bool required, const dw_series_t *series, int month,
                       double divisor);

/* The (min, max, user) triple: each member required, one null or left out
 * is NaN, and none present means no sample. */
int dw_walk_add_triple(dw_walk_t *w, const dw_json_t *obj, dw_label_t label);

/* The entry's appliance, or NULL when it is null (skip the entry); as
 * dw_walk_name() hands it on. */
int dw_walk_appliance_of(dw_walk_t *w, const dw_json_t *entry,
                         const char **out);

/* The name s as a sample carries it (see dw_name.h): s's own bytes when
 * they are a C string as sent, else a digest the walk owns. */
int dw_walk_name(dw_walk_t *w, const dw_json_str_t *s, const char **out);

/* The entry's month, or 0 when it is null or optional and absent; a month
 * outside DW_WALK_MONTH_MIN..w->max_month skips what holds it. */
int dw_walk_month_of(dw_walk_t *w, const dw_json_t *entry, bool required,
                     int *out);

/* 0 when node has type want, else an error naming the document. */
int dw_walk_expect_type(dw_walk_t *w, const dw_json_t *node,
                        dw_json_type_t want);

/* Calls fn for every object entry of array in order; null entries are
 * skipped, any other non-object is skipped with a note, and so is an
 * entry fn answers DW_WALK_SKIP (with the samples it had added). */
int dw_walk_each_entry(dw_walk_t *w, const dw_json_t *array,
                       dw_walk_entry_fn fn, const dw_series_t *series);

/* Fails when two records share an identifier: they would overwrite each
 * other downstream. */
int dw_walk_check_duplicates(dw_walk_t *w);

/* Hands every record to sink, in collection order. */
int dw_walk_emit(dw_walk_t *w, dw_sample_sink_t sink, void *ud);

/* Frees the records and digests (not w itself). */
void dw_walk_free(dw_walk_t *w);

/* Parses "YYYY-MM" into year * 12 + (month - 1); -EINVAL when malformed. */
__attribute__((warn_unused_result)) int dw_walk_parse_month(const char *text,
                                                            int *out);

#endif
