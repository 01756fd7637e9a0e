/* sim_stats.c - request counters behind one mutex. */
#include "sim_stats.h"

#include "sim_data.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS                                                                  \
  (2 * SIM_STATS_MAX_PATHS) /* open addressing, half full at most              \
                             */
#define MAX_STATUS 600

typedef struct path_count {
  char *path;
  unsigned long long count;
} path_count_t;

struct sim_stats {
  pthread_mutex_t lock;
  path_count_t slots[SLOTS];
  size_t n_paths;
  unsigned long long other; /* requests whose path found no slot */
  unsigned long long requests, token_requests, faults;
  unsigned long long by_status[MAX_STATUS];
  unsigned in_flight, max_in_flight;
};

sim_stats_t *sim_stats_create(void) {
  sim_stats_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

static void clear_paths(sim_stats_t *s) {
  for (size_t i = 0; i < SLOTS; i++) {
    free(s->slots[i].path);
    s->slots[i] = (path_count_t){0};
  }
  s->n_paths = 0;
  s->other = 0;
}

void sim_stats_destroy(sim_stats_t *s) {
  if (s == NULL)
    return;
  clear_paths(s);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* Re-encodes bytes that are not printable ASCII as %XX so every key of
 * by_path is valid JSON text whatever arrived on the wire. */
static void printable_path(const char *path, char *out, size_t out_size) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)path;
       *p != '\0' && o + 4 < out_size; p++) {
    if (*p > 0x20 && *p < 0x7f)
      out[o++] = (char)*p;
    else
      o += (size_t)snprintf(out + o, out_size - o, "%%%02X", *p);
  }
  out[o] = '\0';
}

/* The slot counting path, claiming a free one; NULL when full. */
static path_count_t *find_slot(sim_stats_t *s, const char *path) {
  uint64_t h = sim_fnv1a(path, strlen(path), SIM_FNV_OFFSET);
  for (size_t probe = 0; probe < SLOTS; probe++) {
    path_count_t *pc = &s->slots[(h + probe) % SLOTS];
    if (pc->path != NULL && strcmp(pc->path, path) == 0)
      return pc;
    if (pc->path != NULL)
      continue;
    if (s->n_paths >= SIM_STATS_MAX_PATHS || (pc->path = strdup(path)) == NULL)
      return NULL;
    s->n_paths++;
    return pc;
  }
  return NULL;
}

void sim_stats_begin(sim_stats_t *s, const char *path, bool token) {
  char key[SIM_STATS_MAX_PATH_LEN];
  printable_path(path, key, sizeof(key));
  pthread_mutex_lock(&s->lock);
  if (token)
    s->token_requests++;
  else
    s->requests++;
  path_count_t *pc = find_slot(s, key);
  if (pc != NULL)
    pc->count++;
  else
    s->other++;
  if (++s->in_flight > s->max_in_flight)
    s->max_in_flight = s->in_flight;
  pthread_mutex_unlock(&s->lock);
}

void sim_stats_answer(sim_stats_t *s, unsigned status, bool faulted) {
  pthread_mutex_lock(&s->lock);
  if (status < MAX_STATUS)
    s->by_status[status]++;
  if (faulted)
    s->faults++;
  pthread_mutex_unlock(&s->lock);
}

void sim_stats_end(sim_stats_t *s) {
  pthread_mutex_lock(&s->lock);
  if (s->in_flight > 0)
    s->in_flight--;
  pthread_mutex_unlock(&s->lock);
}

void sim_stats_reset(sim_stats_t *s) {
  pthread_mutex_lock(&s->lock);
  clear_paths(s);
  s->requests = s->token_requests = s->faults = 0;
  memset(s->by_status, 0, sizeof(s->by_status));
  s->max_in_flight = s->in_flight;
  pthread_mutex_unlock(&s->lock);
}

static void describe_counts(sim_stats_t *s, sim_jw_t *w) {
  char code[8];
  sim_jw_key(w, "by_path");
  sim_jw_obj_begin(w);
  for (size_t i = 0; i < SLOTS; i++) {
    if (s->slots[i].path == NULL)
      continue;
    sim_jw_key(w, s->slots[i].path);
    sim_jw_number(w, (double)s->slots[i].count);
  }
  if (s->other > 0) {
    sim_jw_key(w, "(other)");
    sim_jw_number(w, (double)s->other);
  }
  sim_jw_obj_end(w);
  sim_jw_key(w, "by_status");
  sim_jw_obj_begin(w);
  for (unsigned st = 0; st < MAX_STATUS; st++) {
    if (s->by_status[st] == 0)
      continue;
    snprintf(code, sizeof(code), "%u", st);
    sim_jw_key(w, code);
    sim_jw_number(w, (double)s->by_status[st]);
  }
  sim_jw_obj_end(w);
}

void sim_stats_describe(sim_stats_t *s, sim_buf_t *out) {
  sim_jw_t w;
  sim_jw_init(&w, out, 0);
  pthread_mutex_lock(&s->lock);
  sim_jw_obj_begin(&w);
  sim_jw_key(&w, "token_requests");
  sim_jw_number(&w, (double)s->token_requests);
  sim_jw_key(&w, "requests");
  sim_jw_number(&w, (double)s->requests);
  describe_counts(s, &w);
  sim_jw_key(&w, "max_in_flight");
  sim_jw_number(&w, s->max_in_flight);
  sim_jw_key(&w, "in_flight");
  sim_jw_number(&w, s->in_flight);
  sim_jw_key(&w, "faults_applied");
  sim_jw_number(&w, (double)s->faults);
  sim_jw_obj_end(&w);
  pthread_mutex_unlock(&s->lock);
}
