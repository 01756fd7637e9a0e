/* one_shot.h - a raw TCP server for one connection, for the suites that
 * need a server to say exactly some bytes (or nothing) and hang up, which
 * a real HTTP server does only when its timing allows; and a port nobody
 * listens on. */
#ifndef ONE_SHOT_H
#define ONE_SHOT_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A port that was just free: bind, read it back, close. */
static inline unsigned closed_port(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* One connection of a raw TCP server: answered with `answer` after the
 * client's first bytes (NULL: hung up on at once), then a FIN, and
 * whatever the client still sends is read, so no RST follows and the
 * client sees exactly what was written. */
typedef struct one_shot {
  int fd;
  const char *answer;
  unsigned port;
  pthread_t thread;
} one_shot_t;

static inline void *one_shot_main(void *arg) {
  one_shot_t *o = arg;
  int c = accept(o->fd, NULL, NULL);
  if (c >= 0) {
    char buf[4096];
    if (o->answer != NULL && read(c, buf, sizeof buf) > 0)
      (void)!write(c, o->answer, strlen(o->answer));
    shutdown(c, SHUT_WR);
    while (read(c, buf, sizeof buf) > 0)
      ;
    close(c);
  }
  return NULL;
}

static inline void one_shot_start(one_shot_t *o, const char *answer) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  o->answer = answer;
  o->fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(o->fd, 0);
  ck_assert_int_eq(bind(o->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(o->fd, 1), 0);
  ck_assert_int_eq(getsockname(o->fd, (struct sockaddr *)&sa, &len), 0);
  o->port = ntohs(sa.sin_port);
  ck_assert_int_eq(pthread_create(&o->thread, NULL, one_shot_main, o), 0);
}

static inline void one_shot_end(one_shot_t *o) {
  pthread_join(o->thread, NULL);
  close(o->fd);
}

/* The answer of a plain-HTTP server to a TLS ClientHello. */
#define ONE_SHOT_HTTP_400                                                      \
  "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

#endif
