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

/* Jump consistent hashing (Lamping and Veach, "A Fast, Minimal Memory,
 * Consistent Hash Algorithm", 2014): the key jumps forward through the
 * buckets, and the last bucket it lands on below count is its shard. With
 * one more bucket a key either stays or jumps into the new one, each with
 * the probability that keeps the buckets even. */
static unsigned shard_jump(uint64_t key, unsigned count) {
  int64_t bucket = -1, next = 0;
  while (next < (int64_t)count) {
    bucket = next;
    key = key * 2862933555777941757ull + 1;
    next = (int64_t)((double)(bucket + 1) *
                     ((double)(1ll << 31) / (double)((key >> 33) + 1)));
  }
  return (unsigned)bucket;
}

/* The shard is the jump hash of FNV-1a 64 of the ID's bytes. It must stay
 * what it is: every host of a fleet computes it on its own, so hosts
 * running different versions would fetch some meters twice and others
 * never. (Version 0.1.0 took FNV-1a 64 modulo count: a fleet moving from
 * it moves about (count - 1) / count of its meters once.) */
unsigned dw_shard_of(const char *id, unsigned count) {
  if (count <= 1 || id == NULL)
    return 0;
  return shard_jump(shard_fnv1a64(id, strlen(id)), count);
}
