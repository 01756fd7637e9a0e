#!/usr/bin/python3
"""The Grafana dashboards and provisioning examples of contrib/grafana/,
without a store (the InfluxDB, Graphite and Prometheus tests run every
query against the real store filled by the plugin):

- the three JSON files are what contrib/grafana/make-dashboards.py writes;
- each is a complete, importable dashboard model: __inputs with one data
  source input of the right plugin, __requires, uid, title, a data source
  variable that every panel and query goes through (so the same file also
  works when provisioned, where __inputs are not resolved);
- the variables: host (one), meter (multi-select with All, for
  comparing meters), period, and currency (no amount is labelled with a
  hard-coded currency: every money panel names ${currency} in its title);
  every variable a query uses is defined (or one of Grafana's);
- panels do not overlap on Grafana's 24-column grid, ids are unique; the
  three dashboards have the same layout;
- the story the panels tell: daily consumption and costs and the 12-month
  histories as bars (one per day, one per month, over a fixed range),
  period totals never as lines over time (only the plugin's own health
  is drawn as lines), an appliance breakdown as a pie or bar gauge, the
  meter against the most frugal and most consuming similar users, the
  costs and forecast of this month against a budget whose thresholds are
  those of contrib/alerting/threshold.conf, and the health row (requests,
  errors, data age);
- the provisioning YAML files are valid, point at the dashboards, have a
  data source of each store, and none on the simulator's port."""

import filecmp
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402
import wlib  # noqa: E402

lib = wlib.lib
BUILTIN = {"timeFilter", "__interval", "__interval_ms", "__range",
           "__rate_interval"}
COVERED = [  # (what, text a query must contain)
    ("consumption per period", "consumption-"),
    ("costs per period", "costs-"),
    ("daily consumption", "consumption-yesterday"),
    ("daily costs", "costs-yesterday"),
    ("trend", "digiwatt_trend_percent"),
    ("appliance breakdown", "distribution-"),
    ("appliance shares", "digiwatt_share_percent"),
    ("disaggregation", "disaggregation-"),
    ("similar users", "performance-"),
    ("savings", "savings"),
    ("saving potential", "saving-potential-"),
    ("consumption history", "consumption-history"),
    ("costs history", "costs-history"),
    ("forecast", "costs-forecast"),
    ("yearly distribution", "yearly-distribution-"),
    ("yearly compound", "yearly-compound"),
    ("requests", "digiwatt_requests"),
    ("errors", "digiwatt_errors"),
    ("data age", "digiwatt_data_age_seconds"),
    ("cycle time", "digiwatt_cycle_seconds"),
]
HEALTH = ("digiwatt_requests", "digiwatt_errors", "digiwatt_data_age_seconds",
          "digiwatt_cycle_seconds", "digiwatt_response_time_seconds",
          "digiwatt_meters")
# Per-period and running totals: shown as their latest value or as bars.
TOTALS = re.compile(r"(consumption|costs|distribution|disaggregation|"
                    r"performance)-|yearly-|savings|saving-potential|"
                    r"costs-forecast")
BARS = re.compile(r"-yesterday|-history|yearly-")
CURRENCY_UNITS = re.compile(r"^currency|EUR|USD|GBP")


def query_text(target):
    return dashboards.query_text(target)


def texts(panel):
    return [query_text(t) for t in panel["targets"]]


def check_generated():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(
            dashboards.GRAFANA_DIR, "make-dashboards.py"), out], check=True)
        for backend in dashboards.BACKENDS:
            name = "digiwatt-%s.json" % backend
            if not filecmp.cmp(os.path.join(out, name), os.path.join(
                    dashboards.GRAFANA_DIR, name), shallow=False):
                lib.fail("contrib/grafana/%s differs from what "
                         "make-dashboards.py writes: run it" % name)


