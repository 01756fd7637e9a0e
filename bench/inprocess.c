/* bench/inprocess.c - the benchmark's figures that only a look inside the
 * process gives: a real account (libdigiwatt, the code the plugin ships)
 * against the simulator, with the unit tests' stand-in of collectd
 * (tests/unit/stand_in.c) recording what it dispatches.
 *
 *   inprocess handover URL METERS    the read callback's work while a
 *                                    cycle runs in the account's worker
 *   inprocess heap URL METERS        the account's own heap after a cycle
 *   inprocess state URL METERS DIR   the state file: size, write, read
 *
 * Each mode prints one JSON object on stdout; bench/run.py reads it and
 * bench/README.md says what each figure means. Every account has all
 * resources and periods, MaxConcurrency 64, Timeout 30, CycleTimeout 600.
 * Nothing here asserts a time: it measures and prints. */
#include "dw_account.h"
#include "dw_bytes.h"
#include "dw_clock.h"
#include "dw_config.h"
#include "dw_http.h"
#include "dw_roster.h"
#include "dw_state.h"
#include "dw_statefile.h"
#include "dw_worker.h"

#include "stand_in.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ACCOUNT "bench"
#define READ_INTERVAL ((uint64_t)10 << 30) /* collectd's default, cdtime_t */
#define MAX_SAMPLES 200000
#define IDLE_TICKS 50

static void die(const char *what) {
  fprintf(stderr, "inprocess: %s\n", what);
  exit(2);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The wall clock as collectd's cdtime_t (2^-30 s). */
static uint64_t wall_cdtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((uint64_t)ts.tv_sec << 30) |
         (((uint64_t)ts.tv_nsec << 30) / 1000000000);
}

/* A clock the heap mode moves by hand: cycles without waiting. */
static int64_t hand_ms;
static int64_t hand_clock(void *ud) {
  (void)ud;
  return hand_ms;
}

/* The one account's configuration, parsed the way the plugin parses it;
 * *cfg holds it (accounts[0]). */
static void account_config(dw_config_t *cfg, const char *url, long meters) {
  size_t cap = 4096 + (size_t)meters * 48;
  char *text = malloc(cap);
  if (text == NULL)
    die("out of memory");
  size_t len = (size_t)snprintf(
      text, cap,
      "<Plugin digiwatt>\n<Account \"" ACCOUNT "\">\n"
      "BaseURL \"%s\"\nClientID \"demo-client\"\n"
      "ClientSecret \"demo-secret\"\nMaxConcurrency 64\nTimeout 30\n"
      "CycleTimeout 600\n"
      "Resources \"costs\" \"consumption\" \"consumption-distribution\" "
      "\"performance\" \"savings\" \"consumption-history\" "
      "\"costs-history\" \"yearly-consumption-distribution\" "
      "\"yearly-compound-consumption\" \"disaggregation\"\n"
      "Periods \"yesterday\" \"last-seven-days\" \"this-week\" "
      "\"last-week\" \"this-month\" \"last-month\"\n",
      url);
  for (long i = 0; i < meters; i++)
    len += (size_t)snprintf(text + len, cap - len,
                            "<Smartmeter \"m%05ld\">\n</Smartmeter>\n", i);
  snprintf(text + len, cap - len, "</Account>\n</Plugin>\n");
  oconfig_item_t *root = standin_config_parse(text);
  free(text);
  if (root == NULL || root->children_num != 1 ||
      dw_config_parse(&root->children[0], cfg) != 0 || cfg->accounts_len != 1)
    die("the configuration was refused (run with STANDIN_VERBOSE=1)");
  standin_config_free(root);
}

/* Values the stand-in recorded that are not self-metrics (the account's,
 * and each meter's digiwatt_data_age_seconds), and how many of those are
 * history months (stamped before the cycle). */
