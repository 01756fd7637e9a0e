/* sim_parse.c - percent-decoding, data routes, token forms. */
#include "sim_parse.h"

#include "sim_data.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int sim_percent_decode(const char *src, size_t n, bool plus_space, char *out,
                       size_t out_size) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = src[i];
    if (c == '%') {
      int hi = i + 2 < n ? hex_value(src[i + 1]) : -1;
      int lo = i + 2 < n ? hex_value(src[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -EINVAL;
      c = (char)(hi * 16 + lo);
      if (c == '\0')
        return -EINVAL;
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    if (o + 1 >= out_size)
      return -EINVAL;
    out[o++] = c;
  }
  out[o] = '\0';
  return 0;
}

typedef struct route {
  int res;
  int period;    /* -1: none or unknown (see period_ok) */
  bool meter_ok; /* decoded, non-empty, no whitespace */
  bool period_ok;
  char meter[SIM_SEGMENT_MAX];
} route_t;

static bool valid_meter(const char *id) {
  return id[0] != '\0' && strpbrk(id, " \t\n\r\f\v") == NULL;
}

int sim_route_parse(const char *rel, sim_route_t *rt) {
  const char *seg[5];
  size_t len[5], n = 0;
  char slug[64], period[64];
  for (const char *p = rel + 1;; n++) {
    const char *slash = strchr(p, '/');
    if (n == 5)
      return -ENOENT;
    seg[n] = p;
    len[n] = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (slash == NULL) {
      n++;
      break;
    }
    p = slash + 1;
  }
  if (n < 3 || len[0] != 11 || memcmp(seg[0], "smartmeters", 11) != 0 ||
      sim_percent_decode(seg[2], len[2], false, slug, sizeof(slug)) != 0 ||
      (rt->res = sim_res_from_slug(slug)) < 0 ||
      n != (sim_res_has_period((sim_res_t)rt->res) ? 4u : 3u))
    return -ENOENT;
  rt->meter_ok = sim_percent_decode(seg[1], len[1], false, rt->meter,
                                    sizeof(rt->meter)) == 0 &&
                 valid_meter(rt->meter);
  if (!rt->meter_ok)
    rt->meter[0] = '\0';
  rt->period = -1;
  rt->period_ok = true;
  if (n == 4)
    rt->period_ok = sim_percent_decode(seg[3], len[3], false, period,
                                       sizeof(period)) == 0 &&
                    (rt->period = sim_period_from_name(period)) >= 0;
  return 0;
}

/* Stores one decoded pair; unknown keys (audience, ...) are ignored. */
static int form_field(sim_form_t *f, const char *key, const char *val,
                      size_t val_len) {
  struct {
    const char *name;
    char *dst;
    size_t size;
    bool *seen;
  } fields[] = {
      {"client_id", f->client_id, sizeof(f->client_id), &f->has_id},
      {"client_secret", f->client_secret, sizeof(f->client_secret),
       &f->has_secret},
      {"grant_type", f->grant_type, sizeof(f->grant_type), &f->has_grant},
      {"scope", f->scope, sizeof(f->scope), &f->has_scope},
  };
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (strcmp(key, fields[i].name) != 0)
      continue;
    /* RFC 6749 3.1: parameters must not be included more than once. */
    if (*fields[i].seen || sim_percent_decode(val, val_len, true, fields[i].dst,
                                              fields[i].size) != 0)
      return -EINVAL;
    *fields[i].seen = true;
  }
  return 0;
}

int sim_form_parse(const char *body, size_t len, sim_form_t *f) {
  const char *p = body, *end = body + len;
  memset(f, 0, sizeof(*f));
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp != NULL ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *key_end = eq != NULL ? eq : stop;
    const char *val = eq != NULL ? eq + 1 : stop;
    char key[32];
    if (sim_percent_decode(p, (size_t)(key_end - p), true, key, sizeof(key)) ==
            0 &&
        form_field(f, key, val, (size_t)(stop - val)) != 0)
      return -EINVAL;
    p = amp != NULL ? amp + 1 : end;
  }
  return 0;
}

/* The value of one base64 digit, or -1. */
static int b64_value(char c) {
  static const char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *at = c != '\0' ? strchr(digits, c) : NULL;
  return at != NULL ? (int)(at - digits) : -1;
}

/* Strict RFC 4648 base64 (padding required) of src into out; the length,
 * or -1. */
static long b64_decode(const char *src, char *out, size_t out_size) {
  size_t len = strlen(src), n = 0;
  if (len == 0 || len % 4 != 0 || len / 4 * 3 >= out_size)
    return -1;
  for (size_t i = 0; i < len; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++)
      v[k] = src[i + k] == '=' && i + 4 == len && k >= 2
                 ? 0
                 : b64_value(src[i + k]);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 ||
        (src[i + 2] == '=' && src[i + 3] != '='))
      return -1;
    unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
                      (unsigned)v[2] << 6 | (unsigned)v[3];
    out[n++] = (char)(triple >> 16);
    if (src[i + 2] != '=')
      out[n++] = (char)(triple >> 8);
    if (src[i + 3] != '=')
      out[n++] = (char)triple;
  }
  out[n] = '\0';
  return (long)n;
}

int sim_basic_parse(const char *value, sim_form_t *f) {
  char raw[1100];
  if (value == NULL || strncasecmp(value, "Basic ", 6) != 0)
    return -EINVAL;
  value += 6;
  while (*value == ' ')
    value++;
  long n = b64_decode(value, raw, sizeof(raw));
  char *colon = n > 0 ? memchr(raw, ':', (size_t)n) : NULL;
  if (colon == NULL || memchr(raw, '\0', (size_t)n) != NULL)
    return -EINVAL;
  if (sim_percent_decode(raw, (size_t)(colon - raw), true, f->client_id,
                         sizeof(f->client_id)) != 0 ||
      sim_percent_decode(colon + 1, (size_t)(raw + n - colon - 1), true,
                         f->client_secret, sizeof(f->client_secret)) != 0)
    return -EINVAL;
  f->has_id = f->has_secret = true;
  return 0;
}

bool sim_scope_has(const char *scopes, const char *want) {
  size_t n = strlen(want);
  for (const char *p = scopes; *p != '\0';) {
    p += strspn(p, " ");
    size_t len = strcspn(p, " ");
    if (len == n && n > 0 && strncmp(p, want, n) == 0)
      return true;
    p += len;
  }
  return false;
}

bool sim_is_form_type(const char *ct) {
  size_t n = strlen(SIM_FORM_TYPE);
  return ct != NULL && strncasecmp(ct, SIM_FORM_TYPE, n) == 0 &&
         (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

bool sim_same_secret(const char *given, const char *expected) {
  size_t n = strlen(expected), m = strlen(given);
  unsigned diff = n != m;
  for (size_t i = 0; i < n; i++)
    diff |= (unsigned char)expected[i] ^ (unsigned char)(i < m ? given[i] : 0);
  return diff == 0;
}
