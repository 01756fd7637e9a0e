/* check_decode.c - the decoder room against its fixture files.
 *
 * Every tests/fixtures/<slug>/<case>.json (found on disk) is decoded with the
 * whole body at once and with every chunk size from 1 to 31 bytes; all runs
 * must agree, and the whole-body run must print exactly <case>.expected (format
 * in tests/fixtures/README.md). */
#include "dw_decode.h"

#include "run_suite.h"
#include "text_buf.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name the fixtures directory"
#endif

#define MAX_CHUNK_BYTES 31
/* Fixtures are decoded as in a cycle of December 2026: months up to the
 * next one, 2027-01, are taken. */
#define FIXTURE_MAX_MONTH (2027 * 12 + 0)
#define ERROR_LINE_PREFIX "error "
#define WARNING_LINE_PREFIX "warning "

typedef struct fixture {
  char slug[64];
  char name[128];
} fixture_t;

/* Every tests/fixtures/<slug>/<case>.json of every resource, found on
 * disk when the suite starts: a new case runs without being listed. */
static fixture_t *fixtures;
static size_t n_fixtures;

static int fixture_order(const void *x, const void *y) {
  const fixture_t *a = x, *b = y;
  int c = strcmp(a->slug, b->slug);
  return c != 0 ? c : strcmp(a->name, b->name);
}

static void load_fixtures(void) {
  size_t cap = 0;
  for (int r = 0; r < DW_RES_COUNT; r++) {
    const char *slug = dw_resource_info((dw_resource_t)r)->slug;
    char dir_path[512];
    snprintf(dir_path, sizeof(dir_path), "%s/%s", FIXTURES_DIR, slug);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
      continue; /* test_every_resource_has_fixtures says so */
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      size_t n = strlen(e->d_name);
      if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0 ||
          n - 5 >= sizeof(fixtures->name))
        continue;
      if (n_fixtures == cap) {
        cap = cap ? 2 * cap : 256;
        fixtures = realloc(fixtures, cap * sizeof(*fixtures));
        if (fixtures == NULL)
          abort();
      }
      fixture_t *fx = &fixtures[n_fixtures++];
      snprintf(fx->slug, sizeof(fx->slug), "%s", slug);
      snprintf(fx->name, sizeof(fx->name), "%.*s", (int)(n - 5), e->d_name);
    }
    closedir(dir);
  }
  if (n_fixtures > 1)
    qsort(fixtures, n_fixtures, sizeof(*fixtures), fixture_order);
}

/* Bytes outside printable ASCII, spaces and '%' as %XX, so that fields stay
 * space-separated; a lone "-" is %2D so that it differs from "none". */
static void put_appliance(text_t *t, const char *appliance) {
  if (appliance == NULL) {
    text_puts(t, "-");
    return;
  }
  if (strcmp(appliance, "-") == 0) {
    text_puts(t, "%2D");
    return;
  }
  for (const unsigned char *p = (const unsigned char *)appliance; *p; p++) {
    char buf[4];
    if (*p <= 0x20 || *p >= 0x7f || *p == '%')
      snprintf(buf, sizeof(buf), "%%%02X", *p);
    else
      snprintf(buf, sizeof(buf), "%c", *p);
    text_puts(t, buf);
  }
}

/* The shortest %g form that reads back as the same double. */
static void put_value(text_t *t, double v) {
  char buf[64];
  if (isnan(v)) {
    snprintf(buf, sizeof(buf), "nan");
  } else {
    for (int precision = 15; precision <= 17; precision++) {
      snprintf(buf, sizeof(buf), "%.*g", precision, v);
      if (strtod(buf, NULL) == v)
        break;
    }
  }
  text_puts(t, " ");
  text_puts(t, buf);
}

typedef struct run {
  int rc;
  int calls;
  text_t out;
  char error[512];
  size_t warnings;
  char warning[512];
} run_t;

