/* dw_validate.h - what only the whole configuration shows.
 * Owns: reading every account's SmartmeterFile once at start, and the
 * checks across blocks: unique account names, a meter for every account,
 * plugin instances unique across all accounts.
 * May call: dw_config (types), dw_meterfile, dw_clash, dw_name,
 * dw_option (its error helpers), dw_log.
 *
 * collectd may hand the configuration over in several <Plugin digiwatt>
 * blocks, so the whole is known only at init: the glue validates once
 * there, and gives each account the file read here, so that each file is
 * read once at start. */
#ifndef DW_VALIDATE_H
#define DW_VALIDATE_H

#include "dw_config.h"
#include "dw_meterfile.h"

#include <stddef.h>

/* The SmartmeterFile of one account as validation read it (empty, with a
 * zero stamp, for an account without one). */
typedef struct dw_validated_file {
  dw_meterfile_t file;
  dw_meterfile_stamp_t stamp;
} dw_validated_file_t;

typedef struct dw_validated {
  dw_validated_file_t *files; /* one per account, in configuration order */
  size_t len;
} dw_validated_t;

/* Checks cfg as a whole and reads its SmartmeterFiles into *out (which the
 * caller zeroed). 0, or -EINVAL / -ENOMEM after logging every problem
 * found (*out is empty then). */
__attribute__((warn_unused_result)) int dw_validate(const dw_config_t *cfg,
                                                    dw_validated_t *out);

/* Frees what *v holds and empties it; accepts NULL. */
void dw_validated_free(dw_validated_t *v);

#endif
