/* dw_url.c - request URLs and form bodies, with percent-encoding (see
 * dw_url.h). No I/O: strings in, strings out. */
#include "dw_url.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PH_METER "{smartmeterId}"
#define PH_PERIOD "{period}"
#define PH_METER_LEN (sizeof(PH_METER) - 1)
#define PH_PERIOD_LEN (sizeof(PH_PERIOD) - 1)

/* RFC 3986 unreserved minus '.', so an encoded value is never a dot
 * segment and can never end a path segment, a host or a query. */
static bool url_is_kept(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '~' || c == '-';
}

/* Encodes text into out at *pos and NUL-terminates; -ENAMETOOLONG when
 * that would not fit in out_size (out is then unterminated at *pos). */
static int url_escape_at(char *out, size_t out_size, size_t *pos,
                         const char *text) {
  static const char hex[] = "0123456789ABCDEF";
  size_t at = *pos;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    size_t need = url_is_kept(*p) ? 1 : 3;
    if (at >= out_size || out_size - at <= need)
      return -ENAMETOOLONG;
    if (need == 1) {
      out[at++] = (char)*p;
      continue;
    }
    out[at++] = '%';
    out[at++] = hex[*p >> 4];
    out[at++] = hex[*p & 0x0f];
  }
  if (at >= out_size)
    return -ENAMETOOLONG;
  out[at] = '\0';
  *pos = at;
  return 0;
}

/* Percent-encodes text into out; returns the length, or -ENAMETOOLONG. */
int dw_url_escape(char *out, size_t out_size, const char *text) {
  if (out == NULL || out_size == 0)
    return -ENAMETOOLONG;
  size_t len = 0;
  if (url_escape_at(out, out_size, &len, text != NULL ? text : "") != 0 ||
      len > INT_MAX) {
    out[0] = '\0';
    return -ENAMETOOLONG;
  }
  return (int)len;
}

/* The reason a template byte is refused, or NULL. */
static const char *tmpl_byte_problem(unsigned char c) {
  if (c < 0x20 || c == 0x7f)
    return "path template holds a control byte";
  if (c >= 0x80)
    return "path template holds a non-ASCII byte (percent-encode it)";
  if (c == ' ')
    return "path template holds whitespace";
  if (c == '?' || c == '#')
    return "path template holds '?' or '#'";
  if (c == '\\')
    return "path template holds a backslash";
  return NULL;
}

/* Counts the placeholders; the reason for a stray brace or byte, or NULL. */
static const char *tmpl_scan(const char *tmpl, int *meters, int *periods) {
  *meters = 0;
  *periods = 0;
  for (const char *p = tmpl; *p != '\0'; p++) {
    const char *why = tmpl_byte_problem((unsigned char)*p);
    if (why != NULL)
      return why;
    if (strncmp(p, PH_METER, PH_METER_LEN) == 0) {
      (*meters)++;
      p += PH_METER_LEN - 1;
    } else if (strncmp(p, PH_PERIOD, PH_PERIOD_LEN) == 0) {
      (*periods)++;
      p += PH_PERIOD_LEN - 1;
    } else if (*p == '{' || *p == '}') {
      return "path template holds a '{' or '}' that is not {smartmeterId} "
             "or {period}";
    }
  }
  return NULL;
}

/* True when the segment [seg, end) is "." or "..", also when spelled
 * %2E or when it would become one with empty placeholder values. */
static bool tmpl_is_dot_segment(const char *seg, const char *end) {
  size_t dots = 0;
  for (const char *p = seg; p < end;) {
    if (strncmp(p, PH_METER, PH_METER_LEN) == 0) {
      p += PH_METER_LEN;
    } else if (strncmp(p, PH_PERIOD, PH_PERIOD_LEN) == 0) {
      p += PH_PERIOD_LEN;
    } else if (*p == '.') {
      dots++;
      p++;
    } else if (end - p >= 3 && strncasecmp(p, "%2e", 3) == 0) {
      dots++;
      p += 3;
    } else {
      return false;
    }
  }
  return dots == 1 || dots == 2;
}

