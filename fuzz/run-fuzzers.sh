#!/bin/sh
# Usage: run-fuzzers.sh SRCDIR BUILDDIR HARNESS...
#
# For each harness (a binary BUILDDIR/fuzz/bin/HARNESS built by
# `make fuzz-build`):
#   1. replays every file of SRCDIR/fuzz/regressions/HARNESS/ once;
#   2. fuzzes for FUZZ_SECONDS (default 10) from a corpus in the build tree,
#      seeded at run time (decode-<slug>: tests/fixtures/<slug>/*.json;
#      config: fuzz/seeds/config/* and conf.d/digiwatt.conf;
#      others: fuzz/seeds/HARNESS/*);
#   3. on a crash, leak, timeout or broken invariant, copies the input that
#      caused it into SRCDIR/fuzz/regressions/HARNESS/ (commit it with the
#      fix) and fails at the end.
# Logs: BUILDDIR/fuzz/logs/HARNESS.log. Exit 0 only when all were clean.
set -u
srcdir=$1
builddir=$2
shift 2
seconds=${FUZZ_SECONDS:-10}
status=0

# Options shared by replay and fuzzing: a hang or a memory blow-up counts
# as a crash too.
common="-timeout=10 -rss_limit_mb=2048 -max_len=65536"

for h in "$@"; do
  bin=$builddir/fuzz/bin/$h
  log=$builddir/fuzz/logs/$h.log
  artifacts=$builddir/fuzz/artifacts/$h
  corpus=$builddir/fuzz/corpus/$h
  regressions=$srcdir/fuzz/regressions/$h
  mkdir -p "$builddir/fuzz/logs" "$artifacts" "$corpus"
  : > "$log"

  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    # Given files instead of a corpus directory, libFuzzer runs each once.
    if ! "$bin" $common "$regressions"/* >> "$log" 2>&1; then
      echo "FAIL: $h: a regression input crashes again (see $log)"
      tail -n 40 "$log"
      status=1
      continue
    fi
    echo "ok: $h: $(ls -A "$regressions" | wc -l) regression input(s) replayed"
  fi

  case $h in
    decode-*) seeds=$srcdir/tests/fixtures/${h#decode-}; pattern='*.json'
              dict=$srcdir/fuzz/json.dict ;;
    token)    seeds=$srcdir/fuzz/seeds/token; pattern='*'
              dict=$srcdir/fuzz/json.dict ;;
    config)   seeds=$srcdir/fuzz/seeds/config; pattern='*'
              dict=$srcdir/fuzz/config.dict
              # the packaged example, as it is now
              cp "$srcdir/conf.d/digiwatt.conf" "$corpus"/ ;;
    *)        seeds=$srcdir/fuzz/seeds/$h; pattern='*'
              dict=$srcdir/fuzz/$h.dict ;;
  esac
  # Copies, not the fixtures themselves: libFuzzer adds what it finds to
  # the first corpus directory it is given.
  find "$seeds" -maxdepth 1 -type f -name "$pattern" \
    -exec cp {} "$corpus"/ \; 2>/dev/null
  dict_opt=
  [ -f "$dict" ] && dict_opt="-dict=$dict"

  before=$(ls -A "$artifacts" | wc -l)
  if "$bin" $common $dict_opt -max_total_time="$seconds" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 \
      "$corpus" >> "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "ok: $h: ${runs:-?} inputs in ${seconds} s, corpus $(ls -A "$corpus" | wc -l)"
    continue
  fi
  status=1
  echo "FAIL: $h (see $log):"
  tail -n 40 "$log"
  [ "$(ls -A "$artifacts" | wc -l)" -gt "$before" ] || continue
  if mkdir -p "$regressions" 2>/dev/null; then
    for f in "$artifacts"/*; do
      cp "$f" "$regressions"/ && echo "kept $regressions/$(basename "$f")"
    done
  else
    echo "cannot write $regressions: the inputs stay in $artifacts"
  fi
done
exit $status