static int print_sample(void *ud, const dw_sample_t *s) {
  run_t *run = ud;
  char month[32] = "0";
  if (s->month != 0)
    snprintf(month, sizeof(month), "%04d-%02d", s->month / 12,
             s->month % 12 + 1);
  ck_assert(s->values_len == 1 || s->values_len == DW_SAMPLE_MAX_VALUES);
  ck_assert(s->values_len == DW_SAMPLE_MAX_VALUES ||
            s->type != DW_TYPE_PERFORMANCE);
  ck_assert_ptr_nonnull(dw_type_name(s->type));
  ck_assert_ptr_nonnull(dw_label_name(s->label));
  text_puts(&run->out, dw_type_name(s->type));
  text_puts(&run->out, " ");
  text_puts(&run->out, dw_label_name(s->label));
  text_puts(&run->out, " ");
  put_appliance(&run->out, s->appliance);
  text_puts(&run->out, " ");
  text_puts(&run->out, month);
  for (size_t i = 0; i < s->values_len; i++)
    put_value(&run->out, s->values[i]);
  text_puts(&run->out, "\n");
  run->calls++;
  return 0;
}

/* Decodes body in chunks of chunk_bytes (0: all at once). */
static void decode(dw_resource_t r, const char *body, size_t len,
                   size_t chunk_bytes, run_t *run) {
  memset(run, 0, sizeof(*run));
  dw_dec_t *d = dw_dec_create(r, NULL);
  ck_assert_ptr_nonnull(d);
  dw_dec_set_max_month(d, FIXTURE_MAX_MONTH);
  size_t step = chunk_bytes == 0 ? len : chunk_bytes;
  int rc = 0;
  for (size_t off = 0; off < len && rc == 0; off += step)
    rc = dw_dec_feed(d, body + off, len - off < step ? len - off : step);
  if (rc == 0)
    rc = dw_dec_finish(d, print_sample, run);
  run->rc = rc;
  const char *error = dw_dec_error(d);
  if (rc == 0)
    ck_assert_ptr_null(error);
  else
    ck_assert_ptr_nonnull(error);
  snprintf(run->error, sizeof(run->error), "%s", error ? error : "");
  const char *warning = dw_dec_warning(d);
  run->warnings = dw_dec_warnings(d);
  ck_assert((warning != NULL) == (run->warnings > 0));
  snprintf(run->warning, sizeof(run->warning), "%s", warning ? warning : "");
  dw_dec_destroy(d);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  text_t t = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    text_append(&t, buf, n);
  fclose(f);
  *len = t.len;
  if (t.data == NULL)
    t.data = calloc(1, 1);
  return t.data;
}

/* The .expected file without comment and blank lines; its warning line,
 * if any, goes to *warning ("<count> <summary>", else ""). */
static char *read_expected(const char *path, char *warning, size_t size) {
  size_t len;
  char *raw = read_file(path, &len);
  text_t t = {0};
  text_puts(&t, "");
  warning[0] = '\0';
  for (char *line = raw; *line != '\0';) {
    char *end = strchr(line, '\n');
    size_t line_len = end != NULL ? (size_t)(end - line) : strlen(line);
    if (strncmp(line, WARNING_LINE_PREFIX, strlen(WARNING_LINE_PREFIX)) == 0) {
      ck_assert_msg(warning[0] == '\0', "%s: two warning lines", path);
      size_t skip = strlen(WARNING_LINE_PREFIX);
      snprintf(warning, size, "%.*s", (int)(line_len - skip), line + skip);
    } else if (line_len > 0 && line[0] != '#') {
      text_append(&t, line, line_len);
      text_puts(&t, "\n");
    }
    line += line_len + (end != NULL);
  }
  free(raw);
  return t.data;
}

/* The warning a run gave, as an .expected line has it. */
static void check_warning(const fixture_t *fx, const run_t *run,
                          const char *expected) {
  char got[600] = "";
  if (run->warnings > 0)
    snprintf(got, sizeof(got), "%zu %s", run->warnings, run->warning);
  ck_assert_msg(strcmp(got, expected) == 0,
                "%s/%s: warning \"%s\", expected \"%s\"", fx->slug, fx->name,
                got, expected);
  /* Fixtures put "canary" in body strings: a warning never quotes it. */
  ck_assert_msg(strcasestr(run->warning, "canary") == NULL,
                "%s/%s: warning quotes the body: %s", fx->slug, fx->name,
                run->warning);
}

static int errno_by_name(const char *name) {
  static const struct {
    const char *name;
    int value;
  } names[] = {{"-EINVAL", -EINVAL}, {"-E2BIG", -E2BIG}, {"-ENOMEM", -ENOMEM}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(name, names[i].name) == 0)
      return names[i].value;
  ck_abort_msg("unknown error name %s", name);
  return 0;
}

