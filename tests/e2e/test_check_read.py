#!/usr/bin/python3
"""collectd -T as a real check: it exits non-zero, with the reason logged,
when an account cannot be used, and 0 when it can.

The real collectd -T (ReadThreads -1: one read of each callback, then
exit) with the built plugin against the simulator:

- a good account: exit 0;
- a wrong client secret: "refused the credentials";
- a TokenURL that answers 404: "no token";
- https:// to the simulator's plain-HTTP port;
- an unknown meter (404 on each of its requests): "none of its ... due
  requests succeeded";
- a good account next to a bad one still fails the check (the bad one is
  named), and a meter that fails next to one that works does not.

A test read keeps no state: no state directory appears."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def account(name, base, secret, meters, extra=""):
    smartmeters = "".join('    <Smartmeter "%s">\n    </Smartmeter>\n' % m
                          for m in meters)
    return ('  <Account "%s">\n    BaseURL "%s"\n    ClientID "demo-client"\n'
            '    ClientSecret "%s"\n    Resources "costs" "savings"\n'
            '    Periods "yesterday"\n    Timeout 3\n%s\n%s  </Account>\n' %
            (name, base, secret, extra, smartmeters))


def check_read(workdir, accounts):
    """collectd -T with a logfile on stdout: (exit status, output)."""
    conf = os.path.join(workdir, "collectd.conf")
    with open(conf, "w") as f:
        f.write('BaseDir "%s"\nPluginDir "%s"\n'
                'TypesDB "/usr/share/collectd/types.db" "%s"\n'
                'LoadPlugin logfile\n<Plugin logfile>\n  File STDOUT\n'
                '  LogLevel info\n</Plugin>\nLoadPlugin digiwatt\n'
                '<Plugin digiwatt>\n%s</Plugin>\n' %
                (workdir, lib.plugin_dir(workdir, ["logfile"]), lib.TYPES_DB,
                 "".join(accounts)))
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")}
    run = subprocess.run([lib.COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=60, env=env)
    return run.returncode, run.stdout + run.stderr


def main():
    for path in (lib.SIM, lib.PLUGIN_SO, lib.COLLECTD):
        if not os.path.exists(path):
            print("SKIP: %s is missing" % path)
            return 77
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            base, good = sim.base, sim.client_secret
            https = base.replace("http://", "https://")
            cases = [
                ("a good account", [account("a", base, good, ["m1"])], 0,
                 None),
                ("a wrong secret", [account("a", base, "wrong", ["m1"])], 1,
                 "refused the credentials"),
                ("a TokenURL that answers 404",
                 [account("a", base, good, ["m1"],
                          'TokenURL "%s/no/such/token"' % base)], 1,
                 "no token from the token endpoint"),
                ("https:// to a plain port",
                 [account("a", https, good, ["m1"],
                          'TokenURL "%s/auth/token"' % https)], 1,
                 "does not speak TLS there"),
                ("an unknown meter",
                 [account("a", base, good, ["unknown-meter"])], 1,
                 "none of its 2 due requests succeeded"),
                ("a bad account next to a good one",
                 [account("a", base, good, ["m1"]),
                  account("b", base, "wrong", ["m2"])], 1,
                 "account b: the test read failed"),
                ("an unknown meter next to a good one",
                 [account("a", base, good, ["m1", "unknown-meter"])], 0,
                 None),
            ]
            for name, accounts, want, words in cases:
                status, out = check_read(workdir, accounts)
                if status != want:
                    lib.fail("%s: collectd -T exited %d, want %d:\n%s" %
                             (name, status, want, out))
                said = [l for l in out.splitlines()
                        if "the test read failed" in l]
                if words is None and said:
                    lib.fail("%s: %s" % (name, said))
                if words is not None and not [l for l in said
                                              if words in l]:
                    lib.fail("%s: no 'test read failed' line saying %r:\n%s" %
                             (name, words, out))
                print("ok: %s: exit %d%s" % (name, status,
                                             (": " + said[0].split(
                                                 "digiwatt plugin: ", 1)[1])
                                             if said else ""))
            if os.path.exists(os.path.join(workdir, "digiwatt")):
                lib.fail("collectd -T made a state directory")
        finally:
            sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
