#!/usr/bin/python3
"""The configuration the Debian package installs as
/etc/collectd/collectd.conf.d/digiwatt.conf (debian/digiwatt.conf), with
the plugin of the build tree: inert as shipped (collectd -T loads nothing
from it); once its settings are uncommented as its instructions say,
refused by collectd -T with lines naming the missing ClientID, secret and
smartmeter, then the empty secret file; accepted once filled in, with a
warning while the secret file is readable by others, and fetching from
the simulator. (collectd 5.12's -t does not read the configuration, so
-T it is.) package_check.py runs the same steps on the installed
package."""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import conflib  # noqa: E402
import lib  # noqa: E402


def main():
    shipped = os.path.join(lib.TOP_SRCDIR, "debian", "digiwatt.conf")
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, client_id="pkg-client",
                            client_secret="pkg-s3cret")
        try:
            include = os.path.join(workdir, "collectd.conf.d")
            os.makedirs(include)
            conf = os.path.join(include, "digiwatt.conf")
            shutil.copy(shipped, conf)
            conflib.judge(lib.COLLECTD, workdir, conf, include, sim, lib.fail,
                          plugin_dir=lib.plugin_dir(workdir, []),
                          types_db=lib.TYPES_DB)
        finally:
            sim.stop()
    print("ok: the packaged configuration is inert, refused while unfilled "
          "and accepted once filled in")


if __name__ == "__main__":
    main()
