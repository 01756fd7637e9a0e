#!/bin/sh
# Installs, from Debian 12's own archive, everything collectd-digiwatt
# needs to build, test and run its demo. Run as root. Idempotent.
set -eu
PACKAGES="
  build-essential autoconf automake libtool pkg-config
  collectd-core collectd-dev
  libcurl4-openssl-dev libyajl-dev libmicrohttpd-dev check
  rrdtool python3 valgrind clang llvm libclang-rt-14-dev
  ca-certificates curl openssl
"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root to install:$missing" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # collectd-core's recommends pull in every plugin's libraries; not needed.
  apt-get install -y -qq --no-install-recommends $missing
fi
