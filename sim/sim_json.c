/* sim_json.c - capped buffer and fault-aware JSON writer. */
#include "sim_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_buf_init(sim_buf_t *b, size_t max) {
  memset(b, 0, sizeof(*b));
  b->max = max;
}

void sim_buf_free(sim_buf_t *b) {
  if (b == NULL)
    return;
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

/* Makes room for n more bytes plus the NUL; sets the sticky error. */
static bool buf_reserve(sim_buf_t *b, size_t n) {
  if (b->err != 0)
    return false;
  if (n > b->max || b->len > b->max - n) {
    b->err = -E2BIG;
    return false;
  }
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) {
    b->err = -ENOMEM;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void sim_buf_append(sim_buf_t *b, const void *p, size_t n) {
  if (!buf_reserve(b, n))
    return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sim_buf_puts(sim_buf_t *b, const char *s) {
  sim_buf_append(b, s, strlen(s));
}

void sim_buf_fill(sim_buf_t *b, char c, size_t n) {
  if (!buf_reserve(b, n))
    return;
  memset(b->data + b->len, c, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sim_buf_printf(sim_buf_t *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    if (b->err == 0)
      b->err = -EINVAL;
    return;
  }
  if ((size_t)n < sizeof(small)) {
    sim_buf_append(b, small, (size_t)n);
    return;
  }
  if (!buf_reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

char *sim_buf_steal(sim_buf_t *b, size_t *len) {
  if (b->data == NULL)
    (void)buf_reserve(b, 0); /* an empty body is still a string */
  if (b->err != 0) {
    sim_buf_free(b);
    return NULL;
  }
  char *p = b->data;
  *len = b->len;
  p[b->len] = '\0';
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}

void sim_json_format_number(char *out, size_t out_size, double v) {
  int n = snprintf(out, out_size, "%.2f", v);
  if (n <= 0 || (size_t)n >= out_size) {
    snprintf(out, out_size, "0");
    return;
  }
  /* Trailing zeros carry no information and the published samples show
   * none ("20", "101.9"), so a client must read both forms anyway. */
  char *dot = strchr(out, '.');
  if (dot != NULL) {
    char *end = out + n - 1;
    while (end > dot && *end == '0')
      *end-- = '\0';
    if (end == dot)
      *end = '\0';
  }
  if (strcmp(out, "-0") == 0)
    snprintf(out, out_size, "0");
}

void sim_jw_init(sim_jw_t *w, sim_buf_t *out, unsigned flags) {
  memset(w, 0, sizeof(*w));
  w->out = out;
  w->flags = flags;
}

/* Writes the separator a new value needs; false while muted. */
static bool jw_value_start(sim_jw_t *w) {
  if (w->muted)
    return false;
  if (w->after_key) {
    w->after_key = false;
    return true;
  }
  if (w->comma[w->depth])
    sim_buf_puts(w->out, ",");
  w->comma[w->depth] = true;
  return true;
}

static void jw_escaped(sim_buf_t *b, const char *s) {
  sim_buf_puts(b, "\"");
  const char *run = s;
  for (const char *p = s; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    sim_buf_append(b, run, (size_t)(p - run));
    run = p + 1;
    switch (c) {
    case '"':
      sim_buf_puts(b, "\\\"");
      break;
    case '\\':
      sim_buf_puts(b, "\\\\");
      break;
    case '\n':
      sim_buf_puts(b, "\\n");
      break;
    case '\t':
      sim_buf_puts(b, "\\t");
      break;
    case '\r':
      sim_buf_puts(b, "\\r");
      break;
    default:
      sim_buf_printf(b, "\\u%04x", c);
      break;
    }
  }
  sim_buf_puts(b, run);
  sim_buf_puts(b, "\"");
}

/* Writes a member whose value is raw JSON text, bypassing the flags so
 * injected members never recurse into more injections. */
static void jw_raw_member(sim_jw_t *w, const char *key, const char *raw) {
  sim_jw_key(w, key);
  w->after_key = false;
  sim_buf_puts(w->out, raw);
}

static void jw_inject(sim_jw_t *w) {
  w->injected = true;
  if (w->flags & SIM_JW_PAD) {
    sim_jw_key(w, "x-sim-padding");
    w->after_key = false;
    sim_buf_puts(w->out, "\"");
    sim_buf_fill(w->out, 'x', w->pad_bytes);
    sim_buf_puts(w->out, "\"");
  }
  if (w->flags & SIM_JW_DEEP) {
    sim_jw_key(w, "x-sim-deep");
    w->after_key = false;
    sim_buf_fill(w->out, '[', w->deep_depth);
    sim_buf_fill(w->out, ']', w->deep_depth);
  }
}

/* Opens an object or array; "open" is "{" or "[". */
static void jw_open(sim_jw_t *w, const char *open, const char *empty) {
  if (!jw_value_start(w))
    return;
  if ((w->flags & SIM_JW_EMPTY) && w->depth == 0) {
    sim_buf_puts(w->out, empty);
    w->muted = true;
    return;
  }
  if (w->depth >= SIM_JW_MAX_DEPTH) {
    if (w->out->err == 0)
      w->out->err = -E2BIG;
    w->muted = true;
    return;
  }
  sim_buf_puts(w->out, open);
  w->depth++;
  w->comma[w->depth] = false;
}

static void jw_close(sim_jw_t *w, const char *close) {
  if (w->muted || w->depth == 0)
    return;
  sim_buf_puts(w->out, close);
  w->depth--;
}

void sim_jw_obj_begin(sim_jw_t *w) {
  jw_open(w, "{", "{}");
  if (w->muted)
    return;
  if (w->flags & SIM_JW_EXTRA)
    jw_raw_member(w, "x-sim-extra",
                  "{\"note\":\"unknown member\",\"nested\":{\"list\":[1,2.5,"
                  "\"three\",null,true,false,{\"inner\":[]}]}}");
  if ((w->flags & (SIM_JW_PAD | SIM_JW_DEEP)) && !w->injected)
    jw_inject(w);
}

void sim_jw_obj_end(sim_jw_t *w) {
  if (!w->muted && (w->flags & SIM_JW_EXTRA))
    jw_raw_member(w, "zz-sim-extra", "[{\"value\":\"not this one\"},[]]");
  jw_close(w, "}");
}

void sim_jw_arr_begin(sim_jw_t *w) { jw_open(w, "[", "[]"); }

void sim_jw_arr_end(sim_jw_t *w) { jw_close(w, "]"); }

void sim_jw_key(sim_jw_t *w, const char *key) {
  if (w->muted)
    return;
  if (w->comma[w->depth])
    sim_buf_puts(w->out, ",");
  w->comma[w->depth] = true;
  jw_escaped(w->out, key);
  sim_buf_puts(w->out, ":");
  w->after_key = true;
}

void sim_jw_number(sim_jw_t *w, double v) {
  if (!jw_value_start(w))
    return;
  if (w->flags & SIM_JW_NULLS) {
    sim_buf_puts(w->out, "null");
    return;
  }
  char text[64];
  sim_json_format_number(text, sizeof(text), v);
  if (w->flags & SIM_JW_WRONG_TYPES)
    sim_buf_printf(w->out, "\"%s\"", text);
  else
    sim_buf_puts(w->out, text);
}

void sim_jw_string(sim_jw_t *w, const char *s) {
  if (jw_value_start(w))
    jw_escaped(w->out, s);
}

void sim_jw_null(sim_jw_t *w) {
  if (jw_value_start(w))
    sim_buf_puts(w->out, "null");
}
