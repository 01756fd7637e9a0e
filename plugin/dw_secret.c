/* dw_secret.c - a secret from a file (see dw_secret.h). */
#include "dw_secret.h"
#include "dw_log.h"
#include "dw_name.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "Option \"path\"" for the messages: room for the quoted path. */
#define SECRET_LABEL_SIZE (DW_SHOWN_SIZE + 64)

/* Reads from fd into buf until a newline, EOF or size bytes; 0 or
 * a negative errno. */
static int secret_read_head(int fd, char *buf, size_t size, size_t *len) {
  *len = 0;
  while (*len < size && memchr(buf, '\n', *len) == NULL) {
    ssize_t n = read(fd, buf + *len, size - *len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      break;
    *len += (size_t)n;
  }
  return 0;
}

/* The first line of the file, without "\r\n". It goes through a stack
 * buffer that is wiped, never through stdio's heap. */
static int secret_read_line(const char *where, int fd, const char *shown,
                            char **secret) {
  char line[DW_SECRET_MAX + 2];
  size_t len;
  const char *why = NULL;
  int status = secret_read_head(fd, line, sizeof(line), &len);
  if (status != 0) {
    char buf[256];
    dw_log_at(DW_LOG_ERR, where, "cannot read %s: %s", shown,
              strerror_r(-status, buf, sizeof(buf)));
    goto out;
  }
  char *newline = memchr(line, '\n', len);
  size_t line_len = newline ? (size_t)(newline - line) : len;
  if (line_len > 0 && line[line_len - 1] == '\r')
    line_len--;
  if (line_len > DW_SECRET_MAX)
    why = "the first line is too long";
  else if (line_len == 0)
    why = "the first line is empty";
  else if (memchr(line, '\0', line_len) != NULL)
    why = "the first line is not text (it holds a NUL byte)";
  if (why != NULL) {
    dw_log_at(DW_LOG_ERR, where, "%s: %s", shown, why);
    status = -EINVAL;
  } else if ((*secret = strndup(line, line_len)) == NULL) {
    dw_log_at(DW_LOG_ERR, where, "out of memory");
    status = -ENOMEM;
  }
out:
  explicit_bzero(line, sizeof(line));
  return status == 0 ? 0 : status == -ENOMEM ? -ENOMEM : -EINVAL;
}

/* "Option \"/abs/path\"", or the option alone for a relative path: that
 * may be the secret itself, put where its file belongs. */
static const char *secret_label(char out[SECRET_LABEL_SIZE], const char *option,
                                const char *path) {
  char shown[DW_SHOWN_SIZE];
  if (path[0] == '/')
    snprintf(out, SECRET_LABEL_SIZE, "%s \"%s\"", option,
             dw_name_shown(shown, path));
  else
    snprintf(out, SECRET_LABEL_SIZE, "%s (a relative path, not shown)", option);
  return out;
}

int dw_secret_read_file(const char *where, const char *option, const char *path,
                        char **secret) {
  char shown[SECRET_LABEL_SIZE];
  secret_label(shown, option, path);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    char buf[256];
    dw_log_at(DW_LOG_ERR, where, "cannot open %s: %s", shown,
              strerror_r(errno, buf, sizeof(buf)));
    return -EINVAL;
  }
  struct stat st;
  int status = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    dw_log_at(DW_LOG_ERR, where, "%s is not a regular file", shown);
    status = -EINVAL;
  } else {
    if ((st.st_mode & 077) != 0)
      dw_log_at(DW_LOG_WARNING, where,
                "%s is accessible by group or others (mode %04o); chmod 600 "
                "it",
                shown, (unsigned)(st.st_mode & 07777));
    status = secret_read_line(where, fd, shown, secret);
  }
  close(fd);
  return status;
}
