/* run_suite.h - the one main() body every Check suite shares. */
#ifndef RUN_SUITE_H
#define RUN_SUITE_H

#include <check.h>

/* Runs suite (and frees it); EXIT_SUCCESS when every test passed.
 * Implemented in stand_in.c, which every unit test links. */
int standin_run_suite(Suite *suite);

#endif
