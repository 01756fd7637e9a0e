/* digiwatt-sim.c - a Digiwatt Services API simulator for tests and demos.
 *
 * This file is the command line: options, TLS files, the port file and
 * the signal wait. The HTTP side is sim_server.c, the figures sim_data.c,
 * the fault rules sim_fault.c. Usage and formulas: sim/README.md. */
#include "sim_data.h"
#include "sim_fault.h"
#include "sim_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "digiwatt-sim"
#define PEM_MAX (1024 * 1024)
#define PREFIX_MAX 256

typedef struct cli {
  sim_server_cfg_t srv;
  char prefix[PREFIX_MAX];
  const char *bind;
  long port;
  const char *port_file;
  const char *tls_cert;
  const char *tls_key;
  long max_connections;
  const char *faults[SIM_FAULT_MAX_RULES];
  size_t n_faults;
} cli_t;

enum {
  OPT_PORT = 256,
  OPT_PORT_FILE,
  OPT_BIND,
  OPT_PREFIX,
  OPT_CLIENT_ID,
  OPT_CLIENT_SECRET,
  OPT_TOKEN_LIFETIME,
  OPT_LATENCY,
  OPT_TODAY,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_FAULT,
  OPT_QUIET,
  OPT_MAX_CONNECTIONS,
  OPT_TOKEN_AUTH,
  OPT_REQUIRE_SCOPE
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"bind", required_argument, NULL, OPT_BIND},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"client-secret", required_argument, NULL, OPT_CLIENT_SECRET},
    {"token-lifetime", required_argument, NULL, OPT_TOKEN_LIFETIME},
    {"latency-ms", required_argument, NULL, OPT_LATENCY},
    {"today", required_argument, NULL, OPT_TODAY},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"token-auth", required_argument, NULL, OPT_TOKEN_AUTH},
    {"require-scope", required_argument, NULL, OPT_REQUIRE_SCOPE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out) {
  fputs(
      "Usage: " PROG " [OPTION]...\n"
      "Serves the Digiwatt Services API with deterministic data until\n"
      "SIGINT or SIGTERM. The first stdout line is \"listening on "
      "ADDR:PORT\".\n"
      "\n"
      "  --port N               TCP port, 0 for an ephemeral one (default 0)\n"
      "  --port-file PATH       write the bound port there once listening\n"
      "  --bind ADDR            IPv4 or IPv6 address (default 127.0.0.1)\n"
      "  --prefix PATH          path prefix of the API, e.g. /v1 (default "
      "none)\n"
      "  --client-id ID         accepted client_id (default demo-client)\n"
      "  --client-secret S      accepted client_secret (default demo-secret)\n"
      "  --token-lifetime SEC   expires_in of issued tokens (default 3600)\n"
      "  --token-auth MODE      how token requests carry the credentials:\n"
      "                         post (body), basic (RFC 6749 2.3.1), any\n"
      "                         (default: either, never both)\n"
      "  --require-scope S      refuse token requests without scope S\n"
      "  --latency-ms N         sleep before answering each API request\n"
      "  --today YYYY-MM-DD     date the monthly histories end before (UTC)\n"
      "  --tls-cert FILE        serve HTTPS with this PEM certificate...\n"
      "  --tls-key FILE         ...and this PEM key\n"
      "  --fault SPEC           fault rule MATCH=KIND[:ARG][@COUNT], "
      "repeatable\n"
      "  --max-connections N    concurrent connections (default 256)\n"
      "  --quiet                no request log on stderr\n"
      "  --help                 this text\n"
      "\n"
      "Control (loopback only): POST /_control/fault, GET /_control/fault,\n"
      "GET /_control/stats, POST /_control/reset-stats. See sim/README.md.\n",
      out);
}

static int parse_number(const char *name, const char *text, long min, long max,
                        long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
    fprintf(stderr, PROG ": --%s wants a number in %ld..%ld\n", name, min, max);
    return -EINVAL;
  }
  *out = v;
  return 0;
}

