/* sim_fault.c - the fault rule set. */
#include "sim_fault.h"

#include "sim_data.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum arg_type {
  ARG_NONE,
  ARG_STATUS,
  ARG_LONG,
  ARG_BAD_TOKEN
} arg_type_t;

typedef struct kind_info {
  const char *name;
  sim_fault_kind_t kind;
  unsigned status;
  arg_type_t arg;
  long min, max;
} kind_info_t;

#define YEAR_S (365L * 24 * 3600)

static const kind_info_t kinds[] = {
    {"delay", SIM_FAULT_DELAY, 0, ARG_LONG, 0, SIM_FAULT_MAX_DELAY_MS},
    {"status", SIM_FAULT_STATUS, 0, ARG_STATUS, 400, 599},
    {"429", SIM_FAULT_RETRY_AFTER, 429, ARG_LONG, 0, YEAR_S},
    {"503", SIM_FAULT_RETRY_AFTER, 503, ARG_LONG, 0, YEAR_S},
    {"retry-after", SIM_FAULT_RETRY_AFTER, 429, ARG_LONG, 0, YEAR_S},
    {"429date", SIM_FAULT_RETRY_DATE, 429, ARG_LONG, 0, YEAR_S},
    {"503date", SIM_FAULT_RETRY_DATE, 503, ARG_LONG, 0, YEAR_S},
    {"html", SIM_FAULT_HTML, 0, ARG_NONE, 0, 0},
    {"revoke", SIM_FAULT_REVOKE, 0, ARG_NONE, 0, 0},
    {"reset", SIM_FAULT_RESET, 0, ARG_NONE, 0, 0},
    {"truncate", SIM_FAULT_TRUNCATE, 0, ARG_NONE, 0, 0},
    {"invalid-json", SIM_FAULT_INVALID_JSON, 0, ARG_NONE, 0, 0},
    {"wrong-types", SIM_FAULT_WRONG_TYPES, 0, ARG_NONE, 0, 0},
    {"nulls", SIM_FAULT_NULLS, 0, ARG_NONE, 0, 0},
    {"empty", SIM_FAULT_EMPTY, 0, ARG_NONE, 0, 0},
    {"extra-fields", SIM_FAULT_EXTRA_FIELDS, 0, ARG_NONE, 0, 0},
    {"oversized", SIM_FAULT_OVERSIZED, 0, ARG_LONG, 1, SIM_FAULT_MAX_OVERSIZED},
    {"deep", SIM_FAULT_DEEP, 0, ARG_LONG, 1, SIM_FAULT_MAX_DEEP},
    {"odd-appliances", SIM_FAULT_ODD_APPLIANCES, 0, ARG_NONE, 0, 0},
    {"extra-response", SIM_FAULT_EXTRA_RESPONSE, 0, ARG_LONG, 0, 1000},
    {"bad-token", SIM_FAULT_BAD_TOKEN, 0, ARG_BAD_TOKEN, 0, 0},
};

static const char *const bad_token_names[] = {
    [SIM_BAD_TOKEN_MISSING_EXPIRES] = "missing-expires",
    [SIM_BAD_TOKEN_ZERO_EXPIRES] = "zero-expires",
    [SIM_BAD_TOKEN_HUGE] = "huge-token",
    [SIM_BAD_TOKEN_BAD_TYPE] = "bad-type",
    [SIM_BAD_TOKEN_NOT_JSON] = "not-json",
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))
#define N_BAD_TOKENS (sizeof(bad_token_names) / sizeof(bad_token_names[0]))

typedef struct rule {
  char spec[SIM_FAULT_SPEC_MAX]; /* as given, for GET /_control/fault */
  char meter[SIM_FAULT_SPEC_MAX];
  bool any_meter;
  bool token;
  int res; /* sim_res_t, or -1 for any */
  sim_fault_t fault;
  long remaining; /* -1: until cleared */
} rule_t;

