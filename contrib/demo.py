#!/usr/bin/python3
"""The collectd-digiwatt demo: the simulator, the real collectd with the
plugin from the build tree, the csv and rrdtool writers, two meters.

    contrib/demo.py [--seconds N] [--out DIR] [--currency CODE]

It runs collectd for DEMO_SECONDS seconds (default 20, enough for the
twelve history months: the plugin sends one month per series and read
cycle, and the demo reads every second) or until Ctrl-C; then it stops
collectd with SIGTERM (so the writers flush) and the simulator, writes
every dispatched identifier with its latest value to values.txt (read
back from the csv files, which keep each value's timestamp) and draws,
per meter, with gnuplot:

    <meter>-months.png         consumption (kWh) and costs per month, the
                               last twelve months, from the month-stamped
                               history values
    <meter>-appliances.png     each appliance's share of last month's
                               consumption (%, with its kWh)
    <meter>-similar-users.png  the meter against the most frugal and the
                               most consuming similar users, per period
    <meter>-budget.png         this month's costs so far and the API's
                               forecast against the budget of
                               contrib/alerting/threshold.conf

Beside each picture, <picture>.dat holds the numbers drawn. Amounts are
labelled with DEMO_CURRENCY (default EUR: the API sends none).

Everything lands in DEMO_OUT (default: demo-out/ at the top of the source
tree), which is recreated on every run: collectd.conf, collectd.log, csv/,
rrd/, values.txt, pictures/, sim.log, and setup.log when demo.sh passes
its log of the installation and the build (--setup-log).

Its own output is a line per step. Exit status 0 when every configured
resource of both meters arrived and collectd logged no error of the
plugin; 1 otherwise. Python 3 standard library and gnuplot only."""

import argparse
import csv
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import lib  # noqa: E402  (the e2e harness: simulator, PluginDir, config)

HOST = "demo"
INTERVAL_S = 1
METERS = [("125fd56", "home"), ("9f00a1b", "flat")]  # smartmeter ID, Instance
MARKER = ".digiwatt-demo"  # only a directory holding it is ever deleted
APPLIANCE_PERIOD = "last-month"
HISTORY_MONTHS = 12
GNUPLOT = os.environ.get("GNUPLOT") or "/usr/bin/gnuplot"
THRESHOLD_CONF = os.path.join(HERE, "alerting", "threshold.conf")
PICTURES = ["months", "appliances", "similar-users", "budget"]
WIDTH, HEIGHT = 1000, 560  # of every picture, in pixels

