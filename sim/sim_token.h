/* sim_token.h - the bearer tokens the simulator has issued.
 *
 * A bounded ring: the oldest token is forgotten when the ring is full, so
 * a long soak costs constant memory. Tokens are random, checked by value,
 * and carry an issue serial so "revoke" can invalidate every token issued
 * before a point in time with one store. Thread-safe. */
#ifndef SIM_TOKEN_H
#define SIM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define SIM_TOKEN_RING 4096
#define SIM_TOKEN_MAX 64 /* bytes of a token, NUL included */

typedef enum sim_tok_state {
  SIM_TOK_VALID,
  SIM_TOK_UNKNOWN, /* never issued, or forgotten */
  SIM_TOK_EXPIRED,
  SIM_TOK_REVOKED
} sim_tok_state_t;

typedef struct sim_tokens sim_tokens_t;

/* An empty store; NULL on ENOMEM. */
sim_tokens_t *sim_tokens_create(void);

/* Frees the store; accepts NULL. */
void sim_tokens_destroy(sim_tokens_t *t);

/* Issues a token valid from now_ms (CLOCK_MONOTONIC) for lifetime_ms into
 * out (at least SIM_TOKEN_MAX bytes); 0, or -EIO without randomness. */
__attribute__((warn_unused_result)) int
sim_tokens_issue(sim_tokens_t *t, int64_t now_ms, int64_t lifetime_ms,
                 char *out, size_t out_size);

/* What the store knows of token at now_ms. */
sim_tok_state_t sim_tokens_check(sim_tokens_t *t, const char *token,
                                 int64_t now_ms);

/* Every token issued so far is revoked; later ones are not. */
void sim_tokens_revoke_all(sim_tokens_t *t);

#endif
