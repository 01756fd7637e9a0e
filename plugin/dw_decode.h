/* dw_decode.h - one decoder per Digiwatt resource.
 * Owns: a response body's JSON tree while it arrives, and the shape of
 * each resource. May call: dw_json, dw_walk, dw_sample, dw_resource.
 *
 * A decoder is a push parser: create it for a resource, feed the response
 * body in chunks of any size, finish. Finish validates the whole document
 * and only then hands every sample to the sink, so a broken or partial
 * response yields no sample at all. Unknown members are ignored, JSON nulls
 * and missing optional members are skipped; a missing required member, a
 * member of the wrong type or broken JSON fails the resource with a message
 * that names the member but never quotes the body.
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

/* Parses "YYYY-MM" into year * 12 + (month - 1); -EINVAL when malformed. */
__attribute__((warn_unused_result)) int dw_dec_parse_month(const char *text,
                                                           int *out);

#endif
