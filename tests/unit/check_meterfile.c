/* check_meterfile.c - unit tests of the dw_meterfile room: the
 * SmartmeterFile parser, and loading a file with its stamp.
 *
 * Parse cases are a table of (text, expected meters) and (text, expected
 * words of the error). */
#include "dw_meterfile.h"

#include "run_suite.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_SIZE 256

/* --- parse: good ---------------------------------------------------------- */

typedef struct good_case {
  const char *text;
  size_t len; /* 0: strlen(text) */
  /* expected meters as "ID" or "ID Instance", then NULL */
  const char *want[6];
} good_case_t;

static const good_case_t good_cases[] = {
    {"", 0, {NULL}},
    {"\n\n  \n\t\n", 0, {NULL}},
    {"# only a comment\n   # indented comment\n", 0, {NULL}},
    {"125fd56", 0, {"125fd56", NULL}},
    {"125fd56\n", 0, {"125fd56", NULL}},
    {"a\nb\nc\n", 0, {"a", "b", "c", NULL}},
    {"a home\nb\n", 0, {"a home", "b", NULL}},
    /* comments after the fields, with or without blanks before '#' */
    {"a home # the house\nb# the barn\nc\t#x\n", 0, {"a home", "b", "c", NULL}},
    /* leading and trailing blanks, tabs between fields */
    {"   a   \n\tb\tbarn\t\n  c \t  cellar  \n",
     0,
     {"a", "b barn", "c cellar", NULL}},
    /* CRLF, a lone CRLF blank line, and no newline at the end */
    {"a x\r\n\r\nb\r\nc", 0, {"a x", "b", "c", NULL}},
    /* IDs may hold any printable byte but '#', and UTF-8 */
    {"AB.12/x\ncaf\xc3\xa9 cafe\n\"q\\\n",
     0,
     {"AB.12/x", "caf\xc3\xa9 cafe", "\"q\\", NULL}},
    /* instances: the whole alphabet of the Instance option */
    {"m Az09_-\n", 0, {"m Az09_-", NULL}},
    /* the same instance twice is the config's business, not the file's */
    {"m1 same\nm2 same\n", 0, {"m1 same", "m2 same", NULL}},
    /* text ends before a NUL that is not part of it */
    {"a\nb\0c\n", 3, {"a", "b", NULL}},
};

START_TEST(test_parse_good) {
  const good_case_t *c = &good_cases[_i];
  size_t len = c->len ? c->len : strlen(c->text);
  dw_meterfile_t f = {.len = 99};
  char err[ERR_SIZE] = "";
  int status = dw_meterfile_parse(c->text, len, &f, err, sizeof(err));
  ck_assert_msg(status == 0, "case %d: %d %s", _i, status, err);
  size_t want_len = 0;
  while (c->want[want_len] != NULL)
    want_len++;
  ck_assert_msg(f.len == want_len, "case %d: %zu meters, want %zu", _i, f.len,
                want_len);
  for (size_t i = 0; i < f.len; i++) {
    char got[600];
    if (f.entries[i].instance != NULL)
      snprintf(got, sizeof(got), "%s %s", f.entries[i].id,
               f.entries[i].instance);
    else
      snprintf(got, sizeof(got), "%s", f.entries[i].id);
    ck_assert_msg(strcmp(got, c->want[i]) == 0, "case %d #%zu: '%s', want '%s'",
                  _i, i, got, c->want[i]);
  }
  dw_meterfile_free(&f);
  ck_assert_ptr_null(f.entries);
  ck_assert_uint_eq(f.len, 0);
}
END_TEST

/* --- parse: bad ----------------------------------------------------------- */

typedef struct bad_case {
  const char *text;
  size_t len;          /* 0: strlen(text) */
  const char *want[2]; /* in the error message */
} bad_case_t;

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X256 X64 X64 X64 X64

