#!/usr/bin/python3
"""Prometheus: collectd's write_prometheus serves the plugin's values on a
free loopback port. The test scrapes /metrics with urllib and checks, for
every current value of one meter, the metric name
(collectd_digiwatt_<type>, collectd_digiwatt_digiwatt_performance_kwh_
{min,max,user}; DERIVE types end in _total), the labels (instance = host,
digiwatt = plugin_instance, type = type_instance), the value and the
metric's TYPE; the newest history month with the month's timestamp; the
self-metrics and the second meter's safe name.

A real Prometheus server (Debian's prometheus) scrapes the same endpoint
on loopback, with honor_labels as doc/writers.md says, every second, into
a temporary TSDB. Every query and template variable of contrib/grafana/
digiwatt-prometheus.json, sent to its /api/v1/query, query_range and
series APIs as Grafana sends them (range ends aligned to the step),
returns data (tests/writers/dashboards.py)."""

import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402
import wlib  # noqa: E402

lib = wlib.lib
METER, INSTANCE = "125fd56", "home"
SECOND = "ab.cd~7"
PROMETHEUS = "/usr/bin/prometheus"
SCRAPE_S = 1
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
    # A month goes out once, with its resource's refresh interval (a day),
    # more than write_prometheus's StalenessDelta: exported without a
    # timestamp (Prometheus stamps it with the scrape's time), one of the
    # months' values. With a stamp it would be the month's.
    for (type_, ti), wanted in sorted(months.items()):
        got = samples.get(("collectd_digiwatt_" + type_,
                           labels(INSTANCE, ti)))
        if got is None or got[1] is not None:
            lib.fail("%s %s: want a month's value without a timestamp, "
                     "got %s" % (type_, ti, got))
        if not any(lib.close(got[0], v) for v in wanted.values()):
            lib.fail("%s %s: %s, want one of %s" % (type_, ti, got,
                                                     sorted(wanted.values())))
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


