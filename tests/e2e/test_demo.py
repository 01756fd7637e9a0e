#!/usr/bin/python3
"""contrib/demo.py runs for five seconds into a temporary directory and
exits 0; its table lists all ten resources of both meters, with the value
the simulator serves; every graph it names is a real PNG of some size."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

DEMO = os.path.join(lib.TOP_SRCDIR, "contrib", "demo.py")
INSTANCES = {"home": "125fd56", "flat": "9f00a1b"}
GRAPHS = ["consumption", "costs", "appliances", "history", "performance"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_demo(out):
    env = dict(os.environ, DEMO_SECONDS="5", DEMO_OUT=out)
    try:
        run = subprocess.run([sys.executable, DEMO], env=env,
                             capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        lib.fail("the demo did not finish within 120 s")
    output = run.stdout + run.stderr
    if run.returncode != 0:
        lib.fail("the demo exited with %d:\n%s" % (run.returncode,
                                                   output[-4000:]))
    if "Traceback" in output:
        lib.fail("the demo printed a traceback:\n" + output[-4000:])
    return output


def check_table(output):
    for instance in INSTANCES:
        for resource in lib.RESOURCES:
            m = re.search(r"^== %s: %s \((\d+) identifiers?\)$" %
                          (instance, re.escape(resource)), output, re.M)
            if not m or int(m.group(1)) == 0:
                lib.fail("the table has no %s of %s" % (resource, instance))


def table_value(output, instance, type_, ti):
    for m in re.finditer(r"^== %s: \S+ \(\d+ identifiers?\)\n((?:   .*\n)+)" %
                         instance, output, re.M):
        for line in m.group(1).splitlines():
            words = line.split()
            if words[:2] == [type_, ti]:
                return float(words[2])
    lib.fail("the table has no %s %s for %s" % (type_, ti, instance))


def check_values(output, workdir):
    """The table shows what the simulator serves (values do not depend on
    the date for period resources)."""
    sim = lib.Simulator(workdir)
    try:
        for instance, meter in INSTANCES.items():
            want = sim.get(meter, "consumption", "yesterday")["value"]
            got = table_value(output, instance, "digiwatt_energy_kwh",
                              "consumption-yesterday")
            if abs(got - want) > 1e-5 * max(1.0, abs(want)):
                lib.fail("%s consumption-yesterday: table %s, simulator %s" %
                         (instance, got, want))
    finally:
        sim.stop()


def check_graphs(output, out):
    named = re.findall(r"^graph: (.+\.png)$", output, re.M)
    want = sorted("%s-%s.png" % (i, g) for i in INSTANCES for g in GRAPHS)
    if sorted(os.path.basename(p) for p in named) != want:
        lib.fail("the demo named graphs %s, want %s" % (named, want))
    for path in named:
        if os.path.dirname(path) != os.path.join(out, "graphs"):
            lib.fail("%s is not in %s/graphs" % (path, out))
        if not os.path.isfile(path):
            lib.fail("%s does not exist" % path)
        with open(path, "rb") as f:
            head = f.read(8)
        if head != PNG_MAGIC:
            lib.fail("%s is not a PNG (starts with %r)" % (path, head))
        if os.path.getsize(path) <= 1024:
            lib.fail("%s has only %d bytes" % (path, os.path.getsize(path)))
    return len(named)


def main():
    with lib.Workdir() as workdir:
        out = os.path.join(workdir, "demo-out")
        output = run_demo(out)
        check_table(output)
        check_values(output, workdir)
        graphs = check_graphs(output, out)
        for name in ("collectd.log", "csv", "rrd"):
            if not os.path.exists(os.path.join(out, name)):
                lib.fail("the demo left no %s in %s" % (name, out))
        print("ok: the demo ran, its table lists the ten resources of %d "
              "meters, %d graphs" % (len(INSTANCES), graphs))


if __name__ == "__main__":
    main()
