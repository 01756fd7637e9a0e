/* dw_json.c - a bounded JSON tree built by yajl 2's push parser.
 *
 * yajl calls back once per value; each callback checks the limits before it
 * allocates, so a hostile document is stopped at the first value that would
 * cross one. The finished tree lives in an arena (a list of blocks freed at
 * once by destroy). While a container is open its children collect in a
 * growable vector on the parser's stack; when it closes they are copied
 * into the arena at their exact size and the vector is freed.
 *
 * yajl itself buffers a token that spans two chunks; the transport's body
 * size cap bounds that buffer, the limits here bound everything after it. */
#include "dw_json.h"
#include "dw_name.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#define ARENA_BLOCK_BYTES 8192
#define NUMBER_STACK_BYTES 64
#define ERROR_BYTES 160
/* The UTF-8 byte order mark; bom_seen past BOM_LEN: the check is over. */
#define BOM ((const unsigned char *)"\xef\xbb\xbf")
#define BOM_LEN 3

const dw_json_limits_t dw_json_default_limits = {
    .max_depth = 32,
    .max_string_len = 1024,
    .max_entries = 4096,
    .max_nodes = 65536,
};

typedef struct arena_block {
  struct arena_block *next;
  size_t used;
  size_t cap;
  max_align_t data[];
} arena_block_t;

/* An open array or object and the children read so far. */
typedef struct frame {
  dw_json_t *node;
  dw_json_t **items;
  size_t len;
  size_t cap;
} frame_t;

struct dw_json_parser {
  dw_json_limits_t limits;
  yajl_handle yajl;
  locale_t c_locale; /* strtod must not follow the process's LC_NUMERIC */
  arena_block_t *arena;
  frame_t *stack;
  size_t depth;
  size_t stack_cap;
  size_t nodes;
  const dw_json_str_t *pending_key; /* the last key, until its value */
  size_t bom_seen; /* bytes of a leading byte order mark matched so far */
  dw_json_t *root;
  bool finished;
  int err;
  char errbuf[ERROR_BYTES];
};

/* Records the first error only: later ones are consequences of it. */
__attribute__((format(printf, 3, 4))) static int
fail(dw_json_parser_t *p, int err, const char *format, ...) {
  if (p->err != 0)
    return p->err;
  p->err = err;
  va_list ap;
  va_start(ap, format);
  vsnprintf(p->errbuf, sizeof(p->errbuf), format, ap);
  va_end(ap);
  return err;
}

static void *arena_alloc(dw_json_parser_t *p, size_t size) {
  size_t align = alignof(max_align_t);
  if (size > SIZE_MAX - align)
    return NULL;
  size = (size + align - 1) / align * align;
  arena_block_t *b = p->arena;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK_BYTES ? size : ARENA_BLOCK_BYTES;
    if (cap > SIZE_MAX - sizeof(*b))
      return NULL;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
      return NULL;
    b->next = p->arena;
    b->used = 0;
    b->cap = cap;
    p->arena = b;
  }
  void *mem = (unsigned char *)b->data + b->used;
  b->used += size;
  return mem;
}

static void arena_free(arena_block_t *b) {
  while (b != NULL) {
    arena_block_t *next = b->next;
    free(b);
    b = next;
  }
}

/* An arena copy of a string or key: at most max_string_len bytes of it
 * (and a NUL), the length and the hash of the whole. yajl hands a string
 * over in one piece, so the whole is hashed here, and a long one costs
 * the tree no more than the limit. */
static dw_json_str_t *copy_text(dw_json_parser_t *p, const unsigned char *text,
                                size_t len) {
  size_t keep = len < p->limits.max_string_len ? len : p->limits.max_string_len;
  dw_json_str_t *s = arena_alloc(p, sizeof(*s) + keep + 1);
  if (s == NULL) {
    fail(p, -ENOMEM, "out of memory");
    return NULL;
  }
  char *bytes = (char *)(s + 1);
  memcpy(bytes, text, keep);
  bytes[keep] = '\0';
  *s = (dw_json_str_t){.bytes = bytes,
                       .len = keep,
                       .whole_len = len,
                       .hash = dw_name_hash_n((const char *)text, len)};
  return s;
}

static size_t count_digits(const char *s, size_t from, size_t len) {
  size_t i = from;
  while (i < len && s[i] >= '0' && s[i] <= '9')
    i++;
  return i - from;
}

