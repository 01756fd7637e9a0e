/* dw_header.h - which configured header lines and token parameters are
 * acceptable. Owns: the syntax of a Header line, the header names the
 * plugin keeps for itself, the TokenParam names it sends itself.
 * May call: nothing.
 *
 * Pure checks that return a static reason: no allocation, no logging, and
 * never a piece of the value (a header or a parameter may carry a key). */
#ifndef DW_HEADER_H
#define DW_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#define DW_HEADER_MAX 4096 /* bytes of a Header line */

/* The length of the name of "Name: value" when line starts with an HTTP
 * token followed by ':' (RFC 9110 5.6.2), else 0. */
size_t dw_header_name_len(const char *line);

/* Checks a "Name: value" line: a token, ':', then a value that is not
 * empty and holds no control byte (CR, LF, NUL ... DEL; a tab is fine),
 * and a name the plugin does not set itself (Authorization, Host,
 * Content-Length, ...). NULL when fine, else a static reason. */
const char *dw_header_check(const char *line);

/* Checks a TokenParam name: 1 to 256 bytes without control bytes, and not
 * one the token request carries already (grant_type, client_id,
 * client_secret, any case). NULL when fine, else a static reason. */
const char *dw_header_check_param(const char *name);

/* True when name (len bytes) is short and plain enough to be quoted in a
 * log line as a name: 1 to 64 bytes of letters, digits and -_.: */
bool dw_header_is_plain_name(const char *name, size_t len);

#endif
