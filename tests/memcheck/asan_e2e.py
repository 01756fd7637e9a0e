#!/usr/bin/python3
"""The real collectd with the plugin built with ASan+UBSan (run by
run-asan.sh, from `make asan-check`).

collectd itself is not instrumented, so the ASan runtime is put in front
of it with LD_PRELOAD; the plugin's .so brings UBSan's runtime with it.
Two meters: "healthy" must get every value of every resource (period
yesterday), "hostile" gets a different fault on each resource (cut,
broken, deep, oversized and wrongly typed bodies, odd appliance names, a
connection reset) and the first data request of the run is answered with
a revoked token, so the renewal path runs too. Passes when collectd exits
cleanly, no sanitizer reported anything, and the healthy meter's values
all arrived.

LeakSanitizer stays off here: it would report collectd's own allocations,
and it cannot tell them from the plugin's (a suppression matches any frame
of a stack, and every stack of the plugin has collectd below it). Leaks in
collectd runs are valgrind's job (`make memcheck`, which filters by frame).

Environment: top_srcdir, top_builddir (the main build: simulator),
ASAN_PLUGIN (the sanitized digiwatt.so), ASAN_LIB (libasan.so)."""

import glob
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests",
                                "e2e"))
import lib  # noqa: E402

HOST = "e2e"
PERIOD = "yesterday"
HOSTILE_FAULTS = [
    "hostile/costs=truncate",
    "hostile/consumption=invalid-json",
    "hostile/consumption-distribution=odd-appliances",
    "hostile/performance=reset",
    "hostile/savings=deep:200",
    "hostile/consumption-history=oversized:3000000",
    "hostile/costs-history=wrong-types",
    "hostile/yearly-consumption-distribution=odd-appliances",
    "hostile/yearly-compound-consumption=nulls",
    "hostile/disaggregation=extra-fields",
    "*=revoke@1",
]
RUN_LIMIT_S = 120


def digiwatt_block(base):
    meters = "\n".join('    <Smartmeter "%s">\n    </Smartmeter>' % m
                       for m in ("healthy", "hostile"))
    return """<Plugin digiwatt>
  <Account "asan">
    BaseURL "%s"
    ClientID "demo-client"
    ClientSecret "demo-secret"
    AllowInsecureHTTP true
    Timeout 5
    Resources %s
    Periods "%s"
%s
  </Account>
</Plugin>""" % (base, " ".join('"%s"' % r for r in lib.RESOURCES), PERIOD,
                 meters)


def expected_keys(sim):
    """{(type, type_instance): current values or None} of the healthy
    meter, from the simulator (after the run: the revoke is spent)."""
    keys = {}
    for r in lib.RESOURCES:
        period = PERIOD if r in lib.WITH_PERIOD else None
        body = sim.get("healthy", r, period)
        for key, rows in lib.expected_values(r, period, body).items():
            now = [v for epoch, v in rows if epoch is None]
            keys[key] = now[-1] if now else None
    return keys


def missing(workdir, keys):
    return sorted(k for k in keys
                  if not lib.csv_rows(workdir, HOST, "healthy", *k))


def wrong_values(workdir, keys):
    bad = []
    for key, values in keys.items():
        rows = lib.csv_rows(workdir, HOST, "healthy", *key)
        if values is None or not rows:
            continue
        got = rows[-1][1]
        if len(got) != len(values) or not all(
                lib.close(g, float(v)) for g, v in zip(got, values)):
            bad.append((key, got, values))
    return bad


def run(workdir, sim, asan_lib):
    config = lib.collectd_config(workdir, digiwatt_block(sim.base),
                                 writers=("csv",))
    reports = os.path.join(workdir, "sanitizer")
    env = dict(os.environ,
               LD_PRELOAD=asan_lib,
               ASAN_OPTIONS="detect_leaks=0:log_path=%s" % reports,
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:"
                             "log_path=%s" % reports)
    out = open(os.path.join(workdir, "collectd.out"), "w")
    proc = subprocess.Popen([lib.COLLECTD, "-f", "-C", config], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        # three cycles of the healthy meter's self-metrics: every resource
        # was fetched (the first cycle fetches all) and dispatched
        cycles = os.path.join(workdir, "csv", HOST, "digiwatt-account-asan",
                              "digiwatt_cycle_seconds-*")
        deadline = time.monotonic() + RUN_LIMIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            rows = sum(len(open(p).readlines()) - 1
                       for p in glob.glob(cycles))
            if rows >= 3:
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
    return proc.returncode, glob.glob(reports + "*")


def main():
    asan_lib = os.environ.get("ASAN_LIB", "")
    plugin = os.environ.get("ASAN_PLUGIN", "")
    if not os.path.isfile(asan_lib) or not os.path.isfile(plugin):
        print("SKIP: no libasan (%s) or sanitized plugin (%s)" %
              (asan_lib, plugin))
        return 77
    lib.PLUGIN_SO = plugin  # plugin_dir() copies this one
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, *[a for f in HOSTILE_FAULTS
                                       for a in ("--fault", f)])
        try:
            rc, reports = run(workdir, sim, asan_lib)
            keys = expected_keys(sim)
        finally:
            sim.stop()
        log = open(os.path.join(workdir, "collectd.log"),
                   errors="replace").read()
        output = open(os.path.join(workdir, "collectd.out"),
                      errors="replace").read()
        for path in reports:
            print("--- %s" % path)
            print(open(path, errors="replace").read())
        if reports or "runtime error:" in output or "Sanitizer" in output:
            print(output[-4000:])
            lib.fail("a sanitizer reported an error (above)")
        if rc != 0:
            print(output[-2000:])
            lib.fail("collectd exited with status %s" % rc)
        absent = missing(workdir, keys)
        if absent:
            lib.fail("%d healthy values never arrived, e.g. %s" %
                     (len(absent), absent[:5]))
        bad = wrong_values(workdir, keys)
        if bad:
            lib.fail("healthy values differ from the simulator's: %s" %
                     bad[:5])
        if "smartmeter hostile" not in log:
            lib.fail("the hostile meter's faults left no trace in the log")
        print("ok: collectd ran the sanitized plugin cleanly; %d healthy "
              "identifiers arrived; %d plugin warnings or errors" %
              (len(keys), log.count("] [warning] digiwatt plugin: ") +
               log.count("] [error] digiwatt plugin: ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