/* True when s[0..len) is a decimal number in the strict form of
 * dw_json_str_t's numeral. */
static bool is_numeral(const char *s, size_t len) {
  size_t i = len > 0 && (s[0] == '-' || s[0] == '+');
  size_t n = count_digits(s, i, len);
  if (n == 0)
    return false;
  i += n;
  if (i < len && s[i] == '.') {
    if ((n = count_digits(s, i + 1, len)) == 0)
      return false;
    i += 1 + n;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i += 1 + (i + 1 < len && (s[i + 1] == '-' || s[i + 1] == '+'));
    if ((n = count_digits(s, i, len)) == 0)
      return false;
    i += n;
  }
  return i == len;
}

static int frame_append(dw_json_parser_t *p, frame_t *f, dw_json_t *node) {
  if (f->len >= p->limits.max_entries)
    return fail(p, -E2BIG, "more than %zu entries in one %s",
                p->limits.max_entries, dw_json_type_name(f->node->type));
  if (f->len == f->cap) {
    size_t cap = f->cap == 0 ? 8 : f->cap * 2;
    if (cap > p->limits.max_entries)
      cap = p->limits.max_entries;
    dw_json_t **items = realloc(f->items, cap * sizeof(*items));
    if (items == NULL)
      return fail(p, -ENOMEM, "out of memory");
    f->items = items;
    f->cap = cap;
  }
  f->items[f->len++] = node;
  return 0;
}

/* A new node linked into the open container (or made the root), carrying
 * the pending key; NULL with the error set when a limit is crossed. */
static dw_json_t *add_node(dw_json_parser_t *p, dw_json_type_t type) {
  if (p->nodes >= p->limits.max_nodes) {
    fail(p, -E2BIG, "more than %zu values in the document",
         p->limits.max_nodes);
    return NULL;
  }
  dw_json_t *node = arena_alloc(p, sizeof(*node));
  if (node == NULL) {
    fail(p, -ENOMEM, "out of memory");
    return NULL;
  }
  memset(node, 0, sizeof(*node));
  node->type = type;
  node->key = p->pending_key;
  p->pending_key = NULL;
  p->nodes++;
  if (p->depth == 0)
    p->root = node;
  else if (frame_append(p, &p->stack[p->depth - 1], node) != 0)
    return NULL;
  return node;
}

static int on_null(void *ctx) { return add_node(ctx, DW_JSON_NULL) != NULL; }

static int on_boolean(void *ctx, int value) {
  dw_json_t *node = add_node(ctx, DW_JSON_BOOL);
  if (node == NULL)
    return 0;
  node->u.boolean = value != 0;
  return 1;
}

/* The value of number text in the C locale (strtod_l): infinite when it
 * is out of the range of a double; 0 with the error set on ENOMEM. */
static int read_number(dw_json_parser_t *p, const char *text, size_t len,
                       double *out) {
  char small[NUMBER_STACK_BYTES];
  char *copy = len < sizeof(small) ? small : malloc(len + 1);
  if (copy == NULL)
    return fail(p, -ENOMEM, "out of memory");
  memcpy(copy, text, len);
  copy[len] = '\0';
  *out = strtod_l(copy, NULL, p->c_locale);
  if (copy != small)
    free(copy);
  return 0;
}

/* yajl hands numbers over as text. One out of the range of a double is
 * kept (infinite) for the reader to judge: it is one bad value, not a
 * broken document. */
static int on_number(void *ctx, const char *text, size_t len) {
  dw_json_parser_t *p = ctx;
  if (len > p->limits.max_string_len) {
    fail(p, -E2BIG, "number longer than %zu bytes", p->limits.max_string_len);
    return 0;
  }
  double value;
  if (read_number(p, text, len, &value) != 0)
    return 0;
  dw_json_t *node = add_node(p, DW_JSON_NUMBER);
  if (node == NULL)
    return 0;
  node->u.number = value;
  return 1;
}

static int on_string(void *ctx, const unsigned char *text, size_t len) {
  dw_json_parser_t *p = ctx;
  dw_json_str_t *copy = copy_text(p, text, len);
  if (copy == NULL)
    return 0;
  if (copy->len == len && is_numeral(copy->bytes, len)) {
    if (read_number(p, copy->bytes, len, &copy->number) != 0)
      return 0;
    copy->numeral = true;
  }
  dw_json_t *node = add_node(p, DW_JSON_STRING);
  if (node == NULL)
    return 0;
  node->u.string = copy;
  return 1;
}

