/* sim_token.c - issued tokens in a ring. */
#include "sim_token.h"

#include "sim_data.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct entry {
  char token[SIM_TOKEN_MAX];
  uint64_t hash; /* FNV-1a of token, to skip most string compares */
  uint64_t serial;
  int64_t expires_ms;
} entry_t;

struct sim_tokens {
  pthread_mutex_t lock;
  entry_t ring[SIM_TOKEN_RING];
  uint64_t next_serial; /* serial of the next token, from 1 */
  uint64_t valid_from;  /* serials below this are revoked */
};

sim_tokens_t *sim_tokens_create(void) {
  sim_tokens_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  if (pthread_mutex_init(&t->lock, NULL) != 0) {
    free(t);
    return NULL;
  }
  t->next_serial = 1;
  t->valid_from = 1;
  return t;
}

void sim_tokens_destroy(sim_tokens_t *t) {
  if (t == NULL)
    return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}

static int random_hex(char *out, size_t bytes) {
  unsigned char raw[32];
  if (bytes > sizeof(raw) || getrandom(raw, bytes, 0) != (ssize_t)bytes)
    return -EIO;
  for (size_t i = 0; i < bytes; i++)
    snprintf(out + 2 * i, 3, "%02x", raw[i]);
  return 0;
}

int sim_tokens_issue(sim_tokens_t *t, int64_t now_ms, int64_t lifetime_ms,
                     char *out, size_t out_size) {
  char hex[2 * 24 + 1];
  if (out_size < SIM_TOKEN_MAX || random_hex(hex, 24) != 0)
    return -EIO;
  snprintf(out, out_size, "dwsim.%s", hex);
  pthread_mutex_lock(&t->lock);
  entry_t *e = &t->ring[t->next_serial % SIM_TOKEN_RING];
  snprintf(e->token, sizeof(e->token), "%s", out);
  e->hash = sim_fnv1a(out, strlen(out), SIM_FNV_OFFSET);
  e->serial = t->next_serial++;
  e->expires_ms = now_ms + lifetime_ms;
  pthread_mutex_unlock(&t->lock);
  return 0;
}

sim_tok_state_t sim_tokens_check(sim_tokens_t *t, const char *token,
                                 int64_t now_ms) {
  size_t len = strlen(token);
  if (len == 0 || len >= SIM_TOKEN_MAX)
    return SIM_TOK_UNKNOWN;
  uint64_t hash = sim_fnv1a(token, len, SIM_FNV_OFFSET);
  sim_tok_state_t state = SIM_TOK_UNKNOWN;
  pthread_mutex_lock(&t->lock);
  for (size_t i = 0; i < SIM_TOKEN_RING; i++) {
    const entry_t *e = &t->ring[i];
    if (e->serial == 0 || e->hash != hash || strcmp(e->token, token) != 0)
      continue;
    if (e->serial < t->valid_from)
      state = SIM_TOK_REVOKED;
    else if (now_ms >= e->expires_ms)
      state = SIM_TOK_EXPIRED;
    else
      state = SIM_TOK_VALID;
    break;
  }
  pthread_mutex_unlock(&t->lock);
  return state;
}

void sim_tokens_revoke_all(sim_tokens_t *t) {
  pthread_mutex_lock(&t->lock);
  t->valid_from = t->next_serial;
  pthread_mutex_unlock(&t->lock);
}
