#!/usr/bin/python3
"""The collectd-digiwatt demo: the simulator, the real collectd with the
plugin from the build tree, the csv and rrdtool writers, two meters.

    contrib/demo.py [--seconds N] [--out DIR]

It runs for DEMO_SECONDS seconds (default 20) or until Ctrl-C, printing
one line per read cycle; then it stops collectd with SIGTERM (so the
writers flush), stops the simulator, prints every identifier that was
dispatched with its latest value (read back from the csv files) and draws
PNG graphs from the RRD files with `rrdtool graph`.

Everything lands in DEMO_OUT (default: demo-out/ at the top of the source
tree), which is recreated on every run: collectd.conf, collectd.log, csv/,
rrd/, graphs/*.png, sim.log.

Exit status 0 when every configured resource of both meters arrived and
collectd logged no error of the plugin; 1 otherwise. Python 3 standard
library only."""

import argparse
import csv
import glob
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
import lib  # noqa: E402  (the e2e harness: simulator, PluginDir, config)

HOST = "demo"
INTERVAL_S = 2
METERS = [("125fd56", "home"), ("9f00a1b", "flat")]  # smartmeter ID, Instance
MARKER = ".digiwatt-demo"  # only a directory holding it is ever deleted
APPLIANCE_PERIOD = "last-month"
PERFORMANCE_PERIOD = "last-month"

UNITS = {"digiwatt_energy_kwh": "kWh", "digiwatt_cost": "EUR",
         "digiwatt_trend_percent": "%", "digiwatt_share_percent": "%",
         "digiwatt_performance_kwh": "kWh"}

# type_instance label -> resource, longest label first so that
# "consumption-history" is never taken for "consumption".
LABELS = sorted([
    ("costs", "costs"), ("consumption", "consumption"),
    ("distribution", "consumption-distribution"),
    ("performance", "performance"), ("savings", "savings"),
    ("saving-potential", "savings"),
    ("consumption-history", "consumption-history"),
    ("costs-history", "costs-history"), ("costs-forecast", "costs-history"),
    ("yearly-distribution", "yearly-consumption-distribution"),
    ("yearly-compound", "yearly-compound-consumption"),
    ("yearly-compound-total", "yearly-compound-consumption"),
    ("disaggregation", "disaggregation"),
], key=lambda pair: -len(pair[0]))

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


class DemoError(Exception):
    pass


def say(text=""):
    print(text, flush=True)


# --- the output directory ----------------------------------------------------

