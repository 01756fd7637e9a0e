#!/usr/bin/python3
"""SmartmeterFile: read at startup, re-read when it changes, and a broken
rewrite keeps the previous list.

Three meters from a file; after two cycles the file is replaced by one that
drops a meter and adds two (one with an Instance): their values must arrive
under their instances and the dropped meter must get no new rows. Then a
rewrite with a line of three fields must log an ERROR naming that line while
the previous list keeps being fetched. Also: collectd refuses to start with
a broken or missing file, naming it."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

SERIES = ("digiwatt_energy_kwh", "consumption-yesterday")
OPTIONS = ['Resources "consumption"', 'Periods "yesterday"',
           'RefreshInterval "consumption" 0']


def rows(workdir, instance):
    return fleetlib.series(workdir, "e2e", instance, *SERIES)


def times(workdir, instance):
    return [t for t, _ in rows(workdir, instance)]


def config_time_checks(workdir, sim):
    """collectd -T stops at a bad SmartmeterFile with a line naming it."""
    cases = [("bad line", ["ok1", "ok2 home", "x y z"], "line 3"),
             ("duplicate ID", ["ok1", "ok1"], "line 2"),
             ("missing file", None, "missing.txt")]
    for name, lines, words in cases:
        d = os.path.join(workdir, "t-" + name.replace(" ", "-"))
        os.makedirs(d)
        path = os.path.join(d, "missing.txt")
        if lines is not None:
            path = os.path.join(d, "fleet.txt")
            fleetlib.write_fleet_file(path, lines)
        block = fleetlib.account_block(
            sim, options=OPTIONS + ['SmartmeterFile "%s"' % path])
        conf = os.path.join(d, "collectd.conf")
        with open(conf, "w") as f:
            f.write('PluginDir "%s"\nTypesDB "/usr/share/collectd/types.db" '
                    '"%s"\nLoadPlugin digiwatt\n%s\n' %
                    (lib.plugin_dir(d, []), lib.TYPES_DB, block))
        run = subprocess.run([lib.COLLECTD, "-T", "-C", conf],
                             capture_output=True, text=True, timeout=30)
        output = run.stdout + run.stderr
        if run.returncode == 0:
            fail("%s: collectd -T accepted it:\n%s" % (name, output))
        if not [l for l in output.splitlines()
                if "digiwatt plugin: " in l and words in l]:
            fail("%s: no 'digiwatt plugin:' line naming %r in:\n%s" %
                 (name, words, output))


def main():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        daemon = None
        try:
            config_time_checks(workdir, sim)
            fleet = os.path.join(workdir, "fleet.txt")
            fleetlib.write_fleet_file(fleet, [
                "# three meters", "f1", "", "f2\t# a comment", "f3  "])
            block = fleetlib.account_block(
                sim, options=OPTIONS + ['SmartmeterFile "%s"' % fleet])
            daemon = fleetlib.Collectd(fleetlib.digiwatt_config(workdir,
                                                                block))
            procs = [daemon]
            fleetlib.wait_for(
                "two cycles of f1, f2, f3",
                lambda: all(len(rows(workdir, m)) >= 2
                            for m in ("f1", "f2", "f3")),
                timeout_s=15, procs=procs)

            # drop f3, add g1 and g2 (as "garage")
            fleetlib.write_fleet_file(fleet, ["f1", "f2", "g1",
                                              "g2 \tgarage"])
            fleetlib.wait_for(
                "three cycles of g1 and garage (g2) after the rewrite",
                lambda: len(rows(workdir, "g1")) >= 3 and
                len(rows(workdir, "garage")) >= 3,
                timeout_s=15, procs=procs)
            first_new = min(times(workdir, "g1") + times(workdir, "garage"))
            late_f3 = [t for t in times(workdir, "f3") if t >= first_new]
            if late_f3:
                fail("f3 left the file but got rows at %s (the new list "
                     "started at %s)" % (late_f3, first_new))
            if not times(workdir, "f3"):
                fail("f3 never had values")
            for m in ("f1", "f2"):
                if not [t for t in times(workdir, m) if t > first_new]:
                    fail("%s stopped getting values after the rewrite" % m)
            if os.path.exists(os.path.join(workdir, "csv", "e2e",
                                           "digiwatt-g2")):
                fail("g2 was written under its ID, not its Instance garage")
            for m, instance in (("g1", "g1"), ("g2", "garage"),
                                ("f1", "f1")):
                want = sim.get(m, "consumption", "yesterday")["value"]
                got = rows(workdir, instance)
                if any(not lib.close(v[0], want) for _, v in got):
                    fail("%s (%s): rows %s, want %s" %
                         (m, instance, got[-3:], want))

            # a broken rewrite: ERROR naming the line, the old list stays
            broken_at = max(times(workdir, "g1"))
            fleetlib.write_fleet_file(fleet, ["f1", "h1", "bad line here"])
            fleetlib.wait_for(
                "an ERROR naming line 3 of the broken file",
                lambda: [l for l in fleetlib.plugin_complaints(
                    daemon.log(), ("[error]",)) if "line 3" in l],
                timeout_s=15, procs=procs)
            fleetlib.wait_for(
                "two more cycles of the previous list",
                lambda: len([t for t in times(workdir, "g1")
                             if t > broken_at]) >= 2 and
                len([t for t in times(workdir, "garage")
                     if t > broken_at]) >= 2,
                timeout_s=15, procs=procs)
            daemon.stop()
            if os.path.exists(os.path.join(workdir, "csv", "e2e",
                                           "digiwatt-h1")):
                fail("h1 from the broken file was fetched")
            log = daemon.log()
            if sim.client_secret in log:
                fail("the client secret reached collectd's log")
            unexpected = [l for l in fleetlib.plugin_complaints(log)
                          if "line 3" not in l]
            if unexpected:
                fail("the plugin complained:\n" + "\n".join(unexpected[:10]))
            stats = sim.stats()
            if stats["by_path"].get("/smartmeters/f3/consumption/yesterday",
                                    0) < 2:
                fail("f3 was not fetched before the rewrite: %s" %
                     stats["by_path"])
            for p in stats["by_path"]:
                if "/h1/" in p or "/bad/" in p:
                    fail("the broken file's meters were fetched: %s" % p)
            print("ok: file reloaded (f3 out, g1 and g2 as garage in), broken "
                  "rewrite refused; config-time errors name the line")
        finally:
            if daemon:
                daemon.stop()
            sim.stop()


if __name__ == "__main__":
    main()
