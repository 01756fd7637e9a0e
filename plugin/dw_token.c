/* dw_token.c - the OAuth2 client_credentials token of one account (see
 * dw_token.h). Reads the token response through the dw_json room; knows
 * nothing of HTTP or collectd. */
#include "dw_token.h"

#include "dw_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_TYPE_MAX_LEN 32
#define HEADER_PREFIX "Authorization: "
#define MARGIN_MIN_MS 5000
#define MARGIN_MAX_MS 300000
#define EXPIRES_IN_TEXT_MAX_LEN 20

/* A token response is one small object: anything deeper, longer or wider
 * than this is not one, and is refused before it costs memory. */
static const dw_json_limits_t token_json_limits = {
    .max_depth = 4,
    .max_string_len = DW_TOKEN_MAX_LEN,
    .max_entries = 32,
    .max_nodes = 256,
};

struct dw_token {
  char *header;       /* "Authorization: ..." or NULL; holds the secret */
  size_t header_size; /* bytes allocated, all of them wiped on release */
  int64_t renew_at_ms;
  long lifetime_s;
};

/* What a valid response carries; the strings point into the parser. */
typedef struct token_fields {
  const char *access_token;
  const char *token_type;
  long lifetime_s;
} token_fields_t;

static void token_release(dw_token_t *t) {
  if (t->header != NULL) {
    explicit_bzero(t->header, t->header_size);
    free(t->header);
  }
  t->header = NULL;
  t->header_size = 0;
  t->renew_at_ms = 0;
}

/* An empty token; NULL on ENOMEM. */
dw_token_t *dw_token_create(void) { return calloc(1, sizeof(dw_token_t)); }

/* Wipes and frees; accepts NULL. */
void dw_token_destroy(dw_token_t *t) {
  if (t == NULL)
    return;
  token_release(t);
  explicit_bzero(t, sizeof(*t));
  free(t);
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
 * "/" ) *"=". Anything else (a NUL byte too) could split or extend the
 * header line. */
static bool is_b64token(const char *s, size_t len) {
  size_t body = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789-._~+/");
  if (body == 0)
    return false;
  return body + strspn(s + body, "=") == len;
}

/* dw_json keeps a string longer than its limit cut, so the length that
 * counts is the whole one. */
static const char *check_access_token(const dw_json_t *v) {
  if (v == NULL)
    return "access_token is missing";
  if (v->type != DW_JSON_STRING)
    return "access_token is not a string";
  const dw_json_str_t *s = v->u.string;
  if (s->whole_len == 0)
    return "access_token is empty";
  if (s->whole_len > DW_TOKEN_MAX_LEN || s->len != s->whole_len)
    return "access_token is too long";
  if (!is_b64token(s->bytes, s->len))
    return "access_token holds bytes outside the b64token set";
  return NULL;
}