static void check_error(const fixture_t *fx, const run_t *run,
                        const char *expected) {
  char code[32] = "";
  const char *rest = expected + strlen(ERROR_LINE_PREFIX);
  size_t code_len = strcspn(rest, " \n");
  ck_assert(code_len < sizeof(code));
  memcpy(code, rest, code_len);
  rest += code_len;
  rest += *rest == ' ';
  char want[256] = "";
  snprintf(want, sizeof(want), "%.*s", (int)strcspn(rest, "\n"), rest);
  ck_assert_msg(run->rc == errno_by_name(code),
                "%s/%s: rc %d, expected %s (%s)", fx->slug, fx->name, run->rc,
                code, run->error);
  ck_assert_msg(run->calls == 0, "%s/%s: samples emitted before an error",
                fx->slug, fx->name);
  ck_assert_msg(strstr(run->error, want) != NULL,
                "%s/%s: error '%s' lacks '%s'", fx->slug, fx->name, run->error,
                want);
  /* Error fixtures put "canary" in body strings: it must never show. */
  ck_assert_msg(strcasestr(run->error, "canary") == NULL,
                "%s/%s: error quotes the body: %s", fx->slug, fx->name,
                run->error);
}

START_TEST(test_fixture) {
  const fixture_t *fx = &fixtures[_i];
  dw_resource_t r;
  ck_assert_int_eq(dw_resource_from_slug(fx->slug, &r), 0);
  char path[512];
  snprintf(path, sizeof(path), "%s/%s/%s.json", FIXTURES_DIR, fx->slug,
           fx->name);
  size_t len;
  char *body = read_file(path, &len);
  snprintf(path, sizeof(path), "%s/%s/%s.expected", FIXTURES_DIR, fx->slug,
           fx->name);
  char warning[600];
  char *expected = read_expected(path, warning, sizeof(warning));

  run_t whole;
  decode(r, body, len, 0, &whole);
  if (strncmp(expected, ERROR_LINE_PREFIX, strlen(ERROR_LINE_PREFIX)) == 0)
    check_error(fx, &whole, expected);
  else
    ck_assert_msg(whole.rc == 0 && strcmp(text_str(&whole.out), expected) == 0,
                  "%s/%s: rc %d (%s), got:\n%sexpected:\n%s", fx->slug,
                  fx->name, whole.rc, whole.error, text_str(&whole.out),
                  expected);
  check_warning(fx, &whole, warning);

  for (size_t chunk = 1; chunk <= MAX_CHUNK_BYTES; chunk++) {
    run_t part;
    decode(r, body, len, chunk, &part);
    ck_assert_msg(part.rc == whole.rc &&
                      strcmp(text_str(&part.out), text_str(&whole.out)) == 0 &&
                      strcmp(part.error, whole.error) == 0 &&
                      part.warnings == whole.warnings &&
                      strcmp(part.warning, whole.warning) == 0,
                  "%s/%s: chunks of %zu differ: rc %d (%s)", fx->slug, fx->name,
                  chunk, part.rc, part.error);
    free(part.out.data);
  }
  free(whole.out.data);
  free(expected);
  free(body);
}
END_TEST

static bool listed(const char *slug, const char *name) {
  for (size_t i = 0; i < n_fixtures; i++)
    if (strcmp(fixtures[i].slug, slug) == 0 &&
        strcmp(fixtures[i].name, name) == 0)
      return true;
  return false;
}

/* Each resource has its contract case and cases of its own; a folder
 * that is no resource's would silently never run. */
START_TEST(test_every_resource_has_fixtures) {
  for (int r = 0; r < DW_RES_COUNT; r++) {
    const char *slug = dw_resource_info((dw_resource_t)r)->slug;
    ck_assert_msg(listed(slug, "contract"), "%s: no contract case", slug);
  }
  ck_assert_uint_ge(n_fixtures, 10 * DW_RES_COUNT / 2);
  DIR *dir = opendir(FIXTURES_DIR);
  ck_assert_ptr_nonnull(dir);
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    dw_resource_t r;
    if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL)
      continue; /* ., .., README.md */
    ck_assert_msg(dw_resource_from_slug(e->d_name, &r) == 0,
                  "%s/%s is no resource's folder", FIXTURES_DIR, e->d_name);
  }
  closedir(dir);
}
END_TEST

