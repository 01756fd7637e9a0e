#!/bin/sh
# Installs, from Debian 12's own archive, everything collectd-digiwatt
# needs to build, test and run its demo: the union of contrib/deps/*.txt
# (one file per area, '#' comments). Run as root. Idempotent.
set -eu
here=$(dirname "$0")
PACKAGES=$(sed 's/#.*//' "$here"/deps/*.txt | tr -s ' \n' '\n' | sort -u)
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
  # Packages such as graphite-carbon and influxdb start their system
  # services on install; the tests start their own on loopback. Keep
  # invoke-rc.d from starting anything while we install (and only then).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  # Recommends of collectd-core would pull every plugin's libraries.
  apt-get install -y -qq --no-install-recommends $missing
fi
