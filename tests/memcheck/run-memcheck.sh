#!/bin/sh
# Usage: run-memcheck.sh UNIT_TEST...   (from `make memcheck`)
#
# 1. Every unit test binary under valgrind (CK_FORK=no, so the tests run in
#    the process valgrind watches): any memory error or definite/indirect
#    leak fails it.
# 2. Self-test of the collectd filter: collectd under valgrind with two
#    plugins that leak on purpose, one of them named digiwatt.so; the
#    filter (vg_ours.py) must count exactly that one as ours.
# 3. The fault matrix (tests/fault/test_fault_matrix.py, when present) with
#    collectd under valgrind; vg_ours.py then fails on any error with the
#    plugin on its stack. MEMCHECK_FAULTS picks the faults (comma list;
#    "all" for every one, which takes far longer than CI can afford);
#    MEMCHECK_FAULT_JOBS how many run at once (default 5: under valgrind
#    collectd mostly waits, so more runs than cores fit). A fault whose
#    functional checks fail here is reported but does not fail memcheck:
#    valgrind slows collectd twenty-fold, and `make check` runs the same
#    checks at full speed; what fails memcheck is what valgrind saw.
#
# Environment (set by memcheck.am): top_srcdir top_builddir COLLECTD
# PYTHON3 CC COLLECTD_CPPFLAGS LIBTOOL. Logs: tests/memcheck/out/.
set -u
here=$top_srcdir/tests/memcheck
out=$top_builddir/tests/memcheck/out
rm -rf "$out"
mkdir -p "$out"
status=0
fail() { echo "FAIL: $*"; status=1; }

# A fault per code path: a decoder failing on a cut body, broken JSON and
# excess nesting; the transport aborting an oversized body, a reset and a
# timeout; server errors with backoff; Retry-After; a revoked token
# renewed mid-cycle; a token response that is not JSON.
default_faults=truncate,invalid-json,deep,oversized,reset,timeout,status-500,retry-after-429,revoke,bad-token-not-json
faults=${MEMCHECK_FAULTS:-$default_faults}
jobs=${MEMCHECK_FAULT_JOBS:-5}

# --- 1. unit tests --------------------------------------------------------
vg_unit="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 -q"
for t in "$@"; do
  name=$(basename "$t")
  if CK_FORK=no $LIBTOOL --mode=execute $vg_unit --log-file="$out/$name.valgrind" \
      "$top_builddir/$t" > "$out/$name.log" 2>&1; then
    echo "ok: $name under valgrind"
  else
    fail "$name under valgrind (logs: $out/$name.log, $out/$name.valgrind)"
    cat "$out/$name.valgrind"
    tail -n 20 "$out/$name.log"
  fi
done

# --- collectd under valgrind -------------------------------------------------
# --child-silent-after-fork: the exec plugin forks; a child would write its
# own XML document into the parent's file and make both unreadable.
vg_collectd() {
  echo "valgrind --error-exitcode=99 --leak-check=full" \
    "--errors-for-leak-kinds=definite --show-leak-kinds=definite" \
    "--child-silent-after-fork=yes --xml=yes --xml-file=$1/vg.%p.xml"
}

# --- 2. self-test of the filter ----------------------------------------------
st=$out/selftest
mkdir -p "$st/plugins"
for p in digiwatt notours; do
  $CC -std=c11 -D_GNU_SOURCE -O0 -g -shared -fPIC $COLLECTD_CPPFLAGS \
    -DLEAKY_NAME="\"$p\"" -o "$st/plugins/$p.so" "$here/leaky_plugin.c" ||
    fail "cannot build the self-test plugin $p.so"
done
cat > "$st/collectd.conf" <<EOF
BaseDir "$st"
PIDFile "$st/collectd.pid"
PluginDir "$st/plugins"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin digiwatt
LoadPlugin notours
EOF
# Both leaks happen in init; each plugin logs a line when it leaked
# (without a log plugin, collectd logs to stderr).
$(vg_collectd "$st") "$COLLECTD" -f -C "$st/collectd.conf" > "$st/collectd.out" 2>&1 &
pid=$!
tries=0
while [ "$(grep -c 'leaked 48 bytes on purpose' "$st/collectd.out")" -lt 2 ] &&
      kill -0 "$pid" 2>/dev/null && [ $tries -lt 600 ]; do
  sleep 0.2
  tries=$((tries + 1))
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
if "$PYTHON3" "$here/vg_ours.py" --expect-ours 1 --min-others 1 \
    "$st"/vg.*.xml > "$st/filter.out" 2>&1; then
  echo "ok: the filter counts digiwatt.so's leak and ignores the other plugin's"
else
  fail "self-test: vg_ours.py did not find exactly the planted leak"
  cat "$st/filter.out"
  tail -n 20 "$st/collectd.out"
fi

# --- 3. the fault matrix -------------------------------------------------------
matrix=$top_srcdir/tests/fault/test_fault_matrix.py
fm=$out/fault-matrix
mkdir -p "$fm"
if [ ! -f "$matrix" ]; then
  echo "SKIP: $matrix is not there: no collectd run under valgrind"
  exit $status
fi
[ "$faults" = all ] && faults=
DIGIWATT_COLLECTD_WRAPPER=$(vg_collectd "$fm") DIGIWATT_FAULTS=$faults \
  DIGIWATT_FAULT_JOBS=$jobs "$PYTHON3" "$matrix" > "$fm/matrix.log" 2>&1
rc=$?
grep -E '^(ok|not ok|SKIP)|faults passed' "$fm/matrix.log"
case $rc in
  0) ;;
  77) echo "SKIP: the fault matrix skipped (see $fm/matrix.log)" ;;
  *) echo "note: faults above failed their functional checks under" \
       "valgrind (not a memcheck failure; see $fm/matrix.log)" ;;
esac
if [ "$rc" != 77 ]; then
  "$PYTHON3" "$here/vg_ours.py" "$fm"/vg.*.xml ||
    fail "valgrind found errors in the plugin during the fault matrix"
fi
exit $status
