/* dw_urlpolicy.c - which URLs an account may talk to (see dw_urlpolicy.h).
 */
#include "dw_urlpolicy.h"
#include "dw_log.h"
#include "dw_url.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* A URL as a configuration error shows it (dw_url_redact), bounded like
 * other configured text. */
#define URLPOLICY_SHOWN_SIZE 84

static bool urlpolicy_has_space(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return true;
  return false;
}

/* Plain http:// is fine to loopback (the simulator, a local proxy);
 * elsewhere it needs AllowInsecureHTTP, and then still gets a warning. */
static int urlpolicy_plain_http(const char *where, const char *option,
                                const char *url, bool allow_insecure) {
  char shown[URLPOLICY_SHOWN_SIZE];
  if (dw_url_is_loopback_http(url))
    return 0;
  dw_url_redact(shown, sizeof(shown), url);
  if (!allow_insecure) {
    dw_log_at(DW_LOG_ERR, where,
              "%s \"%s\": plain http:// to a host other than loopback would "
              "send the client secret and tokens unencrypted; use https:// "
              "or set AllowInsecureHTTP true",
              option, shown);
    return -EINVAL;
  }
  dw_log_at(DW_LOG_WARNING, where,
            "%s \"%s\" is plain http:// (AllowInsecureHTTP true): the "
            "client secret and tokens travel unencrypted",
            option, shown);
  return 0;
}

/* The problem of an http(s) URL's authority and of what follows it, or
 * NULL. host is just past "scheme://". */
static const char *urlpolicy_problem(const char *url, const char *host,
                                     bool is_base) {
  size_t authority_len = strcspn(host, "/?#");
  if (authority_len == 0)
    return "the URL has no host";
  if (strchr(url, '#') != NULL || (is_base && strchr(url, '?') != NULL))
    return is_base ? "must not contain '?' or '#'" : "must not contain '#'";
  return NULL;
}

int dw_urlpolicy_check(const char *where, const char *option, const char *url,
                       bool is_base, bool allow_insecure) {
  char shown[URLPOLICY_SHOWN_SIZE];
  if (urlpolicy_has_space(url)) {
    dw_log_at(DW_LOG_ERR, where,
              "%s must not contain whitespace or control characters", option);
    return -EINVAL;
  }
  /* The scheme first: only then is there a "://" to look past. */
  bool https = strncasecmp(url, "https://", 8) == 0;
  bool http = strncasecmp(url, "http://", 7) == 0;
  if (!https && !http && strstr(url, "://") == NULL) {
    /* Not shown: text that is no URL may be a secret put in this place. */
    dw_log_at(DW_LOG_ERR, where,
              "%s is not a URL: it must start with https:// (or http://)",
              option);
    return -EINVAL;
  }
  if (!https && !http) {
    dw_log_at(DW_LOG_ERR, where,
              "%s \"%s\": only http:// and https:// URLs are supported", option,
              dw_url_redact(shown, sizeof(shown), url));
    return -EINVAL;
  }
  const char *host = url + (https ? 8 : 7);
  if (memchr(host, '@', strcspn(host, "/?#")) != NULL) {
    /* Userinfo may be a password: the URL is not shown. */
    dw_log_at(DW_LOG_ERR, where,
              "%s must not contain user:password@; use "
              "ClientID and ClientSecret",
              option);
    return -EINVAL;
  }
  const char *why = urlpolicy_problem(url, host, is_base);
  if (why != NULL) {
    dw_log_at(DW_LOG_ERR, where, "%s \"%s\": %s", option,
              dw_url_redact(shown, sizeof(shown), url), why);
    return -EINVAL;
  }
  return http ? urlpolicy_plain_http(where, option, url, allow_insecure) : 0;
}
