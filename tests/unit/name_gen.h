/* name_gen.h - adversarial names for the property tests of the name rule
 * (check_name) and of whole identifiers (check_dispatch).
 *
 * Header-only and deterministic: the same names on every run, so a
 * failure reproduces. Each base name comes with the two names an API
 * could send to make it meet another one: the literal text of its safe
 * form, and the name with "-latest" appended. The caller frees the
 * array. */
#ifndef NAME_GEN_H
#define NAME_GEN_H

#include "dw_name.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_LEN 240

typedef struct gen_name {
  char text[GEN_MAX_LEN + 16]; /* room for "-latest"; NUL bytes may occur */
  size_t len;
  char safe[64]; /* for the caller's use */
} gen_name_t;

/* xorshift64*: a fixed sequence from a fixed seed. */
static inline uint64_t gen_next(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 2685821657736338717ull;
}

#define GEN_PIECE(s)                                                           \
  { s, sizeof(s) - 1 }

/* Pieces an adversary would combine: safe bytes, bytes the rule replaces
 * (spaces, dots, slashes, UTF-8, control bytes, NUL) and the shapes the
 * rule itself produces or the dispatcher appends. */
static const struct {
  const char *bytes;
  size_t len;
} gen_pieces[] = {
    GEN_PIECE("a"),
    GEN_PIECE("Z"),
    GEN_PIECE("0"),
    GEN_PIECE("_"),
    GEN_PIECE("-"),
    GEN_PIECE(" "),
    GEN_PIECE("."),
    GEN_PIECE("/"),
    GEN_PIECE("\t"),
    GEN_PIECE("\x01"),
    GEN_PIECE("\x7f"),
    GEN_PIECE("\0"),
    GEN_PIECE("\0\0"),
    GEN_PIECE("\xc3\xa9"),
    GEN_PIECE("\xe2\x98\x95"),
    GEN_PIECE("_h"),
    GEN_PIECE("_h0"),
    GEN_PIECE("caca3794"),
    GEN_PIECE("-latest"),
    GEN_PIECE("latest"),
    GEN_PIECE("fridge"),
    GEN_PIECE("0123456789abcdef"),
};

static inline void gen_append(gen_name_t *g, const char *s, size_t n) {
  ck_assert_uint_lt(g->len + n, sizeof(g->text));
  memcpy(g->text + g->len, s, n);
  g->len += n;
  g->text[g->len] = '\0';
}

/* Appends a whole piece, or nothing past GEN_MAX_LEN: a name stays valid
 * UTF-8, as every JSON string is. */
static inline void gen_piece(gen_name_t *g, const char *s, size_t n) {
  if (g->len + n <= GEN_MAX_LEN)
    gen_append(g, s, n);
}

static inline void gen_one(gen_name_t *g, uint64_t *state) {
  *g = (gen_name_t){.len = 0};
  uint64_t r = gen_next(state);
  if (r % 8 == 0) { /* long: past the 63-byte limit, differing late */
    size_t n = 50 + (size_t)(r >> 8) % 180;
    for (size_t i = 0; i < n; i++)
      gen_piece(g, "abcxyz_-" + (gen_next(state) % 8), 1);
    return;
  }
  size_t count = 1 + (size_t)(r >> 8) % 8;
  for (size_t i = 0; i < count; i++) {
    size_t p = gen_next(state) % (sizeof(gen_pieces) / sizeof(gen_pieces[0]));
    gen_piece(g, gen_pieces[p].bytes, gen_pieces[p].len);
  }
}

static inline int gen_by_text(const void *x, const void *y) {
  const gen_name_t *a = x, *b = y;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->text, b->text, n);
  return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

/* 3 * base names (fewer once duplicates are gone), sorted by their bytes. */
static inline gen_name_t *gen_names(size_t base, uint64_t seed, size_t *n) {
  gen_name_t *names = calloc(3 * base, sizeof(*names));
  ck_assert_ptr_nonnull(names);
  uint64_t state = seed;
  size_t k = 0;
  for (size_t i = 0; i < base; i++) {
    gen_name_t *g = &names[k++];
    gen_one(g, &state);
    char safe[64];
    dw_name_safe_n(safe, sizeof(safe), g->text, g->len);
    gen_append(&names[k++], safe, strlen(safe)); /* the literal */
    gen_name_t *latest = &names[k++];
    gen_append(latest, g->text, g->len);
    gen_append(latest, "-latest", strlen("-latest"));
  }
  qsort(names, k, sizeof(*names), gen_by_text);
  size_t unique = 0;
  for (size_t i = 0; i < k; i++)
    if (unique == 0 || gen_by_text(&names[unique - 1], &names[i]) != 0)
      names[unique++] = names[i];
  *n = unique;
  return names;
}

#endif