static const bad_case_t bad_cases[] = {
    {"a b c\n", 0, {"line 1: more than two fields", NULL}},
    {"ok\n# fine\n\nm1 home extra # c\n", 0, {"line 4: more than two", NULL}},
    /* whitespace cannot be in an ID: "a b" is ID and instance, so a space
     * in an ID shows up as a third field or a bad instance */
    {"my meter 1\n", 0, {"line 1: more than two fields", NULL}},
    {"my meter.1\n", 0, {"line 1: the instance \"meter.1\"", NULL}},
    /* control bytes, including a '\r' not at the end and a NUL */
    {"a\x01"
     "b\n",
     0,
     {"line 1: the ID holds a control byte (0x01)", NULL}},
    {"ok\na\vb\n", 0, {"line 2: the ID holds a control byte (0x0b)", NULL}},
    {"a\rb\n", 0, {"line 1: the ID holds a control byte (0x0d)", NULL}},
    {"a\x7f\n", 0, {"control byte (0x7f)", NULL}},
    {"ok\nx\0y\n", 7, {"line 2: the ID holds a control byte (0x00)", NULL}},
    /* a 257-byte ID; 256 is fine (test_parse_id_limit) */
    {"ok\n" X256 "y\n", 0, {"line 2: the ID is longer than 256 bytes", NULL}},
    /* instances */
    {"m my.home\n",
     0,
     {"line 1: the instance \"my.home\" must be 1 to 63", NULL}},
    {"m caf\xc3\xa9\n", 0, {"the instance \"caf\\xc3\\xa9\"", "[A-Za-z0-9_-]"}},
    {"m " X64 "y\n", 0, {"line 1: the instance \"" X64 "...\"", "1 to 63"}},
    {"m a\x01\n", 0, {"line 1: the instance \"a\\x01\"", NULL}},
    {"m a\0\n", 4, {"line 1: the instance \"a\\x00\"", NULL}},
    /* duplicates, with or without an instance, with CRLF */
    {"a\nb\na\n", 0, {"line 3: duplicate ID \"a\" (first on line 1)", NULL}},
    {"a x\r\n# c\r\nb\r\n\r\na y\r\n",
     0,
     {"line 5: duplicate ID \"a\" (first on line 1)", NULL}},
    /* the first bad line wins */
    {"a\nb c d\na\n", 0, {"line 2:", NULL}},
};

START_TEST(test_parse_bad) {
  const bad_case_t *c = &bad_cases[_i];
  size_t len = c->len ? c->len : strlen(c->text);
  dw_meterfile_t f = {.len = 99};
  char err[ERR_SIZE] = "";
  int status = dw_meterfile_parse(c->text, len, &f, err, sizeof(err));
  ck_assert_msg(status == -EINVAL, "case %d: status %d", _i, status);
  ck_assert_ptr_null(f.entries);
  ck_assert_uint_eq(f.len, 0);
  for (size_t w = 0; w < 2 && c->want[w] != NULL; w++)
    ck_assert_msg(strstr(err, c->want[w]) != NULL, "case %d: '%s' lacks '%s'",
                  _i, err, c->want[w]);
  /* never the whole of a long text, never a raw control byte */
  ck_assert_uint_lt(strlen(err), 200);
  for (const char *p = err; *p != '\0'; p++)
    ck_assert_int_ge((unsigned char)*p, 0x20);
}
END_TEST

START_TEST(test_parse_id_limit) {
  char text[600];
  snprintf(text, sizeof(text), "%s\n", X256);
  dw_meterfile_t f;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_parse(text, strlen(text), &f, err, sizeof(err)),
                   0);
  ck_assert_uint_eq(f.len, 1);
  ck_assert_str_eq(f.entries[0].id, X256);
  ck_assert_ptr_null(f.entries[0].instance);
  dw_meterfile_free(&f);

  /* A duplicate long ID is quoted in part only. */
  snprintf(text, sizeof(text), "%s\n%s\n", X256, X256);
  ck_assert_int_eq(dw_meterfile_parse(text, strlen(text), &f, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "line 2: duplicate ID \"" X64 "...\""));
  ck_assert_ptr_null(strstr(err, X64 "x"));
}
END_TEST

/* Enough meters to grow every array and the hash set many times; the last
 * line repeats an ID from the middle. */
