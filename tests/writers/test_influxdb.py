#!/usr/bin/python3
"""InfluxDB 1.x: collectd's network plugin sends the plugin's values to a
real influxd (Debian's influxdb 1.6) started here on loopback with a
temporary configuration, its collectd input on a UDP port and a typesdb
directory holding collectd's types.db and our digiwatt.db. Over the
HTTP API (/query), InfluxQL must find:

- measurement digiwatt_value (digiwatt_min, digiwatt_max, digiwatt_user
  for the performance triple: the input's default "split") with the tags
  host, instance (= plugin_instance), type and type_instance, holding
  every current value of one meter over several cycles;
- each month of the four histories at its own timestamp;
- the second meter under the safe form of its ID, and the self-metrics;
- every query and template variable of contrib/grafana/
  digiwatt-influxdb.json, with the variables as Grafana substitutes them,
  returns data (tests/writers/dashboards.py)."""

import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402
import wlib  # noqa: E402

lib = wlib.lib
INFLUXD = "/usr/bin/influxd"
METER, INSTANCE = "125fd56", "home"
SECOND = "ab.cd~7"
DB = "collectd"


class Influx:
    def __init__(self, workdir):
        d = os.path.join(workdir, "influxdb")
        types = os.path.join(d, "typesdb")
        os.makedirs(types)
        # influxd reads every file of a typesdb directory; links, as
        # doc/writers.md suggests
        for path in (wlib.SYSTEM_TYPES_DB, lib.TYPES_DB):
            os.symlink(path, os.path.join(types, os.path.basename(path)))
        self.http = wlib.free_port()
        self.udp = wlib.free_port(udp=True)
        conf = os.path.join(d, "influxdb.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "reporting-disabled = true",
                'bind-address = "127.0.0.1:%d"' % wlib.free_port(),
                "[meta]", '  dir = "%s/meta"' % d,
                "[data]", '  dir = "%s/data"' % d, '  wal-dir = "%s/wal"' % d,
                "  query-log-enabled = false",
                "[http]", '  bind-address = "127.0.0.1:%d"' % self.http,
                "  log-enabled = false",
                "[monitor]", "  store-enabled = false",
                "[continuous_queries]", "  enabled = false",
                "[[collectd]]", "  enabled = true",
                '  bind-address = "127.0.0.1:%d"' % self.udp,
                '  database = "%s"' % DB,
                '  typesdb = "%s"' % types,
                '  parse-multivalue-plugin = "split"',
                # the default 10 s batch would outlive a short test
                '  batch-timeout = "200ms"', ""]))
        self.daemon = wlib.Daemon(workdir, "influxd",
                                  [INFLUXD, "run", "-config", conf])
        self.base = "http://127.0.0.1:%d" % self.http
        self.daemon.wait_until(lambda: wlib.http_ok(self.base + "/ping"),
                               60, "answer to /ping")

    def query(self, text):
        """The series of one InfluxQL statement (epoch seconds)."""
        url = self.base + "/query?" + urllib.parse.urlencode(
            {"db": DB, "q": text, "epoch": "s"})
        answer = wlib.http_json(url)
        result = answer["results"][0]
        if "error" in result:
            lib.fail("InfluxQL error %r for: %s" % (result["error"], text))
        return result.get("series", [])

    def stop(self):
        self.daemon.stop()


def network_block(port):
    return '<Plugin network>\n  Server "127.0.0.1" "%d"\n</Plugin>' % port


def current(influx, instance):
    """{(type, type_instance): {measurement: (points, last value)}}."""
    out = {}
    for s in influx.query(
            'SELECT count("value"), last("value") FROM /^digiwatt_/ WHERE '
            '"host" = \'e2e\' AND "instance" = \'%s\' AND time > now() - 5m '
            'GROUP BY "type", "type_instance"' % instance):
        tags = s["tags"]
        out.setdefault((tags["type"], tags["type_instance"]), {})[
            s["name"]] = tuple(s["values"][0][1:3])
    return out


def check_current(influx, now_values, every_cycle):
    """Each current value is stored; those of the resources fetched every
    cycle (`every_cycle`, RefreshInterval 0) more than once: a value is
    written when its response arrives, not again each interval."""
    got = current(influx, INSTANCE)
    checked = 0
    for (type_, ti), values in sorted(now_values.items()):
        names = (["digiwatt_min", "digiwatt_max", "digiwatt_user"]
                 if len(values) == 3 else ["digiwatt_value"])
        for name, want in zip(names, values):
            count, last = got.get((type_, ti), {}).get(name, (0, None))
            where = "%s type=%s type_instance=%s" % (name, type_, ti)
            if count and not lib.close(last, want):
                lib.fail("%s: %s, want %s" % (where, last, want))
            if (type_, ti) not in every_cycle and count > 1:
                lib.fail("%s: fetched once, stored %d times" % (where, count))
            if count < (3 if (type_, ti) in every_cycle else 1):
                raise wlib.NotYet("%s: want >= 3 points, got %d" %
                                  (where, count))
            checked += 1
    return checked


