/* dw_fleet.h - smartmeter lists from a file, and sharding.
 *
 * A SmartmeterFile holds one meter per line: the ID, then optionally
 * whitespace and an Instance name; '#' starts a comment; blank lines are
 * ignored. IDs and instances follow the same rules as <Smartmeter>
 * blocks. Shard assignment is a stable hash of the ID, identical on every
 * host and across restarts, so N hosts with the same list and Shard
 * i N (i = 0..N-1) fetch every meter exactly once. No collectd here. */
#ifndef DW_FLEET_H
#define DW_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DW_FLEET_MAX_FILE (64L * 1024 * 1024) /* bytes */

typedef struct dw_fleet_entry {
  char *id;
  char *instance; /* the given Instance, or NULL for the default */
} dw_fleet_entry_t;

typedef struct dw_fleet {
  dw_fleet_entry_t *entries;
  size_t len;
} dw_fleet_t;

/* Parses the text of a SmartmeterFile. 0, or -EINVAL with a message in err
 * naming the first bad line ("line 12: the ID is longer than 256 bytes"),
 * or -ENOMEM. A repeated ID is an error too. On error *out is empty. */
__attribute__((warn_unused_result)) int
dw_fleet_parse(const char *text, size_t len, dw_fleet_t *out, char *err,
               size_t err_size);

/* Identifies the state of a file cheaply, to notice a change. */
typedef struct dw_fleet_stamp {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
} dw_fleet_stamp_t;

/* Reads and parses path (at most DW_FLEET_MAX_FILE bytes) and fills
 * *stamp; as dw_fleet_parse, plus -errno from open/read with err saying
 * which. */
__attribute__((warn_unused_result)) int
dw_fleet_load(const char *path, dw_fleet_t *out, dw_fleet_stamp_t *stamp,
              char *err, size_t err_size);

/* 0 and fills *stamp, or -errno when path cannot be stat()ed. */
__attribute__((warn_unused_result)) int dw_fleet_stat(const char *path,
                                                      dw_fleet_stamp_t *stamp);

/* True when two stamps describe the same file content. */
bool dw_fleet_stamp_equal(const dw_fleet_stamp_t *a, const dw_fleet_stamp_t *b);

/* Frees the entries and empties *f; accepts NULL. */
void dw_fleet_free(dw_fleet_t *f);

/* The shard (0..count-1) of a smartmeter ID; count >= 1. */
unsigned dw_fleet_shard(const char *id, unsigned count);

#endif
