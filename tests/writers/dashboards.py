"""Running the Grafana dashboards of contrib/grafana/ the way Grafana
would: every query and template variable, with the variables substituted
as Grafana formats them for each store, over the panel's time range, sent
to the real store (InfluxDB's /query, graphite-web's /render, Prometheus's
/api/v1/query and query_range). The store answers; this module only
checks the answer:

- every query returns at least one series with a value (a query that
  returns nothing fails the test with its text);
- every series is named "<meter> ..." after one of the selected meters
  (so a comparison of several meters can tell them apart), and the
  panel's renameByRegex steps, applied to those names, leave no raw
  type_instance behind;
- with every meter selected (the Meter variable is multi-select), the
  queries of consumption-this-month (which every test meter has) return
  a series for each meter."""

import json
import os
import re
import time

import wlib

GRAFANA_DIR = os.path.join(wlib.lib.TOP_SRCDIR, "contrib", "grafana")
BACKENDS = ("influxdb", "graphite", "prometheus")
PERIODS = wlib.lib.PERIODS
MAX_DATA_POINTS = 600  # Grafana sends the panel's width in pixels
DEFAULT_RANGE_S = 300  # the dashboard range the tests choose: last 5 min
# What renameByRegex must have removed from a series name.
RAW = re.compile(r"(consumption|costs|distribution|disaggregation|yearly|"
                 r"savings|saving-potential|performance)-|-latest$")


def load(backend):
    with open(os.path.join(GRAFANA_DIR, "digiwatt-%s.json" % backend)) as f:
        return json.load(f)


def panels(dashboard):
    """Every panel, rows' nested panels included, rows themselves not."""
    out = []
    for p in dashboard["panels"]:
        if p.get("type") == "row":
            out += p.get("panels", [])
        else:
            out.append(p)
    return out


def query_text(target):
    return target.get("query") or target.get("target") or \
        target.get("expr") or ""


def targets(dashboard):
    """(panel, target) for every query of the dashboard."""
    return [(p, t) for p in panels(dashboard) for t in p.get("targets", [])]


def variable(dashboard, name):
    for v in dashboard["templating"]["list"]:
        if v["name"] == name:
            return v
    raise KeyError(name)


def substitute(text, values):
    """Grafana's $name, ${name} and [[name]] forms, longest names first."""
    for name in sorted(values, key=len, reverse=True):
        value = values[name]
        text = text.replace("${%s}" % name, value)
        text = text.replace("[[%s]]" % name, value)
        text = re.sub(r"\$%s(?![A-Za-z0-9_])" % re.escape(name),
                      lambda _: value, text)
    return text


def uses(text, name):
    return bool(re.search(r"\$\{?%s(?![A-Za-z0-9_])|\[\[%s\]\]" %
                          (name, name), text))


def unresolved(text):
    """Whether a variable reference is left ($name, ${name}, [[name]])."""
    return bool(re.search(r"\$\{?[A-Za-z_]|\[\[", text))


def multi_value(backend, values):
    """A multi-select variable's values as Grafana writes them into a
    query of the store: a regex alternation or a Graphite glob."""
    if len(values) == 1:
        return values[0]
    if backend == "graphite":
        return "{%s}" % ",".join(values)
    return "(%s)" % "|".join(re.sub(r"[\\^$*+?.()|[\]{}/]", r"\\\g<0>", v)
                             for v in values)


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
         "M": 31 * 86400, "y": 366 * 86400}


def seconds(text):
    m = re.fullmatch(r"(\d+)([smhdwMy])", text)
    if not m:
        raise ValueError("not a Grafana duration: %r" % text)
    return int(m.group(1)) * UNITS[m.group(2)]


def time_range(panel, default_seconds=DEFAULT_RANGE_S):
    """(from, to) in Unix seconds: the panel's relative time override
    ("13M", "31d") or the dashboard's range, ending now."""
    span = seconds(panel["timeFrom"]) if panel.get("timeFrom") else \
        default_seconds
    now = int(time.time())
    return now - span, now


def interval_s(panel, start, until, minimum=1):
    """Grafana's $__interval: the panel's minimum interval, or the range
    over the data points, at least the data source's minimum (collectd's
    Interval in the tests: 1 s)."""
    auto = max(minimum, (until - start) // MAX_DATA_POINTS)
    if panel.get("interval"):
        return max(seconds(panel["interval"]), auto)
    return auto


def rename(panel, name):
    """The panel's renameByRegex transformations, as Grafana applies them
    (JavaScript's String.replace: the first match)."""
    for t in panel.get("transformations", []):
        if t["id"] != "renameByRegex":
            continue
        pattern = t["options"]["regex"]
        repl = re.sub(r"\$(\d)", r"\\g<\1>", t["options"]["renamePattern"])
        name = re.sub(pattern, repl, name, count=1)
    return name


def check_names(where, panel, series, meters, per_meter):
    """Every series is named after a selected meter (or an account for the
    health row) and renamed to something without a raw type_instance."""
    for name, _ in series:
        owner = name.split(" ", 1)[0]
        if per_meter and owner not in meters:
            wlib.lib.fail("%s: series %r is not named after one of the "
                          "meters %s" % (where, name, meters))
        shown = rename(panel, name)
        if RAW.search(shown.split(" ", 1)[-1]) and " " in shown:
            wlib.lib.fail("%s: series %r is shown as %r: the panel's "
                          "renameByRegex misses it" % (where, name, shown))


def has_data(series):
    return any(v is not None for _, vs in series for v in vs)


def run_all(backend, dash, run, values, meters, builtins=None):
    """Runs every query of dash through run(panel, target, text, start,
    until) -> [(series name, [values])], which sends it to the store.
    values: the dashboard's variables (host, datasource, ...);
    builtins(panel, start, until): Grafana's own variables for the store
    ($timeFilter, $__interval, $__range, ...); meters: every meter
    instance the store holds, the test's main meter first. Returns the
    number of queries run."""
    runs = 0
    for panel, target in targets(dash):
        text = query_text(target)
        per_meter = uses(text, "meter")
        start, until = time_range(panel)
        if builtins:
            text = substitute(text, builtins(panel, start, until))
        choices = [[meters[0]]]
        if per_meter:
            choices.append(meters)
        for selected in choices:
            periods = PERIODS if uses(text, "period") and \
                len(selected) == 1 else ["this-month"]
            for period in periods:
                v = dict(values, period=period,
                         meter=multi_value(backend, selected))
                query = substitute(text, v)
                if unresolved(query):
                    wlib.lib.fail("panel %r: unresolved variable in %s" %
                                  (panel["title"], query))
                where = "%s panel %r, query %s (meters %s, period %s)" % (
                    backend, panel["title"], query, selected, period)
                series = run(panel, target, query, start, until)
                if not has_data(series):
                    wlib.lib.fail("%s: no data" % where)
                check_names(where, panel, series, selected, per_meter)
                owners = {n.split(" ", 1)[0] for n, vs in series
                          if any(x is not None for x in vs)}
                if len(selected) > 1 and "consumption-this-month" in query \
                        and owners != set(selected):
                    wlib.lib.fail("%s: want a series for each meter, got "
                                  "%s" % (where, sorted(owners)))
                runs += 1
    return runs