def prepare_out(path):
    """Recreates path, refusing to delete anything the demo did not make."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        if os.listdir(path) and not os.path.exists(os.path.join(path, MARKER)):
            raise DemoError("%s exists and was not made by the demo; "
                            "not deleting it (choose another DEMO_OUT)" % path)
        shutil.rmtree(path)
    os.makedirs(os.path.join(path, "graphs"))
    open(os.path.join(path, MARKER), "w").close()
    return path


# --- the simulator and collectd ----------------------------------------------

def start_simulator(out):
    # The simulator stays in the terminal's process group, so a Ctrl-C
    # stops it at once; collectd, in a session of its own, is stopped right
    # after. A read cycle caught in between only logs warnings (failed
    # requests), which do not fail the demo.
    return lib.Simulator(out)


def digiwatt_block(sim):
    lines = ['<Plugin digiwatt>',
             '  <Account "demo">',
             '    BaseURL "%s"' % sim.base,
             '    ClientID "%s"' % sim.client_id,
             '    ClientSecret "%s"' % sim.client_secret,
             '    Timeout 5']
    for meter, instance in METERS:
        lines += ['    <Smartmeter "%s">' % meter,
                  '      Instance "%s"' % instance,
                  '    </Smartmeter>']
    lines += ['  </Account>', '</Plugin>']
    return "\n".join(lines)


def write_config(out, sim):
    conf = lib.collectd_config(out, digiwatt_block(sim), interval=INTERVAL_S)
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace('Hostname "e2e"', 'Hostname "%s"' % HOST, 1))
    return conf


def start_collectd(out, conf):
    # A session of its own: Ctrl-C must not reach collectd, which the demo
    # stops itself with SIGTERM so that the writers flush.
    console = open(os.path.join(out, "collectd.out"), "w")
    proc = subprocess.Popen([lib.COLLECTD, "-f", "-C", conf], stdout=console,
                            stderr=subprocess.STDOUT, start_new_session=True)
    console.close()
    return proc


def stop_collectd(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        say("demo: collectd did not stop within 20 s of SIGTERM; killed it")


# --- reading what the writers wrote ------------------------------------------

def meter_dir(out, writer, instance):
    return os.path.join(out, writer, HOST, "digiwatt-" + instance)


def count_files(path):
    return sum(len(files) for _, _, files in os.walk(path))




def resource_of(ti):
    base = ti[:-len("-latest")] if ti.endswith("-latest") else ti
    for label, resource in LABELS:
        if base == label or base.startswith(label + "-"):
            return resource
    return None


def read_identifiers(out, instance):
    """{(type, type_instance): [(epoch, values)] sorted} from the csv files
    (one file per identifier and day of the value's timestamp)."""
    found = {}
    for path in glob.glob(os.path.join(meter_dir(out, "csv", instance), "*")):
        name = os.path.basename(path)
        m = re.match(r"^([a-z_]+)-(.+)-\d{4}-\d{2}-\d{2}$", name)
        if not m:
            continue
        with open(path) as f:
            for row in csv.reader(f):
                if row and row[0] != "epoch":
                    found.setdefault((m.group(1), m.group(2)), []).append(
                        (float(row[0]), [float(v) for v in row[1:]]))
    for rows in found.values():
        rows.sort()
    return found


def fmt_values(type_, values):
    if type_ == "digiwatt_performance_kwh":
        return "min %g  max %g  user %g" % tuple(values)
    return "%g" % values[0]


def print_table(out, tables):
    say()
    say("Dispatched identifiers, latest value of each (read from %s):" %
        os.path.join(out, "csv"))
    say("(plugin \"digiwatt\", host \"%s\"; a month-stamped history value "
        "shows the newest month sent so far: the plugin sends one month per "
        "series and cycle)" % HOST)
    for meter, instance in METERS:
        by_resource = {}
        for (type_, ti), rows in tables[instance].items():
            by_resource.setdefault(resource_of(ti), []).append(
                (ti, type_, rows))
        for resource in lib.RESOURCES + [None]:
            entries = sorted(by_resource.get(resource, []))
            if not entries:
                continue
            say()
            say("== %s: %s (%d identifiers)" %
                (instance, resource or "unclassified", len(entries)))
            width = max(len(ti) for ti, _, _ in entries)
            for ti, type_, rows in entries:
                epoch, values = rows[-1]
                note = ""
                if epoch < time.time() - 86400:  # a month stamp
                    note = "  (month %s, %d rows)" % (
                        time.strftime("%Y-%m", time.gmtime(epoch)), len(rows))
                say("   %-25s %-*s %s %s%s" % (type_, width, ti,
                                             fmt_values(type_, values),
                                             UNITS.get(type_, ""), note))


def check_arrival(tables):
    """Names what did not arrive; an empty list when all of it did."""
    missing = []
    for meter, instance in METERS:
        got = {resource_of(ti) for _, ti in tables[instance]}
        if not got:
            missing.append("%s (%s): no values at all" % (instance, meter))
            continue
        for resource in lib.RESOURCES:
            if resource not in got:
                missing.append("%s (%s): nothing of %s" %
                               (instance, meter, resource))
    return missing


def log_problems(out):
    """(errors, warnings): the plugin's log lines of those severities."""
    errors, warnings = [], []
    for name in ("collectd.log", "collectd.out"):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        for line in open(path, errors="replace"):
            if "digiwatt plugin" not in line:
                continue
            low = line.lower()
            if "[error]" in low or (name == "collectd.out" and "error" in low):
                errors.append(line.rstrip())
            elif "[warning]" in low:
                warnings.append(line.rstrip())
    return errors, warnings


# --- the live view -----------------------------------------------------------

def live_line(out, sim, elapsed):
    head = "[%3ds] %d csv / %d rrd files" % (
        elapsed, count_files(os.path.join(out, "csv")),
        count_files(os.path.join(out, "rrd")))
    try:
        head += ", %d API requests" % sim.stats()["requests"]
    except (OSError, ValueError, KeyError):
        pass
    parts = [head]
    for meter, instance in METERS:
        # One csv row per cycle: the count shows the cycles arriving.
        rows = lib.csv_rows(out, HOST, instance, "digiwatt_energy_kwh",
                            "consumption-yesterday")
        parts.append("%s %s" % (instance, "%g kWh, %d row%s" % (
            max(rows)[1][0], len(rows), "" if len(rows) == 1 else "s")
            if rows else "-"))
    return " | ".join(parts)


def log_tail(out, lines=15):
    text = ""
    for name in ("collectd.out", "collectd.log"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            text += "".join(open(path, errors="replace").readlines()[-lines:])
    return text.rstrip() or "(collectd wrote nothing)"


def watch(out, proc, sim, seconds):
    """Prints one line per cycle until seconds have passed."""
    start = time.time()
    tick = start
    while True:
        tick += INTERVAL_S
        now = time.time()
        if tick > start + seconds:
            time.sleep(max(0.0, start + seconds - now))
            return
        time.sleep(max(0.0, tick - now))
        if proc.poll() is not None:
            raise DemoError("collectd exited early (status %d):\n%s" %
                            (proc.returncode, log_tail(out)))
        say(live_line(out, sim, time.time() - start))


# --- graphs ------------------------------------------------------------------

def esc(text):
    """rrdtool separates arguments with ':'; paths and legends escape it."""
    return text.replace("\\", "\\\\").replace(":", "\\:")


def rrd_file(out, instance, type_, ti):
    path = os.path.join(meter_dir(out, "rrd", instance),
                        "%s-%s.rrd" % (type_, ti))
    return path if os.path.exists(path) else None


class Graph:
    def __init__(self, path, title, vertical_label, start, end,
                 logarithmic=False):
        self.path = path
        self.args = [lib.RRDTOOL, "graph", path, "--imgformat", "PNG",
                     "--start", str(int(start)), "--end", str(int(end)),
                     "--width", "760", "--height", "260",
                     "--title", title, "--vertical-label", vertical_label,
                     "--units-exponent", "0", "--alt-autoscale-max"]
        # A running yearly total next to monthly figures needs a log scale
        # to keep every line readable; the others start at zero.
        self.args += (["--logarithmic", "--units=si"] if logarithmic
                      else ["--lower-limit", "0"])
        self.defs = 0

    def define(self, rrd, ds="value"):
        name = "v%d" % self.defs
        self.defs += 1
        self.args.append("DEF:%s=%s:%s:AVERAGE" % (name, esc(rrd), ds))
        return name

    def last(self, vname):
        self.args.append("VDEF:%s_last=%s,LAST" % (vname, vname))
        return vname + "_last"

    def draw(self):
        run = subprocess.run(self.args, capture_output=True, text=True)
        if run.returncode != 0:
            raise DemoError("rrdtool graph %s: %s" %
                            (os.path.basename(self.path),
                             (run.stderr or run.stdout).strip()))
        return self.path


def graph_consumption(out, instance, graph):
    drawn = 0
    for i, period in enumerate(lib.PERIODS):
        rrd = rrd_file(out, instance, "digiwatt_energy_kwh",
                       "consumption-" + period)
        if rrd is None:
            continue
        v = graph.define(rrd)
        graph.args += ["LINE2:%s%s:%s" % (v, PALETTE[i], period.ljust(16)),
                       "GPRINT:%s:%%8.2lf kWh\\l" % graph.last(v)]
        drawn += 1
    return drawn


def nice_step(x):
    """The smallest 1, 2 or 5 times a power of ten that is at least x."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x)


def graph_costs(out, instance, graph, tables):
    """Costs per period on the left axis, their trend on the right one.
    Both axes share eight grid lines, so each line has a round label on
    either side."""
    periods = {"costs-" + p for p in lib.PERIODS}
    latest = {(t, ti): rows[-1][1][0]
              for (t, ti), rows in tables[instance].items() if ti in periods}
    costs = [v for (t, _), v in latest.items() if t == "digiwatt_cost"]
    trends = [abs(v) for (t, _), v in latest.items()
              if t == "digiwatt_trend_percent"]
    step = nice_step(max(costs + [1.0]) * 1.1 / 8)
    span = 20.0
    while span < max(trends + [0.0]) * 1.05:
        span *= 2
    scale = 2 * span / (8 * step)  # right = left * scale - span
    graph.args += ["--upper-limit", "%g" % (8 * step),
                   "--rigid", "--y-grid", "%g:1" % step,
                   "--right-axis", "%g:%g" % (scale, -span),
                   "--right-axis-label", "trend (%)",
                   "--right-axis-format", "%.0lf",
                   "COMMENT:period            cost        trend\\l"]
    drawn = 0
    for i, period in enumerate(lib.PERIODS):
        cost = rrd_file(out, instance, "digiwatt_cost", "costs-" + period)
        if cost is None:
            continue
        c = graph.define(cost)
        graph.args += ["LINE2:%s%s:%s" % (c, PALETTE[i], period.ljust(16)),
                       "GPRINT:%s:%%8.2lf EUR" % graph.last(c)]
        trend = rrd_file(out, instance, "digiwatt_trend_percent",
                         "costs-" + period)
        if trend is not None:
            t = graph.define(trend)
            graph.args += ["CDEF:%s_axis=%s,%g,+,%g,/" % (t, t, span, scale),
                           "LINE1:%s_axis%s::dashes" % (t, PALETTE[i]),
                           "GPRINT:%s:%%+8.1lf %%%%\\l" % graph.last(t)]
        else:
            graph.args.append("COMMENT:      (no trend)\\l")
        drawn += 1
    graph.args.append("COMMENT:solid\\: cost (left axis), dashed\\: trend "
                      "against the previous period (right axis)\\l")
    return drawn


def graph_appliances(out, instance, graph):
    prefix = "distribution-%s-" % APPLIANCE_PERIOD
    pattern = os.path.join(meter_dir(out, "rrd", instance),
                           "digiwatt_energy_kwh-%s*.rrd" % prefix)
    drawn = 0
    for i, rrd in enumerate(sorted(glob.glob(pattern))):
        ti = os.path.basename(rrd)[len("digiwatt_energy_kwh-"):-len(".rrd")]
        appliance = ti[len(prefix):]
        v = graph.define(rrd)
        graph.args += ["AREA:%s%s:%s%s" % (v, PALETTE[i % len(PALETTE)],
                                           esc(appliance.ljust(26)),
                                           ":STACK" if drawn else ""),
                       "GPRINT:%s:%%8.2lf kWh" % graph.last(v)]
        share = rrd_file(out, instance, "digiwatt_share_percent", ti)
        if share is not None:
            graph.args.append("GPRINT:%s:%%6.1lf %%%%" %
                              graph.last(graph.define(share)))
        graph.args.append("COMMENT:\\l")
        drawn += 1
    return drawn


def graph_history(out, instance, graph):
    series = [("digiwatt_energy_kwh", "consumption-history-latest", "kWh"),
              ("digiwatt_energy_kwh", "yearly-compound-latest", "kWh"),
              ("digiwatt_energy_kwh", "yearly-compound-total-latest", "kWh"),
              ("digiwatt_cost", "costs-history-latest", "EUR"),
              ("digiwatt_cost", "costs-forecast", "EUR")]
    drawn = 0
    for i, (type_, ti, unit) in enumerate(series):
        rrd = rrd_file(out, instance, type_, ti)
        if rrd is None:
            continue
        v = graph.define(rrd)
        # consumption-history and yearly-compound hold the same monthly
        # figure: the dashes let both lines show.
        style = ":dashes" if ti in ("costs-forecast",
                                    "yearly-compound-latest") else ""
        graph.args += ["LINE2:%s%s:%s%s" % (v, PALETTE[i], ti.ljust(30),
                                            style),
                       "GPRINT:%s:%%10.2lf %s\\l" % (graph.last(v), unit)]
        drawn += 1
    return drawn


def graph_performance(out, instance, graph):
    """The min..max band of similar users and this user, for one period;
    the legend lists every period."""
    drawn = 0
    rrd = rrd_file(out, instance, "digiwatt_performance_kwh",
                   "performance-" + PERFORMANCE_PERIOD)
    if rrd is not None:
        lo = graph.define(rrd, "min")
        hi = graph.define(rrd, "max")
        user = graph.define(rrd, "user")
        graph.args += ["CDEF:band=%s,%s,-" % (hi, lo),
                       "AREA:%s" % lo,
                       "AREA:band#aec7e8:similar users, min to max "
                       "(%s)\\l:STACK" % PERFORMANCE_PERIOD,
                       "LINE2:%s#d62728:this user (%s)\\l" %
                       (user, PERFORMANCE_PERIOD)]
        drawn += 1
    graph.args.append("COMMENT:period                 min        max       "
                      "user\\l")
    for period in lib.PERIODS + ["savings"]:
        ti = "savings" if period == "savings" else "performance-" + period
        rrd = rrd_file(out, instance, "digiwatt_performance_kwh", ti)
        if rrd is None:
            continue
        label = "savings (30 days)" if period == "savings" else period
        graph.args.append("COMMENT:%s" % label.ljust(18))
        for ds in ("min", "max", "user"):
            graph.args.append("GPRINT:%s:%%10.2lf" %
                              graph.last(graph.define(rrd, ds)))
        graph.args.append("COMMENT: kWh\\l")
    return drawn


GRAPHS = [  # file suffix, title, vertical label, function, log scale
    ("consumption", "consumption per period", "kWh", graph_consumption,
     False),
    ("costs", "costs per period, with trend", "EUR", graph_costs, False),
    ("appliances", "appliance breakdown (%s, stacked)" % APPLIANCE_PERIOD,
     "kWh", graph_appliances, False),
    ("history", "monthly histories, newest month (-latest)", "kWh / EUR",
     graph_history, True),
    ("performance", "performance against similar users", "kWh",
     graph_performance, False),
]


def draw_graphs(out, tables, start, end):
    paths = []
    for meter, instance in METERS:
        for suffix, title, label, function, logarithmic in GRAPHS:
            graph = Graph(os.path.join(out, "graphs",
                                       "%s-%s.png" % (instance, suffix)),
                          "%s (%s): %s" % (instance, meter, title), label,
                          start, end, logarithmic)
            args = (out, instance, graph)
            if function is graph_costs:
                args += (tables,)
            if function(*args) == 0:
                raise DemoError("%s: no RRD file for the %s graph" %
                                (instance, suffix))
            paths.append(graph.draw())
    return paths


# --- main --------------------------------------------------------------------

def options():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("DEMO_SECONDS", "20")),
                        help="how long collectd runs (DEMO_SECONDS, 20)")
    parser.add_argument("--out", default=os.environ.get(
        "DEMO_OUT", os.path.join(lib.TOP_BUILDDIR, "demo-out")),
                        help="output directory, recreated (DEMO_OUT, "
                             "demo-out/ at the top of the tree)")
    return parser.parse_args()


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def run(args):
    out = prepare_out(args.out)
    signal.signal(signal.SIGTERM, on_sigterm)
    sim = start_simulator(out)
    proc = None
    start = time.time()
    try:
        say("simulator: %s (log: %s)" % (sim.base,
                                         os.path.join(out, "sim.log")))
        conf = write_config(out, sim)
        proc = start_collectd(out, conf)
        say("collectd:  pid %d, Interval %d s, config %s" %
            (proc.pid, INTERVAL_S, conf))
        say("meters:    %s; running %g s (DEMO_SECONDS), Ctrl-C stops "
            "earlier" % (", ".join("%s as \"%s\"" % m for m in METERS),
                         args.seconds))
        say("every %d s: files written, requests the simulator served, and "
            "per meter the newest consumption-yesterday with its csv row "
            "count" % INTERVAL_S)
        watch(out, proc, sim, args.seconds)
    except KeyboardInterrupt:
        say("\ninterrupted")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the stop finish
        say("stopping collectd (SIGTERM: the writers flush) and the "
            "simulator")
        stop_collectd(proc)
        sim.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    end = time.time()

    tables = {instance: read_identifiers(out, instance)
              for _, instance in METERS}
    print_table(out, tables)
    errors, warnings = log_problems(out)
    missing = check_arrival(tables)
    paths = []
    if not missing:  # every graph has its RRD files
        say()
        paths = draw_graphs(out, tables, start - INTERVAL_S, end)
        for path in paths:
            say("graph: %s" % path)
    say()
    say("output: %s (csv/, rrd/, collectd.log, graphs/)" % out)
    for line in warnings[:10]:
        say("warning: " + line)
    for line in errors[:20]:
        say("error: " + line)
    for line in missing:
        say("missing: " + line)
    if errors or missing:
        say("demo: FAILED (%d plugin errors in the log, %d resources "
            "missing)" % (len(errors), len(missing)))
        return 1
    say("demo: ok, %d identifiers of %d meters, %d graphs" %
        (sum(len(t) for t in tables.values()), len(METERS), len(paths)))
    return 0


def main():
    args = options()
    try:
        return run(args)
    except DemoError as e:
        say("demo: " + str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
