#!/usr/bin/python3
"""Graphite: collectd's write_graphite sends the plugin's values to a real
carbon-cache (Debian's graphite-carbon) started here on loopback with its
own storage directory and a retention of 1s:1h,1h:30d,1d:2y. Reading the
whisper files (python3-whisper):

- every current value of one meter, under write_graphite's default path
  <host>.digiwatt-<instance>.<type>-<type_instance> (".min", ".max",
  ".user" appended for the performance triple), with the host's dots
  escaped to "_", over several cycles;
- each month of the four histories at its own timestamp;
- the second meter under the safe form of its ID (dots never reach a path);
- the plugin's self-metrics;
- every target and template variable of contrib/grafana/
  digiwatt-graphite.json returns data."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402
import wlib  # noqa: E402

lib = wlib.lib
CARBON = "/usr/bin/carbon-cache"
HOSTNAME = "e2e.lan"   # write_graphite escapes the dot
GRAPHITE_HOST = "e2e_lan"
METER, INSTANCE = "125fd56", "home"
SECOND = "ab.cd~7"     # no Instance: its safe form is the plugin_instance


def start_carbon(workdir):
    """carbon-cache in the foreground, everything below workdir/carbon."""
    d = os.path.join(workdir, "carbon")
    os.makedirs(d)
    line, pickle, query = (wlib.free_port() for _ in range(3))
    settings = {
        "STORAGE_DIR": d + "/storage", "LOCAL_DATA_DIR": d + "/whisper",
        "LOG_DIR": d + "/log", "PID_DIR": d, "USER": "",
        "MAX_CACHE_SIZE": "inf", "MAX_UPDATES_PER_SECOND": "inf",
        # carbon's default of 50 new files a minute would drop most series
        "MAX_CREATES_PER_MINUTE": "inf",
        "LINE_RECEIVER_INTERFACE": "127.0.0.1", "LINE_RECEIVER_PORT": line,
        "PICKLE_RECEIVER_INTERFACE": "127.0.0.1",
        "PICKLE_RECEIVER_PORT": pickle,
        "CACHE_QUERY_INTERFACE": "127.0.0.1", "CACHE_QUERY_PORT": query,
        "ENABLE_UDP_LISTENER": "False",
        # no tag database: it would POST every series to graphite-web
        "ENABLE_TAGS": "False", "CARBON_METRIC_INTERVAL": 0,
        "LOG_UPDATES": "False", "LOG_CREATES": "False",
        "WHISPER_FALLOCATE_CREATE": "False",
    }
    with open(os.path.join(d, "carbon.conf"), "w") as f:
        f.write("[cache]\n" + "".join("%s = %s\n" % kv
                                      for kv in settings.items()))
    with open(os.path.join(d, "storage-schemas.conf"), "w") as f:
        f.write("[digiwatt]\npattern = .*\n"
                "retentions = 1s:1h,1h:30d,1d:2y\n")
    # One point makes a day (months, values of a short run): xFilesFactor 0
    with open(os.path.join(d, "storage-aggregation.conf"), "w") as f:
        f.write("[digiwatt]\npattern = .*\nxFilesFactor = 0\n"
                "aggregationMethod = average\n")
    carbon = wlib.Daemon(workdir, "carbon-cache",
                         [CARBON, "--config=" + d + "/carbon.conf",
                          "--nodaemon", "start"],
                         env=dict(os.environ, GRAPHITE_ROOT=d))
    carbon.wait_until(lambda: wlib.port_open(line), 60, "line receiver")
    return carbon, line, d + "/whisper"


def graphite_block(port):
    return "\n".join([
        "<Plugin write_graphite>", '  <Node "carbon">',
        '    Host "127.0.0.1"', '    Port "%d"' % port,
        '    Protocol "tcp"', "  </Node>", "</Plugin>"])


def fetch(root, name, start, until):
    """[(timestamp, value)] of one metric, None values left out."""
    import whisper
    path = os.path.join(root, *name.split(".")) + ".wsp"
    if not os.path.exists(path):
        return None
    (t0, _, step), values = whisper.fetch(path, start, until)
    return [(t0 + i * step, v) for i, v in enumerate(values) if v is not None]


def metric(instance, type_, ti, ds=None):
    name = "%s.digiwatt-%s.%s" % (GRAPHITE_HOST, instance, type_)
    if ti:
        name += "-" + ti
    return name + ("." + ds if ds else "")


def check_current(root, now_values):
    until = int(time.time()) + 60
    start = until - 600
    names = []
    for (type_, ti), values in sorted(now_values.items()):
        dss = ["min", "max", "user"] if len(values) == 3 else [None]
        for ds, want in zip(dss, values):
            name = metric(INSTANCE, type_, ti, ds)
            names.append(name)
            points = fetch(root, name, start, until)
            if not points:
                raise wlib.NotYet("%s: no value in whisper" % name)
            wrong = [p for p in points if not lib.close(p[1], want)]
            if wrong:
                lib.fail("%s: want %s, got %s" % (name, want, wrong[-5:]))
            if len(points) < 3:
                raise wlib.NotYet("%s: want >= 3 points of %s, got %s" %
                                  (name, want, points))
    return names


def check_months(root, months):
    until = int(time.time())
    checked = 0
    for (type_, ti), wanted in sorted(months.items()):
        name = metric(INSTANCE, type_, ti)
        start = min(wanted) - 86400
        points = fetch(root, name, start, until)
        got = dict(points or [])
        if sorted(got) != sorted(wanted):
            raise wlib.NotYet("%s: want points at %s, got %s" %
                              (name, sorted(wanted), sorted(got)))
        for epoch, value in wanted.items():
            if not lib.close(got[epoch], value):
                lib.fail("%s at %d: %s, want %s" %
                         (name, epoch, got[epoch], value))
            checked += 1
    return checked


def check_self_metrics(root):
    until = int(time.time()) + 60
    start = until - 600
    names = [metric("account-main", "digiwatt_requests", "data"),
             metric("account-main", "digiwatt_cycle_seconds", None),
             metric("account-main", "digiwatt_meters", "ok"),
             metric(INSTANCE, "digiwatt_data_age_seconds", None)]
    names += [metric("account-main", "digiwatt_errors", c) for c in
              ("auth", "rate-limit", "server", "timeout", "network",
               "client", "decode")]
    for name in names:
        if not fetch(root, name, start, until):
            raise wlib.NotYet("self-metric %s: no value in whisper" % name)
    # StoreRates (the default): DERIVE counters arrive as rates
    rates = fetch(root, names[0], start, until)
    if any(v < 0 for _, v in rates) or not any(v > 0 for _, v in rates):
        raise wlib.NotYet("%s: want request rates >= 0, some > 0: %s" %
                          (names[0], rates))


def variable_values(root, dash, name, values):
    v = dashboards.variable(dash, name)
    query = dashboards.substitute(v["query"], values)
    nodes = dashboards.find_nodes(root, query)
    rx = v.get("regex", "").strip("/")
    if not rx:
        return nodes
    out = []
    for node in nodes:
        m = re.search(rx, node)
        if m:
            out.append(m.group(1) if m.groups() else node)
    return out


def check_dashboard(root):
    dash = dashboards.load("graphite")
    values = {"prefix": "", "datasource": "graphite"}
    hosts = variable_values(root, dash, "host", values)
    if hosts != [GRAPHITE_HOST]:
        lib.fail("dashboard variable host lists %s, want [%s]" %
                 (hosts, GRAPHITE_HOST))
    values["host"] = GRAPHITE_HOST
    meters = variable_values(root, dash, "meter", values)
    if sorted(meters) != sorted([INSTANCE, lib.safe_name(SECOND)]):
        lib.fail("dashboard variable meter lists %s" % meters)
    values["meter"] = INSTANCE
    runs = 0
    for panel, target in dashboards.targets(dash):
        text = target["target"]
        start, until = dashboards.time_range(panel, 300)
        for period in (dashboards.PERIODS if dashboards.uses(text, "period")
                       else ["this-month"]):
            values["period"] = period
            expr = dashboards.substitute(text, values)
            if dashboards.unresolved(expr):
                lib.fail("panel %r: unresolved variable in %s" %
                         (panel["title"], expr))
            try:
                series = dashboards.evaluate(root, expr, start, until)
            except dashboards.GraphiteError as e:
                lib.fail("panel %r: %s" % (panel["title"], e))
            if not any(v is not None for _, vs in series for v in vs):
                lib.fail("panel %r, target %s (period %s): no data" %
                         (panel["title"], expr, period))
            runs += 1
    return runs


def main():
    wlib.stop_on_sigterm()
    wlib.need(CARBON)
    try:
        import whisper  # noqa: F401
    except ImportError:
        wlib.skip("python3-whisper is not installed")
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        carbon = None
        try:
            carbon, port, root = start_carbon(workdir)
            # costs every cycle: the request counters keep moving
            block = wlib.digiwatt_block(sim, [("main", [
                'RefreshInterval "costs" 0'], [
                (METER, INSTANCE),
                (SECOND, None, ['Resources "consumption"',
                                'Periods "this-month"'])])])
            conf = lib.collectd_config(workdir, block,
                                       writers=("write_graphite",),
                                       extra=graphite_block(port))
            wlib.set_hostname(conf, HOSTNAME)
            # twelve one-second cycles send the twelve history months
            lib.run_collectd(conf, seconds=14.5)
            bad = wlib.complaints(wlib.collectd_log(workdir),
                                  ("digiwatt", "write_graphite"))
            if bad:
                lib.fail("collectd complained:\n" + "\n".join(bad[:10]))
            now_values, months = wlib.expected(sim, METER)
            second = metric(lib.safe_name(SECOND), "digiwatt_energy_kwh",
                            "consumption-this-month")

            def stored():
                """carbon writes its cache to whisper asynchronously."""
                names = check_current(root, now_values)
                stamped = check_months(root, months)
                recent = int(time.time()) - 600
                if not fetch(root, second, recent, None):
                    raise wlib.NotYet("%s: no value" % second)
                check_self_metrics(root)
                return names, stamped

            names, stamped = wlib.settle(stored)
            runs = check_dashboard(root)
            print("ok: %d metrics of %s, %d history months at their own "
                  "timestamps, self-metrics, %d dashboard target runs" %
                  (len(names), METER, stamped, runs))
        finally:
            if carbon:
                carbon.stop()
            sim.stop()


if __name__ == "__main__":
    main()
