#!/bin/sh
# Usage: run-asan.sh UNIT_TEST...   (from `make asan-check`)
#
# Builds the whole project again with gcc -fsanitize=address,undefined in
# ASAN_DIR, then runs the unit tests there (CK_FORK=no: LeakSanitizer checks
# at the exit of the process that ran the tests) and one end-to-end run of
# the real collectd with the sanitized plugin (asan_e2e.py).
#
# The copy is not a VPATH build: the checkout is usually configured in
# place, and automake refuses a VPATH build beside a configured source
# tree. In a git checkout the copy holds the files git knows (tracked and
# new, not ignored), like the tree CI clones; in a release tarball, what
# `make distdir` lists. Then it is bootstrapped, configured and built.
#
# Environment (set by memcheck.am): top_srcdir top_builddir ASAN_DIR
# ASAN_CFLAGS COLLECTD PYTHON3 MAKE.
set -u
src=$ASAN_DIR/src
logs=$ASAN_DIR/logs
rm -rf "$ASAN_DIR"
mkdir -p "$logs"
# Keeps git from listing the copy as untracked in an in-tree build.
echo '*' > "$ASAN_DIR/.gitignore"

if git -C "$top_srcdir" rev-parse --git-dir > /dev/null 2>&1; then
  echo "asan-check: copying the git checkout into $src"
  mkdir -p "$src"
  (cd "$top_srcdir" && git ls-files -co --exclude-standard -z |
     xargs -0 tar cf - --no-recursion --ignore-failed-read) | (cd "$src" && tar xf -) || {
    echo "FAIL: cannot copy the sources"; exit 1; }
  (cd "$src" && autoreconf -fi) > "$logs/autoreconf.log" 2>&1 || {
    echo "FAIL: autoreconf (see $logs/autoreconf.log)"
    tail -n 20 "$logs/autoreconf.log"; exit 1; }
else
  echo "asan-check: copying the distribution into $src"
  $MAKE -s -C "$top_builddir" distdir distdir="$src" > "$logs/distdir.log" 2>&1 || {
    echo "FAIL: make distdir (see $logs/distdir.log)"
    tail -n 20 "$logs/distdir.log"; exit 1; }
fi

# Warnings are the main build's business (--enable-werror there); gcc warns
# differently at -O1 with instrumentation, so they do not fail this one.
echo "asan-check: configure and build with $ASAN_CFLAGS"
(cd "$src" && ./configure -q CC=gcc CFLAGS="$ASAN_CFLAGS" \
   LDFLAGS="-fsanitize=address,undefined" &&
 $MAKE -j2 && $MAKE -j2 "$@") > "$logs/build.log" 2>&1 || {
  echo "FAIL: the sanitized build (see $logs/build.log)"; tail -n 30 "$logs/build.log"
  exit 1
}

# detect_stack_use_after_return and check_initialization_order find more
# than the defaults. (Not strict_string_checks: it flags strndup() on a
# buffer without a NUL, which is correct C and what dw_meterfile.c does.)
export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "$@"; do
  name=$(basename "$t")
  if (cd "$src" && CK_FORK=no "./$t") > "$logs/$name.log" 2>&1; then
    echo "ok: $name with ASan+UBSan"
  else
    echo "FAIL: $name with ASan+UBSan (see $logs/$name.log)"
    grep -A 30 -m 1 -E '^==[0-9]+==ERROR|runtime error:|^[0-9]+%:' "$logs/$name.log" ||
      tail -n 30 "$logs/$name.log"
    status=1
  fi
done

# collectd itself is not instrumented: the ASan runtime must come first in
# the process, so asan_e2e.py starts it with LD_PRELOAD. The simulator is
# the main build's.
libasan=$(gcc -print-file-name=libasan.so)
ASAN_PLUGIN=$src/.libs/digiwatt.so ASAN_LIB=$libasan "$PYTHON3" \
  "$top_srcdir/tests/memcheck/asan_e2e.py" > "$logs/e2e.log" 2>&1
rc=$?
case $rc in
  0) echo "ok: collectd with the sanitized plugin (LD_PRELOAD=$libasan)" ;;
  77) echo "SKIP: collectd with the sanitized plugin: $(tail -n 1 "$logs/e2e.log")" ;;
  *) echo "FAIL: collectd with the sanitized plugin (see $logs/e2e.log)"
     tail -n 40 "$logs/e2e.log"
     status=1 ;;
esac
exit $status
