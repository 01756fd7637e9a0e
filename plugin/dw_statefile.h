/* dw_statefile.h - a file that survives a crash at any moment.
 * Owns: the state directory, the container of a state file (magic,
 * version, length, CRC-32) and writing it atomically. May call: nothing.
 *
 * What is inside is dw_state's business; here a payload is bytes. A write
 * goes to "<path>.tmp" (mode 0600), is fsync()ed, renamed over path, and
 * the directory is fsync()ed, so a kill -9 or a power cut at any moment
 * leaves either the previous file or the new one, never a mix. A read
 * trusts nothing: a missing, empty, short, long, foreign or damaged file
 * is refused with a reason, and the caller starts cold. */
#ifndef DW_STATEFILE_H
#define DW_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#define DW_STATEFILE_VERSION 1
#define DW_STATEFILE_MAX (256u * 1024 * 1024) /* payload bytes */

/* Makes dir (mode 0700) when it does not exist; its parents must. 0, or
 * a negative errno with why (a sentence for a log line) filled. A
 * directory that exists keeps its mode; *loose is set when others may
 * write to it. */
__attribute__((warn_unused_result)) int
dw_statefile_dir(const char *dir, int *loose, char *why, size_t why_size);

/* Replaces path with payload[0..len) atomically. 0, or a negative errno
 * with why filled (path is then untouched). */
__attribute__((warn_unused_result)) int
dw_statefile_write(const char *path, const void *payload, size_t len, char *why,
                   size_t why_size);

/* Reads path's payload into *payload (malloc'ed, the caller frees) and
 * *len. 0; -ENOENT when there is no file; -EINVAL when the file is not a
 * good state file of this version (why says how); another negative errno
 * when it cannot be read. */
__attribute__((warn_unused_result)) int
dw_statefile_read(const char *path, void **payload, size_t *len, char *why,
                  size_t why_size);

/* CRC-32 (IEEE 802.3, as zlib computes it) of data[0..len), continuing
 * from crc (0 to start). */
uint32_t dw_statefile_crc32(uint32_t crc, const void *data, size_t len);

#endif