struct sim_faults {
  pthread_mutex_t lock;
  rule_t rules[SIM_FAULT_MAX_RULES];
  size_t len;
};

sim_faults_t *sim_faults_create(void) {
  sim_faults_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return NULL;
  if (pthread_mutex_init(&f->lock, NULL) != 0) {
    free(f);
    return NULL;
  }
  return f;
}

void sim_faults_destroy(sim_faults_t *f) {
  if (f == NULL)
    return;
  pthread_mutex_destroy(&f->lock);
  free(f);
}

/* A decimal in [min, max] filling all of text; 0 or -EINVAL. */
static int parse_long(const char *text, long min, long max, long *out) {
  char *end = NULL;
  if (*text < '0' || *text > '9')
    return -EINVAL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

/* One of: "*" (any data request), "token", a resource slug, METER/SLUG,
 * METER followed by "/" and "*" (any resource of METER), or a meter ID. */
static int parse_match(char *match, rule_t *r, char *err, size_t err_size) {
  r->res = -1;
  r->any_meter = true;
  if (*match == '\0') {
    snprintf(err, err_size, "empty MATCH");
    return -EINVAL;
  }
  if (strcmp(match, "*") == 0)
    return 0;
  if (strcmp(match, "token") == 0) {
    r->token = true;
    return 0;
  }
  char *slash = strrchr(match, '/');
  const char *res = slash != NULL ? slash + 1 : match;
  if (slash != NULL && strcmp(res, "*") != 0 &&
      (r->res = sim_res_from_slug(res)) < 0) {
    snprintf(err, err_size, "unknown resource after '/' in MATCH");
    return -EINVAL;
  }
  if (slash == NULL && (r->res = sim_res_from_slug(match)) >= 0)
    return 0;
  if (slash != NULL)
    *slash = '\0';
  if (*match == '\0') {
    snprintf(err, err_size, "empty meter ID in MATCH");
    return -EINVAL;
  }
  r->any_meter = false;
  snprintf(r->meter, sizeof(r->meter), "%s", match);
  return 0;
}

static const kind_info_t *find_kind(const char *name) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].name, name) == 0)
      return &kinds[i];
  return NULL;
}

/* KIND[:ARG] into r->fault. */
static int parse_kind(char *text, rule_t *r, char *err, size_t err_size) {
  char *arg = strchr(text, ':');
  if (arg != NULL)
    *arg++ = '\0';
  const kind_info_t *k = find_kind(text);
  if (k == NULL) {
    snprintf(err, err_size, "unknown KIND '%.40s'", text);
    return -EINVAL;
  }
  r->fault = (sim_fault_t){.kind = k->kind, .status = k->status};
  if ((k->arg == ARG_NONE) != (arg == NULL)) {
    snprintf(err, err_size, "%s %s an argument", k->name,
             k->arg == ARG_NONE ? "takes no" : "needs");
    return -EINVAL;
  }
  if (k->arg == ARG_BAD_TOKEN) {
    for (size_t i = 0; i < N_BAD_TOKENS; i++)
      if (strcmp(arg, bad_token_names[i]) == 0) {
        r->fault.arg = (long)i;
        return 0;
      }
    snprintf(err, err_size, "unknown bad-token variant");
    return -EINVAL;
  }
  if (k->arg != ARG_NONE &&
      parse_long(arg, k->min, k->max, &r->fault.arg) != 0) {
    snprintf(err, err_size, "%s wants a number in %ld..%ld", k->name, k->min,
             k->max);
    return -EINVAL;
  }
  if (k->arg == ARG_STATUS)
    r->fault.status = (unsigned)r->fault.arg;
  return 0;
}

