/* fuzz_decode.c - libFuzzer harness for the decoder of one resource.
 *
 * Built once per resource: FUZZ_SLUG (a -D string) names it, so a crash
 * file and the binary are all a reproducer needs. Each input is decoded
 * with limits derived from it (mostly the defaults, sometimes tight ones,
 * so that every limit can be crossed within -max_len):
 *   1. fed whole;
 *   2. fed in chunks whose sizes derive from the input;
 *   3. after a success with samples: fed whole again, to a sink that stops
 *      at a sample derived from the input.
 * Runs 1 and 2 must agree exactly (return code, message but for a syntax
 * error's byte offset, samples): chunking must never change the answer.
 * Every sample and every outcome is checked against dw_decode.h and
 * dw_sample.h: months within the window the run was given, a value NaN
 * only in a triple, a warning only after a success and never longer than
 * its buffer or unprintable; and every appliance, as itself or as its
 * digest, goes through dw_name_safe_carried() as the dispatcher's does. */
#include "dw_decode.h"
#include "dw_name.h"
#include "fuzz_util.h"

#include <errno.h>
#include <math.h>

#ifndef FUZZ_SLUG
#error "build with -DFUZZ_SLUG='\"<resource slug>\"'"
#endif

#define MONTH_MIN (2000 * 12) /* the window's fixed start */
#define MONTH_MAX (9999 * 12 + 11)
#define ERROR_MAX_BYTES 256   /* dw_decode.c's message buffer */
#define WARNING_MAX_BYTES 320 /* dw_decode.c's summary buffer */
#define DIGEST_HEX 8
#define DIGEST_PREFIX_MAX 53 /* dw_name.c: 63 less "_h" and 8 hex digits */
#define LABEL_MAX_LEN 63
#define NEVER SIZE_MAX

/* What one decoding produced; the appliance copies are owned here. */
typedef struct run {
  const dw_json_limits_t *limits;
  int max_month;  /* the window's end, or 0 to leave the default */
  size_t stop_at; /* the sink fails at this sample, or NEVER */
  dw_sample_t *samples;
  size_t len;
  size_t cap;
  int rc;
  bool has_error;
  char error[ERROR_MAX_BYTES];
  size_t warnings;
  char warning[WARNING_MAX_BYTES];
} run_t;

static dw_resource_t resource;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (dw_resource_from_slug(FUZZ_SLUG, &resource) != 0) {
    fprintf(stderr, "fuzz_decode: unknown resource %s\n", FUZZ_SLUG);
    exit(2);
  }
  return 0;
}

/* Mostly the defaults; one input in four gets tight limits. */
static dw_json_limits_t pick_limits(uint64_t *state) {
  uint64_t r = fuzz_next(state);
  if ((r & 3) != 0)
    return dw_json_default_limits;
  return (dw_json_limits_t){
      .max_depth = 1 + (size_t)((r >> 2) % 8),
      .max_string_len = (size_t)((r >> 5) % 64),
      .max_entries = 1 + (size_t)((r >> 11) % 32),
      .max_nodes = 1 + (size_t)((r >> 16) % 256),
  };
}

static bool known_type(dw_type_t type) { return dw_type_name(type) != NULL; }

/* A digest: 0xff, eight lower-case hex digits, at most 53 safe bytes. */
static void check_digest(const char *app) {
  for (size_t i = 1; i <= DIGEST_HEX; i++)
    FUZZ_ASSERT((app[i] >= '0' && app[i] <= '9') ||
                (app[i] >= 'a' && app[i] <= 'f'));
  const char *prefix = app + 1 + DIGEST_HEX;
  size_t len = strnlen(prefix, DIGEST_PREFIX_MAX + 1);
  FUZZ_ASSERT(len <= DIGEST_PREFIX_MAX);
  FUZZ_ASSERT(len == 0 || fuzz_safe_name(prefix, DIGEST_PREFIX_MAX));
}

/* An appliance is a non-empty name within the string limit (0xff never
 * occurs in one: JSON strings are UTF-8), or the digest of one that held a
 * NUL or was cut; its safe name fits any buffer of 16 bytes or more (the
 * size derives from the name itself). */
