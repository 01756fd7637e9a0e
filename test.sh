#!/bin/sh
# The whole test suite on a fresh Debian 12 machine (as root): installs the
# Debian packages, builds with warnings as errors, runs `make check` (unit
# tests, the simulator's self-test, end-to-end tests with the real collectd,
# and a short demo run).
set -eu
cd "$(dirname "$0")"
contrib/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"
status=0
make -j"$(nproc)" check || status=$?
[ "$status" = 0 ] || cat test-suite.log
# What `make check` cannot hold: sanitizer builds, valgrind, fuzzing,
# packaging (see CI_EXTRA in the area fragments).
[ "$status" != 0 ] || make ci-extra || status=$?
# One closing line for CI, counted by automake's test harness.
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
errors=$(sed -n 's/^# ERROR: *//p' test-suite.log)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
echo "${pass:-0} passed, $(( ${fail:-0} + ${errors:-0} )) failed, ${skip:-0} skipped"
exit "$status"
