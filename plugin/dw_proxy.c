/* dw_proxy.c - which proxy a request goes through (see dw_proxy.h). */
#include "dw_proxy.h"
#include "dw_url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROXY_HOST_MAX 256

/* The schemes libcurl takes for a proxy; none means http. */
static const char *const proxy_schemes[] = {"http",    "https",  "socks4",
                                            "socks4a", "socks5", "socks5h"};

/* The authority of text: past "scheme://" (or from the start when it has
 * none), up to the first '/', '?' or '#'; *len is its length. */
static const char *proxy_authority(const char *text, size_t *len) {
  const char *sep = strstr(text, "://");
  const char *authority = sep != NULL ? sep + 3 : text;
  *len = strcspn(authority, "/?#");
  return authority;
}

/* The host of an authority, past any userinfo, without brackets or port;
 * false when it does not fit out. */
/* Past the userinfo of an authority of len bytes. */
static const char *proxy_past_userinfo(const char *authority, size_t len) {
  const char *host = authority;
  for (size_t i = 0; i < len; i++) /* the last '@' ends userinfo */
    if (authority[i] == '@')
      host = authority + i + 1;
  return host;
}

static bool proxy_host(const char *authority, size_t len, char *out,
                       size_t size) {
  const char *host = proxy_past_userinfo(authority, len);
  size_t host_len = (size_t)(authority + len - host);
  if (host_len > 0 && host[0] == '[') {
    const char *close = memchr(host, ']', host_len);
    if (close == NULL)
      return false;
    host++;
    host_len = (size_t)(close - host);
  } else {
    const char *colon = memchr(host, ':', host_len);
    if (colon != NULL)
      host_len = (size_t)(colon - host);
  }
  if (host_len >= size)
    return false;
  memcpy(out, host, host_len);
  out[host_len] = '\0';
  return true;
}

/* The port after a host (from its ':' to the end of the authority) is 1
 * to 5 digits of at most 65535, or absent. */
static bool proxy_port_ok(const char *p, const char *end) {
  if (p == end)
    return true;
  if (*p++ != ':' || p == end || end - p > 5)
    return false;
  long port = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9')
      return false;
    port = port * 10 + (*p - '0');
  }
  return port >= 1 && port <= 65535;
}

static const char *proxy_check_scheme(const char *proxy) {
  const char *sep = strstr(proxy, "://");
  if (sep == NULL)
    return NULL;
  size_t len = (size_t)(sep - proxy);
  for (size_t i = 0; i < sizeof(proxy_schemes) / sizeof(proxy_schemes[0]); i++)
    if (strlen(proxy_schemes[i]) == len &&
        strncasecmp(proxy, proxy_schemes[i], len) == 0)
      return NULL;
  return "the proxy's scheme must be http://, https://, socks4://, "
         "socks4a://, socks5:// or socks5h://";
}

const char *dw_proxy_check(const char *proxy) {
  if (proxy[0] == '\0')
    return NULL; /* no proxy at all */
  for (const unsigned char *p = (const unsigned char *)proxy; *p != '\0'; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return "the proxy must not contain whitespace or control characters";
  const char *why = proxy_check_scheme(proxy);
  if (why != NULL)
    return why;
  size_t len;
  const char *authority = proxy_authority(proxy, &len);
  const char *rest = authority + len;
  if (rest[0] != '\0' && strcmp(rest, "/") != 0)
    return "the proxy is [scheme://][user:password@]host[:port]: no path, "
           "query or fragment";
  char host[PROXY_HOST_MAX];
  if (!proxy_host(authority, len, host, sizeof(host)) || host[0] == '\0')
    return "the proxy has no host";
  const char *end = authority + len;
  const char *after = proxy_past_userinfo(authority, len);
  const char *close =
      after[0] == '[' ? memchr(after, ']', (size_t)(end - after)) : NULL;
  const char *port = close != NULL ? close + 1 : after + strcspn(after, ":/");
  if (port > end || !proxy_port_ok(port, end))
    return "the proxy's port must be a number from 1 to 65535";
  return NULL;
}

const char *dw_proxy_shown(char out[DW_PROXY_SHOWN_SIZE], const char *proxy) {
  char shown[DW_PROXY_SHOWN_SIZE];
  if (strstr(proxy, "://") != NULL) {
    dw_url_redact(shown, sizeof(shown), proxy);
  } else {
    /* a bare [user:password@]host:port is http:// to libcurl; the
     * userinfo goes before anything is copied */
    char url[DW_PROXY_SHOWN_SIZE + 8];
    size_t len;
    const char *authority = proxy_authority(proxy, &len);
    const char *host = proxy_past_userinfo(authority, len);
    snprintf(url, sizeof(url), "http://%.*s", (int)(authority + len - host),
             host);
    dw_url_redact(shown, sizeof(shown), url);
  }
  const char *s = shown;
  if (strncasecmp(s, "http://", 7) == 0)
    s += 7;
  size_t n = strlen(s);
  if (n > 0 && s[n - 1] == '/')
    n--;
  snprintf(out, DW_PROXY_SHOWN_SIZE, "%.*s", (int)n, s);
  return out;
}

/* getenv, with an empty value taken as unset (libcurl's curl_getenv). */
static const char *proxy_env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The proxy libcurl takes from the environment for url, or NULL: the
 * scheme's variable (for http only the lowercase one: the uppercase one
 * may be set by a CGI caller), else all_proxy, unless no_proxy lists the
 * host. */