/* "/v1", "v1/" and "/v1/" all mean "/v1"; "" and "/" mean none. */
static int set_prefix(cli_t *c, const char *text) {
  size_t n = strlen(text);
  while (n > 0 && text[n - 1] == '/')
    n--;
  const char *lead = (n > 0 && text[0] != '/') ? "/" : "";
  if (n + 2 > sizeof(c->prefix) || strpbrk(text, "?#% \t") != NULL) {
    fprintf(stderr, PROG ": --prefix must be a plain path under %d bytes\n",
            PREFIX_MAX - 2);
    return -EINVAL;
  }
  snprintf(c->prefix, sizeof(c->prefix), "%s%.*s", lead, (int)n, text);
  return 0;
}

static int add_fault(cli_t *c, const char *spec) {
  if (c->n_faults == SIM_FAULT_MAX_RULES) {
    fprintf(stderr, PROG ": more than %d --fault rules\n", SIM_FAULT_MAX_RULES);
    return -EINVAL;
  }
  c->faults[c->n_faults++] = spec;
  return 0;
}

static int set_token_auth(cli_t *c, const char *arg) {
  if (strcmp(arg, "any") == 0)
    c->srv.token_auth = SIM_AUTH_ANY;
  else if (strcmp(arg, "post") == 0)
    c->srv.token_auth = SIM_AUTH_POST;
  else if (strcmp(arg, "basic") == 0)
    c->srv.token_auth = SIM_AUTH_BASIC;
  else {
    fprintf(stderr, PROG ": --token-auth wants post, basic or any\n");
    return -EINVAL;
  }
  return 0;
}

/* 0, 1 for --help, or -EINVAL after a message. */
static int parse_option(cli_t *c, int opt, const char *arg) {
  long v;
  switch (opt) {
  case OPT_PORT:
    return parse_number("port", arg, 0, 65535, &c->port);
  case OPT_PORT_FILE:
    c->port_file = arg;
    return 0;
  case OPT_BIND:
    c->bind = arg;
    return 0;
  case OPT_PREFIX:
    return set_prefix(c, arg);
  case OPT_CLIENT_ID:
    c->srv.client_id = arg;
    return 0;
  case OPT_CLIENT_SECRET:
    c->srv.client_secret = arg;
    return 0;
  case OPT_TOKEN_LIFETIME:
    return parse_number("token-lifetime", arg, 1, 315360000,
                        &c->srv.token_lifetime_s);
  case OPT_LATENCY:
    return parse_number("latency-ms", arg, 0, SIM_FAULT_MAX_DELAY_MS,
                        &c->srv.latency_ms);
  case OPT_TODAY:
    c->srv.today_fixed = true;
    if (sim_date_parse(arg, &c->srv.today) == 0)
      return 0;
    fprintf(stderr, PROG ": --today wants a valid YYYY-MM-DD date\n");
    return -EINVAL;
  case OPT_TLS_CERT:
    c->tls_cert = arg;
    return 0;
  case OPT_TLS_KEY:
    c->tls_key = arg;
    return 0;
  case OPT_FAULT:
    return add_fault(c, arg);
  case OPT_QUIET:
    c->srv.quiet = true;
    return 0;
  case OPT_MAX_CONNECTIONS:
    if (parse_number("max-connections", arg, 1, 10000, &v) != 0)
      return -EINVAL;
    c->max_connections = v;
    return 0;
  case OPT_TOKEN_AUTH:
    return set_token_auth(c, arg);
  case OPT_REQUIRE_SCOPE:
    c->srv.require_scope = arg;
    return 0;
  case 'h':
    return 1;
  default:
    return -EINVAL; /* getopt_long has already explained */
  }
}

static int parse_args(int argc, char **argv, cli_t *c) {
  int opt, rc;
  memset(c, 0, sizeof(*c));
  c->srv = (sim_server_cfg_t){.prefix = c->prefix,
                              .client_id = "demo-client",
                              .client_secret = "demo-secret",
                              .token_lifetime_s = 3600};
  c->bind = "127.0.0.1";
  c->max_connections = 256;
  while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1)
    if ((rc = parse_option(c, opt, optarg)) != 0)
      return rc;
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument (see --help)\n");
    return -EINVAL;
  }
  if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
    fprintf(stderr, PROG ": --tls-cert and --tls-key go together\n");
    return -EINVAL;
  }
  return 0;
}

