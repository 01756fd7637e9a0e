#!/usr/bin/python3
"""The configuration the Debian package installs as
/etc/collectd/collectd.conf.d/digiwatt.conf (debian/digiwatt.conf), with
the plugin of the build tree: inert as shipped (collectd -T loads nothing
from it); once its settings are uncommented as its instructions say,
refused by collectd -T with lines naming the missing ClientID, secret and
smartmeter, then the empty secret file; accepted once filled in, with a
warning while the secret file is readable by others, and fetching from
the simulator, with no complaint about the types (neither "Replacing
DS" nor "Failed to open types database": the file's TypesDB line is the
only one). (collectd 5.12's -t does not read the configuration, so -T it
is.) package_check.py runs the same steps on the installed package.

Then the file's hint for a check by hand: on a collectd.conf that logs to
syslog as Debian's does, a bare collectd -T refuses the unfilled file
without showing why; with the "##" of "##LoadPlugin logfile" removed, it
shows the plugin's lines naming what is missing."""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import conflib  # noqa: E402
import lib  # noqa: E402


def logfile_hint(workdir, shipped):
    """The hint's promise: the reasons on the terminal."""
    include = os.path.join(workdir, "hint.d")
    os.makedirs(include)
    conf = os.path.join(include, "digiwatt.conf")
    with open(shipped) as f:
        enabled = conflib.fill(conflib.uncomment(f.read()),
                               types_db=lib.TYPES_DB)
    main = conflib.collectd_conf(
        workdir, include, lib.plugin_dir(workdir, ["syslog", "logfile"]),
        syslog=True, name="syslog.conf")
    with open(conf, "w") as f:
        f.write(enabled)
    status, out = conflib.collectd_t(lib.COLLECTD, main)
    if status == 0 or conflib.plugin_lines(out):
        lib.fail("logging to syslog, a bare collectd -T should refuse the "
                 "unfilled file and show no plugin line (status %d):\n%s" %
                 (status, out))
    hint = conflib.LOGFILE_HINT
    with open(conf, "w") as f:
        f.write(enabled.replace(hint, hint[2:], 1))
    status, out = conflib.collectd_t(lib.COLLECTD, main)
    if status == 0 or not conflib.plugin_lines(out, "ClientID"):
        lib.fail("with %r uncommented, collectd -T should show why it "
                 "refuses (status %d):\n%s" % (hint[2:], status, out))


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
            logfile_hint(workdir, shipped)
        finally:
            sim.stop()
    print("ok: the packaged configuration is inert, refused while unfilled "
          "and accepted once filled in, without complaints about types; its "
          "logfile hint shows the reasons")


if __name__ == "__main__":
    main()