/* Rejects rules that could never change a request. */
static int check_applicable(const rule_t *r, char *err, size_t err_size) {
  sim_fault_kind_t k = r->fault.kind;
  if (k == SIM_FAULT_BAD_TOKEN && !r->token) {
    snprintf(err, err_size, "bad-token needs MATCH token");
    return -EINVAL;
  }
  if ((k == SIM_FAULT_REVOKE || k == SIM_FAULT_ODD_APPLIANCES) && r->token) {
    snprintf(err, err_size, "this KIND does not apply to the token endpoint");
    return -EINVAL;
  }
  if (k == SIM_FAULT_ODD_APPLIANCES && r->res >= 0 &&
      !sim_res_has_appliances((sim_res_t)r->res)) {
    snprintf(err, err_size, "odd-appliances needs a resource with appliances");
    return -EINVAL;
  }
  return 0;
}

static int parse_rule(const char *spec, rule_t *r, char *err, size_t err_size) {
  char work[SIM_FAULT_SPEC_MAX];
  memset(r, 0, sizeof(*r));
  r->remaining = -1;
  if (strlen(spec) >= sizeof(work)) {
    snprintf(err, err_size, "rule longer than %d bytes",
             SIM_FAULT_SPEC_MAX - 1);
    return -EINVAL;
  }
  snprintf(r->spec, sizeof(r->spec), "%s", spec);
  snprintf(work, sizeof(work), "%s", spec);
  char *eq = strrchr(work, '=');
  if (eq == NULL) {
    snprintf(err, err_size, "expected MATCH=KIND[:ARG][@COUNT]");
    return -EINVAL;
  }
  *eq = '\0';
  char *at = strrchr(eq + 1, '@');
  if (at != NULL) {
    *at = '\0';
    if (parse_long(at + 1, 1, INT_MAX, &r->remaining) != 0) {
      snprintf(err, err_size, "COUNT must be a positive number");
      return -EINVAL;
    }
  }
  if (parse_match(work, r, err, err_size) != 0 ||
      parse_kind(eq + 1, r, err, err_size) != 0)
    return -EINVAL;
  return check_applicable(r, err, err_size);
}

int sim_faults_add(sim_faults_t *f, const char *spec, char *err,
                   size_t err_size) {
  rule_t r;
  if (parse_rule(spec, &r, err, err_size) != 0)
    return -EINVAL;
  pthread_mutex_lock(&f->lock);
  int rc = -ENOSPC;
  if (f->len < SIM_FAULT_MAX_RULES) {
    f->rules[f->len++] = r;
    rc = 0;
  }
  pthread_mutex_unlock(&f->lock);
  if (rc != 0)
    snprintf(err, err_size, "more than %d rules", SIM_FAULT_MAX_RULES);
  return rc;
}

/* Copies line [p, end) without surrounding blanks into out. */
static void trim_line(const char *p, const char *end, char *out,
                      size_t out_size) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
    p++;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  size_t n = (size_t)(end - p);
  if (n >= out_size)
    n = out_size - 1; /* parse_rule rejects it by length */
  memcpy(out, p, n);
  out[n] = '\0';
}

static int parse_lines(const char *text, size_t len, rule_t *rules,
                       size_t *n_rules, char *err, size_t err_size) {
  char line[SIM_FAULT_SPEC_MAX + 1], why[160];
  const char *p = text, *end = text + len;
  *n_rules = 0;
  for (unsigned lineno = 1; p < end; lineno++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl != NULL ? nl : end;
    trim_line(p, stop, line, sizeof(line));
    p = nl != NULL ? nl + 1 : end;
    if (line[0] == '\0' || line[0] == '#')
      continue;
    if (*n_rules == SIM_FAULT_MAX_RULES) {
      snprintf(err, err_size, "line %u: more than %d rules", lineno,
               SIM_FAULT_MAX_RULES);
      return -ENOSPC;
    }
    if (parse_rule(line, &rules[*n_rules], why, sizeof(why)) != 0) {
      snprintf(err, err_size, "line %u: %s", lineno, why);
      return -EINVAL;
    }
    (*n_rules)++;
  }
  return 0;
}