static void check_appliance(const char *app, const dw_json_limits_t *limits) {
  size_t len = strnlen(app, limits->max_string_len + DW_NAME_DIGEST_SIZE);
  if ((unsigned char)app[0] == 0xff)
    check_digest(app);
  else
    FUZZ_ASSERT(len >= 1 && len <= limits->max_string_len &&
                memchr(app, 0xff, len) == NULL);
  size_t out_size = 16 + fuzz_hash((const uint8_t *)app, len) % 113;
  char *out = malloc(out_size); /* exact size: ASan sees any overrun */
  FUZZ_ASSERT(out != NULL);
  size_t n = dw_name_safe_carried(out, out_size, app);
  FUZZ_ASSERT(n < out_size && n == strlen(out));
  FUZZ_ASSERT(fuzz_safe_name(out, out_size - 1));
  free(out);
}

static void check_sample(const dw_sample_t *s, const dw_json_limits_t *lim,
                         int max_month) {
  FUZZ_ASSERT(known_type(s->type));
  FUZZ_ASSERT(dw_label_name(s->label) != NULL &&
              fuzz_safe_name(dw_label_name(s->label), LABEL_MAX_LEN));
  bool triple = s->type == DW_TYPE_PERFORMANCE;
  FUZZ_ASSERT(s->values_len == (triple ? DW_SAMPLE_MAX_VALUES : 1u));
  size_t nulls = 0;
  for (size_t i = 0; i < s->values_len; i++) {
    if (isnan(s->values[i]))
      nulls++;
    else
      FUZZ_ASSERT(isfinite(s->values[i]));
  }
  /* NaN marks a null member of a triple; an all-null triple is no sample */
  FUZZ_ASSERT(triple ? nulls < DW_SAMPLE_MAX_VALUES : nulls == 0);
  FUZZ_ASSERT(s->month == 0 ||
              (s->month >= MONTH_MIN && s->month <= max_month));
  if (s->appliance != NULL)
    check_appliance(s->appliance, lim);
}

/* The sink: checks, then keeps a copy (the appliance is only valid during
 * the call). */
static int record(void *ud, const dw_sample_t *s) {
  run_t *run = ud;
  check_sample(s, run->limits, run->max_month ? run->max_month : MONTH_MAX);
  if (run->len == run->stop_at)
    return -ECANCELED;
  if (run->len == run->cap) {
    size_t cap = run->cap == 0 ? 16 : run->cap * 2;
    dw_sample_t *samples = realloc(run->samples, cap * sizeof(*samples));
    FUZZ_ASSERT(samples != NULL);
    run->samples = samples;
    run->cap = cap;
  }
  dw_sample_t *copy = &run->samples[run->len++];
  *copy = *s;
  if (s->appliance != NULL) {
    copy->appliance = strdup(s->appliance);
    FUZZ_ASSERT(copy->appliance != NULL);
  }
  return 0;
}

static void run_free(run_t *run) {
  for (size_t i = 0; i < run->len; i++)
    free((char *)run->samples[i].appliance);
  free(run->samples);
}

/* A warning exists after a success only, with a count, and like an error
 * it names the resource and carries no raw body bytes. */
static void settle_warning(dw_dec_t *d, run_t *run, int rc) {
  const char *warning = dw_dec_warning(d);
  run->warnings = dw_dec_warnings(d);
  FUZZ_ASSERT((warning != NULL) == (run->warnings > 0));
  FUZZ_ASSERT(rc == 0 || warning == NULL);
  if (warning == NULL)
    return;
  FUZZ_ASSERT(strnlen(warning, sizeof(run->warning)) < sizeof(run->warning));
  FUZZ_ASSERT(fuzz_printable(warning, WARNING_MAX_BYTES));
  FUZZ_ASSERT(strncmp(warning, FUZZ_SLUG ": ", strlen(FUZZ_SLUG ": ")) == 0);
  memcpy(run->warning, warning, strlen(warning) + 1);
}

