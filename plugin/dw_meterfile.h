/* dw_meterfile.h - the SmartmeterFile: its format, reading it, its changes.
 * Owns: the parsed entries of one file and the stamp of the file read.
 * May call: dw_name (the Instance rule), the file system.
 *
 * A SmartmeterFile holds one meter per line: the ID, then optionally
 * whitespace and an Instance name; '#' starts a comment; blank lines are
 * ignored. IDs and instances follow the same rules as <Smartmeter>
 * blocks. No collectd here. */
#ifndef DW_METERFILE_H
#define DW_METERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DW_METERFILE_MAX_SIZE (64L * 1024 * 1024) /* bytes */

typedef struct dw_meterfile_entry {
  char *id;
  char *instance; /* the given Instance, or NULL for the default */
} dw_meterfile_entry_t;

typedef struct dw_meterfile {
  dw_meterfile_entry_t *entries;
  size_t len;
} dw_meterfile_t;

/* Parses the text of a SmartmeterFile. 0, or -EINVAL with a message in err
 * naming the first bad line ("line 12: the ID is longer than 256 bytes"),
 * or -ENOMEM. A repeated ID is an error too. On error *out is empty. */
__attribute__((warn_unused_result)) int
dw_meterfile_parse(const char *text, size_t len, dw_meterfile_t *out, char *err,
                   size_t err_size);

/* Identifies the state of a file cheaply, to notice a change. */
typedef struct dw_meterfile_stamp {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
} dw_meterfile_stamp_t;

/* Reads and parses path (at most DW_METERFILE_MAX_SIZE bytes) and fills
 * *stamp; as dw_meterfile_parse, plus -errno from open/read with err saying
 * which. */
__attribute__((warn_unused_result)) int
dw_meterfile_load(const char *path, dw_meterfile_t *out,
                  dw_meterfile_stamp_t *stamp, char *err, size_t err_size);

/* 0 and fills *stamp, or -errno when path cannot be stat()ed. */
__attribute__((warn_unused_result)) int
dw_meterfile_stat(const char *path, dw_meterfile_stamp_t *stamp);

/* True when two stamps describe the same file content. */
bool dw_meterfile_stamp_equal(const dw_meterfile_stamp_t *a,
                              const dw_meterfile_stamp_t *b);

/* Frees the entries and empties *f; accepts NULL. */
void dw_meterfile_free(dw_meterfile_t *f);

#endif
