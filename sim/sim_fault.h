/* sim_fault.h - fault rules: parsing, matching, counting down.
 *
 * A rule is "MATCH=KIND[:ARG][@COUNT]" (see sim/README.md). The rule set
 * is shared by every connection thread, so it owns a mutex; a request
 * takes at most one fault per stage, and taking one spends one of its
 * COUNT. A rule that cannot change a request (odd-appliances on costs, a
 * body fault on a request that fails its token check) does not spend it. */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "sim_json.h"

#include <stdbool.h>
#include <stddef.h>

#define SIM_FAULT_MAX_RULES 64
#define SIM_FAULT_SPEC_MAX 512
#define SIM_FAULT_MAX_DELAY_MS 600000L
#define SIM_FAULT_MAX_OVERSIZED (64L * 1024 * 1024)
#define SIM_FAULT_MAX_DEEP 1000000L

typedef enum sim_fault_kind {
  SIM_FAULT_NONE = 0,
  SIM_FAULT_DELAY,       /* arg ms; delays add up, never end the search */
  SIM_FAULT_STATUS,      /* status with the contract's error body */
  SIM_FAULT_RETRY_AFTER, /* status + "Retry-After: <arg seconds>" */
  SIM_FAULT_RETRY_DATE,  /* status + Retry-After as HTTP-date now + arg */
  SIM_FAULT_HTML,        /* 200 text/html error page */
  SIM_FAULT_REVOKE,      /* every token issued so far stops working */
  SIM_FAULT_RESET,       /* half the body, then the connection closes */
  SIM_FAULT_TRUNCATE,    /* half the body, Content-Length to match */
  SIM_FAULT_INVALID_JSON,
  SIM_FAULT_WRONG_TYPES,
  SIM_FAULT_NULLS,
  SIM_FAULT_EMPTY,
  SIM_FAULT_EXTRA_FIELDS,
  SIM_FAULT_OVERSIZED, /* arg: total body bytes */
  SIM_FAULT_DEEP,      /* arg: nesting of the injected member */
  SIM_FAULT_ODD_APPLIANCES,
  SIM_FAULT_EXTRA_RESPONSE, /* 200, then arg ms later a second response
                               nobody asked for */
  SIM_FAULT_BAD_TOKEN       /* arg: sim_bad_token_t */
} sim_fault_kind_t;

typedef enum sim_bad_token {
  SIM_BAD_TOKEN_MISSING_EXPIRES,
  SIM_BAD_TOKEN_ZERO_EXPIRES,
  SIM_BAD_TOKEN_HUGE,
  SIM_BAD_TOKEN_BAD_TYPE,
  SIM_BAD_TOKEN_NOT_JSON
} sim_bad_token_t;

typedef enum sim_fault_stage {
  SIM_STAGE_EARLY, /* before the credentials or token are checked */
  SIM_STAGE_BODY   /* on a request about to be answered 200 */
} sim_fault_stage_t;

typedef struct sim_fault {
  sim_fault_kind_t kind;
  unsigned status; /* STATUS, RETRY_AFTER, RETRY_DATE */
  long arg;
} sim_fault_t;

/* What a request asks for, as the rules see it. */
typedef struct sim_target {
  bool token;        /* the token endpoint */
  const char *meter; /* decoded smartmeterId of a data request */
  int res;           /* sim_res_t of a data request */
} sim_target_t;

typedef struct sim_faults sim_faults_t;

/* An empty rule set; NULL on ENOMEM. */
sim_faults_t *sim_faults_create(void);

/* Frees the set; accepts NULL. */
void sim_faults_destroy(sim_faults_t *f);

/* Appends one rule; 0, or -EINVAL/-ENOSPC with a reason in err. */
__attribute__((warn_unused_result)) int
sim_faults_add(sim_faults_t *f, const char *spec, char *err, size_t err_size);

/* Replaces every rule by those of text (one per line, blank lines and
 * '#' comments ignored; empty text clears). All or nothing: 0, or
 * -EINVAL/-ENOSPC with "line N: reason" in err and the old rules kept. */
__attribute__((warn_unused_result)) int
sim_faults_replace(sim_faults_t *f, const char *text, size_t len, char *err,
                   size_t err_size);

/* Sum of the delays of every matching delay rule, spending each one. */
long sim_faults_take_delay_ms(sim_faults_t *f, const sim_target_t *t);

/* The first matching rule of that stage with count left, spending one;
 * false when none matches. */
bool sim_faults_take(sim_faults_t *f, const sim_target_t *t,
                     sim_fault_stage_t stage, sim_fault_t *out);

/* Writes {"rules":[{"rule":...,"remaining":n|null}]} to out. */
void sim_faults_describe(sim_faults_t *f, sim_buf_t *out);

/* The KIND word of a fault ("nulls", "429"), for log lines. */
const char *sim_fault_name(const sim_fault_t *fault);

#endif