static int make_addr(const char *bind, long port, struct sockaddr_storage *ss) {
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  memset(ss, 0, sizeof(*ss));
  if (inet_pton(AF_INET, bind, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    return 0;
  }
  if (inet_pton(AF_INET6, bind, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return 0;
  }
  fprintf(stderr, PROG ": --bind wants a numeric IPv4 or IPv6 address\n");
  return -EINVAL;
}

/* The whole file as a NUL-terminated string (caller frees), or NULL. */
static char *read_pem(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0;
  if (f == NULL)
    goto fail;
  buf = malloc(PEM_MAX + 1);
  if (buf == NULL)
    goto fail;
  n = fread(buf, 1, PEM_MAX + 1, f);
  if (ferror(f) || n == 0 || n > PEM_MAX)
    goto fail;
  buf[n] = '\0';
  fclose(f);
  return buf;
fail:
  fprintf(stderr, PROG ": cannot read %s (missing, empty or over 1 MiB)\n",
          path);
  free(buf);
  if (f != NULL)
    fclose(f);
  return NULL;
}

/* Written under a temporary name and renamed, so a reader polling for
 * the file never sees it half written. */
static int write_port_file(const char *path, unsigned port) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
    return -ENAMETOOLONG;
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return -errno;
  int bad = fprintf(f, "%u\n", port) < 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    int rc = -errno;
    unlink(tmp);
    return rc != 0 ? rc : -EIO;
  }
  return 0;
}

static int add_faults(sim_server_t *srv, const cli_t *c) {
  char err[256];
  for (size_t i = 0; i < c->n_faults; i++) {
    if (sim_faults_add(sim_server_faults(srv), c->faults[i], err,
                       sizeof(err)) != 0) {
      fprintf(stderr, PROG ": --fault %s: %s\n", c->faults[i], err);
      return -EINVAL;
    }
  }
  return 0;
}

static void announce(const cli_t *c, unsigned port) {
  bool v6 = strchr(c->bind, ':') != NULL;
  printf("listening on %s%s%s:%u\n", v6 ? "[" : "", c->bind, v6 ? "]" : "",
         port);
  fflush(stdout);
  if (!c->srv.quiet)
    fprintf(stderr, PROG ": serving %s://%s%s%s:%u%s\n",
            c->tls_cert != NULL ? "https" : "http", v6 ? "[" : "", c->bind,
            v6 ? "]" : "", port, c->prefix);
}

/* Blocks until SIGINT or SIGTERM; the mask was set before any thread. */
static void wait_for_signal(const sigset_t *set) {
  int sig = 0;
  while (sigwait(set, &sig) != 0)
    ;
}

static int serve(cli_t *c) {
  sim_listen_t l = {.max_connections = (unsigned)c->max_connections};
  sim_server_t *srv = NULL;
  char err[256];
  int rc = -EINVAL;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
      make_addr(c->bind, c->port, &l.addr) != 0)
    goto fail;
  if (c->tls_cert != NULL &&
      ((l.tls_cert_pem = read_pem(c->tls_cert)) == NULL ||
       (l.tls_key_pem = read_pem(c->tls_key)) == NULL))
    goto fail;
  srv = sim_server_create(&c->srv);
  if (srv == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  if (add_faults(srv, c) != 0)
    goto fail;
  if ((rc = sim_server_start(srv, &l, err, sizeof(err))) != 0) {
    fprintf(stderr, PROG ": %s\n", err);
    goto fail;
  }
  announce(c, sim_server_port(srv));
  if (c->port_file != NULL &&
      (rc = write_port_file(c->port_file, sim_server_port(srv))) != 0) {
    fprintf(stderr, PROG ": cannot write %s: %s\n", c->port_file,
            strerror(-rc));
    goto fail;
  }
  wait_for_signal(&set);
  rc = 0;
fail:
  sim_server_destroy(srv);
  free((char *)l.tls_cert_pem);
  free((char *)l.tls_key_pem);
  return rc;
}

int main(int argc, char **argv) {
  cli_t c;
  int rc = parse_args(argc, argv, &c);
  if (rc > 0) {
    usage(stdout);
    return 0;
  }
  if (rc < 0)
    return 2;
  /* -EINVAL: a bad --fault, --bind or TLS file, reported like bad usage. */
  rc = serve(&c);
  return rc == 0 ? 0 : rc == -EINVAL ? 2 : 1;
}