def check_months(influx, months):
    checked = 0
    for (type_, ti), wanted in sorted(months.items()):
        series = influx.query(
            'SELECT "value" FROM "digiwatt_value" WHERE "host" = \'e2e\' AND '
            '"instance" = \'%s\' AND "type" = \'%s\' AND "type_instance" = '
            '\'%s\' AND time > now() - 800d' % (INSTANCE, type_, ti))
        got = dict((t, v) for t, v in series[0]["values"]) if series else {}
        if sorted(got) != sorted(wanted):
            raise wlib.NotYet("%s-%s: want points at %s, got %s" %
                              (type_, ti, sorted(wanted), sorted(got)))
        for epoch, value in wanted.items():
            if not lib.close(got[epoch], value):
                lib.fail("%s-%s at %d: %s, want %s" %
                         (type_, ti, epoch, got[epoch], value))
            checked += 1
    return checked


def check_self_metrics(influx):
    got = current(influx, "account-main")
    # an empty type_instance is no tag at all; GROUP BY shows it as ""
    for key in [("digiwatt_requests", "data"), ("digiwatt_requests", "token"),
                ("digiwatt_cycle_seconds", ""), ("digiwatt_meters", "ok"),
                ("digiwatt_meters", "failed")] + [
                    ("digiwatt_errors", c) for c in
                    ("auth", "rate-limit", "server", "timeout", "network",
                     "client", "decode")]:
        if key not in got:
            raise wlib.NotYet("self-metric %s %s not in InfluxDB" % key)
    if ("digiwatt_data_age_seconds", "") not in current(influx, INSTANCE):
        raise wlib.NotYet("digiwatt_data_age_seconds of %s not in InfluxDB" %
                          INSTANCE)


def variable_values(influx, dash, name, values):
    v = dashboards.variable(dash, name)
    series = influx.query(dashboards.substitute(v["query"], values))
    return sorted(row[1] for s in series for row in s["values"])


def alias(target, series):
    """The series name Grafana shows: the target's alias with $tag_<key>
    replaced by the series' tags."""
    tags = series.get("tags") or {}
    return re.sub(r"\$tag_([A-Za-z0-9_]+)|\[\[tag_([A-Za-z0-9_]+)\]\]",
                  lambda m: tags.get(m.group(1) or m.group(2), ""),
                  target.get("alias") or series["name"])


def check_dashboard(influx):
    dash = dashboards.load("influxdb")
    values = {"datasource": "influxdb", "currency": "EUR"}
    hosts = variable_values(influx, dash, "host", values)
    if hosts != ["e2e"]:
        lib.fail("dashboard variable host lists %s, want [e2e]" % hosts)
    values["host"] = "e2e"
    meters = variable_values(influx, dash, "meter", values)
    want = [INSTANCE, lib.safe_name(SECOND)]
    if meters != sorted(want):
        lib.fail("dashboard variable meter lists %s, want %s" % (meters,
                                                                 want))

    def builtins(panel, start, until):
        """What Grafana writes for the range and the panel's interval."""
        return {"timeFilter": "time >= %dms and time <= %dms" % (
                    start * 1000, until * 1000),
                "__interval": "%ds" % dashboards.interval_s(panel, start,
                                                            until)}

    def run(panel, target, query, start, until):
        return [(alias(target, s), [v for row in s["values"]
                                    for v in row[1:]])
                for s in influx.query(query)]

    for panel, target in dashboards.targets(dash):
        if "$timeFilter" not in target["query"]:
            lib.fail("panel %r: query without $timeFilter" % panel["title"])
    return dashboards.run_all("influxdb", dash, run, values, want, builtins)


def main():
    wlib.stop_on_sigterm()
    wlib.need(INFLUXD)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        influx = None
        try:
            influx = Influx(workdir)
            block = wlib.digiwatt_block(sim, [("main", [
                'RefreshInterval "costs" 0'], [
                (METER, INSTANCE),
                (SECOND, None, ['Resources "consumption"',
                                'Periods "this-month"'])])])
            conf = lib.collectd_config(workdir, block, writers=("network",),
                                       extra=network_block(influx.udp))
            lib.run_collectd(conf, seconds=14.5)
            bad = wlib.complaints(wlib.collectd_log(workdir),
                                  ("digiwatt", "network"))
            if bad:
                lib.fail("collectd complained:\n" + "\n".join(bad[:10]))
            now_values, months = wlib.expected(sim, METER)
            costs = wlib.expected(sim, METER, ["costs"])[0]
            second = lib.safe_name(SECOND)

            def stored():
                """The collectd input writes in batches."""
                checked = check_current(influx, now_values, costs)
                stamped = check_months(influx, months)
                check_self_metrics(influx)
                if ("digiwatt_energy_kwh", "consumption-this-month") not in \
                        current(influx, second):
                    raise wlib.NotYet("meter %s not in InfluxDB" % second)
                return checked, stamped

            checked, stamped = wlib.settle(stored)
            runs = check_dashboard(influx)
            print("ok: %d values of %s, %d history months at their own "
                  "timestamps, self-metrics, %d dashboard query runs" %
                  (checked, METER, stamped, runs))
        finally:
            if influx:
                influx.stop()
            sim.stop()


if __name__ == "__main__":
    main()
