"""Shared pieces of the end-to-end tests: the simulator, a real collectd
daemon with the built plugin, and an independent reading of the
identifier table of README.md (written again here, in Python, so that a
mistake in the C dispatcher cannot hide behind itself).

Nothing here mocks collectd or libcurl: the tests start /usr/sbin/collectd
with the plugin from the build tree and read what the csv and rrdtool
writers wrote."""

import csv
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TOP_SRCDIR = os.environ.get("top_srcdir", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
COLLECTD = os.environ.get("COLLECTD", "/usr/sbin/collectd")
RRDTOOL = os.environ.get("RRDTOOL") or "/usr/bin/rrdtool"
SIM = os.path.join(TOP_BUILDDIR, "sim", "digiwatt-sim")
PLUGIN_SO = os.path.join(TOP_BUILDDIR, ".libs", "digiwatt.so")
TYPES_DB = os.path.join(TOP_SRCDIR, "types.db.d", "digiwatt.db")
SYSTEM_PLUGINS = "/usr/lib/collectd"

RESOURCES = ["costs", "consumption", "consumption-distribution", "performance",
             "savings", "consumption-history", "costs-history",
             "yearly-consumption-distribution", "yearly-compound-consumption",
             "disaggregation"]
WITH_PERIOD = {"costs", "consumption", "consumption-distribution",
               "performance", "disaggregation"}
PERIODS = ["yesterday", "last-seven-days", "this-week", "last-week",
           "this-month", "last-month"]


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


# --- the identifier table, independently -----------------------------------

def fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


# A safe name that ends like a hashed one, or in the "-latest" of a month
# series' twin, could be taken for another name: it is hashed too.
HASHED_TAIL = re.compile(rb"_h[0-9a-f]{8}\Z")
RESERVED_TAIL = b"-latest"


def safe_name(text, limit: int = 63) -> str:
    """The name rule of README.md "Names"; text is str or bytes (a NUL is a
    byte like any other)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    out = bytes(b if b in SAFE else ord("_") for b in raw).decode("ascii")
    if (out.encode("ascii") == raw and 0 < len(raw) <= limit and
            not HASHED_TAIL.search(raw) and not raw.endswith(RESERVED_TAIL)):
        return out
    suffix = "_h%08x" % fnv1a32(raw)
    return out[:limit - len(suffix)] + suffix


def month_index(text):
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def month_epoch(index):
    import calendar
    return calendar.timegm((index // 12, index % 12 + 1, 1, 0, 0, 0))


def expected_samples(resource, body):
    """(type, label, appliance or None, month text or None, values)."""
    out = []

    def add(t, label, value, appliance=None, month=None):
        if value is not None:
            out.append((t, label, appliance, month, [value]))

    E, C, T, S, P = ("digiwatt_energy_kwh", "digiwatt_cost",
                     "digiwatt_trend_percent", "digiwatt_share_percent",
                     "digiwatt_performance_kwh")
    if resource in ("costs", "consumption"):
        add(C if resource == "costs" else E, resource, body.get("value"))
        add(T, resource, body.get("previousPeriodValueTrend"))
    elif resource == "consumption-distribution":
        for e in body:
            add(E, "distribution", e.get("value"), e["appliance"])
            add(S, "distribution", e.get("percentage"), e["appliance"])
    elif resource == "performance":
        out.append((P, "performance", None, None,
                    [body["minConsumption"], body["maxConsumption"],
                     body["userConsumption"]]))
    elif resource == "savings":
        kwh = lambda v: None if v is None else v / 1000.0
        add(E, "savings", kwh(body.get("estimatedConsumption")))
        add(C, "savings", body.get("estimatedCost"))
        perf = body.get("performance")
        if isinstance(perf, dict):
            out.append((P, "savings", None, None,
                        [perf["minConsumption"], perf["maxConsumption"],
                         perf["userConsumption"]]))
        for key, v in body.items():
            if key == "performance" or not isinstance(v, dict):
                continue
            add(E, "savings", kwh(v.get("estimatedConsumption")), key)
            add(C, "savings", v.get("estimatedCost"), key)
            add(C, "saving-potential", v.get("savingPotential"), key)
    elif resource == "consumption-history":
        for e in body:
            add(E, "consumption-history", e["value"], month=e["month"])
    elif resource == "costs-history":
        if body.get("forecast"):
            add(C, "costs-forecast", body["forecast"].get("value"))
        for e in body["costs"]:
            add(C, "costs-history", e["value"], month=e["month"])
    elif resource == "yearly-consumption-distribution":
        for a in body:
            for e in a["values"]:
                add(E, "yearly-distribution", e["value"], a["appliance"],
                    e["month"])
    elif resource == "yearly-compound-consumption":
        for e in body:
            add(E, "yearly-compound", e["value"], month=e["month"])
            add(E, "yearly-compound-total", e["compoundValue"],
                month=e["month"])
    elif resource == "disaggregation":
        for e in body:
            add(E, "disaggregation", e.get("value"), e["appliance"])
            add(C, "disaggregation", e.get("cost"), e["appliance"])
    return out


def type_instance(label, period, appliance):
    ti = label
    if period:
        ti += "-" + period
    if appliance is not None:
        ti += "-" + safe_name(appliance)
    return ti


def expected_values(resource, period, body):
    """{(type, type_instance): [(epoch or None, values)]}: None = now."""
    result = {}
    samples = expected_samples(resource, body)
    newest = {}
    for t, label, app, month, values in samples:
        if month is not None:
            key = (t, type_instance(label, period, app))
            newest[key] = max(newest.get(key, -1), month_index(month))
    for t, label, app, month, values in samples:
        ti = type_instance(label, period, app)
        if month is None:
            result.setdefault((t, ti), []).append((None, values))
            continue
        m = month_index(month)
        result.setdefault((t, ti), []).append((month_epoch(m), values))
        if m == newest[(t, ti)]:
            result.setdefault((t, ti + "-latest"), []).append((None, values))
    return result


# --- the simulator -----------------------------------------------------------

class Simulator:
    def __init__(self, workdir, *extra, client_id="demo-client",
                 client_secret="demo-secret"):
        self.client_id = client_id
        self.client_secret = client_secret
        port_file = os.path.join(workdir, "sim.port")
        self.log = open(os.path.join(workdir, "sim.log"), "w")
        self.proc = subprocess.Popen(
            [SIM, "--port", "0", "--port-file", port_file, "--client-id",
             client_id, "--client-secret", client_secret, *extra],
            stdout=self.log, stderr=subprocess.STDOUT,
            # its own session: a Ctrl-C meant for the demo or a test must
            # not reach it before collectd has stopped
            start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read().strip())
                break
            if self.proc.poll() is not None:
                fail("the simulator exited: see %s" % self.log.name)
            time.sleep(0.05)
        else:
            fail("the simulator did not start")
        self.base = "http://127.0.0.1:%d" % self.port
        self._token = None

    def token(self):
        if self._token is None:
            form = urllib.parse.urlencode({
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "client_credentials"}).encode()
            with urllib.request.urlopen(self.base + "/auth/token", form) as r:
                answer = json.load(r)
            self._token = "%s %s" % (answer["token_type"],
                                     answer["access_token"])
        return self._token

    def get(self, meter, resource, period=None):
        path = "/smartmeters/%s/%s" % (urllib.parse.quote(meter, safe=""),
                                       resource)
        if period:
            path += "/" + period
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": self.token()})
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def stats(self):
        with urllib.request.urlopen(self.base + "/_control/stats") as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# --- collectd --------------------------------------------------------------------

def plugin_dir(workdir, plugins):
    """A PluginDir holding the built plugin beside Debian's writers."""
    d = os.path.join(workdir, "plugins")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(PLUGIN_SO):
        fail("the plugin is not built: %s" % PLUGIN_SO)
    # collectd loads only regular files, so copies rather than links.
    shutil.copy(PLUGIN_SO, os.path.join(d, "digiwatt.so"))
    for name in plugins:
        shutil.copy(os.path.join(SYSTEM_PLUGINS, name + ".so"),
                    os.path.join(d, name + ".so"))
    return d


def config_head(workdir, host, interval, plugins, write_threads=5):
    """The global options and the logfile plugin of a test collectd living
    in workdir, whose PluginDir holds the built plugin and `plugins`."""
    return [
        'Hostname "%s"' % host,
        'FQDNLookup false',
        'BaseDir "%s"' % workdir,
        'PIDFile "%s/collectd.pid"' % workdir,
        'PluginDir "%s"' % plugin_dir(workdir, ["logfile"] + list(plugins)),
        'TypesDB "/usr/share/collectd/types.db" "%s"' % TYPES_DB,
        'Interval %s' % interval,
        'WriteThreads %d' % write_threads,
        'LoadPlugin logfile',
        '<Plugin logfile>',
        '  LogLevel "info"',
        '  File "%s/collectd.log"' % workdir,
        '  Timestamp true',
        '  PrintSeverity true',
        '</Plugin>',
    ]


def csv_block(workdir):
    """The csv writer's settings: raw values under workdir/csv."""
    return ['<Plugin csv>', '  DataDir "%s/csv"' % workdir,
            '  StoreRates false', '</Plugin>']


def write_config(workdir, lines):
    path = os.path.join(workdir, "collectd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def collectd_config(workdir, digiwatt_block, interval=1,
                    writers=("csv", "rrdtool"), extra="", write_threads=5):
    lines = config_head(workdir, "e2e", interval, writers, write_threads)
    for w in writers:
        lines.append("LoadPlugin %s" % w)
    if "csv" in writers:
        lines += csv_block(workdir)
    if "rrdtool" in writers:
        lines += ['<Plugin rrdtool>', '  DataDir "%s/rrd"' % workdir,
                  '  CacheTimeout 0', '</Plugin>']
    lines += [extra, "LoadPlugin digiwatt", digiwatt_block]
    return write_config(workdir, lines)


def run_collectd(config, seconds):
    """Runs collectd in the foreground for about `seconds`, then stops it
    with SIGTERM (which makes the writers flush) and returns its output."""
    proc = subprocess.Popen([COLLECTD, "-f", "-C", config],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            fail("collectd did not stop within 20 s of SIGTERM")
    return proc.returncode, out.decode(errors="replace")


def csv_rows(workdir, host, plugin_instance, type_, ti):
    """Every (epoch, values) row csv wrote for one identifier, all days."""
    pattern = os.path.join(workdir, "csv", host, "digiwatt-" + plugin_instance,
                           "%s-%s-[0-9][0-9][0-9][0-9]-*" % (type_, ti))
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for row in csv.reader(f):
                if row and row[0] != "epoch":
                    rows.append((float(row[0]), [float(v) for v in row[1:]]))
    return rows


def rrd_last(workdir, host, plugin_instance, type_, ti):
    path = os.path.join(workdir, "rrd", host, "digiwatt-" + plugin_instance,
                        "%s-%s.rrd" % (type_, ti))
    if not os.path.exists(path):
        return None
    out = subprocess.run([RRDTOOL, "lastupdate", path], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    # "  value\n\n1700000000: 12.5"
    names = out[0].split()
    values = out[2].split(":", 1)[1].split()
    return dict(zip(names, [float(v) if v != "U" else None for v in values]))


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="digiwatt-e2e-")
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("KEEP_WORKDIR"):
            print("kept " + self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