START_TEST(test_parse_many) {
  enum { COUNT = 20000 };
  size_t cap = COUNT * 24 + 64, len = 0;
  char *text = malloc(cap);
  ck_assert_ptr_nonnull(text);
  for (int i = 0; i < COUNT; i++)
    len += (size_t)snprintf(text + len, cap - len, "sm-%06d i%d\n", i, i);
  dw_meterfile_t f;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_parse(text, len, &f, err, sizeof(err)), 0);
  ck_assert_uint_eq(f.len, COUNT);
  ck_assert_str_eq(f.entries[12345].id, "sm-012345");
  ck_assert_str_eq(f.entries[12345].instance, "i12345");
  dw_meterfile_free(&f);

  len += (size_t)snprintf(text + len, cap - len, "sm-%06d\n", 777);
  ck_assert_int_eq(dw_meterfile_parse(text, len, &f, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, "line 20001: duplicate ID \"sm-000777\" (first on "
                        "line 778)");
  ck_assert_uint_eq(f.len, 0);
  free(text);
}
END_TEST

/* A small or absent err buffer truncates or skips the message. */
START_TEST(test_parse_err_buffer) {
  dw_meterfile_t f;
  char err[8];
  ck_assert_int_eq(dw_meterfile_parse("a b c", 5, &f, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, "line 1:");
  ck_assert_int_eq(dw_meterfile_parse("a b c", 5, &f, NULL, 0), -EINVAL);
  ck_assert_uint_eq(f.len, 0);
  dw_meterfile_free(&f);
  dw_meterfile_free(NULL);
}
END_TEST

/* --- files ---------------------------------------------------------------- */

static char tmp_dir[64];
static char fleet_path[128];

static void dir_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/check_meterfile.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
  snprintf(fleet_path, sizeof(fleet_path), "%s/meters", tmp_dir);
}

/* Each test starts without the file (a failed test may leave one). */
static void file_reset(void) { unlink(fleet_path); }

static void dir_teardown(void) {
  unlink(fleet_path);
  rmdir(tmp_dir);
}

/* Writes content into path, replacing the file in place (same inode). */
static void write_in_place(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(content);
  ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
}

/* Sets the file's mtime to sec.nsec, to step it without sleeping. */
static void set_mtime(const char *path, time_t sec, long nsec) {
  struct timespec times[2] = {{.tv_sec = sec, .tv_nsec = nsec},
                              {.tv_sec = sec, .tv_nsec = nsec}};
  ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

START_TEST(test_load) {
  write_in_place(fleet_path, "# fleet\nm1 one\nm2\r\n");
  dw_meterfile_t f;
  dw_meterfile_stamp_t stamp, again;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   0);
  ck_assert_uint_eq(f.len, 2);
  ck_assert_str_eq(f.entries[0].id, "m1");
  ck_assert_str_eq(f.entries[0].instance, "one");
  ck_assert_str_eq(f.entries[1].id, "m2");
  ck_assert_ptr_null(f.entries[1].instance);
  dw_meterfile_free(&f);

  struct stat st;
  ck_assert_int_eq(stat(fleet_path, &st), 0);
  ck_assert_uint_eq(stamp.ino, st.st_ino);
  ck_assert_uint_eq(stamp.dev, st.st_dev);
  ck_assert_int_eq(stamp.size, 19);
  ck_assert_int_eq(stamp.mtime_ns, (int64_t)st.st_mtim.tv_sec * 1000000000 +
                                       st.st_mtim.tv_nsec);
  ck_assert_int_eq(dw_meterfile_stat(fleet_path, &again), 0);
  ck_assert(dw_meterfile_stamp_equal(&stamp, &again));
}
END_TEST

START_TEST(test_load_empty) {
  write_in_place(fleet_path, "");
  dw_meterfile_t f;
  dw_meterfile_stamp_t stamp;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   0);
  ck_assert_uint_eq(f.len, 0);
  ck_assert_int_eq(stamp.size, 0);
  dw_meterfile_free(&f);
}
END_TEST

/* A rewrite is noticed even when it keeps the inode and the size: only
 * the nanoseconds of the mtime differ. */
