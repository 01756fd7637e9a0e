/* dw_statefile.c - a file that survives a crash at any moment (see
 * dw_statefile.h).
 *
 * The container: 8 bytes of magic, then little-endian u32 version,
 * payload length and CRC-32 of the payload, then the payload. The length
 * must match the file's size exactly, so a file cut short or grown by a
 * stray write is refused before its CRC is even computed. */
#include "dw_statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATEFILE_MAGIC "DWSTATE\0"
#define STATEFILE_HEADER 20

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

/* Every account's thread may write its state at once: the table is made
 * once, under pthread_once. */
uint32_t dw_statefile_crc32(uint32_t crc, const void *data, size_t len) {
  pthread_once(&crc_once, crc_init);
  const unsigned char *p = data;
  crc = ~crc;
  for (size_t i = 0; i < len; i++)
    crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

int dw_statefile_dir(const char *dir, int *loose, char *why, size_t why_size) {
  struct stat st;
  *loose = 0;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    int e = errno;
    snprintf(why, why_size, "cannot create it: %s", strerror(e));
    return -e;
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(why, why_size, "it is not a directory");
    return -ENOTDIR;
  }
  *loose = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  return 0;
}

/* Writes all of buf; 0 or a negative errno. */
static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int sync_dir_of(const char *path) {
  char *copy = strdup(path);
  if (copy == NULL)
    return -ENOMEM;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0)
    return -errno;
  int status = fsync(fd) == 0 ? 0 : -errno;
  close(fd);
  return status;
}

/* The temporary file, written and synced; 0 or a negative errno. */
static int write_tmp(const char *tmp, const void *payload, size_t len) {
  unsigned char header[STATEFILE_HEADER];
  memcpy(header, STATEFILE_MAGIC, 8);
  put_u32(header + 8, DW_STATEFILE_VERSION);
  put_u32(header + 12, (uint32_t)len);
  put_u32(header + 16, dw_statefile_crc32(0, payload, len));
  int fd =
      open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -errno;
  int status = fchmod(fd, 0600) == 0 ? 0 : -errno;
  if (status == 0)
    status = write_all(fd, header, sizeof(header));
  if (status == 0)
    status = write_all(fd, payload, len);
  if (status == 0 && fsync(fd) != 0)
    status = -errno;
  if (close(fd) != 0 && status == 0)
    status = -errno;
  return status;
}

int dw_statefile_write(const char *path, const void *payload, size_t len,
                       char *why, size_t why_size) {
  if (len > DW_STATEFILE_MAX) {
    snprintf(why, why_size, "the state is larger than %u bytes",
             DW_STATEFILE_MAX);
    return -EFBIG;
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
    snprintf(why, why_size, "the path is too long");
    return -ENAMETOOLONG;
  }
  int status = write_tmp(tmp, payload, len);
  const char *step = "cannot write";
  if (status == 0 && rename(tmp, path) != 0) {
    status = -errno;
    step = "cannot rename the new file over it";
  }
  if (status != 0) {
    unlink(tmp);
    snprintf(why, why_size, "%s: %s", step, strerror(-status));
    return status;
  }
  /* the new file is in place; a failed directory sync only risks that a
   * power cut brings the previous one back */
  (void)sync_dir_of(path);
  return 0;
}

/* The payload length the header announces, checked against the file's
 * size; -EINVAL with why filled when the header is not ours. */
static int check_header(const unsigned char *h, off_t size, size_t *len,
                        char *why, size_t why_size) {
  if (memcmp(h, STATEFILE_MAGIC, 8) != 0) {
    snprintf(why, why_size, "not a digiwatt state file");
    return -EINVAL;
  }
  uint32_t version = get_u32(h + 8);
  if (version != DW_STATEFILE_VERSION) {
    snprintf(why, why_size, "state file version %u, this plugin reads %u",
             version, DW_STATEFILE_VERSION);
    return -EINVAL;
  }
  *len = get_u32(h + 12);
  if (*len > DW_STATEFILE_MAX || (off_t)(*len + STATEFILE_HEADER) != size) {
    snprintf(why, why_size,
             "truncated or grown (%lld bytes, the header "
             "says %zu)",
             (long long)size, *len + STATEFILE_HEADER);
    return -EINVAL;
  }
  return 0;
}

/* Reads exactly len bytes; 0, or -EINVAL when the file ends first. */
static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EINVAL;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The payload of an open state file; see dw_statefile_read. */
static int read_fd(int fd, void **payload, size_t *len, char *why,
                   size_t why_size) {
  struct stat st;
  unsigned char h[STATEFILE_HEADER];
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, why_size, "not a regular file");
    return -EINVAL;
  }
  if (st.st_size < STATEFILE_HEADER) {
    snprintf(why, why_size, "empty or truncated (%lld bytes)",
             (long long)st.st_size);
    return -EINVAL;
  }
  int status = read_all(fd, h, sizeof(h));
  if (status == 0)
    status = check_header(h, st.st_size, len, why, why_size);
  if (status != 0)
    return status;
  void *p = malloc(*len ? *len : 1);
  if (p == NULL)
    return -ENOMEM;
  status = read_all(fd, p, *len);
  if (status == 0 && dw_statefile_crc32(0, p, *len) != get_u32(h + 16)) {
    snprintf(why, why_size, "damaged (its checksum does not match)");
    status = -EINVAL;
  }
  if (status != 0) {
    free(p);
    return status;
  }
  *payload = p;
  return 0;
}

int dw_statefile_read(const char *path, void **payload, size_t *len, char *why,
                      size_t why_size) {
  *payload = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    snprintf(why, why_size, "%s", strerror(e));
    return -e;
  }
  int status = read_fd(fd, payload, len, why, why_size);
  close(fd);
  if (status == -ENOMEM)
    snprintf(why, why_size, "out of memory");
  return status;
}
