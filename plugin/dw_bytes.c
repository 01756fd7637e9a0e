/* dw_bytes.c - a compact, checked byte codec (see dw_bytes.h). */
#include "dw_bytes.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- writing -------------------------------------------------------------- */

static int bytes_room(dw_bytes_t *b, size_t more) {
  if (b->cap - b->len >= more)
    return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more)
    cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (p == NULL)
    return -ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int dw_bytes_put(dw_bytes_t *b, const void *p, size_t n) {
  if (bytes_room(b, n) != 0)
    return -ENOMEM;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int dw_bytes_put_byte(dw_bytes_t *b, unsigned v) {
  unsigned char c = (unsigned char)v;
  return dw_bytes_put(b, &c, 1);
}

int dw_bytes_put_varint(dw_bytes_t *b, uint64_t v) {
  unsigned char out[10];
  size_t n = 0;
  do {
    out[n] = (unsigned char)(v & 0x7f);
    v >>= 7;
    out[n++] |= v ? 0x80 : 0;
  } while (v);
  return dw_bytes_put(b, out, n);
}

uint64_t dw_bytes_zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t dw_bytes_unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int dw_bytes_put_svarint(dw_bytes_t *b, int64_t v) {
  return dw_bytes_put_varint(b, dw_bytes_zigzag(v));
}

int dw_bytes_put_le(dw_bytes_t *b, uint64_t v, size_t n) {
  unsigned char out[8];
  for (size_t i = 0; i < n; i++)
    out[i] = (unsigned char)(v >> (8 * i));
  return dw_bytes_put(b, out, n);
}

int dw_bytes_put_text(dw_bytes_t *b, const char *s) {
  size_t n = strlen(s);
  return dw_bytes_put_varint(b, n) || dw_bytes_put(b, s, n) ? -ENOMEM : 0;
}

/* v * 1000 as an integer when that is exact, as for "27.01". */
static bool bytes_value_millis(double v, int64_t *k) {
  if (!isfinite(v) || fabs(v) >= 4.0e12)
    return false;
  *k = llround(v * 1000.0);
  return (double)*k / 1000.0 == v;
}

int dw_bytes_put_value(dw_bytes_t *b, double v) {
  int64_t k;
  if (bytes_value_millis(v, &k))
    return dw_bytes_put_varint(b, dw_bytes_zigzag(k) << 1);
  uint64_t bits;
  memcpy(&bits, &v, sizeof(bits));
  return dw_bytes_put_varint(b, 1) || dw_bytes_put_le(b, bits, 8) ? -ENOMEM : 0;
}

void dw_bytes_free(dw_bytes_t *b) {
  if (b == NULL)
    return;
  free(b->data);
  *b = (dw_bytes_t){0};
}

/* --- reading -------------------------------------------------------------- */

int dw_bytes_fail(dw_reader_t *rd, const char *why) {
  if (rd->why == NULL)
    rd->why = why;
  rd->p = rd->end;
  return -EINVAL;
}

uint64_t dw_bytes_get_varint(dw_reader_t *rd) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (rd->p >= rd->end) {
      dw_bytes_fail(rd, "it ends in the middle of a number");
      return 0;
    }
    unsigned char c = *rd->p++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80))
      return v;
  }
  {
    dw_bytes_fail(rd, "a number is too long");
    return 0;
  }
}

/* A count of things that each take at least one byte: never more than
 * what is left, so a damaged count cannot make a huge allocation. */
size_t dw_bytes_get_count(dw_reader_t *rd, size_t max) {
  uint64_t n = dw_bytes_get_varint(rd);
  if (n > max || n > (uint64_t)(rd->end - rd->p)) {
    dw_bytes_fail(rd, "a count is out of range");
    return 0;
  }
  return (size_t)n;
}

uint64_t dw_bytes_get_le(dw_reader_t *rd, size_t n) {
  if ((size_t)(rd->end - rd->p) < n) {
    dw_bytes_fail(rd, "it ends early");
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t)rd->p[i] << (8 * i);
  rd->p += n;
  return v;
}

unsigned dw_bytes_get_byte(dw_reader_t *rd) {
  return (unsigned)dw_bytes_get_le(rd, 1);
}

/* A string of 1..DW_BYTES_MAX_TEXT bytes without NUL, malloc'ed; NULL when
 * bad or out of memory (*oom set). */
char *dw_bytes_get_text(dw_reader_t *rd, bool *oom) {
  size_t n = dw_bytes_get_count(rd, DW_BYTES_MAX_TEXT);
  if (rd->why != NULL)
    return NULL;
  if (n == 0 || memchr(rd->p, '\0', n) != NULL) {
    dw_bytes_fail(rd, "a name is empty or holds a NUL");
    return NULL;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    *oom = true;
    {
      dw_bytes_fail(rd, "out of memory");
      return NULL;
    }
  }
  memcpy(s, rd->p, n);
  s[n] = '\0';
  rd->p += n;
  return s;
}

double dw_bytes_get_value(dw_reader_t *rd) {
  uint64_t tag = dw_bytes_get_varint(rd);
  if (tag == 1) {
    uint64_t bits = dw_bytes_get_le(rd, 8);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
  }
  if (tag & 1) {
    dw_bytes_fail(rd, "a value has an unknown form");
    return 0;
  }
  return (double)dw_bytes_unzigzag(tag >> 1) / 1000.0;
}
