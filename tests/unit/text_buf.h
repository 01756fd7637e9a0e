/* text_buf.h - a growable text buffer for tests that print what they got.
 * Implemented in stand_in.c, which every unit test links; the caller
 * frees t->data. */
#ifndef TEXT_BUF_H
#define TEXT_BUF_H

#include <stddef.h>

typedef struct text {
  char *data;
  size_t len;
  size_t cap;
} text_t;

/* Appends len bytes of s (fails the running test on ENOMEM). */
void text_append(text_t *t, const char *s, size_t len);
void text_puts(text_t *t, const char *s);
void text_repeat(text_t *t, const char *s, size_t times);
/* The text so far, "" when nothing was added. */
const char *text_str(const text_t *t);

#endif