static void count_values(uint64_t cycle_time, size_t *data, size_t *months) {
  *data = *months = 0;
  for (size_t i = 0; i < standin_values_count(); i++) {
    const standin_value_t *v = standin_value_at(i);
    if (strncmp(v->plugin_instance, "account-", 8) == 0 ||
        strcmp(v->type, "digiwatt_data_age_seconds") == 0)
      continue;
    (*data)++;
    *months += v->time < cycle_time;
  }
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Median, 99th percentile and maximum of n samples, in µs; sorts s. */
static void print_quantiles(const char *name, int64_t *s, size_t n) {
  if (n == 0) {
    printf("\"%s\": null", name);
    return;
  }
  qsort(s, n, sizeof(*s), cmp_i64);
  size_t p99 = (n * 99) / 100;
  if (p99 >= n)
    p99 = n - 1;
  printf("\"%s\": {\"median_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f}",
         name, (double)s[n / 2] / 1000.0, (double)s[p99] / 1000.0,
         (double)s[n - 1] / 1000.0);
}

/* --- handover: what collectd's read thread does while a cycle runs ------ */

static void worker_cycle(void *account, uint64_t now, uint64_t interval) {
  (void)dw_account_read(account, now, interval);
}

static void worker_interrupt(void *account) { dw_account_interrupt(account); }

static int worker_spawn(pthread_t *t, void *(*start)(void *), void *arg,
                        const char *name) {
  (void)name;
  return pthread_create(t, NULL, start, arg);
}

/* The glue's digiwatt_read() is dw_worker_tick() with cdtime() and
 * plugin_get_interval(): this times exactly that call, from the main
 * thread, about every millisecond while the worker runs the account's
 * first cycle (every request of the fleet). Wall time (CLOCK_MONOTONIC)
 * includes the times the main thread was not on a CPU; its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID) does not. */
static int handover(const char *url, long meters) {
  dw_config_t cfg = {0};
  account_config(&cfg, url, meters);
  dw_account_t *a =
      dw_account_create(&cfg.accounts[0], NULL, NULL, dw_clock_monotonic());
  dw_config_free(&cfg);
  if (a == NULL)
    die("cannot create the account");
  static const dw_worker_ops_t ops = {.cycle = worker_cycle,
                                      .interrupt = worker_interrupt,
                                      .spawn = worker_spawn};
  dw_worker_t *w = dw_worker_start("dw:" ACCOUNT, &ops, a);
  if (w == NULL)
    die("cannot start the worker");
  int64_t *wall = calloc(MAX_SAMPLES, sizeof(*wall));
  int64_t *cpu = calloc(MAX_SAMPLES, sizeof(*cpu));
  if (wall == NULL || cpu == NULL)
    die("out of memory");
  size_t n = 0, idle_ticks = 0;
  int64_t start = mono_ns();
  int64_t t0 = mono_ns(), c0 = thread_cpu_ns();
  (void)dw_worker_tick(w, wall_cdtime(), READ_INTERVAL); /* starts it */
  int64_t first_wall = mono_ns() - t0, first_cpu = thread_cpu_ns() - c0;
  const struct timespec ms = {0, 1000000};
  while (dw_worker_cycles(w) == 0 && n < MAX_SAMPLES) {
    nanosleep(&ms, NULL);
    uint64_t now = wall_cdtime();
    t0 = mono_ns();
    c0 = thread_cpu_ns();
    int busy = dw_worker_tick(w, now, READ_INTERVAL);
    int64_t dc = thread_cpu_ns() - c0, dt = mono_ns() - t0;
    if (!busy) { /* the cycle ended between the check and the tick */
      idle_ticks++;
      continue;
    }
    wall[n] = dt;
    cpu[n] = dc;
    n++;
  }
  double cycle_s = (double)(mono_ns() - start) / 1e9;
  dw_worker_wait_idle(w); /* the merged tick's cycle: nothing due */
  /* For comparison, ticks to an idle worker: each wakes it for a cycle
   * with nothing due (self-metrics only), waited for before the next. */
  int64_t idle_wall[IDLE_TICKS], idle_cpu[IDLE_TICKS];
  for (int i = 0; i < IDLE_TICKS; i++) {
    nanosleep(&ms, NULL);
    uint64_t now = wall_cdtime();
    t0 = mono_ns();
    c0 = thread_cpu_ns();
    (void)dw_worker_tick(w, now, READ_INTERVAL);
    idle_cpu[i] = thread_cpu_ns() - c0;
    idle_wall[i] = mono_ns() - t0;
    dw_worker_wait_idle(w);
  }
  dw_worker_stop(w);
  size_t data, months;
  count_values(0, &data, &months);
  dw_account_destroy(a);
  printf("{\"mode\": \"handover\", \"meters\": %ld, \"cycle_s\": %.3f, "
         "\"ticks\": %zu, \"idle_ticks\": %zu, \"values\": %zu, "
         "\"first_tick_us\": %.2f, \"first_tick_cpu_us\": %.2f, ",
         meters, cycle_s, n, idle_ticks, data, (double)first_wall / 1000.0,
         (double)first_cpu / 1000.0);
  print_quantiles("wall", wall, n);
  printf(", ");
  print_quantiles("cpu", cpu, n);
  printf(", ");
  print_quantiles("idle_wall", idle_wall, IDLE_TICKS);
  printf(", ");
  print_quantiles("idle_cpu", idle_cpu, IDLE_TICKS);
  printf("}\n");
  free(wall);
  free(cpu);
  standin_reset();
  return 0;
}

/* --- heap: what the account itself keeps -------------------------------- */

/* Bytes malloc has handed out and not got back, over every arena, mmap'ed
 * blocks included. */
static size_t heap_in_use(void) {
  malloc_trim(0);
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/* One cycle on the hand clock, then what the stand-in recorded is
 * counted and dropped (it is collectd's memory, not the plugin's). */
static void heap_cycle(dw_account_t *a, uint64_t now, size_t *data,
                       size_t *months) {
  (void)dw_account_read(a, now, READ_INTERVAL);
  count_values(now, data, months);
  standin_reset();
}

/* Heap in use before the account exists (libcurl initialised, nothing
 * parsed) against after its first cycle, with everything freed that is
 * not the account's: the configuration text and tree, and the stand-in's
 * records. Then cycles 10 s apart on the hand clock (no slot falls due
 * again: the shortest RefreshInterval is 900 s) until the history months
 * have all gone out, one per series and cycle, and once more. */
static int heap(const char *url, long meters) {
  size_t before = heap_in_use();
  dw_config_t cfg = {0};
  account_config(&cfg, url, meters);
  dw_account_t *a =
      dw_account_create(&cfg.accounts[0], NULL, NULL,
                        (dw_clock_t){.now_ms = hand_clock, .ud = NULL});
  dw_config_free(&cfg);
  if (a == NULL)
    die("cannot create the account");
  size_t created = heap_in_use();
  uint64_t now = wall_cdtime();
  size_t data, months, first_values;
  int64_t t0 = mono_ns();
  heap_cycle(a, now, &first_values, &months);
  double cycle_s = (double)(mono_ns() - t0) / 1e9;
  size_t first = heap_in_use();
  unsigned cycles = 1;
  size_t month_values = months;
  do {
    hand_ms += 10000;
    now += READ_INTERVAL;
    heap_cycle(a, now, &data, &months);
    month_values += months;
    cycles++;
  } while (data > 0 && cycles < 100);
  size_t settled = heap_in_use();
  dw_account_destroy(a);
  size_t after = heap_in_use();
  printf("{\"mode\": \"heap\", \"meters\": %ld, \"cycle_s\": %.3f, "
         "\"first_cycle_values\": %zu, \"month_values\": %zu, "
         "\"cycles\": %u, \"before\": %zu, \"created\": %zu, "
         "\"after_first_cycle\": %zu, \"after_months\": %zu, "
         "\"after_destroy\": %zu}\n",
         meters, cycle_s, first_values, month_values, cycles, before, created,
         first, settled, after);
  return 0;
}

/* --- state: the file an account keeps across restarts ------------------ */

#define STATE_REPEAT 5

/* The account writes its state at the end of its first cycle (as the
 * daemon does). That file is read back and decoded STATE_REPEAT times,
 * and the decoded roster encoded and written STATE_REPEAT times: the
 * write is exactly what the daemon's save does (dw_state_encode, then
 * dw_statefile_write: a temporary file, fsync, rename, fsync of the
 * directory). */
static int state(const char *url, long meters, const char *dir) {
  char why[256];
  int loose;
  if (dw_statefile_dir(dir, &loose, why, sizeof(why)) != 0)
    die(why);
  char path[4096];
  snprintf(path, sizeof(path), "%s/" ACCOUNT ".state", dir);
  dw_config_t cfg = {0};
  account_config(&cfg, url, meters);
  dw_account_cfg_t *ac = &cfg.accounts[0];
  ac->state_file = strdup(path);
  ac->state_save_ms = DW_DEFAULT_STATE_SAVE_MS;
  long refresh_ms[DW_RES_COUNT];
  memcpy(refresh_ms, ac->refresh_ms, sizeof(refresh_ms));
  dw_state_limits_t lim = {.refresh_ms = refresh_ms,
                           .backoff_max_ms = ac->backoff_max_ms};
  dw_account_t *a = dw_account_create(ac, NULL, NULL, dw_clock_monotonic());
  dw_config_free(&cfg);
  if (a == NULL)
    die("cannot create the account");
  uint64_t now = wall_cdtime();
  (void)dw_account_read(a, now, READ_INTERVAL);
  standin_reset();
  struct stat st;
  if (stat(path, &st) != 0)
    die("the account wrote no state file");

  int64_t reads[STATE_REPEAT], writes[STATE_REPEAT];
  dw_roster_t kept = {0};
  dw_state_account_t acct = {0};
  size_t payload = 0;
  for (int i = 0; i < STATE_REPEAT; i++) {
    dw_clock_t mono = dw_clock_monotonic();
    dw_state_now_t when = {.mono_ms = dw_clock_read(&mono),
                           .wall_ms = (int64_t)time(NULL) * 1000};
    int64_t t0 = mono_ns();
    void *data;
    size_t len;
    dw_roster_t r;
    dw_state_account_t s;
    if (dw_statefile_read(path, &data, &len, why, sizeof(why)) != 0 ||
        dw_state_decode(data, len, ACCOUNT, when, &lim, &r, &s, why,
                        sizeof(why)) != 0)
      die(why);
    free(data);
    reads[i] = mono_ns() - t0;
    payload = len;
    dw_roster_free(&kept);
    kept = r;
    acct = s;
  }
  size_t written = 0;
  for (int i = 0; i < STATE_REPEAT; i++) {
    dw_clock_t mono = dw_clock_monotonic();
    dw_state_now_t when = {.mono_ms = dw_clock_read(&mono),
                           .wall_ms = (int64_t)time(NULL) * 1000};
    int64_t t0 = mono_ns();
    dw_bytes_t b = {0};
    if (dw_state_encode(&b, ACCOUNT, &acct, &kept, when) != 0 ||
        dw_statefile_write(path, b.data, b.len, why, sizeof(why)) != 0)
      die(why);
    writes[i] = mono_ns() - t0;
    written = b.len;
    dw_bytes_free(&b);
  }
  size_t slots = 0;
  for (size_t i = 0; i < kept.slots_len; i++)
    slots += kept.slots[i].cache.len > 0;
  dw_roster_free(&kept);
  dw_account_destroy(a);
  printf("{\"mode\": \"state\", \"meters\": %ld, \"file_bytes\": %lld, "
         "\"payload_bytes\": %zu, \"rewritten_payload_bytes\": %zu, "
         "\"slots_with_values\": %zu, ",
         meters, (long long)st.st_size, payload, written, slots);
  print_quantiles("write", writes, STATE_REPEAT);
  printf(", ");
  print_quantiles("read", reads, STATE_REPEAT);
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[1], "state") == 0 && argc < 5)) {
    fprintf(stderr, "usage: inprocess handover|heap URL METERS\n"
                    "       inprocess state URL METERS DIR\n");
    return 2;
  }
  long meters = strtol(argv[3], NULL, 10);
  if (meters < 1 || meters > 100000)
    die("METERS: 1 to 100000");
  standin_set_verbose(false);
  if (dw_http_global_init() != 0)
    die("libcurl could not be initialised");
  if (strcmp(argv[1], "handover") == 0)
    return handover(argv[2], meters);
  if (strcmp(argv[1], "heap") == 0)
    return heap(argv[2], meters);
  if (strcmp(argv[1], "state") == 0)
    return state(argv[2], meters, argv[4]);
  die("the mode is handover, heap or state");
  return 2;
}