START_TEST(test_stamp_changes) {
  write_in_place(fleet_path, "m1\n");
  set_mtime(fleet_path, 1700000000, 100);
  dw_meterfile_t f;
  dw_meterfile_stamp_t first, second, stat_stamp;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &first, err, sizeof(err)),
                   0);
  dw_meterfile_free(&f);
  ck_assert_int_eq(first.mtime_ns, 1700000000LL * 1000000000 + 100);

  write_in_place(fleet_path, "m2\n");
  set_mtime(fleet_path, 1700000000, 200);
  ck_assert_int_eq(dw_meterfile_stat(fleet_path, &stat_stamp), 0);
  ck_assert(!dw_meterfile_stamp_equal(&first, &stat_stamp));
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &second, err, sizeof(err)),
                   0);
  ck_assert_str_eq(f.entries[0].id, "m2");
  dw_meterfile_free(&f);
  ck_assert_uint_eq(second.ino, first.ino);
  ck_assert_int_eq(second.size, first.size);
  ck_assert(!dw_meterfile_stamp_equal(&first, &second));
  ck_assert(dw_meterfile_stamp_equal(&second, &stat_stamp));

  /* Each field on its own makes a difference. */
  dw_meterfile_stamp_t other = second;
  other.size++;
  ck_assert(!dw_meterfile_stamp_equal(&second, &other));
  other = second;
  other.ino++;
  ck_assert(!dw_meterfile_stamp_equal(&second, &other));
  other = second;
  other.dev++;
  ck_assert(!dw_meterfile_stamp_equal(&second, &other));
  ck_assert(!dw_meterfile_stamp_equal(&second, NULL));
  ck_assert(dw_meterfile_stamp_equal(NULL, NULL));
}
END_TEST

START_TEST(test_load_refused) {
  dw_meterfile_t f = {.len = 99};
  dw_meterfile_stamp_t stamp;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_load(tmp_dir, &f, &stamp, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, "not a regular file");
  ck_assert_uint_eq(f.len, 0);

  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   -ENOENT);
  ck_assert_ptr_nonnull(strstr(err, "cannot open: No such file"));
  ck_assert_int_eq(dw_meterfile_stat(fleet_path, &stamp), -ENOENT);

  /* A FIFO is refused at once rather than waited on. */
  ck_assert_int_eq(mkfifo(fleet_path, 0600), 0);
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, "not a regular file");
  unlink(fleet_path);

  /* A parse error comes through with its line. */
  write_in_place(fleet_path, "a\nb\n\na\n");
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, "line 4: duplicate ID \"a\" (first on line 1)");
  ck_assert_ptr_null(f.entries);
}
END_TEST

/* A sparse file just over the limit is refused before it is read. */
START_TEST(test_load_too_big) {
  int fd = open(fleet_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, DW_METERFILE_MAX_SIZE + 1), 0);
  close(fd);
  dw_meterfile_t f;
  dw_meterfile_stamp_t stamp;
  char err[ERR_SIZE] = "";
  ck_assert_int_eq(dw_meterfile_load(fleet_path, &f, &stamp, err, sizeof(err)),
                   -EFBIG);
  ck_assert_ptr_nonnull(strstr(err, "larger than 67108864 bytes"));
  ck_assert_uint_eq(f.len, 0);
}
END_TEST

static Suite *meterfile_suite(void) {
  Suite *s = suite_create("meterfile");
  TCase *parse = tcase_create("parse");
  tcase_add_loop_test(parse, test_parse_good, 0,
                      sizeof(good_cases) / sizeof(good_cases[0]));
  tcase_add_loop_test(parse, test_parse_bad, 0,
                      sizeof(bad_cases) / sizeof(bad_cases[0]));
  tcase_add_test(parse, test_parse_id_limit);
  tcase_add_test(parse, test_parse_many);
  tcase_add_test(parse, test_parse_err_buffer);
  suite_add_tcase(s, parse);

  /* An unchecked fixture runs in the parent process, so the directory is
   * removed even when a failing test ends its forked child at once. */
  TCase *files = tcase_create("files");
  tcase_add_unchecked_fixture(files, dir_setup, dir_teardown);
  tcase_add_checked_fixture(files, file_reset, NULL);
  tcase_add_test(files, test_load);
  tcase_add_test(files, test_load_empty);
  tcase_add_test(files, test_stamp_changes);
  tcase_add_test(files, test_load_refused);
  tcase_add_test(files, test_load_too_big);
  suite_add_tcase(s, files);
  return s;
}

int main(void) { return standin_run_suite(meterfile_suite()); }
