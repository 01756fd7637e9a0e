#!/bin/sh
# The collectd-digiwatt demo on a fresh Debian 12 machine (as root):
# installs the Debian packages, builds the plugin and the simulator if
# needed, then runs contrib/demo.py: the simulator and the real collectd
# with two meters for DEMO_SECONDS seconds (default 20; Ctrl-C stops
# earlier), a table of every dispatched value and PNG graphs, all under
# demo-out/ (DEMO_OUT to change it). Arguments go to contrib/demo.py.
set -eu
cd "$(dirname "$0")"
contrib/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
exec /usr/bin/python3 contrib/demo.py "$@"
