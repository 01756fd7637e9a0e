/* dw_bytes.h - a compact, checked byte codec.
 * Owns: a growable byte buffer with its writers (bytes, little-endian
 * integers, LEB128 varints, zigzag, texts, values) and a cursor that
 * reads them back without ever reading past its end. May call: nothing.
 *
 * The state file's payload is written and read with these. A value with
 * at most three decimals (as the API sends them) is written as an integer
 * of thousandths, 1 to 5 bytes instead of 8. A reader that meets a
 * problem turns bad: it keeps the first reason, and every later read
 * gives 0, so a decoder checks once where it suits it. */
#ifndef DW_BYTES_H
#define DW_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_BYTES_MAX_TEXT 4096 /* bytes of one text */

typedef struct dw_bytes {
  unsigned char *data;
  size_t len, cap;
} dw_bytes_t;

/* Writers: each appends to b, growing it; 0 or -ENOMEM. */
int dw_bytes_put(dw_bytes_t *b, const void *p, size_t n);
int dw_bytes_put_byte(dw_bytes_t *b, unsigned v);
int dw_bytes_put_le(dw_bytes_t *b, uint64_t v, size_t n); /* n <= 8 */
int dw_bytes_put_varint(dw_bytes_t *b, uint64_t v);
int dw_bytes_put_svarint(dw_bytes_t *b, int64_t v);  /* zigzag varint */
int dw_bytes_put_text(dw_bytes_t *b, const char *s); /* length, bytes */
int dw_bytes_put_value(dw_bytes_t *b, double v);

/* Frees b's bytes and zeroes it; accepts NULL. */
void dw_bytes_free(dw_bytes_t *b);

uint64_t dw_bytes_zigzag(int64_t v);
int64_t dw_bytes_unzigzag(uint64_t v);

/* A cursor over the payload; once bad, every read gives 0 and the decode
 * fails with why. */
typedef struct reader {
  const unsigned char *p, *end;
  const char *why; /* the first problem, static text */
} dw_reader_t;

/* Turns rd bad with why (static text, the first one is kept); always
 * -EINVAL. */
int dw_bytes_fail(dw_reader_t *rd, const char *why);

/* Readers: the value, or 0 (NULL) once rd is bad. */
uint64_t dw_bytes_get_le(dw_reader_t *rd, size_t n);
unsigned dw_bytes_get_byte(dw_reader_t *rd);
uint64_t dw_bytes_get_varint(dw_reader_t *rd);
double dw_bytes_get_value(dw_reader_t *rd);

/* A count of things that each take at least a byte, at most max: never
 * more than what is left, so a damaged count cannot make a huge
 * allocation. */
size_t dw_bytes_get_count(dw_reader_t *rd, size_t max);

/* A text of 1..DW_BYTES_MAX_TEXT bytes without NUL, malloc'ed (the
 * caller frees); NULL when bad, or out of memory (then *oom is set). */
char *dw_bytes_get_text(dw_reader_t *rd, bool *oom);

#endif
