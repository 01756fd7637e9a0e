#!/usr/bin/python3
"""Prometheus: collectd's write_prometheus serves the plugin's values on a
free loopback port; the test scrapes /metrics with urllib and checks, for
every current value of one meter, the metric name
(collectd_digiwatt_<type>, collectd_digiwatt_digiwatt_performance_kwh_
{min,max,user}; DERIVE types end in _total), the labels (instance = host,
digiwatt = plugin_instance, type = type_instance), the value and the
metric's TYPE; the newest history month with the month's timestamp; the
self-metrics and the second meter's safe name."""

import os
import re
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wlib  # noqa: E402

lib = wlib.lib
METER, INSTANCE = "125fd56", "home"
SECOND = "ab.cd~7"
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)(?: (\d+))?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    """({(name, frozenset(labels)): (value, ms or None)}, {name: type})."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            m = LINE.match(line)
            if not m:
                lib.fail("unparsable exposition line: %r" % line)
            labels = frozenset(LABEL.findall(m.group(2)))
            stamp = int(m.group(4)) if m.group(4) else None
            samples[(m.group(1), labels)] = (float(m.group(3)), stamp)
    return samples, types


def labels(instance, ti):
    out = {("instance", wlib.HOST), ("digiwatt", instance)}
    if ti:
        out.add(("type", ti))
    return frozenset(out)


def names(type_, n):
    base = "collectd_digiwatt_" + type_
    return [base + "_" + ds for ds in ("min", "max", "user")] if n == 3 \
        else [base]


def check(samples, types, now_values, months):
    checked = 0
    for (type_, ti), values in sorted(now_values.items()):
        for name, want in zip(names(type_, len(values)), values):
            got = samples.get((name, labels(INSTANCE, ti)))
            if got is None or not lib.close(got[0], want):
                lib.fail("%s{digiwatt=%r,type=%r}: %s, want %s" %
                         (name, INSTANCE, ti, got, want))
            if types.get(name) != "gauge":
                lib.fail("%s: TYPE %s, want gauge" % (name, types.get(name)))
            checked += 1
    for (type_, ti), wanted in sorted(months.items()):
        got = samples.get(("collectd_digiwatt_" + type_,
                           labels(INSTANCE, ti)))
        if got is None or got[1] is None or got[1] // 1000 not in wanted:
            lib.fail("%s %s: want a month's value stamped with the month, "
                     "got %s" % (type_, ti, got))
        if not lib.close(got[0], wanted[got[1] // 1000]):
            lib.fail("%s %s: %s, want %s" % (type_, ti, got,
                                              wanted[got[1] // 1000]))
    return checked


def check_self_metrics(samples, types):
    for name, instance, ti, kind in [
            ("collectd_digiwatt_digiwatt_requests_total", "account-main",
             "data", "counter"),
            ("collectd_digiwatt_digiwatt_errors_total", "account-main",
             "auth", "counter"),
            ("collectd_digiwatt_digiwatt_cycle_seconds", "account-main",
             None, "gauge"),
            ("collectd_digiwatt_digiwatt_meters", "account-main", "ok",
             "gauge"),
            ("collectd_digiwatt_digiwatt_data_age_seconds", INSTANCE, None,
             "gauge")]:
        if (name, labels(instance, ti)) not in samples:
            lib.fail("self-metric %s{digiwatt=%r,type=%r} not exposed" %
                     (name, instance, ti))
        if types.get(name) != kind:
            lib.fail("%s: TYPE %s, want %s" % (name, types.get(name), kind))
    got = samples[("collectd_digiwatt_digiwatt_requests_total",
                   labels("account-main", "data"))][0]
    if got < 1:
        lib.fail("digiwatt_requests data: %s, want the count of requests" %
                 got)


def main():
    wlib.stop_on_sigterm()
    if not os.path.exists(os.path.join(lib.SYSTEM_PLUGINS,
                                       "write_prometheus.so")):
        wlib.skip("collectd's write_prometheus plugin is missing")
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        collectd = None
        try:
            port = wlib.free_port()
            block = wlib.digiwatt_block(sim, [("main", [], [
                (METER, INSTANCE),
                (SECOND, None, ['Resources "consumption"',
                                'Periods "this-month"'])])])
            extra = ('<Plugin write_prometheus>\n  Host "127.0.0.1"\n'
                     '  Port "%d"\n</Plugin>' % port)
            conf = lib.collectd_config(workdir, block,
                                       writers=("write_prometheus",),
                                       extra=extra)
            collectd = wlib.Daemon(workdir, "collectd",
                                   [lib.COLLECTD, "-f", "-C", conf])
            key = ("collectd_digiwatt_digiwatt_energy_kwh",
                   labels(lib.safe_name(SECOND), "consumption-this-month"))
            collectd.wait_until(lambda: wlib.port_open(port) and
                                key in scrape(port)[0], 30,
                                "values on /metrics")
            time.sleep(2.5)  # a few more cycles
            samples, types = scrape(port)
            collectd.proc.send_signal(signal.SIGTERM)
            now_values, months = wlib.expected(sim, METER)
            checked = check(samples, types, now_values, months)
            check_self_metrics(samples, types)
            bad = wlib.complaints(wlib.collectd_log(workdir),
                                  ("digiwatt", "write_prometheus"))
            if bad:
                lib.fail("collectd complained:\n" + "\n".join(bad[:10]))
            print("ok: %d values of %s, %d history series, self-metrics "
                  "scraped" % (checked, METER, len(months)))
        finally:
            if collectd:
                collectd.stop()
            sim.stop()


if __name__ == "__main__":
    main()
