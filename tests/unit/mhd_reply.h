/* mhd_reply.h - answers of the suites that serve HTTP in process with
 * libmicrohttpd (check_http, check_auth, check_account). */
#ifndef MHD_REPLY_H
#define MHD_REPLY_H

#include <microhttpd.h>
#include <stdint.h>
#include <string.h>

/* Queues status with a copy of body[0..len) and, when hname is not NULL,
 * one header. */
static inline enum MHD_Result mhd_reply(struct MHD_Connection *c,
                                        unsigned status, const void *body,
                                        size_t len, const char *hname,
                                        const char *hvalue) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  if (hname != NULL)
    MHD_add_response_header(r, hname, hvalue);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* Queues status with a JSON body (a string). */
static inline enum MHD_Result
mhd_reply_json(struct MHD_Connection *c, unsigned status, const char *body) {
  return mhd_reply(c, status, body, strlen(body), "Content-Type",
                   "application/json");
}

#endif