class Prometheus:
    """The Prometheus server scraping write_prometheus at `target_port`,
    everything in workdir/prometheus, its API on a free loopback port."""

    def __init__(self, workdir, target_port):
        d = os.path.join(workdir, "prometheus")
        os.makedirs(d)
        conf = os.path.join(d, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("\n".join([
                "global:",
                "  scrape_interval: %ds" % SCRAPE_S,
                "  scrape_timeout: %ds" % SCRAPE_S,
                "scrape_configs:",
                "  - job_name: collectd",
                "    honor_labels: true",
                "    static_configs:",
                '      - targets: ["127.0.0.1:%d"]' % target_port, ""]))
        port = wlib.free_port()
        self.base = "http://127.0.0.1:%d" % port
        self.daemon = wlib.Daemon(workdir, "prometheus", [
            PROMETHEUS, "--config.file=" + conf,
            "--storage.tsdb.path=" + os.path.join(d, "data"),
            "--web.listen-address=127.0.0.1:%d" % port])
        self.daemon.wait_until(lambda: wlib.http_ok(self.base + "/-/ready"),
                               60, "answer to /-/ready")

    def api(self, path, **params):
        url = "%s/api/v1/%s?%s" % (self.base, path,
                                   urllib.parse.urlencode(params, True))
        try:
            answer = wlib.http_json(url, timeout=30)
        except urllib.error.HTTPError as e:
            lib.fail("Prometheus %s: %s %s" % (url, e, e.read()[:500]))
        if answer.get("status") != "success":
            lib.fail("Prometheus %s: %s" % (url, answer))
        return answer["data"]

    def stop(self):
        self.daemon.stop()


def ingested(prom, second):
    """Prometheus holds the scrapes the dashboard's rates need."""
    got = prom.api("query", query='count_over_time(collectd_digiwatt_'
                   'digiwatt_requests_total{type="data"}[5m])')
    if not got["result"] or float(got["result"][0]["value"][1]) < 5:
        raise wlib.NotYet("Prometheus: fewer than 5 scrapes of the request "
                          "counter: %s" % got)
    if not prom.api("query", query='collectd_digiwatt_digiwatt_energy_kwh'
                    '{digiwatt="%s"}' % second)["result"]:
        raise wlib.NotYet("Prometheus: no value of meter %s" % second)


def label_values(prom, query, start, until):
    """Grafana's label_values(selector, label): the label's values of the
    series the selector matches in the range (/api/v1/series)."""
    m = re.fullmatch(r"label_values\((.*), *(\w+)\)", query)
    if not m:
        lib.fail("not a label_values() query: %r" % query)
    series = prom.api("series", **{"match[]": m.group(1), "start": start,
                                   "end": until})
    return sorted({s[m.group(2)] for s in series if m.group(2) in s})


def legend(target, labels):
    return re.sub(r"\{\{ *(\w+) *\}\}", lambda m: labels.get(m.group(1), ""),
                  target.get("legendFormat") or labels.get("__name__", ""))


def check_dashboard(prom):
    dash = dashboards.load("prometheus")
    start, until = dashboards.time_range({})
    values = {"datasource": "prometheus", "currency": "EUR"}
    hosts = label_values(prom, dashboards.substitute(
        dashboards.variable(dash, "host")["query"], values), start, until)
    if hosts != [wlib.HOST]:
        lib.fail("dashboard variable host lists %s, want [%s]" %
                 (hosts, wlib.HOST))
    values["host"] = wlib.HOST
    meters = label_values(prom, dashboards.substitute(
        dashboards.variable(dash, "meter")["query"], values), start, until)
    want = [INSTANCE, lib.safe_name(SECOND)]
    if meters != sorted(want):
        lib.fail("dashboard variable meter lists %s, want %s" % (meters,
                                                                 want))

    def step(panel, start, until):
        return dashboards.interval_s(panel, start, until, SCRAPE_S)

    def builtins(panel, start, until):
        interval = step(panel, start, until)
        return {"__range": "%ds" % (until - start),
                "__interval": "%ds" % interval,
                "__rate_interval": "%ds" % max(interval + SCRAPE_S,
                                               4 * SCRAPE_S)}

    def run(panel, target, query, start, until):
        if target.get("instant"):
            result = prom.api("query", query=query, time=until)["result"]
            return [(legend(target, r["metric"]), [float(r["value"][1])])
                    for r in result]
        # Grafana aligns both ends of a range query to the step
        s = step(panel, start, until)
        result = prom.api("query_range", query=query, step=s,
                          start=start // s * s, end=until // s * s)["result"]
        return [(legend(target, r["metric"]),
                 [float(v) for _, v in r["values"]]) for r in result]

    return dashboards.run_all("prometheus", dash, run, values, want,
                              builtins)


def main():
    wlib.stop_on_sigterm()
    if not os.path.exists(os.path.join(lib.SYSTEM_PLUGINS,
                                       "write_prometheus.so")):
        wlib.missing("collectd's write_prometheus plugin is missing")
    wlib.need(PROMETHEUS)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        collectd = prom = None
        try:
            port = wlib.free_port()
            prom = Prometheus(workdir, port)
            # costs every cycle: the request counters keep moving and
            # every cycle has a response time
            block = wlib.digiwatt_block(sim, [("main", [
                'RefreshInterval "costs" 0'], [
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
            second = lib.safe_name(SECOND)
            key = ("collectd_digiwatt_digiwatt_energy_kwh",
                   labels(second, "consumption-this-month"))
            collectd.wait_until(lambda: wlib.port_open(port) and
                                key in scrape(port)[0], 30,
                                "values on /metrics")
            time.sleep(2.5)  # a few more cycles
            samples, types = scrape(port)
            now_values, months = wlib.expected(sim, METER)
            checked = check(samples, types, now_values, months)
            check_self_metrics(samples, types)
            wlib.settle(lambda: ingested(prom, second))
            runs = check_dashboard(prom)
            collectd.stop()
            bad = wlib.complaints(wlib.collectd_log(workdir),
                                  ("digiwatt", "write_prometheus"))
            if bad:
                lib.fail("collectd complained:\n" + "\n".join(bad[:10]))
            print("ok: %d values of %s, %d history series, self-metrics "
                  "scraped; %d dashboard query runs through Prometheus" %
                  (checked, METER, len(months), runs))
        finally:
            if collectd:
                collectd.stop()
            if prom:
                prom.stop()
            sim.stop()


if __name__ == "__main__":
    main()
