#!/bin/sh
# The collectd-digiwatt demo on a fresh Debian 12 machine (as root):
# installs the Debian packages, builds the plugin and the simulator if
# needed, then runs contrib/demo.py: the simulator and the real collectd
# with two meters for DEMO_SECONDS seconds (default 20; Ctrl-C stops
# earlier), then pictures of the months, appliances, similar users and
# the budget, and every dispatched value, all under demo-out/ (DEMO_OUT
# to change it). Arguments go to contrib/demo.py.
#
# Quiet: one line per step. What apt, autoreconf, configure and make
# print goes to a log, which ends up as demo-out/setup.log (or, when a
# step fails, is shown in part and kept where it says).
set -eu
cd "$(dirname "$0")"
log=$(mktemp "${TMPDIR:-/tmp}/digiwatt-demo-setup.XXXXXX")

step() {
  what=$1
  shift
  printf 'demo: %s ... ' "$what"
  if "$@" >>"$log" 2>&1; then
    echo ok
  else
    echo FAILED
    tail -n 20 "$log" | sed 's/^/  | /'
    echo "demo: the whole log is $log" >&2
    exit 1
  fi
}

step "Debian packages (contrib/install-deps.sh)" contrib/install-deps.sh
[ -x configure ] || step "autoreconf" autoreconf -fi
[ -f Makefile ] || step "configure" ./configure
step "building the plugin and the simulator" make -j"$(nproc)"
exec /usr/bin/python3 contrib/demo.py --setup-log "$log" "$@"
