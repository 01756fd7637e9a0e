/* dw_urlpolicy.h - which URLs an account may be configured to talk to.
 * Owns: the rules for BaseURL and TokenURL: http(s) only, a host, no
 * user:password@, no query in BaseURL, plain http only to loopback unless
 * AllowInsecureHTTP. May call: dw_url, dw_log.
 *
 * A URL is quoted back only through dw_url_redact (no userinfo, query or
 * fragment), and text that is not a URL at all (it may be a secret put
 * in the wrong place) not at all. */
#ifndef DW_URLPOLICY_H
#define DW_URLPOLICY_H

#include <stdbool.h>

/* Checks url, the value of option, logging at where; is_base forbids a
 * query (path templates are appended to BaseURL); allow_insecure lets
 * plain http:// go beyond loopback, with a warning. 0 or -EINVAL. */
__attribute__((warn_unused_result)) int
dw_urlpolicy_check(const char *where, const char *option, const char *url,
                   bool is_base, bool allow_insecure);

#endif
