/* dw_token.h - the OAuth2 client_credentials token of one account.
 * Owns: the Authorization header line (it holds the token) and its
 * expiry. May call: dw_json.
 *
 * Holds the "Authorization: <token_type> <access_token>" header line and
 * when it stops being usable. Time is an argument: now_ms is milliseconds
 * on the caller's clock. A token is renewed a margin before expires_in
 * runs out (a tenth of its lifetime, between 5 s and 300 s). Nothing here
 * ever logs or returns the token in a message. */
#ifndef DW_TOKEN_H
#define DW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_TOKEN_MAX_LEN 4096           /* access_token bytes */
#define DW_TOKEN_MAX_BODY 16384         /* token response bytes */
#define DW_TOKEN_DEFAULT_LIFETIME_S 300 /* when expires_in is missing */
#define DW_TOKEN_MAX_LIFETIME_S (366L * 24 * 3600)

typedef struct dw_token dw_token_t;

/* An empty token; NULL on ENOMEM. Free with dw_token_destroy(). */
dw_token_t *dw_token_create(void);

/* Wipes and frees; accepts NULL. */
void dw_token_destroy(dw_token_t *t);

/* Parses and validates a token response body received at now_ms. On
 * success the token is replaced and 0 returned; otherwise the old token
 * is left as it was, -EINVAL (or -ENOMEM) is returned and err receives a
 * reason that never quotes the body (e.g. "token_type is not a word"). */
__attribute__((warn_unused_result)) int
dw_token_parse(dw_token_t *t, const void *body, size_t len, int64_t now_ms,
               char *err, size_t err_size);

/* True when a token is held and now_ms is before its renewal time. */
bool dw_token_usable(const dw_token_t *t, int64_t now_ms);

/* Forgets the token (after a 401 on a data request). */
void dw_token_invalidate(dw_token_t *t);

/* The header line, or NULL when no token is held. Owned by t. */
const char *dw_token_header(const dw_token_t *t);

/* Lifetime granted by the last successful parse, in seconds (0: none). */
long dw_token_lifetime_s(const dw_token_t *t);

#endif
