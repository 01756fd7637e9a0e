/* fuzz_token.c - libFuzzer harness for dw_token_parse().
 *
 * A token that already holds a good header parses the input at a fixed
 * now. Accepted: the header must be one clean "Authorization: <type>
 * <token>" line (nothing that could split or extend it), usable now and
 * renewed before it expires. Refused: the old token must be untouched and
 * the reason a short printable message. The error buffer has a size
 * derived from the input and exactly that many bytes, so ASan catches any
 * write past it. */
#include "dw_token.h"
#include "fuzz_util.h"

#include <errno.h>

#define NOW_MS INT64_C(1700000000000)
#define HEADER_PREFIX "Authorization: "
#define TOKEN_TYPE_MAX_LEN 32
#define GOOD_BODY                                                              \
  "{\"access_token\":\"seed.Token-1~+/==\",\"token_type\":\"Bearer\","         \
  "\"expires_in\":3600}"

static const char b64token_set[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";

/* "<type> <token>": a word, one space, an RFC 6750 b64token. */
static void check_credentials(const char *s) {
  size_t type_len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789_-");
  FUZZ_ASSERT(type_len >= 1 && type_len <= TOKEN_TYPE_MAX_LEN);
  FUZZ_ASSERT(s[type_len] == ' ');
  const char *token = s + type_len + 1;
  size_t body = strspn(token, b64token_set);
  FUZZ_ASSERT(body >= 1);
  size_t padded = body + strspn(token + body, "=");
  FUZZ_ASSERT(token[padded] == '\0' && padded <= DW_TOKEN_MAX_LEN);
}

static void check_accepted(const dw_token_t *t, const char *err) {
  FUZZ_ASSERT(err[0] == '\0');
  const char *header = dw_token_header(t);
  FUZZ_ASSERT(header != NULL);
  FUZZ_ASSERT(strncmp(header, HEADER_PREFIX, strlen(HEADER_PREFIX)) == 0);
  check_credentials(header + strlen(HEADER_PREFIX));
  long lifetime_s = dw_token_lifetime_s(t);
  FUZZ_ASSERT(lifetime_s >= 1 && lifetime_s <= DW_TOKEN_MAX_LIFETIME_S);
  FUZZ_ASSERT(dw_token_usable(t, NOW_MS));
  FUZZ_ASSERT(!dw_token_usable(t, NOW_MS + (int64_t)lifetime_s * 1000));
}

static void check_refused(const dw_token_t *t, int rc, const char *err,
                          size_t err_size, const char *old_header,
                          long old_lifetime_s) {
  FUZZ_ASSERT(rc == -EINVAL || rc == -ENOMEM);
  FUZZ_ASSERT(strnlen(err, err_size) < err_size);
  /* a buffer of one byte only holds the terminator */
  FUZZ_ASSERT(err_size == 1 || fuzz_printable(err, err_size));
  FUZZ_ASSERT(strcmp(dw_token_header(t), old_header) == 0);
  FUZZ_ASSERT(dw_token_lifetime_s(t) == old_lifetime_s);
  FUZZ_ASSERT(dw_token_usable(t, NOW_MS));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dw_token_t *t = dw_token_create();
  FUZZ_ASSERT(t != NULL);
  char seed_err[128];
  FUZZ_ASSERT(dw_token_parse(t, GOOD_BODY, strlen(GOOD_BODY), NOW_MS, seed_err,
                             sizeof(seed_err)) == 0);
  char *old_header = strdup(dw_token_header(t));
  FUZZ_ASSERT(old_header != NULL);
  long old_lifetime_s = dw_token_lifetime_s(t);

  size_t err_size = 1 + fuzz_hash(data, size) % 160;
  char *err = malloc(err_size);
  FUZZ_ASSERT(err != NULL);
  memset(err, 'X', err_size);
  int rc = dw_token_parse(t, data, size, NOW_MS, err, err_size);
  if (rc == 0)
    check_accepted(t, err);
  else
    check_refused(t, rc, err, err_size, old_header, old_lifetime_s);

  dw_token_invalidate(t);
  FUZZ_ASSERT(dw_token_header(t) == NULL && !dw_token_usable(t, NOW_MS));
  free(err);
  free(old_header);
  dw_token_destroy(t);
  return 0;
}
