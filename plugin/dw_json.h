/* dw_json.h - a bounded JSON document built from bytes fed in chunks.
 * Owns: the tree of one document and its limits. May call: yajl (the only
 * room that does), dw_name (the hash of a string).
 *
 * yajl's push parser feeds a small tree. Every dimension an attacker could
 * inflate is capped by dw_json_limits_t, so a document costs at most a
 * known amount of memory whatever arrives. No I/O, no globals. Errors are
 * sticky: after the first failure every call returns the same error and
 * dw_json_parser_error() says what went wrong (never quoting the input).
 *
 * The tree says what the document held and leaves judging it to the
 * reader: a string may hold NUL bytes, a string longer than the limit is
 * kept cut (with the length and hash of the whole), a number out of the
 * range of a double is infinite. What fails the document is what makes it
 * no JSON or crosses a limit that costs memory. A UTF-8 byte order mark
 * before the document is skipped (RFC 8259, section 8.1). */
#ifndef DW_JSON_H
#define DW_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dw_json_limits {
  size_t max_depth;      /* nesting of arrays and objects */
  size_t max_string_len; /* bytes in one string or key */
  size_t max_entries;    /* members of one array or object */
  size_t max_nodes;      /* values in the whole document */
} dw_json_limits_t;

/* Defaults generous for any Digiwatt response: 32, 1024, 4096, 65536. */
extern const dw_json_limits_t dw_json_default_limits;

typedef enum dw_json_type {
  DW_JSON_NULL,
  DW_JSON_BOOL,
  DW_JSON_NUMBER,
  DW_JSON_STRING,
  DW_JSON_ARRAY,
  DW_JSON_OBJECT
} dw_json_type_t;

/* A string or a key. One longer than max_string_len is cut there rather
 * than refused: its first bytes are kept, and whole_len and hash describe
 * all of it, so a name is still told apart from every other. A string is a
 * numeral when all of it is a decimal number: an optional sign, digits, an
 * optional fraction (a dot and digits), an optional exponent (e or E, an
 * optional sign, digits); no space, hex, "inf" or "nan". Keys never are. */
typedef struct dw_json_str {
  const char *bytes; /* len bytes, then a NUL; NUL bytes may occur within */
  size_t len;        /* bytes kept: at most max_string_len */
  size_t whole_len;  /* bytes in the document: more than len when cut */
  unsigned hash;     /* dw_name_hash_n() of all whole_len bytes */
  bool numeral;      /* a string, not cut, that is all a number (below) */
  double number;     /* when numeral: its value (infinite out of range) */
} dw_json_str_t;

typedef struct dw_json dw_json_t;
struct dw_json {
  dw_json_type_t type;
  const dw_json_str_t *key; /* member name when the parent is an object */
  union {
    bool boolean;
    double number; /* finite, or infinite when out of the range of a double */
    const dw_json_str_t *string;
    struct {
      dw_json_t **items;
      size_t len;
    } children; /* arrays and objects, in document order */
  } u;
};

typedef struct dw_json_parser dw_json_parser_t;

/* A parser with the given limits (NULL: the defaults); NULL on ENOMEM.
 * The caller frees it with dw_json_parser_destroy(). */
dw_json_parser_t *dw_json_parser_create(const dw_json_limits_t *limits);

/* Frees the parser and the tree it built; accepts NULL. */
void dw_json_parser_destroy(dw_json_parser_t *p);

/* Feeds bytes; 0, -EINVAL on a syntax error, -E2BIG past a limit, -ENOMEM. */
__attribute__((warn_unused_result)) int
dw_json_parser_feed(dw_json_parser_t *p, const void *buf, size_t len);

/* Ends the input; 0 when one complete document was read, else as feed. */
__attribute__((warn_unused_result)) int
dw_json_parser_finish(dw_json_parser_t *p);

/* The root after a successful finish, else NULL; owned by the parser. */
const dw_json_t *dw_json_parser_root(const dw_json_parser_t *p);

/* A static or parser-owned message for the sticky error, or NULL. */
const char *dw_json_parser_error(const dw_json_parser_t *p);

/* The last member named key of an object, or NULL (also for non-objects). */
const dw_json_t *dw_json_get(const dw_json_t *object, const char *key);

/* True when s is exactly the C string text (whole, no NUL byte). */
bool dw_json_str_is(const dw_json_str_t *s, const char *text);

/* True when s can stand for itself as a C string: not cut, no NUL byte. */
bool dw_json_str_plain(const dw_json_str_t *s);

/* True when a and b hold the same text (for cut strings: the same kept
 * bytes, length and hash of the whole). */
bool dw_json_str_equal(const dw_json_str_t *a, const dw_json_str_t *b);

/* The name of a type, for error messages ("number", "object", ...). */
const char *dw_json_type_name(dw_json_type_t type);

#endif
