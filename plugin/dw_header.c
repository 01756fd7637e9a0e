/* dw_header.c - configured header lines and token parameters (see
 * dw_header.h). */
#include "dw_header.h"

#include <string.h>
#include <strings.h>

#define HEADER_PARAM_NAME_MAX 256

/* RFC 9110 5.6.2 tchar. */
static bool header_is_tchar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

size_t dw_header_name_len(const char *line) {
  size_t n = 0;
  while (header_is_tchar((unsigned char)line[n]))
    n++;
  return n > 0 && line[n] == ':' ? n : 0;
}

/* Headers that the plugin or libcurl set, or that frame the message: a
 * configured one would replace the token, the host, the body's length,
 * type or encoding. */
static const struct {
  const char *name;
  const char *why;
} header_reserved[] = {
    {"Authorization", "Authorization is the plugin's: the token goes there"},
    {"Proxy-Authorization",
     "Proxy-Authorization is libcurl's: put the proxy's user:password in "
     "Proxy"},
    {"Host", "Host comes from the URL"},
    {"Content-Length", "Content-Length is libcurl's to set"},
    {"Content-Type", "Content-Type is the plugin's to set"},
    {"Transfer-Encoding", "Transfer-Encoding is libcurl's to set"},
    {"Connection", "Connection is libcurl's to set"},
    {"Expect", "Expect is libcurl's to set"},
    {"Accept", "Accept is the plugin's: it asks for application/json"},
    {"Accept-Encoding", "Accept-Encoding is libcurl's to set"},
    {"User-Agent", "User-Agent has its own option: use UserAgent"},
};

const char *dw_header_check(const char *line) {
  size_t name_len = dw_header_name_len(line);
  if (name_len == 0)
    return "a header must be \"Name: value\", the name made of letters, "
           "digits and !#$%&'*+-.^_`|~";
  for (size_t i = 0; i < sizeof(header_reserved) / sizeof(header_reserved[0]);
       i++)
    if (strlen(header_reserved[i].name) == name_len &&
        strncasecmp(line, header_reserved[i].name, name_len) == 0)
      return header_reserved[i].why;
  const unsigned char *value = (const unsigned char *)line + name_len + 1;
  bool empty = true;
  for (const unsigned char *p = value; *p != '\0'; p++) {
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return "the header's value holds a line break or another control "
             "character";
    empty = empty && (*p == ' ' || *p == '\t');
  }
  /* libcurl reads "Name:" alone as "remove this header" */
  return empty ? "the header's value is empty" : NULL;
}

const char *dw_header_check_param(const char *name) {
  static const char *const own[] = {"grant_type", "client_id", "client_secret"};
  size_t len = strlen(name);
  if (len == 0 || len > HEADER_PARAM_NAME_MAX)
    return "the parameter's name must be 1 to 256 bytes";
  for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7f)
      return "the parameter's name holds a control character";
  for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
    if (strcasecmp(name, own[i]) == 0)
      return "the token request sends grant_type, client_id and "
             "client_secret itself (use ClientID and ClientSecret)";
  return NULL;
}

bool dw_header_is_plain_name(const char *name, size_t len) {
  if (len == 0 || len > 64)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
          c == ':'))
      return false;
  }
  return true;
}
