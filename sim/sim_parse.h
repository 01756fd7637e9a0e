/* sim_parse.h - pure parsers for what a request carries.
 *
 * Percent-decoding, the data route (split at the raw '/' before any
 * decoding, so "a%2Fb" is one smartmeterId), and the token request's
 * x-www-form-urlencoded body. No I/O, no MHD, no globals: every input is
 * bounded by the caller's buffers. */
#ifndef SIM_PARSE_H
#define SIM_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SIM_SEGMENT_MAX 1024
#define SIM_FORM_TYPE "application/x-www-form-urlencoded"

/* Decodes %XX (and '+' as space when plus_space) of src[0..n) into out;
 * 0, or -EINVAL on a bad escape, an encoded NUL or no room. */
__attribute__((warn_unused_result)) int
sim_percent_decode(const char *src, size_t n, bool plus_space, char *out,
                   size_t out_size);

typedef struct sim_route {
  int res;                     /* sim_res_t */
  int period;                  /* -1: none, or unknown (see period_ok) */
  bool meter_ok;               /* decoded, non-empty, no whitespace */
  bool period_ok;              /* no period expected, or a known one */
  char meter[SIM_SEGMENT_MAX]; /* decoded; "" unless meter_ok */
} sim_route_t;

/* Parses rel ("/smartmeters/ID/slug[/period]", still encoded); 0, or
 * -ENOENT when no resource has that shape (the caller answers 404). A
 * bad ID or period still parses: the caller answers 400 after auth. */
__attribute__((warn_unused_result)) int sim_route_parse(const char *rel,
                                                        sim_route_t *rt);

typedef struct sim_form {
  char client_id[512];
  char client_secret[512];
  char grant_type[64];
  char scope[512];
  bool has_id, has_secret, has_grant, has_scope;
} sim_form_t;

/* Parses a form body of len bytes; unknown keys are ignored. 0, or
 * -EINVAL on a repeated known key, a bad escape or an over-long value. */
__attribute__((warn_unused_result)) int
sim_form_parse(const char *body, size_t len, sim_form_t *f);

/* The client credentials of an "Authorization: Basic ..." value (RFC
 * 6749 2.3.1: base64 of the form-encoded ID, ':', the form-encoded
 * secret) into f's client_id and client_secret. 0, or -EINVAL when it is
 * not Basic, not base64, has no ':' or a bad escape. */
__attribute__((warn_unused_result)) int sim_basic_parse(const char *value,
                                                        sim_form_t *f);

/* True when the space-separated scope list holds want. */
bool sim_scope_has(const char *scopes, const char *want);

/* Whether a Content-Type header (or NULL) names a form body. */
bool sim_is_form_type(const char *content_type);

/* Compares every byte of expected, however early a mismatch shows. */
bool sim_same_secret(const char *given, const char *expected);

#endif
