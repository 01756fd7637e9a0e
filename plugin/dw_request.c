/* dw_request.c - the names of the transport's error classes (see
 * dw_request.h). */
#include "dw_request.h"

const char *dw_http_error_name(dw_http_error_t e) {
  static const char *const names[] = {
      [DW_HTTP_OK] = "ok",
      [DW_HTTP_ERR_TIMEOUT] = "timeout",
      [DW_HTTP_ERR_DEADLINE] = "deadline",
      [DW_HTTP_ERR_CONNECT] = "connect",
      [DW_HTTP_ERR_TLS] = "tls",
      [DW_HTTP_ERR_TOO_LARGE] = "too large",
      [DW_HTTP_ERR_ABORTED] = "aborted",
      [DW_HTTP_ERR_OTHER] = "other",
  };
  if ((unsigned)e >= sizeof names / sizeof names[0] || names[e] == NULL)
    return "unknown";
  return names[e];
}