int sim_faults_replace(sim_faults_t *f, const char *text, size_t len, char *err,
                       size_t err_size) {
  if (memchr(text, '\0', len) != NULL) {
    snprintf(err, err_size, "NUL byte in rules");
    return -EINVAL;
  }
  rule_t *rules = calloc(SIM_FAULT_MAX_RULES, sizeof(*rules));
  if (rules == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  size_t n = 0;
  int rc = parse_lines(text, len, rules, &n, err, err_size);
  if (rc == 0) {
    pthread_mutex_lock(&f->lock);
    memcpy(f->rules, rules, n * sizeof(*rules));
    f->len = n;
    pthread_mutex_unlock(&f->lock);
  }
  free(rules);
  return rc;
}

static bool rule_matches(const rule_t *r, const sim_target_t *t) {
  if (r->remaining == 0)
    return false;
  if (r->token || t->token)
    return r->token && t->token;
  if (!r->any_meter && strcmp(r->meter, t->meter) != 0)
    return false;
  if (r->res >= 0 && r->res != t->res)
    return false;
  return r->fault.kind != SIM_FAULT_ODD_APPLIANCES ||
         sim_res_has_appliances((sim_res_t)t->res);
}

static bool in_stage(sim_fault_kind_t k, sim_fault_stage_t stage) {
  bool early = k == SIM_FAULT_STATUS || k == SIM_FAULT_RETRY_AFTER ||
               k == SIM_FAULT_RETRY_DATE || k == SIM_FAULT_HTML ||
               k == SIM_FAULT_REVOKE;
  if (k == SIM_FAULT_DELAY)
    return false;
  return stage == SIM_STAGE_EARLY ? early : !early;
}

static void spend(rule_t *r) {
  if (r->remaining > 0)
    r->remaining--;
}

long sim_faults_take_delay_ms(sim_faults_t *f, const sim_target_t *t) {
  long total = 0;
  pthread_mutex_lock(&f->lock);
  for (size_t i = 0; i < f->len; i++) {
    rule_t *r = &f->rules[i];
    if (r->fault.kind != SIM_FAULT_DELAY || !rule_matches(r, t))
      continue;
    spend(r);
    total += r->fault.arg;
  }
  pthread_mutex_unlock(&f->lock);
  return total < SIM_FAULT_MAX_DELAY_MS ? total : SIM_FAULT_MAX_DELAY_MS;
}

bool sim_faults_take(sim_faults_t *f, const sim_target_t *t,
                     sim_fault_stage_t stage, sim_fault_t *out) {
  bool found = false;
  pthread_mutex_lock(&f->lock);
  for (size_t i = 0; i < f->len && !found; i++) {
    rule_t *r = &f->rules[i];
    if (!in_stage(r->fault.kind, stage) || !rule_matches(r, t))
      continue;
    spend(r);
    *out = r->fault;
    found = true;
  }
  pthread_mutex_unlock(&f->lock);
  return found;
}

void sim_faults_describe(sim_faults_t *f, sim_buf_t *out) {
  sim_jw_t w;
  sim_jw_init(&w, out, 0);
  sim_jw_obj_begin(&w);
  sim_jw_key(&w, "rules");
  sim_jw_arr_begin(&w);
  pthread_mutex_lock(&f->lock);
  for (size_t i = 0; i < f->len; i++) {
    sim_jw_obj_begin(&w);
    sim_jw_key(&w, "rule");
    sim_jw_string(&w, f->rules[i].spec);
    sim_jw_key(&w, "remaining");
    if (f->rules[i].remaining < 0)
      sim_jw_null(&w);
    else
      sim_jw_number(&w, (double)f->rules[i].remaining);
    sim_jw_obj_end(&w);
  }
  pthread_mutex_unlock(&f->lock);
  sim_jw_arr_end(&w);
  sim_jw_obj_end(&w);
}

const char *sim_fault_name(const sim_fault_t *fault) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (kinds[i].kind == fault->kind &&
        (kinds[i].status == 0 || kinds[i].status == fault->status))
      return kinds[i].name;
  return "none";
}