static const struct {
  const char *text;
  int rc;
  int value;
} months[] = {
    {"2026-08", 0, 2026 * 12 + 7},  {"1970-01", 0, 1970 * 12},
    {"9999-12", 0, 9999 * 12 + 11}, {"2000-10", 0, 2000 * 12 + 9},
    {"1969-12", -EINVAL, 0},        {"0000-01", -EINVAL, 0},
    {"2026-00", -EINVAL, 0},        {"2026-13", -EINVAL, 0},
    {"2026-8", -EINVAL, 0},         {"26-08", -EINVAL, 0},
    {"2026-08-01", -EINVAL, 0},     {"2026-08 ", -EINVAL, 0},
    {" 2026-08", -EINVAL, 0},       {"2026/08", -EINVAL, 0},
    {"+026-08", -EINVAL, 0},        {"2026--8", -EINVAL, 0},
    {"2026-0a", -EINVAL, 0},        {"20a6-08", -EINVAL, 0},
    {"10000-01", -EINVAL, 0},       {"", -EINVAL, 0},
    {"2026-\xd9\xa1", -EINVAL, 0},
};

START_TEST(test_parse_month) {
  int value = -1;
  int rc = dw_dec_parse_month(months[_i].text, &value);
  ck_assert_msg(rc == months[_i].rc, "'%s': rc %d", months[_i].text, rc);
  if (rc == 0)
    ck_assert_int_eq(value, months[_i].value);
  else
    ck_assert_int_eq(value, -1);
}
END_TEST

START_TEST(test_parse_month_null) {
  int value = -1;
  ck_assert_int_eq(dw_dec_parse_month(NULL, &value), -EINVAL);
  ck_assert_int_eq(value, -1);
}
END_TEST

static int count_sample(void *ud, const dw_sample_t *s) {
  (void)s;
  (*(int *)ud)++;
  return 0;
}

static int refuse_second(void *ud, const dw_sample_t *s) {
  (void)s;
  return ++*(int *)ud == 2 ? -ECANCELED : 0;
}

static dw_dec_t *fed(dw_resource_t r, const char *body,
                     const dw_json_limits_t *limits, int want_rc) {
  dw_dec_t *d = dw_dec_create(r, limits);
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(dw_dec_feed(d, body, strlen(body)), want_rc);
  return d;
}

static char *nested(size_t levels) {
  char *doc = malloc(2 * levels + 1);
  ck_assert_ptr_nonnull(doc);
  memset(doc, '[', levels);
  memset(doc + levels, ']', levels);
  doc[2 * levels] = '\0';
  return doc;
}

/* The heap in use. glibc counts chunks parked in its per-thread cache as in
 * use, so the figure only settles after some warm-up rounds; from then on a
 * run that frees everything leaves it unchanged. (Under valgrind or ASan it
 * may not move at all; their own leak checks cover that case.) */
static size_t heap_in_use(void) { return mallinfo2().uordblks; }

static void decode_deep(const char *doc) {
  dw_dec_t *d = fed(DW_RES_DISAGGREGATION, doc, NULL, -E2BIG);
  int calls = 0;
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), -E2BIG);
  ck_assert_int_eq(calls, 0);
  ck_assert_ptr_nonnull(strstr(dw_dec_error(d), "nesting deeper than 32"));
  dw_dec_destroy(d);
}

START_TEST(test_deep_nesting_no_leak) {
  enum { WARM_UP_ROUNDS = 64, COUNTED_ROUNDS = 64 };
  char *doc = nested(1000);
  for (int round = 0; round < WARM_UP_ROUNDS; round++)
    decode_deep(doc);
  size_t before = heap_in_use();
  for (int round = 0; round < COUNTED_ROUNDS; round++)
    decode_deep(doc);
  ck_assert_uint_eq(heap_in_use(), before);
  free(doc);
}
END_TEST

static int expect_digest(void *ud, const dw_sample_t *s) {
  ck_assert_int_eq((unsigned char)s->appliance[0], 0xff);
  ++*(int *)ud;
  return 0;
}

