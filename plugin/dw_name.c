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

static bool is_safe_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 32-bit FNV-1a of text, the hash behind the suffix. */
unsigned dw_name_hash(const char *text) {
  uint32_t hash = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    hash ^= *p;
    hash *= 16777619u;
  }
  return (unsigned)hash;
}

/* True when text can be used exactly as it is within limit bytes. */
static bool is_safe_as_is(const char *text, size_t len, size_t limit) {
  if (len == 0 || len > limit)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!is_safe_byte((unsigned char)text[i]))
      return false;
  }
  return true;
}

/* Writes the safe form of text into out and returns its length. */
size_t dw_name_safe(char *out, size_t out_size, const char *text) {
  if (out == NULL || out_size == 0)
    return 0;
  if (text == NULL)
    text = "";

  size_t limit = out_size - 1;
  if (limit > NAME_MAX_LEN)
    limit = NAME_MAX_LEN;

  size_t len = strlen(text);
  if (is_safe_as_is(text, len, limit)) {
    memcpy(out, text, len);
    out[len] = '\0';
    return len;
  }

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
  snprintf(suffix, sizeof(suffix), "_h%08x", dw_name_hash(text));
  /* Only an out_size below the documented minimum of 16 cuts the suffix. */
  size_t suffix_len =
      limit - prefix_len < SUFFIX_LEN ? limit - prefix_len : SUFFIX_LEN;
  memcpy(out + prefix_len, suffix, suffix_len);
  out[prefix_len + suffix_len] = '\0';
  return prefix_len + suffix_len;
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