def check_model(backend, dash):
    where = "digiwatt-%s.json" % backend
    inputs = [i for i in dash.get("__inputs", []) if i["type"] == "datasource"]
    if len(inputs) != 1 or inputs[0]["pluginId"] != backend:
        lib.fail("%s: want one data source input of %s" % (where, backend))
    requires = {(r["type"], r["id"]) for r in dash.get("__requires", [])}
    if ("datasource", backend) not in requires or \
            ("grafana", "grafana") not in requires:
        lib.fail("%s: __requires lacks grafana or %s" % (where, backend))
    for key in ("uid", "title", "schemaVersion", "panels", "templating",
                "time"):
        if not dash.get(key):
            lib.fail("%s: no %s" % (where, key))
    if dash.get("id") is not None:
        lib.fail("%s: an exported model has id null" % where)
    ds = dashboards.variable(dash, "datasource")
    if ds["type"] != "datasource" or ds["query"] != backend:
        lib.fail("%s: variable datasource must list %s data sources" %
                 (where, backend))
    check_variables(where, dash)
    defined = {v["name"] for v in dash["templating"]["list"]} | BUILTIN
    want = {"type": backend, "uid": "${datasource}"}
    for panel in dashboards.panels(dash):
        if panel.get("datasource") != want:
            lib.fail("%s: panel %r uses data source %s, want %s" %
                     (where, panel["title"], panel.get("datasource"), want))
        if not panel.get("targets"):
            lib.fail("%s: panel %r has no query" % (where, panel["title"]))
        for t in panel["targets"]:
            if t.get("datasource") != want or not query_text(t):
                lib.fail("%s: panel %r query %s: bad data source or empty" %
                         (where, panel["title"], t.get("refId")))
            for name in re.findall(r"\$\{?([A-Za-z_]\w*)", query_text(t)):
                if name not in defined:
                    lib.fail("%s: panel %r uses undefined $%s" %
                             (where, panel["title"], name))
        for name in re.findall(r"\$\{?([A-Za-z_]\w*)", panel["title"]):
            if name not in defined:
                lib.fail("%s: panel title %r uses undefined $%s" %
                         (where, panel["title"], name))


def check_variables(where, dash):
    for name, kind in (("host", "query"), ("meter", "query"),
                       ("period", "custom"), ("currency", "custom")):
        v = dashboards.variable(dash, name)
        if v["type"] != kind:
            lib.fail("%s: variable %s is %s, want %s" %
                     (where, name, v["type"], kind))
        if kind == "query" and v["datasource"]["uid"] != "${datasource}":
            lib.fail("%s: variable %s bypasses ${datasource}" % (where, name))
    meter = dashboards.variable(dash, "meter")
    if not (meter.get("multi") and meter.get("includeAll")):
        lib.fail("%s: the meter variable must be multi-select with All, to "
                 "compare meters" % where)
    if dashboards.variable(dash, "host").get("multi"):
        lib.fail("%s: one host at a time" % where)
    periods = dashboards.variable(dash, "period")["query"].split(",")
    if periods != lib.PERIODS:
        lib.fail("%s: period variable lists %s" % (where, periods))
    currencies = dashboards.variable(dash, "currency")["query"].split(",")
    if len(currencies) < 2 or not all(re.fullmatch("[A-Z]{3}", c)
                                      for c in currencies):
        lib.fail("%s: currency variable lists %s, want ISO 4217 codes" %
                 (where, currencies))


def check_grid(backend, dash):
    where = "digiwatt-%s.json" % backend
    ids, cells = set(), {}
    for p in dash["panels"]:
        if p["id"] in ids:
            lib.fail("%s: panel id %d twice" % (where, p["id"]))
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1:
            lib.fail("%s: panel %r off the grid: %s" % (where, p["title"], g))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    lib.fail("%s: panels %r and %r overlap" %
                             (where, cells[(x, y)], p["title"]))
                cells[(x, y)] = p["title"]


