/* fuzz_util.h - what the libFuzzer harnesses share.
 *
 * Everything a harness derives from its input (chunk sizes, limits, buffer
 * sizes) comes from a hash of that input, never from a clock or rand(), so
 * a crash file alone reproduces the exact run that failed. A broken
 * invariant aborts: libFuzzer reports that as a crash and keeps the input. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point, declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the invariant that broke, so the crash report names it. */
#define FUZZ_ASSERT(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,     \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* 64-bit FNV-1a of the input: the seed of everything a harness varies. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < size; i++) {
    h ^= data[i];
    h *= 0x100000001b3u;
  }
  return h;
}

/* xorshift64: the next pseudo-random number of a harness's sequence. */
static inline uint64_t fuzz_next(uint64_t *state) {
  uint64_t x = *state != 0 ? *state : 0x9e3779b97f4a7c15u;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

/* The next chunk size (1..remaining, remaining > 0): mostly small, where
 * tokens get split, sometimes a big slice of what is left. */
static inline size_t fuzz_chunk(uint64_t *state, size_t remaining) {
  uint64_t r = fuzz_next(state);
  size_t size = (r & 3) != 0 ? 1 + (size_t)((r >> 2) % 16)
                             : 1 + (size_t)((r >> 2) % remaining);
  return size < remaining ? size : remaining;
}

/* True when s is NUL-terminated within size bytes, non-empty, and every
 * byte is printable ASCII: a message that never carries raw input bytes. */
static inline bool fuzz_printable(const char *s, size_t size) {
  size_t len = strnlen(s, size);
  if (len == 0 || len == size)
    return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7e)
      return false;
  return true;
}

/* True when s is 1..max_len bytes of [A-Za-z0-9_-]: safe as a collectd
 * identifier, a file name and a Graphite path segment. */
static inline bool fuzz_safe_name(const char *s, size_t max_len) {
  size_t len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_-");
  return len > 0 && len <= max_len && s[len] == '\0';
}

#endif
