#!/usr/bin/python3
"""The Grafana dashboards and provisioning examples of contrib/grafana/,
without a store (the InfluxDB and Graphite tests run every query against
real data):

- both JSON files are what contrib/grafana/make-dashboards.py writes;
- each is a complete, importable dashboard model: __inputs with one data
  source input of the right plugin, __requires, uid, title, a data source
  variable that every panel and query goes through (so the same file also
  works when provisioned, where __inputs are not resolved);
- the template variables host, meter and period exist, and every variable
  a query uses is defined (or one of Grafana's: $timeFilter, $__interval);
- panels do not overlap on Grafana's 24-column grid, ids are unique;
- the panels cover what operators asked for (consumption and costs per
  period with trend, appliances, similar users, savings, the four 12-month
  histories over at least a year, requests, errors, data age), in the same
  layout on both back ends;
- the provisioning YAML files are valid and point at the dashboards."""

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


def query_text(target):
    return target.get("query") or target.get("target") or ""


def check_generated():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(
            dashboards.GRAFANA_DIR, "make-dashboards.py"), out], check=True)
        for name in ("digiwatt-influxdb.json", "digiwatt-graphite.json"):
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
    for name, kind in (("host", "query"), ("meter", "query"),
                       ("period", "custom")):
        v = dashboards.variable(dash, name)
        if v["type"] != kind:
            lib.fail("%s: variable %s is %s, want %s" %
                     (where, name, v["type"], kind))
        if kind == "query" and v["datasource"]["uid"] != "${datasource}":
            lib.fail("%s: variable %s bypasses ${datasource}" % (where, name))
    periods = dashboards.variable(dash, "period")["query"].split(",")
    if periods != lib.PERIODS:
        lib.fail("%s: period variable lists %s" % (where, periods))
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
    return defined


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
    histories = [p for p in dashboards.panels(dash)
                 if "history" in query_text(p["targets"][0]) or
                 "yearly-" in query_text(p["targets"][0])]
    if len(histories) < 3:
        lib.fail("%s: want the history panels, found %d" %
                 (where, len(histories)))
    for p in histories:
        start, until = dashboards.time_range(p, 0)
        if until - start < 365 * 86400:
            lib.fail("%s: history panel %r shows less than a year" %
                     (where, p["title"]))


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
    if sources.get("apiVersion") != 1 or types != ["graphite", "influxdb"]:
        lib.fail("provisioning/datasources/digiwatt.yaml: want an influxdb "
                 "and a graphite data source, got %s" % types)
    influx = [s for s in sources["datasources"] if s["type"] == "influxdb"]
    if influx[0].get("jsonData", {}).get("dbName") != "collectd":
        lib.fail("provisioning: the InfluxDB data source must use database "
                 "collectd (the collectd input's default)")


def main():
    try:
        import yaml  # noqa: F401
    except ImportError:
        wlib.skip("python3-yaml is not installed")
    check_generated()
    titles = {}
    for backend in ("influxdb", "graphite"):
        dash = dashboards.load(backend)
        check_model(backend, dash)
        check_grid(backend, dash)
        check_coverage(backend, dash)
        titles[backend] = [p["title"] for p in dash["panels"]]
        panel_count = len(dashboards.panels(dash))
    if titles["influxdb"] != titles["graphite"]:
        lib.fail("the two dashboards differ in layout")
    check_provisioning()
    print("ok: two dashboards of %d panels, %d queries each; provisioning "
          "examples" % (panel_count,
                        len(dashboards.targets(dashboards.load("graphite")))))


if __name__ == "__main__":
    main()