static const char *proxy_from_env(const char *url, const char **from) {
  static const char *const https_vars[] = {"https_proxy", "HTTPS_PROXY",
                                           "all_proxy", "ALL_PROXY", NULL};
  static const char *const http_vars[] = {"http_proxy", "all_proxy",
                                          "ALL_PROXY", NULL};
  const char *const *vars = dw_url_is_https(url) ? https_vars : http_vars;
  const char *proxy = NULL;
  for (; *vars != NULL && proxy == NULL; vars++)
    proxy = proxy_env(*from = *vars);
  if (proxy == NULL)
    return NULL;
  const char *no_proxy = proxy_env("no_proxy");
  if (no_proxy == NULL)
    no_proxy = proxy_env("NO_PROXY");
  size_t len;
  const char *authority = proxy_authority(url, &len);
  char host[PROXY_HOST_MAX];
  if (no_proxy != NULL && proxy_host(authority, len, host, sizeof(host)) &&
      dw_proxy_no_proxy_matches(no_proxy, host))
    return NULL;
  return proxy;
}

/* The proxy string that applies to url, or NULL. */
static const char *proxy_applies(const char *configured, const char *url,
                                 const char **from) {
  if (configured != NULL) {
    *from = "Proxy";
    return configured[0] != '\0' ? configured : NULL;
  }
  return proxy_from_env(url, from);
}

bool dw_proxy_for(const char *configured, const char *url,
                  char out[DW_PROXY_SHOWN_SIZE], const char **from) {
  const char *proxy = proxy_applies(configured, url, from);
  out[0] = '\0';
  if (proxy == NULL)
    return false;
  dw_proxy_shown(out, proxy);
  return true;
}

bool dw_proxy_userinfo(const char *configured, const char *url, char *out,
                       size_t size) {
  const char *from;
  const char *proxy = proxy_applies(configured, url, &from);
  size_t len;
  const char *authority = proxy != NULL ? proxy_authority(proxy, &len) : NULL;
  const char *at = NULL;
  for (size_t i = 0; authority != NULL && i < len; i++)
    if (authority[i] == '@')
      at = authority + i;
  if (at == NULL || at == authority || (size_t)(at - authority) >= size)
    return false;
  memcpy(out, authority, (size_t)(at - authority));
  out[at - authority] = '\0';
  return true;
}

/* --- no_proxy ------------------------------------------------------------ */

/* host (namelen bytes, no trailing dot) is token or one of its subdomains;
 * a leading and a trailing dot of the token change nothing. */
static bool proxy_name_matches(const char *token, size_t len, const char *host,
                               size_t host_len) {
  if (len > 0 && token[len - 1] == '.')
    len--;
  if (len > 0 && token[0] == '.') {
    token++;
    len--;
  }
  if (len == 0 || len > host_len)
    return false;
  if (len == host_len)
    return strncasecmp(token, host, len) == 0;
  return host[host_len - len - 1] == '.' &&
         strncasecmp(token, host + host_len - len, len) == 0;
}

/* The first bits bits of a and b (size bytes each) are equal. */
static bool proxy_prefix_equal(const unsigned char *a, const unsigned char *b,
                               unsigned bits) {
  unsigned bytes = bits / 8, rest = bits % 8;
  if (memcmp(a, b, bytes) != 0)
    return false;
  if (rest == 0)
    return true;
  unsigned mask = (0xffu << (8 - rest)) & 0xffu;
  return (a[bytes] & mask) == (b[bytes] & mask);
}

/* An address host matches token "address[/bits]" of the same family. */
static bool proxy_addr_matches(const char *token, size_t len, int family,
                               const unsigned char *host) {
  char text[64];
  unsigned char net[16];
  unsigned max_bits = family == AF_INET ? 32 : 128;
  if (len >= sizeof(text))
    return false;
  memcpy(text, token, len);
  text[len] = '\0';
  unsigned bits = max_bits;
  char *slash = strchr(text, '/');
  if (slash != NULL) {
    *slash = '\0';
    char *end = NULL;
    unsigned long b = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || b > max_bits)
      return false;
    bits = b == 0 ? max_bits : (unsigned)b; /* libcurl: /0 is exact */
  }
  return inet_pton(family, text, net) == 1 &&
         proxy_prefix_equal(host, net, bits);
}

bool dw_proxy_no_proxy_matches(const char *no_proxy, const char *host) {
  if (no_proxy == NULL || host == NULL || host[0] == '\0')
    return false;
  if (strcmp(no_proxy, "*") == 0)
    return true;
  char name[PROXY_HOST_MAX];
  size_t host_len = strlen(host);
  if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
    host++;
    host_len -= 2;
  }
  if (host_len >= sizeof(name))
    return false;
  memcpy(name, host, host_len);
  name[host_len] = '\0';
  unsigned char addr[16];
  int family = inet_pton(AF_INET, name, addr) == 1    ? AF_INET
               : inet_pton(AF_INET6, name, addr) == 1 ? AF_INET6
                                                      : 0;
  if (family == 0 && host_len > 0 && name[host_len - 1] == '.')
    name[--host_len] = '\0';
  for (const char *p = no_proxy; *p != '\0';) {
    p += strspn(p, " \t,");
    size_t len = strcspn(p, " \t,");
    if (len > 0 && (family != 0 ? proxy_addr_matches(p, len, family, addr)
                                : proxy_name_matches(p, len, name, host_len)))
      return true;
    p += len;
  }
  return false;
}