UNITS = {"digiwatt_energy_kwh": "kWh", "digiwatt_cost": "<currency>",
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

# The colours of the pictures; tests/e2e/test_demo.py looks for them.
COLOURS = {"consumption": "#1f77b4", "costs": "#ff7f0e",
           "share": "#2ca02c", "frugal": "#98df8a", "you": "#d62728",
           "consuming": "#7f7f7f", "ok": "#2ca02c", "warning": "#ff7f0e",
           "failure": "#d62728"}


class DemoError(Exception):
    pass


def say(text):
    print("demo: " + text, flush=True)


# --- the output directory ----------------------------------------------------

def prepare_out(path):
    """Recreates path, refusing to delete anything the demo did not make."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        if os.listdir(path) and not os.path.exists(os.path.join(path, MARKER)):
            raise DemoError("%s exists and was not made by the demo; "
                            "not deleting it (choose another DEMO_OUT)" % path)
        shutil.rmtree(path)
    os.makedirs(os.path.join(path, "pictures"))
    open(os.path.join(path, MARKER), "w").close()
    return path


# --- the simulator and collectd ----------------------------------------------

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
        say("collectd did not stop within 20 s of SIGTERM; killed it")


def log_tail(out, lines=15):
    text = ""
    for name in ("collectd.out", "collectd.log"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            text += "".join(open(path, errors="replace").readlines()[-lines:])
    return text.rstrip() or "(collectd wrote nothing)"


def watch(out, proc, seconds):
    """Waits `seconds`, failing early if collectd exits."""
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(min(0.5, max(0.0, end - time.time())))
        if proc.poll() is not None:
            raise DemoError("collectd exited early (status %d):\n%s" %
                            (proc.returncode, log_tail(out)))


# --- reading what the writers wrote ------------------------------------------

def meter_dir(out, writer, instance):
    return os.path.join(out, writer, HOST, "digiwatt-" + instance)


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


def latest(table, type_, ti):
    rows = table.get((type_, ti))
    return rows[-1][1] if rows else None


def months(table, type_, ti):
    """{"YYYY-MM": value} of a month-stamped history series."""
    return {time.strftime("%Y-%m", time.gmtime(epoch)): values[0]
            for epoch, values in table.get((type_, ti), [])}


def fmt_values(type_, values):
    if type_ == "digiwatt_performance_kwh":
        return "min %g  max %g  user %g" % tuple(values)
    return "%g" % values[0]


def write_table(path, tables, currency):
    """Every identifier with its latest value, by meter and resource."""
    lines = ["Dispatched identifiers, latest value of each (plugin "
             "\"digiwatt\", host \"%s\", read from the csv files; a month-"
             "stamped history value shows the newest month sent)" % HOST]
    for meter, instance in METERS:
        by_resource = {}
        for (type_, ti), rows in tables[instance].items():
            by_resource.setdefault(resource_of(ti), []).append(
                (ti, type_, rows))
        for resource in lib.RESOURCES + [None]:
            entries = sorted(by_resource.get(resource, []))
            if not entries:
                continue
            lines += ["", "== %s: %s (%d identifiers)" %
                      (instance, resource or "unclassified", len(entries))]
            width = max(len(ti) for ti, _, _ in entries)
            for ti, type_, rows in entries:
                epoch, values = rows[-1]
                note = ""
                if epoch < time.time() - 86400:  # a month stamp
                    note = "  (month %s, %d rows)" % (
                        time.strftime("%Y-%m", time.gmtime(epoch)), len(rows))
                unit = UNITS.get(type_, "").replace("<currency>", currency)
                lines.append("   %-25s %-*s %s %s%s" % (
                    type_, width, ti, fmt_values(type_, values), unit, note))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


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


def budget_limits(path=THRESHOLD_CONF):
    """(WarningMax, FailureMax) of costs-this-month in threshold.conf, the
    budget that collectd's threshold plugin alerts on."""
    with open(path) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    for body in re.findall(r'<Type\s+"digiwatt_cost">(.*?)</Type>', text,
                           re.S | re.I):
        if re.search(r'Instance\s+"costs-this-month"', body, re.I):
            found = [re.search(r"%s\s+([0-9.]+)" % k, body, re.I)
                     for k in ("WarningMax", "FailureMax")]
            if all(found):
                return tuple(float(m.group(1)) for m in found)
    raise DemoError("%s: no WarningMax and FailureMax for costs-this-month"
                    % path)


# --- the numbers behind the pictures -----------------------------------------

def picture_data(table, limits):
    """{picture: (header, rows)} for one meter, from its csv values."""
    kwh = months(table, "digiwatt_energy_kwh", "consumption-history")
    cost = months(table, "digiwatt_cost", "costs-history")
    shown = sorted(set(kwh) & set(cost))[-HISTORY_MONTHS:]
    data = {"months": ("month\tkWh\tcosts",
                       [(m, kwh[m], cost[m]) for m in shown])}
    prefix = "distribution-%s-" % APPLIANCE_PERIOD
    shares = []
    for (type_, ti), rows in table.items():
        if type_ == "digiwatt_share_percent" and ti.startswith(prefix):
            energy = latest(table, "digiwatt_energy_kwh", ti)
            shares.append((ti[len(prefix):], rows[-1][1][0],
                           energy[0] if energy else float("nan")))
    data["appliances"] = ("appliance\tpercent\tkWh",
                          sorted(shares, key=lambda r: -r[1]))
    perf = []
    for period in lib.PERIODS:
        v = latest(table, "digiwatt_performance_kwh", "performance-" + period)
        if v:
            perf.append((period, v[0], v[2], v[1]))
    data["similar-users"] = ("period\tmost_frugal\tyou\tmost_consuming",
                             perf)
    budget = []
    for label, ti in (("so far", "costs-this-month"),
                      ("forecast", "costs-forecast")):
        v = latest(table, "digiwatt_cost", ti)
        if v:
            state = "ok" if v[0] < limits[0] else \
                "warning" if v[0] < limits[1] else "failure"
            budget.append((label, v[0], state))
    data["budget"] = ("what\tcosts\tstate\t# warning %g failure %g" % limits,
                      budget)
    return data


def write_data(path, header, rows):
    with open(path, "w") as f:
        f.write("# " + header + "\n")
        for row in rows:
            f.write("\t".join(v if isinstance(v, str) else "%.6g" % v
                              for v in row) + "\n")


# --- the pictures ------------------------------------------------------------

def gp_text(text):
    """A gnuplot string literal (double quotes: \\n is a new line)."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def gp_head(png, title, top):
    """A picture's settings; top: the largest value drawn (the y axis
    leaves room above it for the labels)."""
    return ["set output %s" % gp_text(png), "reset",
            "set title %s font ',13'" % gp_text(title),
            "set style fill solid 0.85 border -1", "set boxwidth 0.7",
            "set grid ytics lc rgb '#dddddd'", "set key off",
            "set yrange [0:%g]" % (top * 1.15 or 1), "set bmargin 4",
            "set offsets 0.5, 0.5, 0, 0", "set datafile separator tab"]


def bars(dat, column, colour, fmt, extra=""):
    """A bar per row at x = row number, labelled with its value."""
    return ("%s using 0:%d:xtic(1) with boxes lc rgb '%s'%s, "
            "'' using 0:%d:(sprintf('%s', $%d)) with labels offset 0,0.8 "
            "notitle" % (gp_text(dat), column, colour, extra, column, fmt,
                         column))


def gp_months(png, dat, instance, meter, currency, rows):
    out = gp_head(png, "", max(r[1] for r in rows))
    out += ["unset title", "set bmargin 2",
            "set multiplot layout 2,1 title %s font ',13'" %
            gp_text("%s (%s): the last %d months" % (instance, meter,
                                                     len(rows))),
            "set ylabel 'kWh'", "set title 'consumption per month (kWh)'",
            "plot " + bars(dat, 2, COLOURS["consumption"], "%.0f"),
            "set yrange [0:%g]" % (max(r[2] for r in rows) * 1.15),
            "set ylabel %s" % gp_text(currency),
            "set title %s" % gp_text("costs per month (%s)" % currency),
            "plot " + bars(dat, 3, COLOURS["costs"], "%.2f"),
            "unset multiplot"]
    return out


def gp_appliances(png, dat, instance, meter, rows):
    out = gp_head(png, "%s (%s): appliance shares of consumption, %s" %
                  (instance, meter, APPLIANCE_PERIOD),
                  max(r[1] for r in rows))
    out += ["set ylabel '% of the period''s kWh'",
            "plot %s using 0:2:xtic(stringcolumn(1).\"\\n\".sprintf("
            "'%%.1f kWh', $3)) with boxes lc rgb '%s', '' using 0:2:"
            "(sprintf('%%.1f %%%%', $2)) with labels offset 0,0.8 notitle" %
            (gp_text(dat), COLOURS["share"])]
    return out


def gp_similar(png, dat, instance, meter, rows):
    """Three bars per period: most frugal, you, most consuming."""
    out = gp_head(png, "%s (%s): you against similar users (kWh)" %
                  (instance, meter), max(max(r[1:]) for r in rows))
    out += ["set ylabel 'kWh'", "set boxwidth 0.9", "set key top left",
            "set xtics scale 0", "set offsets 0.8, 0.8, 0, 0"]
    plots = []
    for i, (col, name) in enumerate(((2, "frugal"), (3, "you"),
                                     (4, "consuming"))):
        label = {"frugal": "most frugal similar user", "you": "you",
                 "consuming": "most consuming similar user"}[name]
        x = "($0*4+%d)" % i
        plots.append("%s using %s:%d%s with boxes lc rgb '%s' title %s" % (
            gp_text(dat) if i == 0 else "''", x, col,
            ":xtic(1)" if i == 1 else "", COLOURS[name], gp_text(label)))
        plots.append("'' using %s:%d:(sprintf('%%.0f', $%d)) with labels "
                     "offset 0,0.8 font ',8' notitle" % (x, col, col))
    out.append("plot " + ", ".join(plots))
    return out


def gp_budget(png, dat, instance, meter, currency, limits, rows):
    out = gp_head(png, "%s (%s): this month against the budget (%s)" %
                  (instance, meter, currency),
                  max([limits[1] * 1.1] + [r[1] for r in rows]))
    out += ["set ylabel %s" % gp_text(currency), "set boxwidth 0.5"]
    for value, name, what in ((limits[0], "warning", "WarningMax"),
                              (limits[1], "failure", "FailureMax")):
        out += ["set arrow from graph 0, first %g to graph 1, first %g "
                "nohead dt 2 lw 2 lc rgb '%s' front" % (value, value,
                                                       COLOURS[name]),
                "set label %s at graph 0.01, first %g offset 0,0.6 "
                "tc rgb '%s' front" % (gp_text(
                    "budget %s %g %s (threshold.conf %s)" %
                    (name, value, currency, what)), value, COLOURS[name])]
    out.append("plot %s using 0:2:(stringcolumn(3) eq 'ok' ? 0x%s : "
               "stringcolumn(3) eq 'warning' ? 0x%s : 0x%s):xtic(1) with "
               "boxes lc rgb variable, '' using 0:2:(sprintf('%%.2f %s', "
               "$2)) with labels offset 0,0.8 notitle" % (
                   gp_text(dat), COLOURS["ok"][1:], COLOURS["warning"][1:],
                   COLOURS["failure"][1:], currency.replace("'", "")))
    return out


def draw_pictures(out, tables, currency, limits):
    """Writes the .dat files and draws every picture with one gnuplot
    run; returns the PNG paths."""
    pictures = os.path.join(out, "pictures")
    # noenhanced: appliance names keep their underscores
    script = ["set terminal pngcairo noenhanced size %d,%d "
              "font 'DejaVu Sans,10'" % (WIDTH, HEIGHT)]
    paths = []
    for meter, instance in METERS:
        data = picture_data(tables[instance], limits)
        for name in PICTURES:
            header, rows = data[name]
            if not rows:
                raise DemoError("%s: no values for the %s picture" %
                                (instance, name))
            base = os.path.join(pictures, "%s-%s" % (instance, name))
            write_data(base + ".dat", header, rows)
            png, dat = base + ".png", base + ".dat"
            script += {
                "months": lambda: gp_months(png, dat, instance, meter,
                                            currency, rows),
                "appliances": lambda: gp_appliances(png, dat, instance,
                                                    meter, rows),
                "similar-users": lambda: gp_similar(png, dat, instance,
                                                    meter, rows),
                "budget": lambda: gp_budget(png, dat, instance, meter,
                                            currency, limits, rows),
            }[name]()
            paths.append(png)
    script.append("set output")
    path = os.path.join(pictures, "pictures.gp")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    try:
        run = subprocess.run([GNUPLOT, path], capture_output=True, text=True)
    except OSError as e:
        raise DemoError("gnuplot: %s (install gnuplot-nox, see "
                        "contrib/deps/core.txt)" % e)
    if run.returncode != 0 or run.stderr.strip():
        raise DemoError("gnuplot %s: %s" % (path, (run.stderr or
                                                    run.stdout).strip()))
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
    parser.add_argument("--currency",
                        default=os.environ.get("DEMO_CURRENCY", "EUR"),
                        help="the currency amounts are labelled with "
                             "(DEMO_CURRENCY, EUR)")
    parser.add_argument("--setup-log",
                        help="demo.sh's log of the installation and the "
                             "build, moved into the output directory")
    return parser.parse_args()


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def collect(out, args):
    """Runs the simulator and collectd; returns when both have stopped."""
    signal.signal(signal.SIGTERM, on_sigterm)
    # The simulator stays in the terminal's process group, so a Ctrl-C
    # stops it at once; collectd, in a session of its own, is stopped
    # right after. A read cycle caught in between only logs warnings.
    sim = lib.Simulator(out)
    proc = None
    try:
        say("simulator serving the API on %s (log: sim.log)" % sim.base)
        conf = write_config(out, sim)
        proc = start_collectd(out, conf)
        say("collectd reading %s every %d s, for %g s (Ctrl-C stops "
            "earlier; log: collectd.log)" % (
                " and ".join('%s as "%s"' % m for m in METERS), INTERVAL_S,
                args.seconds))
        watch(out, proc, args.seconds)
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the stop finish
        stop_collectd(proc)
        sim.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def summary(instance, meter, table, currency, limits):
    kwh = latest(table, "digiwatt_energy_kwh", "consumption-this-month")
    cost = latest(table, "digiwatt_cost", "costs-this-month")
    forecast = latest(table, "digiwatt_cost", "costs-forecast")
    if not (kwh and cost and forecast):
        return "%s (%s): this month's values did not arrive" % (instance,
                                                                 meter)
    verdict = "within the budget" if forecast[0] < limits[0] else \
        "above the warning limit" if forecast[0] < limits[1] else \
        "above the budget"
    return ("%s (%s): %.1f kWh and %.2f %s so far this month; forecast "
            "%.2f %s, %s (warning %g, failure %g)" % (
                instance, meter, kwh[0], cost[0], currency, forecast[0],
                currency, verdict, limits[0], limits[1]))


def run(args):
    out = prepare_out(args.out)
    if args.setup_log and os.path.exists(args.setup_log):
        shutil.move(args.setup_log, os.path.join(out, "setup.log"))
    limits = budget_limits()
    say("output in %s" % out)
    collect(out, args)
    tables = {instance: read_identifiers(out, instance)
              for _, instance in METERS}
    write_table(os.path.join(out, "values.txt"), tables, args.currency)
    errors, warnings = log_problems(out)
    missing = check_arrival(tables)
    got = min(len(months(tables[i], "digiwatt_energy_kwh",
                         "consumption-history")) for _, i in METERS)
    say("collectd stopped; %d identifiers, %d of %d history months (all "
        "values: values.txt)" % (sum(len(t) for t in tables.values()), got,
                                 HISTORY_MONTHS))
    for meter, instance in METERS:
        say(summary(instance, meter, tables[instance], args.currency,
                    limits))
    for line in warnings[:5]:
        say("warning: " + line)
    for line in errors[:10]:
        say("error: " + line)
    for line in missing:
        say("missing: " + line)
    if errors or missing:
        say("FAILED (%d plugin errors in collectd.log, %d resources "
            "missing)" % (len(errors), len(missing)))
        return 1
    paths = draw_pictures(out, tables, args.currency, limits)
    say("%d pictures in %s: %s" % (
        len(paths), os.path.join(out, "pictures"),
        ", ".join(os.path.basename(p) for p in paths)))
    return 0


def main():
    args = options()
    try:
        return run(args)
    except DemoError as e:
        say(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