static const char *check_token_type(const dw_json_t *v) {
  if (v == NULL)
    return "token_type is missing";
  if (v->type != DW_JSON_STRING)
    return "token_type is not a string";
  const dw_json_str_t *s = v->u.string;
  size_t len = s->whole_len;
  if (len == 0 || len > TOKEN_TYPE_MAX_LEN || s->len != len)
    return "token_type is empty or longer than 32 bytes";
  if (strspn(s->bytes, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789_-") != len)
    return "token_type is not a word";
  /* Only bearer tokens are understood (RFC 6750); a MAC or other token
   * put in the header would fail every request with a 401. The type's
   * case is kept as sent: "Bearer" and "bearer" both work. */
  if (strcasecmp(s->bytes, "Bearer") != 0)
    return "token_type is not Bearer (the only type understood)";
  return NULL;
}

/* Some servers send expires_in as a string: digits with an optional
 * fraction, nothing else (no sign, blank, exponent, hex, "nan" or "inf"). */
static const char *read_numeric_string(const dw_json_str_t *text, double *out) {
  const char *s = text->bytes;
  size_t len = text->len == text->whole_len ? text->len : 0;
  size_t digits = strspn(s, "0123456789");
  if (len == 0 || len > EXPIRES_IN_TEXT_MAX_LEN || digits == 0)
    return "expires_in is not a number";
  if (s[digits] == '.' && s[digits + 1] != '\0')
    digits += 1 + strspn(s + digits + 1, "0123456789");
  if (digits != len)
    return "expires_in is not a number";
  /* The digits-only check leaves strtod nothing locale-dependent but the
   * radix; a ',' locale stops at '.', which truncates, never inflates. */
  *out = strtod(s, NULL);
  return NULL;
}

/* expires_in: missing or null means the default; a fraction is cut. */
static const char *read_lifetime(const dw_json_t *v, long *lifetime_s) {
  double seconds = DW_TOKEN_DEFAULT_LIFETIME_S;
  if (v != NULL && v->type == DW_JSON_NUMBER) {
    seconds = v->u.number;
    if (!isfinite(seconds))
      return "expires_in is out of the range of a double";
  } else if (v != NULL && v->type == DW_JSON_STRING) {
    const char *why = read_numeric_string(v->u.string, &seconds);
    if (why != NULL)
      return why;
  } else if (v != NULL && v->type != DW_JSON_NULL) {
    return "expires_in is not a number";
  }
  if (!isfinite(seconds) || seconds < 1.0)
    return "expires_in is not at least one second";
  if (seconds > (double)DW_TOKEN_MAX_LIFETIME_S)
    seconds = (double)DW_TOKEN_MAX_LIFETIME_S;
  *lifetime_s = (long)seconds;
  return NULL;
}

/* Validates the parsed document; a static reason, or NULL. */
static const char *read_fields(const dw_json_t *root, token_fields_t *f) {
  if (root == NULL || root->type != DW_JSON_OBJECT)
    return "token response is not a JSON object";
  const dw_json_t *access = dw_json_get(root, "access_token");
  const dw_json_t *type = dw_json_get(root, "token_type");
  const char *why = check_access_token(access);
  if (why == NULL)
    why = check_token_type(type);
  if (why == NULL)
    why = read_lifetime(dw_json_get(root, "expires_in"), &f->lifetime_s);
  if (why != NULL)
    return why;
  f->access_token = access->u.string->bytes;
  f->token_type = type->u.string->bytes;
  return NULL;
}

/* Renewal margin: a tenth of the lifetime within [5 s, 300 s], but never
 * more than half of it, so a short token is still used for a while. */
static int64_t renewal_margin_ms(int64_t lifetime_ms) {
  int64_t margin_ms = lifetime_ms / 10;
  if (margin_ms < MARGIN_MIN_MS)
    margin_ms = MARGIN_MIN_MS;
  if (margin_ms > MARGIN_MAX_MS)
    margin_ms = MARGIN_MAX_MS;
  if (margin_ms > lifetime_ms / 2)
    margin_ms = lifetime_ms / 2;
  return margin_ms;
}

/* Builds the new header first, so a failure leaves the old token. */
static int token_install(dw_token_t *t, const token_fields_t *f,
                         int64_t now_ms) {
  size_t size = sizeof(HEADER_PREFIX) + strlen(f->token_type) + 1 +
                strlen(f->access_token);
  char *header = malloc(size);
  if (header == NULL)
    return -ENOMEM;
  int len = snprintf(header, size, HEADER_PREFIX "%s %s", f->token_type,
                     f->access_token);
  if (len < 0 || (size_t)len >= size) { /* cannot happen with size above */
    explicit_bzero(header, size);
    free(header);
    return -EINVAL;
  }

  int64_t lifetime_ms = (int64_t)f->lifetime_s * 1000;
  int64_t usable_ms = lifetime_ms - renewal_margin_ms(lifetime_ms);
  token_release(t);
  t->header = header;
  t->header_size = size;
  t->lifetime_s = f->lifetime_s;
  t->renew_at_ms =
      now_ms > INT64_MAX - usable_ms ? INT64_MAX : now_ms + usable_ms;
  return 0;
}

static void set_err(char *err, size_t err_size, const char *reason,
                    const char *detail) {
  if (err == NULL || err_size == 0)
    return;
  if (detail != NULL)
    snprintf(err, err_size, "%s: %s", reason, detail);
  else
    snprintf(err, err_size, "%s", reason);
}

/* Parses the body into a tree; 0, or a negative errno with err set. */
static int parse_body(dw_json_parser_t *p, const void *body, size_t len,
                      char *err, size_t err_size) {
  int rc = dw_json_parser_feed(p, body, len);
  if (rc == 0)
    rc = dw_json_parser_finish(p);
  if (rc == 0)
    return 0;
  /* dw_json's messages name the problem and a byte offset, never input. */
  set_err(err, err_size, "token response is not acceptable JSON",
          dw_json_parser_error(p));
  return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

/* Validates a token response and replaces the token; see dw_token.h. */
int dw_token_parse(dw_token_t *t, const void *body, size_t len, int64_t now_ms,
                   char *err, size_t err_size) {
  set_err(err, err_size, "", NULL);
  if (t == NULL || (body == NULL && len > 0)) {
    set_err(err, err_size, "no token or no response", NULL);
    return -EINVAL;
  }
  if (len == 0 || len > DW_TOKEN_MAX_BODY) {
    set_err(err, err_size, "token response is empty or over 16384 bytes", NULL);
    return -EINVAL;
  }

  token_fields_t fields = {0};
  const char *why = NULL;
  int rc = -ENOMEM;
  dw_json_parser_t *p = dw_json_parser_create(&token_json_limits);
  if (p == NULL) {
    set_err(err, err_size, "out of memory", NULL);
    goto out;
  }
  rc = parse_body(p, body, len, err, err_size);
  if (rc != 0)
    goto out;

  why = read_fields(dw_json_parser_root(p), &fields);
  if (why != NULL) {
    set_err(err, err_size, why, NULL);
    rc = -EINVAL;
    goto out;
  }
  rc = token_install(t, &fields, now_ms);
  if (rc != 0)
    set_err(err, err_size, "out of memory", NULL);

out:
  dw_json_parser_destroy(p);
  return rc;
}

/* True when a token is held and now_ms is before its renewal time. */
bool dw_token_usable(const dw_token_t *t, int64_t now_ms) {
  return t != NULL && t->header != NULL && now_ms < t->renew_at_ms;
}

/* Forgets the token; the lifetime of the last parse stays readable. */
void dw_token_invalidate(dw_token_t *t) {
  if (t != NULL)
    token_release(t);
}

/* The header line, or NULL when no token is held. */
const char *dw_token_header(const dw_token_t *t) {
  return t != NULL ? t->header : NULL;
}

/* Lifetime granted by the last successful parse, in seconds (0: none). */
long dw_token_lifetime_s(const dw_token_t *t) {
  return t != NULL ? t->lifetime_s : 0;
}
