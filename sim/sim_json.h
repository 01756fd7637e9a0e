/* sim_json.h - a capped byte buffer and a JSON writer that can misbehave.
 *
 * The simulator builds every body through sim_jw_*, so one switch in the
 * writer turns any resource into its faulty twin: numbers as strings,
 * numbers as nulls, an empty root, unknown members in every object, a
 * huge padding member or a deeply nested member in the first object.
 * Errors are sticky in the buffer: after the first failed append every
 * append is a no-op and sim_buf_t.err says why. No I/O, no globals. */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_buf {
  char *data; /* NUL-terminated while err == 0 */
  size_t len; /* bytes, without the NUL */
  size_t cap; /* allocated bytes */
  size_t max; /* len never grows past this */
  int err;    /* 0, -ENOMEM or -E2BIG (sticky) */
} sim_buf_t;

/* An empty buffer that will hold at most max bytes. */
void sim_buf_init(sim_buf_t *b, size_t max);

/* Frees the bytes and empties the buffer; accepts NULL. */
void sim_buf_free(sim_buf_t *b);

/* Appends n bytes (no-op after an error). */
void sim_buf_append(sim_buf_t *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
void sim_buf_puts(sim_buf_t *b, const char *s);

/* Appends n copies of c. */
void sim_buf_fill(sim_buf_t *b, char c, size_t n);

/* Appends printf-formatted text. */
__attribute__((format(printf, 2, 3))) void sim_buf_printf(sim_buf_t *b,
                                                          const char *fmt, ...);

/* Hands the bytes to the caller (who frees them) and empties the buffer;
 * NULL when the buffer failed. *len receives the length. */
char *sim_buf_steal(sim_buf_t *b, size_t *len);

/* Writer flags, one per fault that reshapes a body. */
enum {
  SIM_JW_WRONG_TYPES = 1 << 0, /* every number as a JSON string */
  SIM_JW_NULLS = 1 << 1,       /* every number as null */
  SIM_JW_EXTRA = 1 << 2,       /* unknown nested members in every object */
  SIM_JW_EMPTY = 1 << 3,       /* root written as {} or [] and nothing else */
  SIM_JW_PAD = 1 << 4,         /* padding member in the first object */
  SIM_JW_DEEP = 1 << 5         /* deeply nested member in the first object */
};

#define SIM_JW_MAX_DEPTH 32

typedef struct sim_jw {
  sim_buf_t *out;
  unsigned flags;
  size_t pad_bytes;         /* SIM_JW_PAD: length of the padding string */
  unsigned long deep_depth; /* SIM_JW_DEEP: arrays nested in the member */
  bool injected;            /* padding/deep member already written */
  bool muted;               /* SIM_JW_EMPTY: root written, ignore the rest */
  bool after_key;           /* the next value completes a member */
  unsigned depth;
  bool comma[SIM_JW_MAX_DEPTH + 1]; /* a value precedes at this depth */
} sim_jw_t;

/* A writer appending to out with the given SIM_JW_* flags. */
void sim_jw_init(sim_jw_t *w, sim_buf_t *out, unsigned flags);

void sim_jw_obj_begin(sim_jw_t *w);
void sim_jw_obj_end(sim_jw_t *w);
void sim_jw_arr_begin(sim_jw_t *w);
void sim_jw_arr_end(sim_jw_t *w);

/* The name of the next member of the current object. */
void sim_jw_key(sim_jw_t *w, const char *key);

/* A number with at most two decimals ("29.63", "20", "253900"). */
void sim_jw_number(sim_jw_t *w, double v);

/* A string, escaped as JSON requires (UTF-8 passes through). */
void sim_jw_string(sim_jw_t *w, const char *s);

void sim_jw_null(sim_jw_t *w);

/* Formats v as sim_jw_number does into out (at least 32 bytes). */
void sim_json_format_number(char *out, size_t out_size, double v);

#endif
