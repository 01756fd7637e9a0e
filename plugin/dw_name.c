/* dw_name.c - free text to identifier-safe names (see dw_name.h). */
#include "dw_name.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* collectd's identifier fields hold 128 bytes; a name shares its field with
 * a resource label and a period, so it stays well below half of that. */
#define NAME_MAX_LEN 63

/* "_h" and eight hex digits. */
#define SUFFIX_LEN 10

/* The dispatcher's twin of a month series: "<type_instance>-latest". */
#define RESERVED_SUFFIX "-latest"

static bool is_safe_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 32-bit FNV-1a of text[0..len), the hash behind the suffix. */
unsigned dw_name_hash_n(const char *text, size_t len) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < len; i++) {
    hash ^= (unsigned char)text[i];
    hash *= 16777619u;
  }
  return (unsigned)hash;
}

unsigned dw_name_hash(const char *text) {
  return dw_name_hash_n(text, strlen(text));
}

static bool is_lower_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* True when text ends the way a hashed name does ("_h" and eight
 * lower-case hex digits): kept as it is, it would be some other name's
 * hashed form. */
static bool looks_hashed(const char *text, size_t len) {
  if (len < SUFFIX_LEN)
    return false;
  const char *tail = text + len - SUFFIX_LEN;
  if (tail[0] != '_' || tail[1] != 'h')
    return false;
  for (size_t i = 2; i < SUFFIX_LEN; i++)
    if (!is_lower_hex((unsigned char)tail[i]))
      return false;
  return true;
}

/* True when text ends in what the dispatcher appends to a series' name
 * (its "-latest" twin): kept as it is, it would be that twin. */
static bool has_reserved_suffix(const char *text, size_t len) {
  size_t n = strlen(RESERVED_SUFFIX);
  return len >= n && memcmp(text + len - n, RESERVED_SUFFIX, n) == 0;
}

/* True when text can be used exactly as it is within limit bytes. */
static bool is_safe_as_is(const char *text, size_t len, size_t limit) {
  if (len == 0 || len > limit)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!is_safe_byte((unsigned char)text[i]))
      return false;
  }
  return !looks_hashed(text, len) && !has_reserved_suffix(text, len);
}

/* The hashed form: the first bytes of text, each unsafe one as '_', then
 * "_h" and hash in hex, within limit bytes (limit < out's size). */
static size_t write_hashed(char *out, size_t limit, const char *text,
                           size_t len, unsigned hash) {
  /* The prefix gives way to the suffix: the hash is what keeps two
   * different names apart, the prefix only helps a human read it. */
  size_t prefix_len = limit > SUFFIX_LEN ? limit - SUFFIX_LEN : 0;
  if (prefix_len > len)
    prefix_len = len;
  for (size_t i = 0; i < prefix_len; i++) {
    unsigned char c = (unsigned char)text[i];
    out[i] = is_safe_byte(c) ? (char)c : '_';
  }

  char suffix[SUFFIX_LEN + 1];
  snprintf(suffix, sizeof(suffix), "_h%08x", hash);
  /* Only an out_size below the documented minimum of 16 cuts the suffix. */
  size_t suffix_len =
      limit - prefix_len < SUFFIX_LEN ? limit - prefix_len : SUFFIX_LEN;
  memcpy(out + prefix_len, suffix, suffix_len);
  out[prefix_len + suffix_len] = '\0';
  return prefix_len + suffix_len;
}

/* The longest name out can hold, never more than NAME_MAX_LEN. */
static size_t name_limit(size_t out_size) {
  size_t limit = out_size - 1;
  return limit > NAME_MAX_LEN ? NAME_MAX_LEN : limit;
}

size_t dw_name_safe_n(char *out, size_t out_size, const char *text,
                      size_t len) {
  if (out == NULL || out_size == 0)
    return 0;
  if (text == NULL)
    text = "", len = 0;
  size_t limit = name_limit(out_size);
  if (is_safe_as_is(text, len, limit)) {
    memcpy(out, text, len);
    out[len] = '\0';
    return len;
  }
  return write_hashed(out, limit, text, len, dw_name_hash_n(text, len));
}

/* Writes the safe form of text into out and returns its length. */
size_t dw_name_safe(char *out, size_t out_size, const char *text) {
  return dw_name_safe_n(out, out_size, text, text != NULL ? strlen(text) : 0);
}

#define DIGEST_MARK '\xff'
#define DIGEST_HEX 8

const char *dw_name_digest(char out[DW_NAME_DIGEST_SIZE], const char *text,
                           size_t len, unsigned hash) {
  /* the hashed form never shows more of a name than this */
  size_t keep =
      len < NAME_MAX_LEN - SUFFIX_LEN ? len : NAME_MAX_LEN - SUFFIX_LEN;
  out[0] = DIGEST_MARK;
  snprintf(out + 1, DIGEST_HEX + 1, "%08x", hash);
  for (size_t i = 0; i < keep; i++) {
    unsigned char c = (unsigned char)text[i];
    out[1 + DIGEST_HEX + i] = is_safe_byte(c) ? (char)c : '_';
  }
  out[1 + DIGEST_HEX + keep] = '\0';
  return out;
}

/* The hash a digest carries; false when carried is no digest. */
static bool digest_hash(const char *carried, unsigned *hash) {
  if (carried[0] != DIGEST_MARK)
    return false;
  unsigned h = 0;
  for (size_t i = 1; i <= DIGEST_HEX; i++) {
    unsigned char c = (unsigned char)carried[i];
    if (!is_lower_hex(c))
      return false;
    h = h * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  *hash = h;
  return true;
}

size_t dw_name_safe_carried(char *out, size_t out_size, const char *carried) {
  unsigned hash;
  if (out == NULL || out_size == 0 || carried == NULL ||
      !digest_hash(carried, &hash))
    return dw_name_safe(out, out_size, carried);
  const char *prefix = carried + 1 + DIGEST_HEX;
  return write_hashed(out, name_limit(out_size), prefix, strlen(prefix), hash);
}

bool dw_name_is_safe(const char *text, size_t len) {
  if (len == 0 || len > DW_NAME_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_safe_byte((unsigned char)text[i]))
      return false;
  return true;
}

const char *dw_name_printable(char *out, size_t out_size, const char *text,
                              size_t len) {
  /* Each byte takes at most 4 ("\\xff"); cutting the input at a quarter of
   * the space (less "..." and the NUL) always fits, whatever the bytes. */
  size_t max_in = (out_size - 4) / 4, n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (i == max_in) {
      memcpy(out + n, "...", 3);
      n += 3;
      break;
    }
    if (c == '"' || c == '\\')
      n += (size_t)snprintf(out + n, 3, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
    else
      out[n++] = (char)c;
  }
  out[n] = '\0';
  return out;
}

const char *dw_name_shown(char out[DW_SHOWN_SIZE], const char *text) {
  return dw_name_printable(out, DW_SHOWN_SIZE, text, strlen(text));
}