def check_coverage(backend, dash):
    where = "digiwatt-%s.json" % backend
    text = "\n".join(query_text(t) for _, t in dashboards.targets(dash))
    for what, needle in COVERED:
        if needle not in text:
            lib.fail("%s: no panel shows %s (%s)" % (where, what, needle))


def draw_style(panel):
    custom = panel["fieldConfig"]["defaults"].get("custom", {})
    return custom.get("drawStyle")


def check_story(backend, dash):
    """Bars for days and months, no period total as a line, the pie, the
    similar users and the currency."""
    where = "digiwatt-%s.json" % backend
    history = 0
    for p in dashboards.panels(dash):
        title, qs = p["title"], texts(p)
        if p["type"] == "timeseries" and draw_style(p) == "line":
            for q in qs:
                if not any(h in q for h in HEALTH) or TOTALS.search(q):
                    lib.fail("%s: panel %r draws %s as a line over time; "
                             "only the plugin's health is drawn so" %
                             (where, title, q))
        if any(BARS.search(q) for q in qs):
            if p["type"] != "timeseries" or draw_style(p) != "bars":
                lib.fail("%s: panel %r: days and months are drawn as bars" %
                         (where, title))
            if p.get("interval") != "1d":
                lib.fail("%s: panel %r: want one bar per day (interval 1d)"
                         % (where, title))
            span = dashboards.seconds(p.get("timeFrom", "0s"))
            need = 365 * 86400 if "-yesterday" not in qs[0] else 28 * 86400
            if span < need:
                lib.fail("%s: panel %r shows %s, want at least %d days "
                         "whatever the dashboard's range" %
                         (where, title, p.get("timeFrom"), need // 86400))
            history += "-yesterday" not in qs[0]
        money = any("digiwatt_cost" in q for q in qs)
        if money and "${currency}" not in title:
            lib.fail("%s: panel %r shows amounts without ${currency} in its "
                     "title" % (where, title))
        unit = p["fieldConfig"]["defaults"].get("unit", "")
        if CURRENCY_UNITS.search(unit) or "EUR" in title:
            lib.fail("%s: panel %r hard-codes a currency (%s)" %
                     (where, title, unit))
    if history < 4:
        lib.fail("%s: want the four 12-month history panels as bars, found "
                 "%d" % (where, history))
    pies = [p for p in dashboards.panels(dash)
            if any("distribution-$period" in q and "energy" in q
                   for q in texts(p))]
    if not pies or any(p["type"] not in ("piechart", "bargauge")
                       for p in pies):
        lib.fail("%s: the appliance breakdown must be a pie or bar gauge" %
                 where)
    similar = [p for p in dashboards.panels(dash)
               if any("performance-$period" in q for q in texts(p))]
    for p in similar:
        joined = "\n".join(texts(p))
        if not all(re.search(r"[._]%s\b" % ds, joined)
                   for ds in ("min", "max", "user")) or \
                p["type"] != "bargauge":
            lib.fail("%s: panel %r must show min, you and max as bars" %
                     (where, p["title"]))
    if not similar:
        lib.fail("%s: no panel compares the meter with similar users" %
                 where)


def threshold_conf():
    """WarningMax/FailureMax of the budget and of the data age, read from
    contrib/alerting/threshold.conf here, independently of the
    generator."""
    path = os.path.join(lib.TOP_SRCDIR, "contrib", "alerting",
                        "threshold.conf")
    text = re.sub(r"#.*", "", open(path).read())
    out = {}
    for type_, body in re.findall(r'<Type "([^"]+)">(.*?)</Type>', text,
                                  re.S):
        inst = re.search(r'Instance "([^"]+)"', body)
        key = (type_, inst.group(1) if inst else None)
        out[key] = [float(re.search(r"%s\s+(\S+)" % k, body).group(1))
                    for k in ("WarningMax", "FailureMax")]
    return out[("digiwatt_cost", "costs-this-month")], \
        out[("digiwatt_data_age_seconds", None)]


def limits(panel):
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [s["value"] for s in steps[1:]]


def check_thresholds(backend, dash):
    where = "digiwatt-%s.json" % backend
    budget, age = threshold_conf()
    forecast = False
    for p in dashboards.panels(dash):
        qs = "\n".join(texts(p))
        if "costs-this-month" in qs or "costs-forecast" in qs:
            if limits(p) != budget:
                lib.fail("%s: panel %r: thresholds %s, want the budget of "
                         "threshold.conf %s" % (where, p["title"], limits(p),
                                                budget))
            forecast |= "costs-forecast" in qs and \
                p["fieldConfig"]["defaults"].get("max", 0) > budget[1]
        if "digiwatt_data_age_seconds" in qs and limits(p) != age:
            lib.fail("%s: panel %r: thresholds %s, want threshold.conf's %s"
                     % (where, p["title"], limits(p), age))
    if not forecast:
        lib.fail("%s: no panel shows the forecast against the budget (with "
                 "room above FailureMax)" % where)


def layout(dash):
    return [(p["title"], p["type"], p["gridPos"]) for p in dash["panels"]]


def simulator_port():
    """The port README.md's simulator examples use."""
    with open(os.path.join(lib.TOP_SRCDIR, "README.md")) as f:
        m = re.search(r"sim/digiwatt-sim --port (\d+)", f.read())
    if not m:
        lib.fail("README.md: no `sim/digiwatt-sim --port N` example")
    return int(m.group(1))


def check_provisioning():
    import yaml
    base = os.path.join(dashboards.GRAFANA_DIR, "provisioning")
    with open(os.path.join(base, "dashboards", "digiwatt.yaml")) as f:
        dash = yaml.safe_load(f)
    providers = dash.get("providers") or []
    if dash.get("apiVersion") != 1 or len(providers) != 1 or \
            providers[0].get("type") != "file" or \
            not providers[0].get("options", {}).get("path"):
        lib.fail("provisioning/dashboards/digiwatt.yaml: want one file "
                 "provider with a path")
    with open(os.path.join(base, "datasources", "digiwatt.yaml")) as f:
        sources = yaml.safe_load(f)
    types = sorted(s.get("type") for s in sources.get("datasources", []))
    if sources.get("apiVersion") != 1 or types != sorted(dashboards.BACKENDS):
        lib.fail("provisioning/datasources/digiwatt.yaml: want a data "
                 "source of each store %s, got %s" %
                 (sorted(dashboards.BACKENDS), types))
    influx = [s for s in sources["datasources"] if s["type"] == "influxdb"]
    if influx[0].get("jsonData", {}).get("dbName") != "collectd":
        lib.fail("provisioning: the InfluxDB data source must use database "
                 "collectd (the collectd input's default)")
    sim = simulator_port()
    for s in sources["datasources"]:
        m = re.match(r"https?://[^/:]+(?::(\d+))?", s.get("url", ""))
        if not m:
            lib.fail("provisioning: data source %s has no URL" % s["name"])
        if int(m.group(1) or 80) == sim:
            lib.fail("provisioning: data source %s uses %s, the port of the "
                     "simulator's examples" % (s["name"], s["url"]))


def main():
    wlib.run_with("yaml")
    check_generated()
    layouts = {}
    for backend in dashboards.BACKENDS:
        dash = dashboards.load(backend)
        check_model(backend, dash)
        check_grid(backend, dash)
        check_coverage(backend, dash)
        check_story(backend, dash)
        check_thresholds(backend, dash)
        layouts[backend] = layout(dash)
    if any(v != layouts["influxdb"] for v in layouts.values()):
        lib.fail("the dashboards differ in layout")
    check_provisioning()
    dash = dashboards.load("prometheus")
    print("ok: three dashboards of %d panels, %d queries each; "
          "provisioning examples" % (len(dashboards.panels(dash)),
                                     len(dashboards.targets(dash))))


if __name__ == "__main__":
    main()