START_TEST(test_custom_limits) {
  /* "appliance" is 9 bytes: keys count against the string limit too. */
  const dw_json_limits_t small = {
      .max_depth = 3, .max_string_len = 9, .max_entries = 2, .max_nodes = 100};
  const char *ok = "[{\"appliance\":\"dishwashr\",\"value\":1}]";
  const char *long_name = "[{\"appliance\":\"dishwasher\",\"value\":1}]";
  int calls = 0;
  dw_dec_t *d = fed(DW_RES_DISAGGREGATION, ok, &small, 0);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), 0);
  ck_assert_int_eq(calls, 1);
  dw_dec_destroy(d);

  /* past the string limit a name is cut, not refused: it goes on as its
   * digest (dw_name.h) */
  d = fed(DW_RES_DISAGGREGATION, long_name, &small, 0);
  ck_assert_int_eq(dw_dec_finish(d, expect_digest, &calls), 0);
  ck_assert_int_eq(calls, 2);
  dw_dec_destroy(d);

  d = fed(DW_RES_CONSUMPTION_HISTORY, "[null,null,null]", &small, -E2BIG);
  ck_assert_ptr_nonnull(strstr(dw_dec_error(d), "more than 2 entries"));
  dw_dec_destroy(d);
}
END_TEST

START_TEST(test_sink_error_stops) {
  int calls = 0;
  dw_dec_t *d = fed(DW_RES_COSTS,
                    "{\"value\":1,\"previousPeriodValueTrend\":2}", NULL, 0);
  ck_assert_int_eq(dw_dec_finish(d, refuse_second, &calls), -ECANCELED);
  ck_assert_int_eq(calls, 2);
  ck_assert_ptr_nonnull(strstr(dw_dec_error(d), "sink"));
  ck_assert_int_eq(dw_dec_finish(d, refuse_second, &calls), -ECANCELED);
  ck_assert_int_eq(calls, 2);
  dw_dec_destroy(d);
}
END_TEST

START_TEST(test_errors_are_sticky) {
  int calls = 0;
  dw_dec_t *d = fed(DW_RES_COSTS, "{\"value\":}", NULL, -EINVAL);
  char first[256];
  snprintf(first, sizeof(first), "%s", dw_dec_error(d));
  ck_assert_ptr_nonnull(strstr(first, "costs: syntax error: "));
  ck_assert_int_eq(dw_dec_feed(d, "1}", 2), -EINVAL);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), -EINVAL);
  ck_assert_str_eq(dw_dec_error(d), first);
  ck_assert_int_eq(calls, 0);
  dw_dec_destroy(d);
}
END_TEST

START_TEST(test_use_after_finish) {
  int calls = 0;
  dw_dec_t *d = fed(DW_RES_COSTS, "{\"value\":1}", NULL, 0);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), 0);
  ck_assert_int_eq(calls, 1);
  ck_assert_ptr_null(dw_dec_error(d));
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), -EINVAL);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(dw_dec_feed(d, " ", 1), -EINVAL);
  dw_dec_destroy(d);

  d = fed(DW_RES_COSTS, "{\"value\":1}", NULL, 0);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), 0);
  ck_assert_int_eq(dw_dec_feed(d, " ", 1), -EINVAL);
  ck_assert_ptr_nonnull(strstr(dw_dec_error(d), "after finish"));
  dw_dec_destroy(d);
}
END_TEST

START_TEST(test_create_destroy) {
  dw_dec_destroy(NULL);
  ck_assert_ptr_null(dw_dec_error(NULL));
  ck_assert_ptr_null(dw_dec_create(DW_RES_COUNT, NULL));
  for (int r = 0; r < DW_RES_COUNT; r++) {
    dw_dec_t *d = dw_dec_create((dw_resource_t)r, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(dw_dec_error(d));
    dw_dec_destroy(d);
  }
}
END_TEST

/* The appliance pointer of a sample stays valid for the whole sink call
 * and carries the raw bytes, escapes decoded. */
static int check_raw_appliance(void *ud, const dw_sample_t *s) {
  (void)ud;
  ck_assert_str_eq(s->appliance, "a\"b\\c/d\te\xc3\xbc");
  return 0;
}

START_TEST(test_appliance_is_raw) {
  dw_dec_t *d = fed(
      DW_RES_DISAGGREGATION,
      "[{\"appliance\":\"a\\\"b\\\\c\\/d\\te\\u00fc\",\"value\":1}]", NULL, 0);
  ck_assert_int_eq(dw_dec_finish(d, check_raw_appliance, NULL), 0);
  dw_dec_destroy(d);
}
END_TEST

/* The warning is there after a successful finish only: one line for the
 * whole response, the first part left out named, the rest counted. */
START_TEST(test_warning_api) {
  int calls = 0;
  dw_dec_t *d = fed(DW_RES_COSTS,
                    "{\"value\": \"canary\", \"previousPeriodValueTrend\": "
                    "true}",
                    NULL, 0);
  ck_assert_ptr_null(dw_dec_warning(d));
  ck_assert_uint_eq(dw_dec_warnings(d), 0);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), 0);
  ck_assert_int_eq(calls, 0);
  ck_assert_uint_eq(dw_dec_warnings(d), 2);
  ck_assert_str_eq(dw_dec_warning(d),
                   "costs: member 'value' is a string, not a number; left out "
                   "(and 1 more)");
  dw_dec_destroy(d);

  /* notes, then a failure: the failure is what counts */
  d = fed(DW_RES_DISAGGREGATION,
          "[{\"appliance\": 7}, {\"appliance\": \"a\", \"value\": 1},"
          " {\"appliance\": \"a\", \"value\": 2}]",
          NULL, 0);
  ck_assert_int_eq(dw_dec_finish(d, count_sample, &calls), -EINVAL);
  ck_assert_ptr_null(dw_dec_warning(d));
  ck_assert_uint_eq(dw_dec_warnings(d), 0);
  dw_dec_destroy(d);

  /* a sink that stops: no warning either */
  d = fed(DW_RES_COSTS, "{\"value\": 1, \"previousPeriodValueTrend\": [2]}",
          NULL, 0);
  calls = 1;
  ck_assert_int_eq(dw_dec_finish(d, refuse_second, &calls), -ECANCELED);
  ck_assert_ptr_null(dw_dec_warning(d));
  dw_dec_destroy(d);
  ck_assert_ptr_null(dw_dec_warning(NULL));
  ck_assert_uint_eq(dw_dec_warnings(NULL), 0);
}
END_TEST