/* Keeps the outcome and checks what dw_decode.h promises about it. */
static void settle(dw_dec_t *d, run_t *run, int rc) {
  const char *error = dw_dec_error(d);
  run->rc = rc;
  run->has_error = error != NULL;
  if (error != NULL) {
    FUZZ_ASSERT(strnlen(error, sizeof(run->error)) < sizeof(run->error));
    memcpy(run->error, error, strlen(error) + 1);
  }
  settle_warning(d, run, rc);
  if (rc == 0) {
    FUZZ_ASSERT(error == NULL);
    /* finished: the decoder takes nothing more */
    FUZZ_ASSERT(dw_dec_feed(d, "0", 1) != 0);
    FUZZ_ASSERT(dw_dec_finish(d, record, run) != 0);
    return;
  }
  FUZZ_ASSERT(error != NULL);
  /* the message names the resource and never carries raw body bytes */
  FUZZ_ASSERT(fuzz_printable(error, ERROR_MAX_BYTES));
  FUZZ_ASSERT(strncmp(error, FUZZ_SLUG ": ", strlen(FUZZ_SLUG ": ")) == 0);
  if (run->stop_at == NEVER) {
    FUZZ_ASSERT(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
    FUZZ_ASSERT(run->len == 0); /* a failed response emits nothing */
  }
}

/* Decodes data whole (chunk_state NULL) or in derived chunks. */
static void decode(const uint8_t *data, size_t size, uint64_t *chunk_state,
                   run_t *run) {
  dw_dec_t *d = dw_dec_create(resource, run->limits);
  FUZZ_ASSERT(d != NULL);
  if (run->max_month != 0)
    dw_dec_set_max_month(d, run->max_month);
  int rc = 0;
  for (size_t off = 0; rc == 0 && off < size;) {
    size_t n =
        chunk_state != NULL ? fuzz_chunk(chunk_state, size - off) : size - off;
    rc = dw_dec_feed(d, data + off, n);
    off += n;
  }
  if (rc == 0)
    rc = dw_dec_finish(d, record, run);
  else /* errors are sticky: finish repeats it and emits nothing */
    FUZZ_ASSERT(dw_dec_finish(d, record, run) == rc);
  settle(d, run, rc);
  dw_dec_destroy(d);
}

static bool same_sample(const dw_sample_t *a, const dw_sample_t *b) {
  if (a->type != b->type || a->label != b->label || a->month != b->month ||
      a->values_len != b->values_len)
    return false;
  if ((a->appliance == NULL) != (b->appliance == NULL) ||
      (a->appliance != NULL && strcmp(a->appliance, b->appliance) != 0))
    return false;
  /* bit for bit: the same input must give the same doubles, NaN included */
  return memcmp(a->values, b->values, a->values_len * sizeof(double)) == 0;
}

/* b's samples are the first b->len of a's. */
static void check_prefix(const run_t *a, const run_t *b) {
  FUZZ_ASSERT(b->len <= a->len);
  for (size_t i = 0; i < b->len; i++)
    FUZZ_ASSERT(same_sample(&a->samples[i], &b->samples[i]));
}

/* Chunking changed nothing: same code, message, warning and samples. */
static void check_same(const run_t *a, const run_t *b) {
  FUZZ_ASSERT(a->warnings == b->warnings);
  FUZZ_ASSERT(a->warnings == 0 || strcmp(a->warning, b->warning) == 0);
  if (a->rc != b->rc || a->has_error != b->has_error ||
      (a->has_error && strcmp(a->error, b->error) != 0))
    fprintf(stderr, "whole:   %d %s\nchunked: %d %s\n", a->rc,
            a->has_error ? a->error : "(no error)", b->rc,
            b->has_error ? b->error : "(no error)");
  FUZZ_ASSERT(a->rc == b->rc && a->has_error == b->has_error);
  FUZZ_ASSERT(!a->has_error || strcmp(a->error, b->error) == 0);
  FUZZ_ASSERT(a->len == b->len);
  check_prefix(a, b);
}

/* Mostly a window ending in the 2020s, sometimes none (up to 9999-12). */
static int pick_max_month(uint64_t *state) {
  uint64_t r = fuzz_next(state);
  return (r & 7) == 0 ? 0 : 2020 * 12 + (int)((r >> 3) % (10 * 12));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t state = fuzz_hash(data, size);
  dw_json_limits_t limits = pick_limits(&state);
  int max_month = pick_max_month(&state);
  run_t whole = {.limits = &limits, .max_month = max_month, .stop_at = NEVER};
  run_t chunked = {.limits = &limits, .max_month = max_month, .stop_at = NEVER};
  decode(data, size, NULL, &whole);
  decode(data, size, &state, &chunked);
  check_same(&whole, &chunked);

  if (whole.rc == 0 && whole.len > 0) {
    run_t stopped = {.limits = &limits,
                     .max_month = max_month,
                     .stop_at = (size_t)(fuzz_next(&state) % whole.len)};
    decode(data, size, NULL, &stopped);
    FUZZ_ASSERT(stopped.rc == -ECANCELED && stopped.has_error);
    FUZZ_ASSERT(stopped.len == stopped.stop_at);
    check_prefix(&whole, &stopped);
    run_free(&stopped);
  }
  run_free(&whole);
  run_free(&chunked);
  return 0;
}