static bool tmpl_has_dot_segment(const char *tmpl) {
  const char *seg = tmpl;
  while (*seg != '\0') {
    seg++; /* past the '/' */
    const char *end = strchr(seg, '/');
    if (end == NULL)
      end = seg + strlen(seg);
    if (tmpl_is_dot_segment(seg, end))
      return true;
    seg = end;
  }
  return false;
}

/* Checks a path template; 0, or -EINVAL with a static reason in *why. */
int dw_url_check_template(const char *tmpl, bool with_period,
                          const char **why) {
  const char *reason = NULL;
  int meters = 0, periods = 0;
  if (tmpl == NULL || tmpl[0] != '/')
    reason = "path template does not start with '/'";
  else
    reason = tmpl_scan(tmpl, &meters, &periods);
  if (reason == NULL && meters != 1)
    reason = "path template must hold {smartmeterId} exactly once";
  if (reason == NULL && with_period && periods != 1)
    reason = "path template must hold {period} exactly once";
  if (reason == NULL && !with_period && periods != 0)
    reason = "path template holds {period} but the resource has none";
  if (reason == NULL && tmpl_has_dot_segment(tmpl))
    reason = "path template holds a '.' or '..' segment";
  if (why != NULL)
    *why = reason;
  return reason == NULL ? 0 : -EINVAL;
}

/* Copies tmpl to out at *pos with the placeholders replaced by the
 * encoded values; 0, -ENAMETOOLONG, or -EINVAL for {period} without one. */
