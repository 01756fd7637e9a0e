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
- the plugin's self-metrics.

Then a real graphite-web (Debian's graphite-web, Django's runserver on
loopback) reads that whisper directory and carbon's cache: every target
and template variable of contrib/grafana/digiwatt-graphite.json, sent to
its /render and /metrics/find APIs as Grafana sends them, returns data
(tests/writers/dashboards.py).

whisper and graphite-web are Debian's Python packages: the test runs
under the interpreter that has them (/usr/bin/python3 when a pyenv
python3 comes first on PATH) and fails when none has."""

import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402
import wlib  # noqa: E402

lib = wlib.lib
CARBON = "/usr/bin/carbon-cache"
GRAPHITE_WEB = "/usr/lib/python3/dist-packages/graphite/settings.py"
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
    return carbon, line, query, d + "/whisper"


class GraphiteWeb:
    """Debian's graphite-web under Django's development server on a free
    loopback port, reading carbon's whisper directory and asking carbon's
    cache for points not yet written (CARBONLINK_HOSTS), as graphite-web
    does in a Debian install. Its settings module, sqlite database and
    logs live in workdir/graphite-web."""

    def __init__(self, workdir, whisper_dir, carbonlink_port):
        d = os.path.join(workdir, "graphite-web")
        os.makedirs(os.path.join(d, "log"))
        with open(os.path.join(d, "digiwatt_test_settings.py"), "w") as f:
            f.write("\n".join("%s = %r" % kv for kv in [
                ("SECRET_KEY", "digiwatt-test"),
                ("STORAGE_DIR", d), ("WHISPER_DIR", whisper_dir),
                ("STANDARD_DIRS", [whisper_dir]),
                ("LOG_DIR", os.path.join(d, "log")), ("LOG_ROTATION", False),
                ("INDEX_FILE", os.path.join(d, "index")),
                ("CARBONLINK_HOSTS", ["127.0.0.1:%d" % carbonlink_port]),
                ("TAGDB", ""), ("USE_WORKER_POOL", False),
                ("DATABASES", {"default": {
                    "NAME": os.path.join(d, "graphite.db"),
                    "ENGINE": "django.db.backends.sqlite3"}})]) + "\n")
        python = wlib.python_with("django", "graphite", "whisper")
        env = dict(os.environ, PYTHONPATH=d,
                   DJANGO_SETTINGS_MODULE="graphite.settings",
                   GRAPHITE_SETTINGS_MODULE="digiwatt_test_settings")
        # The user profile that /metrics/find looks up needs the tables.
        migrate = subprocess.run(
            [python, "-m", "django", "migrate", "--run-syncdb",
             "--skip-checks", "-v", "0"], cwd=d, env=env,
            capture_output=True, text=True)
        if migrate.returncode != 0:
            lib.fail("graphite-web: django migrate failed:\n" +
                     (migrate.stdout + migrate.stderr)[-3000:])
        port = wlib.free_port()
        self.base = "http://127.0.0.1:%d" % port
        self.daemon = wlib.Daemon(workdir, "graphite-web", [
            python, "-m", "django", "runserver", "--noreload",
            "127.0.0.1:%d" % port], env=env)

    def wait(self):
        self.daemon.wait_until(
            lambda: wlib.http_ok(self.base + "/metrics/find?query=*"), 60,
            "answer to /metrics/find")

    def get(self, path, **params):
        url = "%s%s?%s" % (self.base, path, urllib.parse.urlencode(params))
        try:
            return wlib.http_json(url, timeout=30)
        except (OSError, ValueError) as e:
            lib.fail("graphite-web %s: %s\n%s" % (url, e,
                                                   self.daemon.tail()))

    def render(self, target, start, until):
        """[(name, [values])] as graphite-web's render API returns them
        to Grafana (JSON, at most MAX_DATA_POINTS points a series)."""
        answer = self.get("/render", target=target, format="json",
                          maxDataPoints=dashboards.MAX_DATA_POINTS,
                          **{"from": start, "until": until})
        return [(s["target"], [p[0] for p in s["datapoints"]])
                for s in answer]

    def find(self, query):
        """The node names /metrics/find lists (what a query variable
        offers)."""
        return sorted(n["text"] for n in self.get("/metrics/find",
                                                  query=query))

    def stop(self):
        self.daemon.stop()


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


def check_current(root, now_values, every_cycle):
    """Each current value is stored; those of the resources fetched every
    cycle (`every_cycle`, RefreshInterval 0) more than once: a value is
    written when its response arrives, not again each interval."""
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
            if (type_, ti) not in every_cycle and len(points) > 1:
                lib.fail("%s: fetched once, stored %d times: %s" %
                         (name, len(points), points))
            if (type_, ti) in every_cycle and len(points) < 3:
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


def variable_values(web, dash, name, values):
    v = dashboards.variable(dash, name)
    nodes = web.find(dashboards.substitute(v["query"], values))
    rx = v.get("regex", "").strip("/")
    if not rx:
        return nodes
    out = []
    for node in nodes:
        m = re.search(rx, node)
        if m:
            out.append(m.group(1) if m.groups() else node)
    return out


def check_dashboard(web):
    dash = dashboards.load("graphite")
    values = {"prefix": "", "datasource": "graphite", "currency": "EUR"}
    hosts = variable_values(web, dash, "host", values)
    if hosts != [GRAPHITE_HOST]:
        lib.fail("dashboard variable host lists %s, want [%s]" %
                 (hosts, GRAPHITE_HOST))
    values["host"] = GRAPHITE_HOST
    meters = variable_values(web, dash, "meter", values)
    want = [INSTANCE, lib.safe_name(SECOND)]
    if sorted(meters) != sorted(want):
        lib.fail("dashboard variable meter lists %s, want %s" % (meters,
                                                                 want))

    def run(panel, target, text, start, until):
        return web.render(text, start, until)

    return dashboards.run_all("graphite", dash, run, values, want)


def main():
    wlib.stop_on_sigterm()
    wlib.need(CARBON, GRAPHITE_WEB)
    wlib.run_with("whisper")
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        carbon = web = None
        try:
            carbon, port, query_port, root = start_carbon(workdir)
            # graphite-web starts while collectd runs
            web = GraphiteWeb(workdir, root, query_port)
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
            costs = wlib.expected(sim, METER, ["costs"])[0]
            second = metric(lib.safe_name(SECOND), "digiwatt_energy_kwh",
                            "consumption-this-month")

            def stored():
                """carbon writes its cache to whisper asynchronously."""
                names = check_current(root, now_values, costs)
                stamped = check_months(root, months)
                recent = int(time.time()) - 600
                if not fetch(root, second, recent, None):
                    raise wlib.NotYet("%s: no value" % second)
                check_self_metrics(root)
                return names, stamped

            names, stamped = wlib.settle(stored)
            web.wait()
            runs = check_dashboard(web)
            print("ok: %d metrics of %s, %d history months at their own "
                  "timestamps, self-metrics, %d dashboard target runs "
                  "through graphite-web" % (len(names), METER, stamped,
                                            runs))
        finally:
            if web:
                web.stop()
            if carbon:
                carbon.stop()
            sim.stop()


if __name__ == "__main__":
    main()
