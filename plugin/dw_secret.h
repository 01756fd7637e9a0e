/* dw_secret.h - a secret from a file: ClientSecretFile,
 * ClientKeyPasswordFile. Owns: reading the file's first line without
 * leaving a copy behind. May call: dw_name, dw_log, the file system.
 *
 * The file is opened without blocking (a FIFO must not hang collectd's
 * start), must be a regular file, and is warned about when group or others
 * may read it. Messages name the option and the file, never what it
 * holds; a relative path is not shown either, because the commonest slip
 * is the secret itself put where its file belongs. */
#ifndef DW_SECRET_H
#define DW_SECRET_H

#define DW_SECRET_MAX 4096 /* bytes of a secret, as of ClientSecret */

/* Reads the first line (without "\r\n") of path, the value of option,
 * into a fresh *secret that the caller wipes and frees. 0, -EINVAL after
 * logging at where, or -ENOMEM. */
__attribute__((warn_unused_result)) int dw_secret_read_file(const char *where,
                                                            const char *option,
                                                            const char *path,
                                                            char **secret);

#endif
