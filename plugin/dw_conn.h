/* dw_conn.h - the connections of one transport, as sockets.
 * Owns: the socket of every connection libcurl opens for the transport,
 * which of them speak HTTP/1.x, and the look at one about to be reused.
 * May call: libcurl (its socket callbacks), the socket API.
 *
 * libcurl reuses an idle connection that still holds bytes nobody asked
 * for (a duplicated response, a late answer), and the next request on it
 * would read them as its own answer: meter A's costs as meter B's
 * consumption. HTTP/1.x cannot tell such bytes from an answer, so a
 * transfer never sends on an HTTP/1.x connection that holds unread bytes
 * (dw_transfer asks here just before it sends; libcurl does not say which
 * pooled connection it picked, only its local port). HTTP/2 frames its
 * streams, so its connections are not looked at. */
#ifndef DW_CONN_H
#define DW_CONN_H

#include <curl/curl.h>

#include <stdbool.h>

typedef struct dw_conns dw_conns_t;

/* An empty set; NULL on ENOMEM. */
dw_conns_t *dw_conns_create(void);

/* Frees the set; accepts NULL. The sockets are libcurl's to close: call
 * this after curl_multi_cleanup(). */
void dw_conns_destroy(dw_conns_t *c);

/* Makes libcurl open and close easy's sockets through c. */
__attribute__((warn_unused_result)) CURLcode dw_conns_watch(dw_conns_t *c,
                                                            CURL *easy);

/* After a transfer on easy ended with a response: remembers whether its
 * connection speaks HTTP/1.x. */
void dw_conns_learn(dw_conns_t *c, CURL *easy);

/* True when the connection with this local port speaks HTTP/1.x and
 * holds unread bytes (or was closed by the peer): nothing may be sent on
 * it. False for connections not known to be HTTP/1.x. */
bool dw_conns_stale(dw_conns_t *c, int local_port);

#endif
