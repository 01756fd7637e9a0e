/* sim_server.h - the simulator's HTTP side, the only room that knows MHD.
 *
 * One server owns its fault rules, issued tokens and counters, and runs
 * libmicrohttpd with a thread per connection so a request that sleeps
 * (latency, delay faults) holds up nobody else. Routing reads the raw
 * request path (MHD's URI log callback), so an encoded '/' inside a
 * smartmeterId stays inside its segment. */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include "sim_data.h"
#include "sim_fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Strings are borrowed: they must outlive the server. */
typedef struct sim_server_cfg {
  const char *prefix; /* "" or "/v1": no trailing '/' */
  const char *client_id;
  const char *client_secret;
  long token_lifetime_s;
  long latency_ms;  /* slept before answering any API request */
  bool today_fixed; /* use today, not the UTC date of each request */
  sim_date_t today;
  bool quiet; /* no request log on stderr */
  /* How token requests authenticate (RFC 6749 2.3.1): credentials in the
   * form body, in an Authorization: Basic header, or either (never
   * both in one request). */
  enum { SIM_AUTH_ANY, SIM_AUTH_POST, SIM_AUTH_BASIC } token_auth;
  const char *require_scope; /* NULL, or a scope every token request asks */
} sim_server_cfg_t;

typedef struct sim_listen {
  struct sockaddr_storage addr; /* address and port to bind */
  unsigned max_connections;
  const char *tls_cert_pem; /* NULL for plain HTTP; borrowed */
  const char *tls_key_pem;
} sim_listen_t;

typedef struct sim_server sim_server_t;

/* A stopped server with no fault rules; NULL on ENOMEM. */
sim_server_t *sim_server_create(const sim_server_cfg_t *cfg);

/* The server's rules, to add --fault rules before starting. */
sim_faults_t *sim_server_faults(sim_server_t *s);

/* Starts listening; 0, or a negative errno with the reason in err. */
__attribute__((warn_unused_result)) int sim_server_start(sim_server_t *s,
                                                         const sim_listen_t *l,
                                                         char *err,
                                                         size_t err_size);

/* The bound TCP port once started (the real one for port 0), else 0. */
unsigned sim_server_port(const sim_server_t *s);

/* Wakes sleeping requests, stops the daemon and frees; accepts NULL. */
void sim_server_destroy(sim_server_t *s);

#endif
