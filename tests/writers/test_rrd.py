#!/usr/bin/python3
"""RRD: collectd's rrdtool writer makes one file per identifier,
<DataDir>/<host>/digiwatt-<instance>/<type>-<type_instance>.rrd, each
with the data sources of its type in digiwatt.db (value; min, max and user
for digiwatt_performance_kwh; GAUGE, or DERIVE for the request and error
counters) and the step of how often the value comes: 1 s (the read
interval) for the resources fetched every cycle here (RefreshInterval 0),
the RefreshInterval for the others (each value is written once per
fetch, with that interval); consecutive fetches give consecutive values:
`rrdtool fetch` shows several non-NaN steps in a row, with the values the
simulator serves."""

import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wlib  # noqa: E402

lib = wlib.lib
METER, INSTANCE = "125fd56", "home"
PERF_DS = ["min", "max", "user"]
# fetched every cycle in this test; the others keep their defaults
EVERY_CYCLE = ["consumption", "costs", "performance", "consumption-distribution",
               "costs-history", "consumption-history"]
# the first part of a type_instance -> its resource (longest first)
LABELS = [("yearly-compound", "yearly-compound-consumption"),
          ("yearly-distribution", "yearly-consumption-distribution"),
          ("consumption-history", "consumption-history"),
          ("costs-forecast", "costs-history"), ("costs-history", "costs-history"),
          ("saving-potential", "savings"), ("savings", "savings"),
          ("distribution", "consumption-distribution"),
          ("disaggregation", "disaggregation"), ("performance", "performance"),
          ("consumption", "consumption"), ("costs", "costs")]
DEFAULT_REFRESH_S = {"savings": 21600, "yearly-consumption-distribution": 21600,
                     "yearly-compound-consumption": 21600,
                     "disaggregation": 3600}


def want_step(ti):
    """The step collectd gives a new RRD file: the value's interval."""
    resource = next(r for label, r in LABELS if ti.startswith(label))
    return 1 if resource in EVERY_CYCLE else DEFAULT_REFRESH_S[resource]


def rrd_path(workdir, instance, type_, ti):
    name = type_ + ("-" + ti if ti else "")
    return os.path.join(workdir, "rrd", wlib.HOST, "digiwatt-" + instance,
                        name + ".rrd")


def info(path):
    """{ds name: type} and the step of an RRD file."""
    out = subprocess.run([lib.RRDTOOL, "info", path], check=True,
                         capture_output=True, text=True).stdout
    ds, step = {}, None
    for line in out.splitlines():
        key, _, value = line.partition(" = ")
        if key == "step":
            step = int(value)
        elif key.startswith("ds[") and key.endswith("].type"):
            ds[key[3:key.index("]")]] = value.strip('"')
    return ds, step


def fetch(path, seconds=30):
    """[(time, [values])] of the 1 s archive up to the last update."""
    last = int(subprocess.run([lib.RRDTOOL, "last", path], check=True,
                              capture_output=True, text=True).stdout)
    out = subprocess.run(
        [lib.RRDTOOL, "fetch", path, "AVERAGE", "-r", "1",
         "-s", str(last - seconds), "-e", str(last)],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        t, _, values = line.partition(":")
        rows.append((int(t), [float(v) for v in values.split()]))
    return rows


def longest_run(rows):
    """The longest run of consecutive steps without NaN."""
    best, run = [], []
    for row in rows:
        if any(math.isnan(v) for v in row[1]):
            run = []
        else:
            run.append(row)
            if len(run) > len(best):
                best = list(run)
    return best


def check_files(workdir, now_values):
    for (type_, ti), values in sorted(now_values.items()):
        path = rrd_path(workdir, INSTANCE, type_, ti)
        if not os.path.exists(path):
            lib.fail("no RRD file %s" % path)
        ds, step = info(path)
        want = dict.fromkeys(PERF_DS if len(values) == 3 else ["value"],
                             "GAUGE")
        if ds != want or step != want_step(ti):
            lib.fail("%s: data sources %s, step %s; want %s, step %d" %
                     (path, ds, step, want, want_step(ti)))
    return len(now_values)


def check_consecutive(workdir, now_values):
    for key in [("digiwatt_energy_kwh", "consumption-this-month"),
                ("digiwatt_cost", "costs-yesterday"),
                ("digiwatt_performance_kwh", "performance-this-month"),
                ("digiwatt_share_percent", "distribution-last-week-fridge"),
                ("digiwatt_cost", "costs-forecast"),
                ("digiwatt_energy_kwh", "consumption-history-latest")]:
        path = rrd_path(workdir, INSTANCE, *key)
        run = longest_run(fetch(path))
        want = now_values[key]
        if len(run) < 3:
            lib.fail("%s: want >= 3 consecutive non-NaN steps, got %s" %
                     (path, fetch(path)[-8:]))
        for t, values in run:
            if not all(lib.close(a, b) for a, b in zip(values, want)):
                lib.fail("%s at %d: %s, want %s" % (path, t, values, want))


def check_self_metrics(workdir):
    for ti in ("data", "token"):
        path = rrd_path(workdir, "account-main", "digiwatt_requests", ti)
        if not os.path.exists(path) or info(path)[0] != {"value": "DERIVE"}:
            lib.fail("%s: want a DERIVE file" % path)
    for c in ("auth", "rate-limit", "server", "timeout", "network", "client",
              "decode"):
        if not os.path.exists(rrd_path(workdir, "account-main",
                                       "digiwatt_errors", c)):
            lib.fail("no RRD file for digiwatt_errors-%s" % c)
    # costs every cycle: six requests a second, as a rate
    run = longest_run(fetch(rrd_path(workdir, "account-main",
                                     "digiwatt_requests", "data")))
    if len(run) < 3 or not all(v[0] > 0 for _, v in run):
        lib.fail("digiwatt_requests-data: want several steps of a positive "
                 "rate, got %s" % run)
    path = rrd_path(workdir, INSTANCE, "digiwatt_data_age_seconds", None)
    if not os.path.exists(path) or len(longest_run(fetch(path))) < 3:
        lib.fail("%s: want several consecutive steps" % path)


def main():
    wlib.stop_on_sigterm()
    wlib.need(lib.RRDTOOL)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        try:
            block = wlib.digiwatt_block(sim, [("main", [
                'RefreshInterval "%s" 0' % r for r in EVERY_CYCLE],
                [(METER, INSTANCE)])])
            conf = lib.collectd_config(workdir, block, writers=("rrdtool",))
            lib.run_collectd(conf, seconds=7.5)
            bad = wlib.complaints(wlib.collectd_log(workdir),
                                  ("digiwatt", "rrdtool"))
            # month-stamped values are meant for writers that keep time;
            # RRD files refuse the older ones once (see README)
            bad = [b for b in bad if "illegal attempt to update" not in b]
            if bad:
                lib.fail("collectd complained:\n" + "\n".join(bad[:10]))
            now_values, _ = wlib.expected(sim, METER)
            files = check_files(workdir, now_values)
            check_consecutive(workdir, now_values)
            check_self_metrics(workdir)
            print("ok: %d RRD files with the right data sources, "
                  "consecutive values, self-metrics" % files)
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
