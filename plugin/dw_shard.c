/* dw_shard.c - the shard of a smartmeter (see dw_shard.h). */
#include "dw_shard.h"

#include <stdint.h>
#include <string.h>

#define FNV64_OFFSET 14695981039346656037ull
#define FNV64_PRIME 1099511628211ull

static uint64_t shard_fnv1a64(const char *bytes, size_t len) {
  uint64_t hash = FNV64_OFFSET;
  for (size_t i = 0; i < len; i++) {
    hash ^= (unsigned char)bytes[i];
    hash *= FNV64_PRIME;
  }
  return hash;
}

/* The shard is FNV-1a 64 of the ID's bytes modulo count. This must never
 * change: every host of a fleet computes it on its own, so hosts running
 * different versions would fetch some meters twice and others never, and
 * any change reshuffles every fleet's meters across its hosts. */
unsigned dw_shard_of(const char *id, unsigned count) {
  if (count <= 1 || id == NULL)
    return 0;
  return (unsigned)(shard_fnv1a64(id, strlen(id)) % count);
}
