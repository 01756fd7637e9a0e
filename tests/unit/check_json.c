/* check_json.c - the bounded JSON room.
 *
 * The main table gives a document, the limits to parse it with and either
 * the tree it must build (printed compactly, see dump()) or the error it
 * must fail with. Each row is parsed whole and with every chunk size from
 * 1 to 31 bytes, and every run must give the same answer. */
#include "dw_json.h"
#include "dw_name.h"

#include "run_suite.h"
#include "text_buf.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNK_BYTES 31

/* FNV-1a 32 of the whole strings that the tight limit cuts (from an
 * independent implementation). */
#define FNV_ABCDEF "ff478a2a"
#define FNV_EEAB "6e781262" /* "\u00e9\u00e9ab" as UTF-8 */
#define FNV_12345678 "0aa8abcd"

static void dump_number(text_t *t, double v);

/* A string in quotes; bytes outside printable ASCII, '"' and '\' as \xNN.
 * A cut one is followed by "+<whole length>#<hash>", a numeral by
 * "=<its value>". */
static void dump_string(text_t *t, const dw_json_str_t *s) {
  ck_assert_uint_le(s->len, s->whole_len);
  ck_assert_int_eq(s->bytes[s->len], '\0');
  text_puts(t, "\"");
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->bytes[i];
    char buf[8];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
      snprintf(buf, sizeof(buf), "\\x%02X", c);
    else
      snprintf(buf, sizeof(buf), "%c", c);
    text_puts(t, buf);
  }
  text_puts(t, "\"");
  if (s->len < s->whole_len) {
    char buf[64];
    snprintf(buf, sizeof(buf), "+%zu#%08x", s->whole_len, s->hash);
    text_puts(t, buf);
  } else {
    ck_assert_uint_eq(s->hash, dw_name_hash_n(s->bytes, s->len));
  }
  if (s->numeral) {
    text_puts(t, "=");
    dump_number(t, s->number);
  }
}

/* The shortest %g form that reads back as the same double; "inf" and
 * "-inf" for numbers out of the range of a double. */