static int url_expand(char *out, size_t out_size, size_t *pos, const char *tmpl,
                      const char *meter_id, const char *period) {
  for (const char *p = tmpl; *p != '\0';) {
    int rc = 0;
    if (strncmp(p, PH_METER, PH_METER_LEN) == 0) {
      rc = url_escape_at(out, out_size, pos, meter_id);
      p += PH_METER_LEN;
    } else if (strncmp(p, PH_PERIOD, PH_PERIOD_LEN) == 0) {
      rc = period != NULL ? url_escape_at(out, out_size, pos, period) : -EINVAL;
      p += PH_PERIOD_LEN;
    } else if (*pos + 1 < out_size) {
      out[(*pos)++] = *p++;
      out[*pos] = '\0';
    } else {
      rc = -ENAMETOOLONG;
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* base + template with the placeholders replaced by the encoded values. */
int dw_url_build(char *out, size_t out_size, const char *base, const char *tmpl,
                 const char *meter_id, const char *period) {
  if (out == NULL || out_size == 0)
    return -ENAMETOOLONG;
  out[0] = '\0';
  /* An empty ID would leave an empty segment, or worse a dot segment. */
  if (base == NULL || tmpl == NULL || meter_id == NULL || meter_id[0] == '\0')
    return -EINVAL;

  size_t base_len = strlen(base);
  while (base_len > 0 && base[base_len - 1] == '/')
    base_len--;
  if (base_len >= out_size)
    return -ENAMETOOLONG;
  memcpy(out, base, base_len);
  out[base_len] = '\0';

  size_t pos = base_len;
  int rc = url_expand(out, out_size, &pos, tmpl, meter_id, period);
  if (rc != 0)
    out[0] = '\0';
  return rc;
}

/* Appends "&" (unless at the start) "name=" and the encoded value; room
 * is known to suffice (dw_url_token_form sized the buffer). */
static int url_form_field(char *form, size_t size, size_t *pos,
                          const char *name, const char *value) {
  if (*pos > 0)
    form[(*pos)++] = '&';
  int rc = url_escape_at(form, size, pos, name);
  if (rc == 0 && *pos + 1 < size)
    form[(*pos)++] = '=';
  return rc | url_escape_at(form, size, pos, value != NULL ? value : "");
}

/* Wipes and frees a secret-bearing buffer whose building failed; NULL,
 * errno ENOMEM. */
static char *url_discard_secret(char *s, size_t size) {
  explicit_bzero(s, size);
  free(s);
  errno = ENOMEM;
  return NULL;
}

/* The client_credentials form body; malloc'ed, or NULL on ENOMEM. Names
 * and values are encoded by the path escaper, so a space is sent as %20
 * (which every form decoder accepts, like '+'). */
char *dw_url_token_form(const char *client_id, const char *client_secret,
                        const dw_url_param_t *params, size_t n_params) {
  bool credentials = client_id != NULL || client_secret != NULL;
  const char *id = client_id != NULL ? client_id : "";
  const char *secret = client_secret != NULL ? client_secret : "";
  /* worst case every byte becomes %XX, so the escapes below cannot fail */
  size_t size = sizeof("grant_type=client_credentials&client_id=&client_"
                       "secret=") +
                3 * (strlen(id) + strlen(secret));
  for (size_t i = 0; i < n_params; i++) {
    size_t add = 2 + 3 * (strlen(params[i].name) + strlen(params[i].value));
    if (add > SIZE_MAX / 2 - size) {
      errno = ENOMEM;
      return NULL;
    }
    size += add;
  }
  char *form = malloc(size);
  if (form == NULL)
    return NULL;
  size_t pos = 0;
  int rc = url_form_field(form, size, &pos, "grant_type", "client_credentials");
  if (credentials)
    rc |= url_form_field(form, size, &pos, "client_id", id) |
          url_form_field(form, size, &pos, "client_secret", secret);
  for (size_t i = 0; i < n_params; i++)
    rc |= url_form_field(form, size, &pos, params[i].name, params[i].value);
  if (rc != 0) /* unreachable by the size above; fail closed anyway */
    return url_discard_secret(form, size);
  return form;
}

/* RFC 4648 base64 of in[0..len) into out (room for 4 * ceil(len / 3) + 1
 * bytes), NUL-terminated. */
static void url_base64(const unsigned char *in, size_t len, char *out) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < len)
      v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < len)
      v |= in[i + 2];
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? b64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* RFC 6749 2.3.1: the ID and the secret, each form-encoded, joined by ':'
 * and sent as the user and password of HTTP Basic (RFC 7617). */
char *dw_url_basic_auth(const char *client_id, const char *client_secret) {
  static const char head[] = "Authorization: Basic ";
  const char *id = client_id != NULL ? client_id : "";
  const char *secret = client_secret != NULL ? client_secret : "";
  size_t raw_size = 3 * (strlen(id) + strlen(secret)) + 2;
  if (raw_size > SIZE_MAX / 2) {
    errno = ENOMEM;
    return NULL;
  }
  char *raw = malloc(raw_size);
  size_t size = sizeof(head) + 4 * (raw_size / 3 + 1);
  char *line = raw != NULL ? malloc(size) : NULL;
  if (line == NULL) {
    free(raw);
    return NULL;
  }
  size_t pos = 0;
  int rc = url_escape_at(raw, raw_size, &pos, id);
  raw[pos++] = ':';
  rc |= url_escape_at(raw, raw_size, &pos, secret);
  memcpy(line, head, sizeof(head) - 1);
  if (rc == 0)
    url_base64((const unsigned char *)raw, pos, line + sizeof(head) - 1);
  explicit_bzero(raw, raw_size);
  free(raw);
  if (rc != 0) /* unreachable by the sizes above; fail closed anyway */
    return url_discard_secret(line, size);
  return line;
}

/* After "127.": three decimal octets without leading zeros (which some
 * resolvers read as octal). Returns the byte after them, or NULL. */
static const char *skip_ipv4_loopback_tail(const char *p) {
  for (int octet = 0; octet < 3; octet++) {
    if (octet > 0 && *p++ != '.')
      return NULL;
    if (*p < '0' || *p > '9')
      return NULL;
    unsigned value = 0;
    const char *start = p;
    while (*p >= '0' && *p <= '9' && p - start < 3)
      value = value * 10 + (unsigned)(*p++ - '0');
    if (value > 255 || (*start == '0' && p - start > 1))
      return NULL;
  }
  return p;
}

/* The byte after a loopback host at the start of host, or NULL. */
static const char *skip_loopback_host(const char *host) {
  if (strncasecmp(host, "localhost", 9) == 0)
    return host + 9;
  if (strncmp(host, "[::1]", 5) == 0)
    return host + 5;
  if (strncmp(host, "127.", 4) == 0)
    return skip_ipv4_loopback_tail(host + 4);
  return NULL;
}

/* The byte after an optional ":port" (1 to 65535 digits' worth), or NULL. */
static const char *skip_port(const char *p) {
  if (*p != ':')
    return p;
  p++;
  unsigned long port = 0;
  const char *start = p;
  while (*p >= '0' && *p <= '9' && p - start < 5)
    port = port * 10 + (unsigned long)(*p++ - '0');
  if (p == start || port > 65535)
    return NULL;
  return p;
}

/* True when url is http:// to a loopback host. The host must be followed
 * by a port, '/' or the end, so "http://127.0.0.1@evil.example/" (userinfo)
 * and "http://127.0.0.1.evil.example/" are not loopback. */
bool dw_url_is_loopback_http(const char *url) {
  if (url == NULL || strncasecmp(url, "http://", 7) != 0)
    return false;
  const char *p = skip_loopback_host(url + 7);
  if (p != NULL)
    p = skip_port(p);
  return p != NULL && (*p == '/' || *p == '\0');
}

/* True when url starts with "https://" (case-insensitive). */
bool dw_url_is_https(const char *url) {
  return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

static bool url_is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The length of a "scheme://" at the start of url (RFC 3986 3.1: a letter,
 * then letters, digits, '+', '-', '.'), or 0. */
static size_t url_scheme_len(const char *url) {
  if (!url_is_alpha(url[0]))
    return 0;
  size_t i = 1;
  while (i < 32 && (url_is_alpha(url[i]) || (url[i] >= '0' && url[i] <= '9') ||
                    url[i] == '+' || url[i] == '-' || url[i] == '.'))
    i++;
  return strncmp(url + i, "://", 3) == 0 ? i + 3 : 0;
}

/* Appends text[0..len) to out at *pos, %XX-encoding what a quoted log
 * field must not hold; false once out is full (the caller marks the cut). */
static bool url_show(char *out, size_t size, size_t *pos, const char *text,
                     size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    bool plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
    size_t need = plain ? 1 : 3;
    if (size - *pos <= need)
      return false;
    if (plain) {
      out[(*pos)++] = (char)c;
    } else {
      out[(*pos)++] = '%';
      out[(*pos)++] = hex[c >> 4];
      out[(*pos)++] = hex[c & 0x0f];
    }
  }
  return true;
}

/* The parts of url that may be shown, into out[0..limit) from 0; false
 * when they do not all fit. */
static bool url_redact_into(char *out, size_t limit, const char *url,
                            size_t scheme, size_t *pos) {
  const char *authority = url + scheme;
  size_t authority_len = strcspn(authority, "/?#");
  const char *host = authority;
  for (size_t i = 0; i < authority_len; i++) /* the last '@' ends userinfo */
    if (authority[i] == '@')
      host = authority + i + 1;
  const char *path = authority + authority_len;
  *pos = 0;
  return url_show(out, limit, pos, url, scheme) &&
         url_show(out, limit, pos, host, (size_t)(path - host)) &&
         url_show(out, limit, pos, path, strcspn(path, "?#"));
}

const char *dw_url_redact(char *out, size_t size, const char *url) {
  if (out == NULL || size < 8)
    return out;
  size_t scheme = url != NULL ? url_scheme_len(url) : 0;
  size_t pos = 0;
  if (scheme == 0) {
    snprintf(out, size, "(not a URL)");
  } else if (url_redact_into(out, size, url, scheme, &pos)) {
    out[pos] = '\0';
  } else { /* cut, with room left for "..." */
    (void)url_redact_into(out, size - 3, url, scheme, &pos);
    memcpy(out + pos, "...", 4);
  }
  return out;
}
