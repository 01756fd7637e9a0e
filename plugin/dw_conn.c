/* dw_conn.c - the connections of one transport, as sockets (see
 * dw_conn.h). One thread drives a transport, so the set needs no lock. */
#include "dw_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn_entry {
  curl_socket_t fd;
  int local_port; /* 0 until asked (the socket is not bound at open) */
  bool http1;     /* a response on it was HTTP/1.x */
} conn_entry_t;

struct dw_conns {
  conn_entry_t *entries;
  size_t len, cap;
};

dw_conns_t *dw_conns_create(void) { return calloc(1, sizeof(dw_conns_t)); }

void dw_conns_destroy(dw_conns_t *c) {
  if (c == NULL)
    return;
  free(c->entries);
  free(c);
}

static int conn_port_of(curl_socket_t fd) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return 0;
  if (a.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&a)->sin_port);
  if (a.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
  return 0;
}

/* The entry of the connection with this local port, or NULL. */
static conn_entry_t *conn_find(dw_conns_t *c, int local_port) {
  for (size_t i = 0; i < c->len; i++) {
    conn_entry_t *e = &c->entries[i];
    if (e->local_port == 0)
      e->local_port = conn_port_of(e->fd);
    if (e->local_port == local_port && local_port != 0)
      return e;
  }
  return NULL;
}

static curl_socket_t conn_open(void *ud, curlsocktype purpose,
                               struct curl_sockaddr *address) {
  dw_conns_t *c = ud;
  if (purpose != CURLSOCKTYPE_IPCXN)
    return CURL_SOCKET_BAD;
  if (c->len == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    conn_entry_t *entries = realloc(c->entries, cap * sizeof(*entries));
    if (entries == NULL)
      return CURL_SOCKET_BAD;
    c->entries = entries;
    c->cap = cap;
  }
  curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC,
                            address->protocol);
  if (fd != CURL_SOCKET_BAD)
    c->entries[c->len++] = (conn_entry_t){.fd = fd};
  return fd;
}

static int conn_close(void *ud, curl_socket_t fd) {
  dw_conns_t *c = ud;
  for (size_t i = 0; i < c->len; i++) {
    if (c->entries[i].fd != fd)
      continue;
    c->entries[i] = c->entries[--c->len];
    break;
  }
  return close(fd);
}

CURLcode dw_conns_watch(dw_conns_t *c, CURL *easy) {
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, conn_open);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, (void *)c);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, conn_close);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, (void *)c);
  return rc;
}

void dw_conns_learn(dw_conns_t *c, CURL *easy) {
  long version = 0, port = 0;
  if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) != CURLE_OK ||
      curl_easy_getinfo(easy, CURLINFO_LOCAL_PORT, &port) != CURLE_OK ||
      port <= 0 || port > UINT16_MAX)
    return;
  conn_entry_t *e = conn_find(c, (int)port);
  if (e != NULL)
    e->http1 =
        version == CURL_HTTP_VERSION_1_0 || version == CURL_HTTP_VERSION_1_1;
}

bool dw_conns_stale(dw_conns_t *c, int local_port) {
  conn_entry_t *e = conn_find(c, local_port);
  if (e == NULL || !e->http1)
    return false;
  struct pollfd p = {.fd = e->fd, .events = POLLIN | POLLRDHUP};
  int n;
  do
    n = poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