static int on_key(void *ctx, const unsigned char *text, size_t len) {
  dw_json_parser_t *p = ctx;
  p->pending_key = copy_text(p, text, len);
  return p->pending_key != NULL;
}

static int open_container(dw_json_parser_t *p, dw_json_type_t type) {
  if (p->depth >= p->limits.max_depth) {
    fail(p, -E2BIG, "nesting deeper than %zu", p->limits.max_depth);
    return 0;
  }
  if (p->depth == p->stack_cap) {
    size_t cap = p->stack_cap == 0 ? 8 : p->stack_cap * 2;
    frame_t *stack = realloc(p->stack, cap * sizeof(*stack));
    if (stack == NULL) {
      fail(p, -ENOMEM, "out of memory");
      return 0;
    }
    p->stack = stack;
    p->stack_cap = cap;
  }
  dw_json_t *node = add_node(p, type);
  if (node == NULL)
    return 0;
  p->stack[p->depth++] = (frame_t){.node = node};
  return 1;
}

/* Moves the children of the innermost container into the arena. */
static int close_container(void *ctx) {
  dw_json_parser_t *p = ctx;
  frame_t *f = &p->stack[p->depth - 1];
  dw_json_t **items = NULL;
  if (f->len > 0) {
    items = arena_alloc(p, f->len * sizeof(*items));
    if (items == NULL) {
      fail(p, -ENOMEM, "out of memory");
      return 0;
    }
    memcpy(items, f->items, f->len * sizeof(*items));
  }
  f->node->u.children.items = items;
  f->node->u.children.len = f->len;
  free(f->items);
  p->depth--;
  return 1;
}

static int on_start_map(void *ctx) {
  return open_container(ctx, DW_JSON_OBJECT);
}

