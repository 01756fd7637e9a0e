/* dw_urlpolicy.c - which URLs an account may talk to (see dw_urlpolicy.h).
 */
#include "dw_urlpolicy.h"
#include "dw_log.h"
#include "dw_name.h"
#include "dw_url.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

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
  char shown[DW_SHOWN_SIZE];
  if (dw_url_is_loopback_http(url))
    return 0;
  if (!allow_insecure) {
    dw_log_at(DW_LOG_ERR, where,
              "%s \"%s\": plain http:// to a host other than loopback would "
              "send the client secret and tokens unencrypted; use https:// "
              "or set AllowInsecureHTTP true",
              option, dw_name_shown(shown, url));
    return -EINVAL;
  }
  dw_log_at(DW_LOG_WARNING, where,
            "%s \"%s\" is plain http:// (AllowInsecureHTTP true): the "
            "client secret and tokens travel unencrypted",
            option, dw_name_shown(shown, url));
  return 0;
}

int dw_urlpolicy_check(const char *where, const char *option, const char *url,
                       bool is_base, bool allow_insecure) {
  char shown[DW_SHOWN_SIZE];
  bool https = strncasecmp(url, "https://", 8) == 0;
  bool http = strncasecmp(url, "http://", 7) == 0;
  const char *why = NULL;
  if (urlpolicy_has_space(url)) {
    dw_log_at(DW_LOG_ERR, where,
              "%s must not contain whitespace or control characters", option);
    return -EINVAL;
  }
  const char *host = url + (https ? 8 : 7);
  size_t authority_len = strcspn(host, "/?#");
  if ((https || http) && memchr(host, '@', authority_len) != NULL) {
    /* Userinfo may be a password: the URL is not shown. */
    dw_log_at(DW_LOG_ERR, where,
              "%s must not contain user:password@; use "
              "ClientID and ClientSecret",
              option);
    return -EINVAL;
  }
  if (!https && !http)
    why = "only http:// and https:// URLs are supported";
  else if (authority_len == 0)
    why = "the URL has no host";
  else if (strchr(url, '#') != NULL || (is_base && strchr(url, '?') != NULL))
    why = is_base ? "must not contain '?' or '#'" : "must not contain '#'";
  if (why != NULL) {
    dw_log_at(DW_LOG_ERR, where, "%s \"%s\": %s", option,
              dw_name_shown(shown, url), why);
    return -EINVAL;
  }
  return http ? urlpolicy_plain_http(where, option, url, allow_insecure) : 0;
}