static int keep_month(void *ud, const dw_sample_t *s) {
  *(int *)ud = s->month;
  return 0;
}

/* The month of a one-entry history, or 0 when it was skipped. */
static int month_taken(const char *month, int max_month, bool set) {
  char body[80];
  snprintf(body, sizeof(body), "[{\"month\": \"%s\", \"value\": 1}]", month);
  dw_dec_t *d = fed(DW_RES_CONSUMPTION_HISTORY, body, NULL, 0);
  if (set)
    dw_dec_set_max_month(d, max_month);
  int got = 0;
  ck_assert_int_eq(dw_dec_finish(d, keep_month, &got), 0);
  ck_assert_uint_eq(dw_dec_warnings(d), got == 0);
  dw_dec_destroy(d);
  return got;
}

/* The window is 2000-01 to the caller's max month; without one, up to the
 * last month a YYYY-MM can say. */
START_TEST(test_month_window) {
  const int max = 2026 * 12 + 11; /* December 2026 */
  ck_assert_int_eq(month_taken("2026-12", max, true), max);
  ck_assert_int_eq(month_taken("2027-01", max, true), 0);
  ck_assert_int_eq(month_taken("2000-01", max, true), 2000 * 12);
  ck_assert_int_eq(month_taken("1999-12", max, true), 0);
  ck_assert_int_eq(month_taken("1970-01", max, true), 0);
  ck_assert_int_eq(month_taken("9999-12", max, true), 0);
  ck_assert_int_eq(month_taken("9999-12", 0, false), 9999 * 12 + 11);
  ck_assert_int_eq(month_taken("1999-12", 0, false), 0);
  ck_assert_int_eq(month_taken("9999-12", 20000 * 12, true), 9999 * 12 + 11);
}
END_TEST

static Suite *decode_suite(void) {
  Suite *s = suite_create("decode");
  TCase *tc = tcase_create("fixtures");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_every_resource_has_fixtures);
  tcase_add_loop_test(tc, test_fixture, 0, (int)n_fixtures);
  suite_add_tcase(s, tc);

  tc = tcase_create("api");
  tcase_add_loop_test(tc, test_parse_month, 0,
                      (int)(sizeof(months) / sizeof(months[0])));
  tcase_add_test(tc, test_parse_month_null);
  tcase_add_test(tc, test_deep_nesting_no_leak);
  tcase_add_test(tc, test_custom_limits);
  tcase_add_test(tc, test_sink_error_stops);
  tcase_add_test(tc, test_errors_are_sticky);
  tcase_add_test(tc, test_use_after_finish);
  tcase_add_test(tc, test_create_destroy);
  tcase_add_test(tc, test_appliance_is_raw);
  tcase_add_test(tc, test_warning_api);
  tcase_add_test(tc, test_month_window);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  load_fixtures();
  int status = standin_run_suite(decode_suite());
  free(fixtures);
  return status;
}
