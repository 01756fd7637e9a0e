/* dw_url.h - request URLs and form bodies, with percent-encoding.
 * Owns: how IDs, periods and form values become URL and body text, the
 * client_secret_basic header, the loopback test, and URLs as log lines
 * may show them. May call: nothing.
 *
 * The smartmeter ID and the period are encoded with every byte outside
 * [A-Za-z0-9_~-] as %XX (the dot too, so ".." can never become a path
 * segment), which keeps them inside their one path segment: no ID can
 * reach another path, a query or a host. */
#ifndef DW_URL_H
#define DW_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-encodes text into out; returns the length, or -ENAMETOOLONG
 * when out (with its NUL) is too small. */
__attribute__((warn_unused_result)) int
dw_url_escape(char *out, size_t out_size, const char *text);

/* Checks a path template: starts with '/', holds {smartmeterId} once,
 * holds {period} once exactly when with_period, no other '{' or '}', no
 * '?', '#', '\\', whitespace, control bytes, or "." / ".." segments.
 * 0, or -EINVAL with a static reason in *why. */
__attribute__((warn_unused_result)) int
dw_url_check_template(const char *tmpl, bool with_period, const char **why);

/* base (no trailing '/' needed) + template with the placeholders replaced
 * by the encoded values; period may be NULL for templates without one.
 * 0, or -ENAMETOOLONG (-EINVAL: meter_id empty, or {period} without one). */
__attribute__((warn_unused_result)) int
dw_url_build(char *out, size_t out_size, const char *base, const char *tmpl,
             const char *meter_id, const char *period);

/* A name and a value for a form body (TokenParam). */
typedef struct dw_url_param {
  const char *name;
  const char *value;
} dw_url_param_t;

/* The client_credentials form body: grant_type, then client_id and
 * client_secret unless both are NULL (TokenAuth "basic" sends them in a
 * header instead), then each of params[0..n_params) as name=value; every
 * name and value form-encoded. Returns a malloc'ed string the caller
 * frees (and should wipe: it may hold the secret), or NULL on ENOMEM. */
char *dw_url_token_form(const char *client_id, const char *client_secret,
                        const dw_url_param_t *params, size_t n_params);

/* The "Authorization: Basic ..." header line of RFC 6749 2.3.1
 * (client_secret_basic): base64 of the form-encoded ID, ':', the
 * form-encoded secret. Returns a malloc'ed line the caller wipes and
 * frees, or NULL on ENOMEM. */
char *dw_url_basic_auth(const char *client_id, const char *client_secret);

/* True when url is http:// to a loopback host (127.0.0.0/8, ::1,
 * localhost), the only place plain HTTP is allowed by default. */
bool dw_url_is_loopback_http(const char *url);

/* True when url starts with "https://" (case-insensitive). */
bool dw_url_is_https(const char *url);

/* url as a log line may show it: scheme://host[:port]/path, without the
 * userinfo, the query and the fragment (any of which may carry a secret).
 * Bytes outside printable ASCII, '"' and '\\' become %XX, so the result
 * can be quoted; it is cut with "..." when out is too small (size >= 8).
 * Text that does not start with "scheme://" is not taken apart, and not
 * shown: out becomes "(not a URL)". Returns out. */
const char *dw_url_redact(char *out, size_t size, const char *url);

#define DW_URL_SHOWN_SIZE 256 /* a buffer for dw_url_redact in log lines */

#endif
