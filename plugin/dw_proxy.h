/* dw_proxy.h - which proxy a request goes through, and how to say it.
 * Owns: the rules for a Proxy value; the proxy that libcurl takes from
 * the environment for a URL (http_proxy, https_proxy, all_proxy and
 * no_proxy, read as libcurl 7.88 reads them); a proxy as a log line may
 * show it. May call: dw_url, the environment.
 *
 * Without a Proxy option libcurl follows the environment silently, so a
 * failure is only understandable when the log says which proxy it went
 * through: the transport asks here when a request failed. A proxy's
 * userinfo (user:password) is never part of what this room shows. */
#ifndef DW_PROXY_H
#define DW_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#define DW_PROXY_SHOWN_SIZE 96 /* "host:port" of a proxy, for log lines */

/* Checks a Proxy value: "" (no proxy, whatever the environment), or
 * [scheme://][user:password@]host[:port][/] with scheme http, https,
 * socks4, socks4a, socks5 or socks5h. NULL when fine, else a static
 * reason. */
const char *dw_proxy_check(const char *proxy);

/* proxy as a log line may show it: host[:port], with its scheme in front
 * when that is not http://, never its userinfo. Returns out. */
const char *dw_proxy_shown(char out[DW_PROXY_SHOWN_SIZE], const char *proxy);

/* True when a request to url goes through a proxy, given the Proxy
 * option (configured: NULL when not given, "" for none) and otherwise the
 * environment; out is then that proxy (dw_proxy_shown) and *from the name
 * of the option or variable it came from ("Proxy", "http_proxy", ...). */
bool dw_proxy_for(const char *configured, const char *url,
                  char out[DW_PROXY_SHOWN_SIZE], const char **from);

/* True when host (a name, an IPv4 address or an IPv6 one, bracketed or
 * not) is listed in no_proxy, by libcurl's rules: "*" for every host,
 * names separated by commas or blanks that match themselves and their
 * subdomains (a leading '.' changes nothing), addresses with an optional
 * /bits range. */
bool dw_proxy_no_proxy_matches(const char *no_proxy, const char *host);

/* The userinfo ("user:password") of the proxy a request to url goes
 * through (as dw_proxy_for picks it) into out; false when it has none.
 * For the transport to keep it out of libcurl's messages. */
bool dw_proxy_userinfo(const char *configured, const char *url, char *out,
                       size_t size);

#endif