static void dump_number(text_t *t, double v) {
  char buf[64];
  if (isinf(v)) {
    text_puts(t, v > 0 ? "inf" : "-inf");
    return;
  }
  for (int precision = 15; precision <= 17; precision++) {
    snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  text_puts(t, buf);
}

/* Compact JSON-like text of a tree; it also checks that keys are set
 * exactly on object members. */
static void dump(text_t *t, const dw_json_t *node, bool in_object) {
  if (in_object) {
    ck_assert_ptr_nonnull(node->key);
    dump_string(t, node->key);
    text_puts(t, ":");
  } else {
    ck_assert_ptr_null(node->key);
  }
  switch (node->type) {
  case DW_JSON_NULL:
    text_puts(t, "null");
    break;
  case DW_JSON_BOOL:
    text_puts(t, node->u.boolean ? "true" : "false");
    break;
  case DW_JSON_NUMBER:
    ck_assert(!isnan(node->u.number));
    dump_number(t, node->u.number);
    break;
  case DW_JSON_STRING:
    dump_string(t, node->u.string);
    break;
  case DW_JSON_ARRAY:
  case DW_JSON_OBJECT: {
    bool object = node->type == DW_JSON_OBJECT;
    text_puts(t, object ? "{" : "[");
    for (size_t i = 0; i < node->u.children.len; i++) {
      if (i > 0)
        text_puts(t, ",");
      dump(t, node->u.children.items[i], object);
    }
    text_puts(t, object ? "}" : "]");
    break;
  }
  }
}

typedef struct outcome {
  int rc;
  text_t out; /* the tree on success, the error message on failure */
} outcome_t;

/* Parses doc in chunks of chunk_bytes (0: all at once). */
static void parse(const char *doc, size_t len, const dw_json_limits_t *limits,
                  size_t chunk_bytes, outcome_t *o) {
  memset(o, 0, sizeof(*o));
  dw_json_parser_t *p = dw_json_parser_create(limits);
  ck_assert_ptr_nonnull(p);
  size_t step = chunk_bytes == 0 ? len : chunk_bytes;
  int rc = 0;
  for (size_t off = 0; off < len && rc == 0; off += step)
    rc = dw_json_parser_feed(p, doc + off, len - off < step ? len - off : step);
  if (rc == 0) {
    ck_assert_ptr_null(dw_json_parser_root(p));
    rc = dw_json_parser_finish(p);
  }
  o->rc = rc;
  if (rc == 0) {
    ck_assert_ptr_null(dw_json_parser_error(p));
    ck_assert_ptr_nonnull(dw_json_parser_root(p));
    dump(&o->out, dw_json_parser_root(p), false);
  } else {
    ck_assert_ptr_null(dw_json_parser_root(p));
    ck_assert_ptr_nonnull(dw_json_parser_error(p));
    text_puts(&o->out, dw_json_parser_error(p));
  }
  dw_json_parser_destroy(p);
}

/* Small limits, so that each one is easy to reach exactly. */
static const dw_json_limits_t tight = {
    .max_depth = 3, .max_string_len = 5, .max_entries = 3, .max_nodes = 8};

typedef struct json_case {
  const char *doc;
  size_t len; /* 0: strlen(doc) */
  const dw_json_limits_t *limits;
  int rc;
  const char *want; /* the dump on success, a part of the error otherwise */
} json_case_t;

static const json_case_t cases[] = {
    /* structure */
    {"{\"a\": {\"b\": [true, false, null]}, \"c\": \"d\"}", 0, NULL, 0,
     "{\"a\":{\"b\":[true,false,null]},\"c\":\"d\"}"},
    {"[]", 0, NULL, 0, "[]"},
    {"{}", 0, NULL, 0, "{}"},
    {" [ [ ] , { } ] ", 0, NULL, 0, "[[],{}]"},
    {"42", 0, NULL, 0, "42"},
    {"\"s\"", 0, NULL, 0, "\"s\""},
    {"true", 0, NULL, 0, "true"},
    {"null", 0, NULL, 0, "null"},
    {"\t\r\n {\"\": 1}\n", 0, NULL, 0, "{\"\":1}"},
    {"{\"a\": 1, \"a\": 2}", 0, NULL, 0, "{\"a\":1,\"a\":2}"},
    /* numbers */
    {"[0, -0, 1, -1, 17]", 0, NULL, 0, "[0,-0,1,-1,17]"},
    {"[123456789012345678901234567890, 9007199254740993]", 0, NULL, 0,
     "[1.2345678901234568e+29,9007199254740992]"},
    {"[1e3, 1E-3, -1.5e+2, 2.5E+0, 0.1, 73.61]", 0, NULL, 0,
     "[1000,0.001,-150,2.5,0.1,73.61]"},
    {"[1e308, -1.7976931348623157e308]", 0, NULL, 0,
     "[1e+308,-1.7976931348623157e+308]"},
    {"[1e-400]", 0, NULL, 0, "[0]"},
    /* out of the range of a double: one bad value, not a broken document */
    {"[1e999]", 0, NULL, 0, "[inf]"},
    {"[-1e999]", 0, NULL, 0, "[-inf]"},
    {"1.7976931348623159e308", 0, NULL, 0, "inf"},
    {"{\"v\": 1e400, \"w\": 2}", 0, NULL, 0, "{\"v\":inf,\"w\":2}"},
    /* numbers written as strings: numerals in the strict form only */
    {"[\"73.61\", \"-0.15\", \"+5\", \"1e3\", \"2.5E-1\", \"007\"]", 0, NULL, 0,
     "[\"73.61\"=73.61,\"-0.15\"=-0.15,\"+5\"=5,\"1e3\"=1000,\"2.5E-1\"=0.25,"
     "\"007\"=7]"},
    {"[\"1e400\", \"-1e400\"]", 0, NULL, 0, "[\"1e400\"=inf,\"-1e400\"=-inf]"},
    {"[\"\", \" 5\", \"5 \", \"0x10\", \"inf\", \"nan\", \"NaN\", \"1.\", "
     "\".5\", "
     "\"1e\", \"1e+\", \"--5\", \"+\", \"1,5\", \"5\\u0000\", \"\\u0661\"]",
     0, NULL, 0,
     "[\"\",\" 5\",\"5 "
     "\",\"0x10\",\"inf\",\"nan\",\"NaN\",\"1.\",\".5\",\"1e\","
     "\"1e+\",\"--5\",\"+\",\"1,5\",\"5\\x00\",\"\\xD9\\xA1\"]"},
    {"{\"5\": 1}", 0, NULL, 0, "{\"5\":1}"},
    /* strings */
    {"\"K\xc3\xbchl \xf0\x9f\x94\x8c\"", 0, NULL, 0,
     "\"K\\xC3\\xBChl \\xF0\\x9F\\x94\\x8C\""},
    {"\"\\ud83d\\udd0c \\u00e9 \\n\\t\\\"\\\\\\/\"", 0, NULL, 0,
     "\"\\xF0\\x9F\\x94\\x8C \\xC3\\xA9 \\x0A\\x09\\x22\\x5C/\""},
    /* a NUL is a byte of the string like any other */
    {"\"a\\u0000b\"", 0, NULL, 0, "\"a\\x00b\""},
    {"{\"a\\u0000\": 1, \"a\": 2}", 0, NULL, 0, "{\"a\\x00\":1,\"a\":2}"},
    {"\"a\0b\"", 5, NULL, -EINVAL, "syntax error"},
    {"\"canary\xff\"", 0, NULL, -EINVAL, "syntax error"},
    {"\"canary\xc3\x28\"", 0, NULL, -EINVAL, "syntax error"},
    {"\"canary\xe2\x82\"", 0, NULL, -EINVAL, "syntax error"},
    {"{\"\xfe\": 1}", 0, NULL, -EINVAL, "syntax error"},
    {"\"a\nb\"", 0, NULL, -EINVAL, "syntax error"},
    {"\"\\x41\"", 0, NULL, -EINVAL, "syntax error"},
    /* syntax */
    {"", 0, NULL, -EINVAL, "syntax error: premature EOF"},
    {"   \n", 0, NULL, -EINVAL, "syntax error: premature EOF"},
    {"{", 0, NULL, -EINVAL, "syntax error: premature EOF"},
    {"[1, 2", 0, NULL, -EINVAL, "premature EOF"},
    {"\"canary", 0, NULL, -EINVAL, "premature EOF"},
    {"{\"canary\": tru", 0, NULL, -EINVAL, "syntax error"},
    {"[1,]", 0, NULL, -EINVAL, "syntax error"},
    {"{\"a\",1}", 0, NULL, -EINVAL, "syntax error"},
    {"{\"a\" 1}", 0, NULL, -EINVAL, "syntax error"},
    {"{\"a\": 1,}", 0, NULL, -EINVAL, "syntax error"},
    {"{1: 2}", 0, NULL, -EINVAL, "syntax error"},
    {"{'a': 1}", 0, NULL, -EINVAL, "syntax error"},
    {"[1 2]", 0, NULL, -EINVAL, "syntax error"},
    {"[01]", 0, NULL, -EINVAL, "syntax error"},
    {"[NaN]", 0, NULL, -EINVAL, "syntax error"},
    {"[Infinity]", 0, NULL, -EINVAL, "syntax error"},
    {"[-]", 0, NULL, -EINVAL, "syntax error"},
    {"[1.]", 0, NULL, -EINVAL, "syntax error"},
    {"[.5]", 0, NULL, -EINVAL, "syntax error"},
    {"[1e]", 0, NULL, -EINVAL, "syntax error"},
    {"/* canary */ 1", 0, NULL, -EINVAL, "syntax error"},
    {"[1] // canary", 0, NULL, -EINVAL, "syntax error"},
    /* one UTF-8 byte order mark before the document, nothing else */
    {"\xef\xbb\xbf{}", 0, NULL, 0, "{}"},
    {"\xef\xbb\xbf [1]", 0, NULL, 0, "[1]"},
    {"\xef\xbb\xbf", 0, NULL, -EINVAL, "syntax error: premature EOF"},
    {"\xef\xbb\xbf\xef\xbb\xbf{}", 0, NULL, -EINVAL, "syntax error"},
    {" \xef\xbb\xbf{}", 0, NULL, -EINVAL, "syntax error"},
    {"\xef\xbb{}", 0, NULL, -EINVAL, "syntax error"},
    {"\xef{}", 0, NULL, -EINVAL, "syntax error"},
    {"\xef\xbb", 0, NULL, -EINVAL, "syntax error"},
    {"[\"\xef\xbb\xbf\"]", 0, NULL, 0, "[\"\\xEF\\xBB\\xBF\"]"},
    {"<html>canary</html>", 0, NULL, -EINVAL, "syntax error"},
    /* one document only */
    {"{} x", 0, NULL, -EINVAL, "syntax error: trailing garbage"},
    {"[] []", 0, NULL, -EINVAL, "trailing garbage"},
    {"1 2", 0, NULL, -EINVAL, "trailing garbage"},
    {"{\"a\":1}\n{\"a\":2}\n", 0, NULL, -EINVAL, "trailing garbage"},
    {"{}\n\n", 0, NULL, 0, "{}"},
    /* each limit just at and just past */
    {"[[[]]]", 0, &tight, 0, "[[[]]]"},
    {"[[[[]]]]", 0, &tight, -E2BIG, "nesting deeper than 3"},
    {"{\"a\": {\"b\": {}}}", 0, &tight, 0, "{\"a\":{\"b\":{}}}"},
    {"{\"a\": {\"b\": {\"c\": 1}}}", 0, &tight, 0, "{\"a\":{\"b\":{\"c\":1}}}"},
    {"{\"a\": {\"b\": {\"c\": []}}}", 0, &tight, -E2BIG,
     "nesting deeper than 3"},
    {"\"abcde\"", 0, &tight, 0, "\"abcde\""},
    /* a longer string is cut, with the length and hash of the whole */
    {"\"abcdef\"", 0, &tight, 0, "\"abcde\"+6#" FNV_ABCDEF},
    {"\"\\u00e9\\u00e9a\"", 0, &tight, 0, "\"\\xC3\\xA9\\xC3\\xA9a\""},
    {"\"\\u00e9\\u00e9ab\"", 0, &tight, 0,
     "\"\\xC3\\xA9\\xC3\\xA9a\"+6#" FNV_EEAB},
    {"\"12345678\"", 0, &tight, 0, "\"12345\"+8#" FNV_12345678},
    {"{\"abcde\": 1}", 0, &tight, 0, "{\"abcde\":1}"},
    {"{\"abcdef\": 1}", 0, &tight, 0, "{\"abcde\"+6#" FNV_ABCDEF ":1}"},
    {"[12345]", 0, &tight, 0, "[12345]"},
    {"[123456]", 0, &tight, -E2BIG, "number longer than 5 bytes"},
    {"[1, 2, 3]", 0, &tight, 0, "[1,2,3]"},
    {"[1, 2, 3, 4]", 0, &tight, -E2BIG, "more than 3 entries in one array"},
    {"{\"a\": 1, \"b\": 2, \"c\": 3}", 0, &tight, 0,
     "{\"a\":1,\"b\":2,\"c\":3}"},
    {"{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}", 0, &tight, -E2BIG,
     "more than 3 entries in one object"},
    {"[[1, 2], [3, 4], 5]", 0, &tight, 0, "[[1,2],[3,4],5]"},
    {"[[1, 2], [3, 4], [5]]", 0, &tight, -E2BIG,
     "more than 8 values in the document"},
    {"{\"a\": [null, null], \"b\": {\"c\": null, \"d\": null, \"e\": 1}}", 0,
     &tight, 0, "{\"a\":[null,null],\"b\":{\"c\":null,\"d\":null,\"e\":1}}"},
    {"{\"a\": [null, null, 0], \"b\": {\"c\": null, \"d\": null, \"e\": 1}}", 0,
     &tight, -E2BIG, "more than 8 values in the document"},
    /* the first error wins, later input is not read */
    {"[1, 2, 3, 4, \"abcdef\"", 0, &tight, -E2BIG, "more than 3 entries"},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

START_TEST(test_document) {
  const json_case_t *c = &cases[_i];
  size_t len = c->len != 0 ? c->len : strlen(c->doc);
  outcome_t whole;
  parse(c->doc, len, c->limits, 0, &whole);
  const char *got = whole.out.data;
  if (c->rc == 0) {
    ck_assert_msg(whole.rc == 0 && strcmp(got, c->want) == 0,
                  "case %d: rc %d, got %s, expected %s", _i, whole.rc, got,
                  c->want);
  } else {
    ck_assert_msg(whole.rc == c->rc && strstr(got, c->want) != NULL,
                  "case %d: rc %d (%s), expected %d (%s)", _i, whole.rc, got,
                  c->rc, c->want);
    /* Messages describe the problem; they never quote the input. */
    ck_assert_msg(strstr(got, "canary") == NULL, "case %d quotes: %s", _i, got);
  }
  for (size_t chunk = 1; chunk <= MAX_CHUNK_BYTES; chunk++) {
    outcome_t part;
    parse(c->doc, len, c->limits, chunk, &part);
    ck_assert_msg(part.rc == whole.rc && strcmp(part.out.data, got) == 0,
                  "case %d, chunks of %zu: rc %d (%s), whole gave %d (%s)", _i,
                  chunk, part.rc, part.out.data, whole.rc, got);
    free(part.out.data);
  }
  free(whole.out.data);
}
END_TEST

/* Documents around the default limits, built at run time. */
typedef enum big_kind {
  BIG_DEPTH,
  BIG_STRING,
  BIG_NUMBER,
  BIG_ENTRIES,
  BIG_NODES
} big_kind_t;

static void build(text_t *t, big_kind_t kind, size_t n) {
  switch (kind) {
  case BIG_DEPTH: /* n nested arrays */
    text_repeat(t, "[", n);
    text_repeat(t, "]", n);
    break;
  case BIG_STRING: /* a string of n bytes */
    text_puts(t, "[\"");
    text_repeat(t, "s", n);
    text_puts(t, "\"]");
    break;
  case BIG_NUMBER: /* a number written with n bytes: 0.000...1 */
    text_puts(t, "[0.");
    text_repeat(t, "0", n - 3);
    text_puts(t, "1]");
    break;
  case BIG_ENTRIES: /* an array of n entries */
    text_puts(t, "[0");
    text_repeat(t, ",0", n - 1);
    text_puts(t, "]");
    break;
  case BIG_NODES: /* 17 arrays of 3854 numbers (1 + 17 * 3855 = 65536
                   * values), plus n - 65536 more numbers in the last */
    text_puts(t, "[");
    for (int i = 0; i < 17; i++) {
      text_puts(t, i == 0 ? "[0" : ",[0");
      text_repeat(t, ",0", 3853 + (i == 16 ? n - 65536 : 0));
      text_puts(t, "]");
    }
    text_puts(t, "]");
    break;
  }
}

static const struct {
  big_kind_t kind;
  size_t n;
  int rc;
  const char *error;
} bigs[] = {
    {BIG_DEPTH, 32, 0, NULL},
    {BIG_DEPTH, 33, -E2BIG, "nesting deeper than 32"},
    {BIG_DEPTH, 1000, -E2BIG, "nesting deeper than 32"},
    {BIG_STRING, 1024, 0, NULL},
    {BIG_STRING, 1025, 0, NULL}, /* cut: see test_long_string_is_cut */
    {BIG_STRING, 60000, 0, NULL},
    {BIG_NUMBER, 1024, 0, NULL},
    {BIG_NUMBER, 1025, -E2BIG, "number longer than 1024 bytes"},
    {BIG_ENTRIES, 4096, 0, NULL},
    {BIG_ENTRIES, 4097, -E2BIG, "more than 4096 entries in one array"},
    {BIG_NODES, 65536, 0, NULL},
    {BIG_NODES, 65537, -E2BIG, "more than 65536 values in the document"},
};

START_TEST(test_default_limits) {
  text_t doc = {0};
  build(&doc, bigs[_i].kind, bigs[_i].n);
  outcome_t o;
  /* NULL and an explicit copy of the defaults must behave alike. */
  for (int explicit_limits = 0; explicit_limits < 2; explicit_limits++) {
    parse(doc.data, doc.len, explicit_limits ? &dw_json_default_limits : NULL,
          0, &o);
    ck_assert_msg(o.rc == bigs[_i].rc, "case %d: rc %d (%.80s)", _i, o.rc,
                  o.out.data);
    if (bigs[_i].error != NULL)
      ck_assert_str_eq(o.out.data, bigs[_i].error);
    free(o.out.data);
  }
  free(doc.data);
}
END_TEST

/* The heap in use (see check_decode.c on glibc's figure). */
static size_t heap_in_use(void) { return mallinfo2().uordblks; }

/* What a parsed document of one string of n bytes costs while its tree
 * lives, and that the string is kept cut with the whole described. */
static size_t string_cost(size_t n) {
  text_t doc = {0};
  build(&doc, BIG_STRING, n);
  size_t before = heap_in_use();
  dw_json_parser_t *p = dw_json_parser_create(NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(dw_json_parser_feed(p, doc.data, doc.len), 0);
  ck_assert_int_eq(dw_json_parser_finish(p), 0);
  size_t cost = heap_in_use() - before;
  const dw_json_str_t *s =
      dw_json_parser_root(p)->u.children.items[0]->u.string;
  ck_assert_uint_eq(s->len, n < 1024 ? n : 1024);
  ck_assert_uint_eq(s->whole_len, n);
  ck_assert_uint_eq(s->hash, dw_name_hash_n(doc.data + 2, n));
  ck_assert_uint_eq(strspn(s->bytes, "s"), s->len);
  dw_json_parser_destroy(p);
  free(doc.data);
  return cost;
}

/* A string past the limit no longer fails the document, and costs the
 * tree no more than one at the limit. */
START_TEST(test_long_string_is_cut) {
  for (int warm_up = 0; warm_up < 8; warm_up++)
    string_cost(1024), string_cost(60000);
  size_t at_limit = string_cost(1024);
  size_t past = string_cost(60000);
  ck_assert_msg(past <= at_limit + 256,
                "a 60000-byte string costs %zu bytes, "
                "one of 1024 %zu",
                past, at_limit);
}
END_TEST

START_TEST(test_default_limit_values) {
  ck_assert_uint_eq(dw_json_default_limits.max_depth, 32);
  ck_assert_uint_eq(dw_json_default_limits.max_string_len, 1024);
  ck_assert_uint_eq(dw_json_default_limits.max_entries, 4096);
  ck_assert_uint_eq(dw_json_default_limits.max_nodes, 65536);
}
END_TEST

static dw_json_parser_t *parsed(const char *doc) {
  dw_json_parser_t *p = dw_json_parser_create(NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(dw_json_parser_feed(p, doc, strlen(doc)), 0);
  ck_assert_int_eq(dw_json_parser_finish(p), 0);
  return p;
}

START_TEST(test_get) {
  dw_json_parser_t *p =
      parsed("{\"a\": 1, \"b\": [2], \"a\": 3, \"\": 4, \"n\": null}");
  const dw_json_t *root = dw_json_parser_root(p);
  ck_assert_int_eq(root->type, DW_JSON_OBJECT);
  ck_assert_uint_eq(root->u.children.len, 5);
  const dw_json_t *a = dw_json_get(root, "a");
  ck_assert_ptr_eq(a, root->u.children.items[2]);
  ck_assert_double_eq(a->u.number, 3);
  ck_assert_double_eq(dw_json_get(root, "")->u.number, 4);
  ck_assert_int_eq(dw_json_get(root, "n")->type, DW_JSON_NULL);
  ck_assert_ptr_null(dw_json_get(root, "c"));
  ck_assert_ptr_null(dw_json_get(root, "A"));
  const dw_json_t *b = dw_json_get(root, "b");
  ck_assert_int_eq(b->type, DW_JSON_ARRAY);
  ck_assert_ptr_null(dw_json_get(b, "b"));
  ck_assert_ptr_null(dw_json_get(b->u.children.items[0], "b"));
  ck_assert_ptr_null(dw_json_get(NULL, "a"));
  dw_json_parser_destroy(p);
}
END_TEST

START_TEST(test_errors_are_sticky) {
  dw_json_parser_t *p = dw_json_parser_create(NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_null(dw_json_parser_error(p));
  ck_assert_int_eq(dw_json_parser_feed(p, "{\"a\": ", 6), 0);
  ck_assert_int_eq(dw_json_parser_feed(p, "]", 1), -EINVAL);
  char first[256];
  snprintf(first, sizeof(first), "%s", dw_json_parser_error(p));
  ck_assert_ptr_nonnull(strstr(first, "syntax error"));
  /* Valid input afterwards changes nothing. */
  ck_assert_int_eq(dw_json_parser_feed(p, "1}", 2), -EINVAL);
  ck_assert_int_eq(dw_json_parser_finish(p), -EINVAL);
  ck_assert_int_eq(dw_json_parser_finish(p), -EINVAL);
  ck_assert_str_eq(dw_json_parser_error(p), first);
  ck_assert_ptr_null(dw_json_parser_root(p));
  dw_json_parser_destroy(p);

  /* A limit error is sticky too, and keeps its own code. */
  p = dw_json_parser_create(&tight);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(dw_json_parser_feed(p, "[[[[", 4), -E2BIG);
  ck_assert_int_eq(dw_json_parser_feed(p, "]]]]", 4), -E2BIG);
  ck_assert_int_eq(dw_json_parser_finish(p), -E2BIG);
  ck_assert_str_eq(dw_json_parser_error(p), "nesting deeper than 3");
  dw_json_parser_destroy(p);
}
END_TEST

START_TEST(test_after_finish) {
  dw_json_parser_t *p = parsed("[1]");
  const dw_json_t *root = dw_json_parser_root(p);
  ck_assert_ptr_nonnull(root);
  ck_assert_int_eq(dw_json_parser_finish(p), 0);
  ck_assert_ptr_eq(dw_json_parser_root(p), root);
  ck_assert_int_eq(dw_json_parser_feed(p, "", 0), -EINVAL);
  ck_assert_ptr_null(dw_json_parser_root(p));
  ck_assert_ptr_nonnull(strstr(dw_json_parser_error(p), "after the end"));
  dw_json_parser_destroy(p);
}
END_TEST

START_TEST(test_empty_feeds) {
  dw_json_parser_t *p = dw_json_parser_create(NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(dw_json_parser_feed(p, NULL, 0), 0);
  ck_assert_int_eq(dw_json_parser_feed(p, "[", 1), 0);
  ck_assert_int_eq(dw_json_parser_feed(p, "", 0), 0);
  ck_assert_int_eq(dw_json_parser_feed(p, "]", 1), 0);
  ck_assert_int_eq(dw_json_parser_finish(p), 0);
  ck_assert_int_eq(dw_json_parser_root(p)->type, DW_JSON_ARRAY);
  dw_json_parser_destroy(p);
}
END_TEST

START_TEST(test_unfinished_has_no_root) {
  dw_json_parser_t *p = dw_json_parser_create(NULL);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(dw_json_parser_feed(p, "[1, {\"a\": [2", 12), 0);
  ck_assert_ptr_null(dw_json_parser_root(p));
  ck_assert_ptr_null(dw_json_parser_error(p));
  /* Destroying mid-document frees the open containers too (valgrind). */
  dw_json_parser_destroy(p);
  dw_json_parser_destroy(NULL);
  ck_assert_ptr_null(dw_json_parser_error(NULL));
  ck_assert_ptr_null(dw_json_parser_root(NULL));
}
END_TEST

START_TEST(test_type_names) {
  ck_assert_str_eq(dw_json_type_name(DW_JSON_NULL), "null");
  ck_assert_str_eq(dw_json_type_name(DW_JSON_BOOL), "boolean");
  ck_assert_str_eq(dw_json_type_name(DW_JSON_NUMBER), "number");
  ck_assert_str_eq(dw_json_type_name(DW_JSON_STRING), "string");
  ck_assert_str_eq(dw_json_type_name(DW_JSON_ARRAY), "array");
  ck_assert_str_eq(dw_json_type_name(DW_JSON_OBJECT), "object");
}
END_TEST

static Suite *json_suite(void) {
  Suite *s = suite_create("json");
  TCase *tc = tcase_create("documents");
  tcase_add_loop_test(tc, test_document, 0, (int)N_CASES);
  suite_add_tcase(s, tc);

  tc = tcase_create("limits");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_default_limits, 0,
                      (int)(sizeof(bigs) / sizeof(bigs[0])));
  tcase_add_test(tc, test_default_limit_values);
  tcase_add_test(tc, test_long_string_is_cut);
  suite_add_tcase(s, tc);

  tc = tcase_create("api");
  tcase_add_test(tc, test_get);
  tcase_add_test(tc, test_errors_are_sticky);
  tcase_add_test(tc, test_after_finish);
  tcase_add_test(tc, test_empty_feeds);
  tcase_add_test(tc, test_unfinished_has_no_root);
  tcase_add_test(tc, test_type_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return standin_run_suite(json_suite()); }
