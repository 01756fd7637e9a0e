/* dw_decode.h - one decoder per Digiwatt resource.
 * Owns: a response body's JSON tree while it arrives, and the shape of
 * each resource. May call: dw_json, dw_walk, dw_sample, dw_resource.
 *
 * A decoder is a push parser: create it for a resource, feed the response
 * body in chunks of any size, finish. Finish walks the whole document and
 * only then hands every sample to the sink, so a broken or partial
 * response yields no sample at all. Tolerant to the last entry, at three
 * levels (README.md, "Nulls and missing members"):
 *  - a member: a number member that holds no number (or one out of the
 *    range of a double) is left out, as if null; a number sent as a
 *    string ("73.61") is that number;
 *  - an entry: an array entry that is no object, or whose appliance or
 *    month is missing, of the wrong type, empty or no month (or a month
 *    outside 2000-01..max_month), or lacks a required member, is skipped; so is
 * a savings appliance without a name, and a nested object (savings'
 * performance, the costs-history forecast) that is not what it should be;
 *  - the response fails on broken JSON, a limit crossed, a document of
 *    the wrong type, a required member of the document's own object
 *    missing (or a required array of the wrong type), or two values with
 *    one identifier.
 * Each left-out or skipped part is a note; dw_dec_warning() sums them up
 * in one line. Unknown members are ignored, JSON nulls and missing
 * optional members give no value without a note. Messages name members
 * and positions, never quote the body.
 *
 * The JSON-to-sample mapping is the identifier table of README.md. */
#ifndef DW_DECODE_H
#define DW_DECODE_H

#include "dw_json.h"
#include "dw_resource.h"
#include "dw_sample.h"

typedef struct dw_dec dw_dec_t;

/* A decoder for resource r with the given limits (NULL: the defaults);
 * NULL on ENOMEM. The caller frees it with dw_dec_destroy(). */
dw_dec_t *dw_dec_create(dw_resource_t r, const dw_json_limits_t *limits);

/* Frees the decoder; accepts NULL. */
void dw_dec_destroy(dw_dec_t *d);

/* Months are taken from 2000-01 to max_month (year * 12 + month - 1; the
 * caller's next month, from its cycle's time: a decoder reads no clock);
 * others skip their entry with a note. Without a call, up to 9999-12. */
void dw_dec_set_max_month(dw_dec_t *d, int max_month);

/* Feeds body bytes; 0 or a negative errno (sticky, see dw_dec_error). */
__attribute__((warn_unused_result)) int
dw_dec_feed(dw_dec_t *d, const void *buf, size_t len);

/* Ends the body, validates it and emits every sample in document order;
 * 0, or a negative errno with nothing emitted (-EINVAL bad JSON or wrong
 * shape, -E2BIG past a limit, -ENOMEM, or the sink's own error). */
__attribute__((warn_unused_result)) int
dw_dec_finish(dw_dec_t *d, dw_sample_sink_t sink, void *ud);

/* What went wrong, for a log line; NULL while nothing did. Owned by d. */
const char *dw_dec_error(const dw_dec_t *d);

/* After a successful finish, what was left out or skipped, for one log
 * line: the slug, the first such part named by its path and what was
 * found there ("entry 3: member 'month' is not a YYYY-MM month;
 * skipped"), and "(and N more)"; NULL when nothing was. Owned by d. */
const char *dw_dec_warning(const dw_dec_t *d);

/* How many parts were left out or skipped (0 unless finish succeeded). */
size_t dw_dec_warnings(const dw_dec_t *d);

/* Parses "YYYY-MM" into year * 12 + (month - 1); -EINVAL when malformed. */
__attribute__((warn_unused_result)) int dw_dec_parse_month(const char *text,
                                                           int *out);

#endif