static int on_start_array(void *ctx) {
  return open_container(ctx, DW_JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = close_container,
    .yajl_start_array = on_start_array,
    .yajl_end_array = close_container,
};

dw_json_parser_t *dw_json_parser_create(const dw_json_limits_t *limits) {
  dw_json_parser_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->limits = limits != NULL ? *limits : dw_json_default_limits;
  p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (p->c_locale == (locale_t)0)
    goto fail;
  p->yajl = yajl_alloc(&callbacks, NULL, p);
  if (p->yajl == NULL)
    goto fail;
  /* Strings must be valid UTF-8; no comments, no partial or extra values:
   * all of these are yajl's defaults, restated so no one flips them. */
  if (!yajl_config(p->yajl, yajl_dont_validate_strings, 0) ||
      !yajl_config(p->yajl, yajl_allow_comments, 0))
    goto fail;
  return p;

fail:
  dw_json_parser_destroy(p);
  return NULL;
}

void dw_json_parser_destroy(dw_json_parser_t *p) {
  if (p == NULL)
    return;
  if (p->yajl != NULL)
    yajl_free(p->yajl);
  if (p->c_locale != (locale_t)0)
    freelocale(p->c_locale);
  for (size_t i = 0; i < p->depth; i++)
    free(p->stack[i].items);
  free(p->stack);
  arena_free(p->arena);
  free(p);
}

/* Turns yajl's error into ours. yajl's terse form (verbose 0) names the
 * problem without echoing the input; we drop its "parse error: " prefix. */
/* The message carries no byte offset: yajl's offset backs up by the length
 * of the failing token, which is wrong when the token began in an earlier
 * chunk, so it would differ with how the body happened to be split. */
static int syntax_error(dw_json_parser_t *p) {
  unsigned char *text = yajl_get_error(p->yajl, 0, NULL, 0);
  const char *reason = text != NULL ? (const char *)text : "invalid JSON";
  const char *colon = strstr(reason, ": ");
  if (colon != NULL)
    reason = colon + 2;
  size_t len = strcspn(reason, "\n");
  while (len > 0 && reason[len - 1] == '.')
    len--;
  fail(p, -EINVAL, "syntax error: %.*s", (int)len, reason);
  if (text != NULL)
    yajl_free_error(p->yajl, text);
  return p->err;
}

static int parse(dw_json_parser_t *p, const unsigned char *buf, size_t len) {
  yajl_status status = yajl_parse(p->yajl, buf, len);
  if (status == yajl_status_error)
    return syntax_error(p);
  if (status != yajl_status_ok) /* a callback cancelled, error already set */
    return fail(p, -EINVAL, "parse cancelled");
  return 0;
}

/* Ends the byte order mark check: a mark that stopped short is no mark,
 * and its bytes go to yajl like any other (which refuses them). */
static int bom_done(dw_json_parser_t *p) {
  size_t seen = p->bom_seen;
  p->bom_seen = BOM_LEN + 1;
  return seen > 0 && seen <= BOM_LEN ? parse(p, BOM, seen) : 0;
}

/* Skips a UTF-8 byte order mark at the very start, whatever the chunks
 * it arrives in; returns how many bytes of buf it took. */
static size_t skip_bom(dw_json_parser_t *p, const unsigned char *buf,
                       size_t len, int *rc) {
  size_t i = 0;
  while (p->bom_seen < BOM_LEN && i < len && buf[i] == BOM[p->bom_seen]) {
    p->bom_seen++;
    i++;
  }
  if (p->bom_seen == BOM_LEN)
    p->bom_seen = BOM_LEN + 1; /* the whole mark: skipped */
  else if (i < len)
    *rc = bom_done(p);
  return i;
}

int dw_json_parser_feed(dw_json_parser_t *p, const void *buf, size_t len) {
  if (p->err != 0)
    return p->err;
  if (p->finished)
    return fail(p, -EINVAL, "input after the end of the document");
  int rc = 0;
  size_t skipped = p->bom_seen <= BOM_LEN ? skip_bom(p, buf, len, &rc) : 0;
  if (rc != 0 || skipped == len)
    return rc;
  return parse(p, (const unsigned char *)buf + skipped, len - skipped);
}

int dw_json_parser_finish(dw_json_parser_t *p) {
  if (p->err != 0 || p->finished)
    return p->err;
  if (p->bom_seen <= BOM_LEN && bom_done(p) != 0)
    return p->err;
  yajl_status status = yajl_complete_parse(p->yajl);
  if (status == yajl_status_error)
    return syntax_error(p);
  if (status != yajl_status_ok)
    return fail(p, -EINVAL, "parse cancelled");
  if (p->root == NULL || p->depth != 0) /* yajl guarantees; be sure */
    return fail(p, -EINVAL, "syntax error: premature EOF");
  p->finished = true;
  return 0;
}

const dw_json_t *dw_json_parser_root(const dw_json_parser_t *p) {
  if (p == NULL || p->err != 0 || !p->finished)
    return NULL;
  return p->root;
}

const char *dw_json_parser_error(const dw_json_parser_t *p) {
  if (p == NULL || p->err == 0)
    return NULL;
  return p->errbuf;
}

const dw_json_t *dw_json_get(const dw_json_t *object, const char *key) {
  if (object == NULL || object->type != DW_JSON_OBJECT)
    return NULL;
  for (size_t i = object->u.children.len; i > 0; i--) {
    const dw_json_t *member = object->u.children.items[i - 1];
    if (dw_json_str_is(member->key, key))
      return member;
  }
  return NULL;
}

bool dw_json_str_plain(const dw_json_str_t *s) {
  return s->len == s->whole_len && memchr(s->bytes, '\0', s->len) == NULL;
}

bool dw_json_str_is(const dw_json_str_t *s, const char *text) {
  return dw_json_str_plain(s) && strcmp(s->bytes, text) == 0;
}

bool dw_json_str_equal(const dw_json_str_t *a, const dw_json_str_t *b) {
  return a->len == b->len && a->whole_len == b->whole_len &&
         a->hash == b->hash && memcmp(a->bytes, b->bytes, a->len) == 0;
}

const char *dw_json_type_name(dw_json_type_t type) {
  switch (type) {
  case DW_JSON_NULL:
    return "null";
  case DW_JSON_BOOL:
    return "boolean";
  case DW_JSON_NUMBER:
    return "number";
  case DW_JSON_STRING:
    return "string";
  case DW_JSON_ARRAY:
    return "array";
  case DW_JSON_OBJECT:
    return "object";
  }
  return "unknown";
}
