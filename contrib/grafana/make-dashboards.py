#!/usr/bin/python3
"""Writes the two Grafana dashboards of collectd-digiwatt from one layout:

    contrib/grafana/digiwatt-influxdb.json   InfluxDB 1.x, collectd input
    contrib/grafana/digiwatt-graphite.json   Graphite, write_graphite

Both have the same rows and panels; only the queries differ. Run it after
changing the layout (`contrib/grafana/make-dashboards.py [OUTDIR]`);
tests/writers/test_dashboards.py fails when the committed files differ
from what this script writes, and the InfluxDB and Graphite tests run
every query of these files against stores filled by the plugin.

The identifiers are those of doc/writers.md: InfluxDB measurement
"digiwatt_value" (and "digiwatt_min", "digiwatt_max", "digiwatt_user" for
the performance triple) with tags host, instance, type, type_instance;
Graphite paths [prefix]<host>.digiwatt-<instance>.<type>-<type_instance>
(".min", ".max", ".user" appended for the triple)."""

import json
import os
import sys

PERIODS = ["yesterday", "last-seven-days", "this-week", "last-week",
           "this-month", "last-month"]
PERIOD_RE = "|".join(PERIODS)             # InfluxQL (RE2) alternation
PERIOD_GLOB = "{" + ",".join(PERIODS) + "}"  # Graphite glob alternation

HISTORY_RANGE = "13M"  # twelve complete months and the current one

# --- the two back ends ------------------------------------------------------


class Influx:
    name = "influxdb"
    title = "InfluxDB"
    input = "DS_INFLUXDB"
    ds = {"type": "influxdb", "uid": "${datasource}"}

    METER = '"host" =~ /^$host$/ AND "instance" =~ /^$meter$/'
    ACCOUNTS = '"host" =~ /^$host$/ AND "instance" =~ /^account-/'
    ALL_METERS = '"host" =~ /^$host$/ AND "instance" !~ /^account-/'

    @staticmethod
    def _ti(ti):
        """A type_instance condition: exact text, or ('re', regex)."""
        if isinstance(ti, tuple):
            return '"type_instance" =~ /%s/' % ti[1]
        return '"type_instance" = \'%s\'' % ti

    def series(self, type_, ti, alias, scope="meter", measurement=None,
               exclude=None, rate=False, raw=False, group=("type_instance",)):
        """One InfluxQL query. raw: every point as stored (the month-
        stamped histories); rate: per second, of a DERIVE counter."""
        where = {"meter": self.METER, "accounts": self.ACCOUNTS,
                 "meters": self.ALL_METERS}[scope]
        conds = [where, '"type" = \'%s\'' % type_]
        if ti is not None:
            conds.append(self._ti(ti))
        if exclude:
            conds.append('"type_instance" !~ /%s/' % exclude)
        conds.append("$timeFilter")
        frm = '"%s"' % (measurement or "digiwatt_value")
        tags = "".join(', "%s"' % g for g in group)
        if raw:
            q = 'SELECT "value" FROM %s WHERE %s GROUP BY %s' % (
                frm, " AND ".join(conds), tags[2:] or '"type_instance"')
        elif rate:
            q = ('SELECT non_negative_derivative(max("value"), 1s) FROM %s '
                 'WHERE %s GROUP BY time($__interval)%s fill(none)' %
                 (frm, " AND ".join(conds), tags))
        else:
            q = ('SELECT last("value") FROM %s WHERE %s '
                 'GROUP BY time($__interval)%s fill(none)' %
                 (frm, " AND ".join(conds), tags))
        return {"query": q, "rawQuery": True, "resultFormat": "time_series",
                "alias": alias}

    def target(self, spec):
        return self.series(**spec["influx"])


class Graphite:
    name = "graphite"
    title = "Graphite"
    input = "DS_GRAPHITE"
    ds = {"type": "graphite", "uid": "${datasource}"}

    def target(self, spec):
        return {"target": spec["graphite"], "textEditor": True}


def gpath(node, scope="meter"):
    """A Graphite path below the host: digiwatt-<instance>.<node>."""
    instance = {"meter": "$meter", "accounts": "account-*",
                "meters": "*"}[scope]
    return "${prefix}$host.digiwatt-%s.%s" % (instance, node)


def gstrip(series, strip, replace=""):
    """aliasSub that removes everything up to `strip` from the path."""
    return "aliasSub(%s, '^.*%s', '%s')" % (series, strip, replace)


# --- the layout -------------------------------------------------------------
# Each query names its InfluxDB form (arguments of Influx.series) and its
# Graphite target. Series are named by their type_instance on both back
# ends (InfluxDB: alias $tag_type_instance; Graphite: aliasSub of the path
# up to "<type>-"), and the panel's renameByRegex transformations trim
# those names the same way for both.

def q_now(type_, ti_re, ti_glob, strip, scope="meter", alias=None):
    return {"influx": {"type_": type_, "ti": ("re", ti_re),
                       "alias": alias or "$tag_type_instance",
                       "scope": scope},
            "graphite": gstrip(gpath("%s-%s" % (type_, ti_glob), scope),
                               strip)}


def q_one(type_, ti, alias, scope="meter"):
    """One series; ti None: the type's only series (no type_instance)."""
    node = type_ if ti is None else "%s-%s" % (type_, ti)
    return {"influx": {"type_": type_, "ti": ti, "alias": alias,
                       "scope": scope},
            "graphite": "alias(%s, '%s')" % (gpath(node, scope), alias)}


def q_perf(ti, ds, alias):
    return {"influx": {"type_": "digiwatt_performance_kwh", "ti": ti,
                       "measurement": "digiwatt_" + ds, "alias": alias},
            "graphite": "alias(%s, '%s')" % (
                gpath("digiwatt_performance_kwh-%s.%s" % (ti, ds)), alias)}


def q_month(type_, ti, alias):
    return {"influx": {"type_": type_, "ti": ti, "alias": alias,
                       "raw": True},
            "graphite": "alias(%s, '%s')" % (gpath("%s-%s" % (type_, ti)),
                                             alias)}


def q_health(type_, rate=False, what=None):
    """An account-level self-metric: per type_instance, or (what given)
    the type's only series, named `what`."""
    if what is None:
        alias, node = "$tag_instance $tag_type_instance", type_ + "-*"
        search, replace = r"^.*\.digiwatt-([^.]+)\.%s-(.*)$" % type_, r"\1 \2"
    else:
        alias, node = "$tag_instance " + what, type_
        search, replace = r"^.*\.digiwatt-([^.]+)\..*$", r"\1 " + what
    return {"influx": {"type_": type_, "ti": None, "scope": "accounts",
                       "rate": rate, "group": ("instance", "type_instance"),
                       "alias": alias},
            "graphite": "aliasSub(%s, '%s', '%s')" % (
                gpath(node, "accounts"), search, replace)}


def q_age():
    return {"influx": {"type_": "digiwatt_data_age_seconds",
                       "ti": None, "scope": "meters",
                       "group": ("instance",), "alias": "$tag_instance"},
            "graphite": "aliasSub(%s, '%s', '%s')" % (
                gpath("digiwatt_data_age_seconds", "meters"),
                r"^.*\.digiwatt-([^.]+)\..*$", r"\1")}


# Consumption per period: ^consumption-(yesterday|...)$ etc.
def per_period(type_, label):
    return q_now(type_, "^%s-(%s)$" % (label, PERIOD_RE),
                 "%s-%s" % (label, PERIOD_GLOB), r"\.%s-" % type_)


def appliances(type_, label):
    """The appliances of one resource for the chosen period."""
    return q_now(type_, "^%s-$period-" % label, "%s-$period-*" % label,
                 r"\.%s-" % type_)


def renamer(pattern, rename="$1"):
    return [{"id": "renameByRegex",
             "options": {"regex": pattern, "renamePattern": rename}}]


PERIOD_NAMES = renamer("^(?:consumption|costs)-(.*)$")
APPLIANCE_NAMES = renamer(
    "^(?:distribution|disaggregation)-(?:%s)-(.*)$" % PERIOD_RE)
SAVING_NAMES = (renamer("^savings$", "total") +
                renamer("^(?:savings|saving-potential)-(.*)$"))
YEARLY_NAMES = renamer("^yearly-distribution-(.*)$")

ROWS = [
    ("Overview: $meter", [
        dict(title="Consumption this month", kind="stat", unit="kwatth",
             w=5, queries=[q_one("digiwatt_energy_kwh",
                                 "consumption-this-month", "kWh")],
             description="Energy used since the 1st (resource consumption, "
                         "period this-month)."),
        dict(title="Costs this month", kind="stat", unit="currencyEUR", w=5,
             queries=[q_one("digiwatt_cost", "costs-this-month", "costs")],
             description="Costs since the 1st (resource costs, period "
                         "this-month)."),
        dict(title="Forecast of this month's costs", kind="stat",
             unit="currencyEUR", w=5,
             queries=[q_one("digiwatt_cost", "costs-forecast", "forecast")],
             description="The API's forecast for the whole current month "
                         "(resource costs-history, member forecast)."),
        dict(title="Trend this month", kind="stat", unit="percent", w=5,
             queries=[q_one("digiwatt_trend_percent",
                            "consumption-this-month", "trend")],
             description="Change against the previous month, in percent "
                         "(previousPeriodValueTrend)."),
        dict(title="Data age", kind="stat", unit="s", w=4,
             queries=[q_one("digiwatt_data_age_seconds", None, "age")],
             thresholds=[(None, "green"), (7200, "orange"),
                         (86400, "red")],
             description="Seconds since the plugin last fetched anything "
                         "for this meter (self-metric "
                         "digiwatt_data_age_seconds)."),
    ]),
    ("Consumption and costs per period", [
        dict(title="Consumption per period", kind="timeseries",
             unit="kwatth", w=12, transform=PERIOD_NAMES,
             queries=[per_period("digiwatt_energy_kwh", "consumption")]),
        dict(title="Costs per period", kind="timeseries", unit="currencyEUR",
             w=12, transform=PERIOD_NAMES,
             queries=[per_period("digiwatt_cost", "costs")]),
        dict(title="Trend against the previous period, now",
             kind="bargauge", unit="percent", w=12,
             queries=[q_now("digiwatt_trend_percent",
                            "^(consumption|costs)-(%s)$" % PERIOD_RE,
                            "{consumption,costs}-%s" % PERIOD_GLOB,
                            r"\.digiwatt_trend_percent-")],
             description="Percent change of consumption and costs against "
                         "the previous period of the same length; empty "
                         "when the API has no previous period."),
        dict(title="Trend against the previous period, over time",
             kind="timeseries", unit="percent", w=12,
             queries=[q_now("digiwatt_trend_percent",
                            "^consumption-(%s)$" % PERIOD_RE,
                            "consumption-%s" % PERIOD_GLOB,
                            r"\.digiwatt_trend_percent-")],
             transform=PERIOD_NAMES),
    ]),
    ("Appliances: $period", [
        dict(title="Appliance breakdown, kWh", kind="piechart",
             unit="kwatth", w=6, transform=APPLIANCE_NAMES,
             queries=[appliances("digiwatt_energy_kwh", "distribution")],
             description="Resource consumption-distribution: energy per "
                         "appliance in the chosen period."),
        dict(title="Appliance share", kind="bargauge", unit="percent", w=6,
             transform=APPLIANCE_NAMES, max=100,
             queries=[appliances("digiwatt_share_percent", "distribution")]),
        dict(title="Disaggregation, kWh", kind="bargauge", unit="kwatth",
             w=6, transform=APPLIANCE_NAMES,
             queries=[appliances("digiwatt_energy_kwh", "disaggregation")]),
        dict(title="Disaggregation, costs", kind="bargauge",
             unit="currencyEUR", w=6, transform=APPLIANCE_NAMES,
             queries=[appliances("digiwatt_cost", "disaggregation")]),
    ]),
    ("Similar users and savings", [
        dict(title="Performance against similar users: $period",
             kind="timeseries", unit="kwatth", w=12,
             queries=[q_perf("performance-$period", "min",
                             "most frugal similar user"),
                      q_perf("performance-$period", "max",
                             "most consuming similar user"),
                      q_perf("performance-$period", "user", "this meter")],
             description="Resource performance: this meter's consumption "
                         "between those of the most frugal and the most "
                         "consuming similar users."),
        dict(title="Savings estimate, kWh (30 days)", kind="bargauge",
             unit="kwatth", w=4, transform=SAVING_NAMES,
             queries=[q_now("digiwatt_energy_kwh", "^savings(-.*)?$",
                            "savings*", r"\.digiwatt_energy_kwh-")],
             description="Resource savings: the estimated consumption, in "
                         "total (empty name) and per appliance."),
        dict(title="Savings estimate, costs (30 days)", kind="bargauge",
             unit="currencyEUR", w=4, transform=SAVING_NAMES,
             queries=[q_now("digiwatt_cost", "^savings(-.*)?$", "savings*",
                            r"\.digiwatt_cost-")]),
        dict(title="Saving potential per appliance", kind="bargauge",
             unit="currencyEUR", w=4, transform=SAVING_NAMES,
             queries=[q_now("digiwatt_cost", "^saving-potential-",
                            "saving-potential-*", r"\.digiwatt_cost-")]),
    ]),
    ("12-month histories", [
        dict(title="Monthly consumption", kind="bars", unit="kwatth", w=12,
             history=True,
             queries=[q_month("digiwatt_energy_kwh", "consumption-history",
                              "consumption")],
             description="Resource consumption-history: each month at its "
                         "own timestamp (the 1st, 00:00 UTC). The store's "
                         "retention must cover a year."),
        dict(title="Monthly costs", kind="bars", unit="currencyEUR", w=12,
             history=True,
             queries=[q_month("digiwatt_cost", "costs-history", "costs")]),
        dict(title="Monthly consumption per appliance", kind="bars",
             unit="kwatth", w=12, history=True, stack=True,
             transform=YEARLY_NAMES,
             queries=[{
                 "influx": {"type_": "digiwatt_energy_kwh",
                            "ti": ("re", "^yearly-distribution-"),
                            "exclude": "-latest$", "raw": True,
                            "alias": "$tag_type_instance"},
                 "graphite": gstrip(
                     "exclude(%s, '-latest$')" %
                     gpath("digiwatt_energy_kwh-yearly-distribution-*"),
                     r"\.digiwatt_energy_kwh-")}]),
        dict(title="Cumulative consumption over the year", kind="bars",
             unit="kwatth", w=12, history=True,
             queries=[q_month("digiwatt_energy_kwh", "yearly-compound-total",
                              "cumulative"),
                      q_month("digiwatt_energy_kwh", "yearly-compound",
                              "month")]),
    ]),
    ("Plugin health: all accounts and meters of $host", [
        dict(title="API requests per second", kind="timeseries",
             unit="reqps", w=8,
             queries=[q_health("digiwatt_requests", rate=True)],
             description="Data and token requests of each account."),
        dict(title="API errors per second, by class", kind="timeseries",
             unit="reqps", w=8,
             queries=[q_health("digiwatt_errors", rate=True)],
             description="auth, rate-limit, server, timeout, network, "
                         "client, decode."),
        dict(title="Data age per meter", kind="timeseries", unit="s", w=8,
             queries=[q_age()],
             thresholds=[(None, "green"), (7200, "orange"), (86400, "red")],
             description="Seconds since each meter's last successful fetch."),
        dict(title="Read cycle and response time", kind="timeseries",
             unit="s", w=12,
             queries=[q_health("digiwatt_cycle_seconds", what="cycle"),
                      q_health("digiwatt_response_time_seconds",
                               what="mean response")]),
        dict(title="Meters whose requests succeeded / failed",
             kind="timeseries", unit="short", w=12,
             queries=[q_health("digiwatt_meters")]),
    ]),
]

# --- Grafana's JSON model ---------------------------------------------------


def field_config(p):
    defaults = {"unit": p["unit"], "decimals": 2,
                "color": {"mode": "palette-classic"}}
    if "max" in p:
        defaults["min"], defaults["max"] = 0, p["max"]
    steps = [{"color": c, "value": v}
             for v, c in p.get("thresholds", [(None, "green")])]
    defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    if p["kind"] in ("timeseries", "bars"):
        bars = p["kind"] == "bars"
        defaults["custom"] = {
            "drawStyle": "bars" if bars else "line",
            "lineWidth": 1 if bars else 2,
            "fillOpacity": 80 if bars else 10,
            "showPoints": "never",
            "spanNulls": True,
            "stacking": {"mode": "normal" if p.get("stack") else "none",
                         "group": "A"},
        }
        if "thresholds" in p:
            defaults["custom"]["thresholdsStyle"] = {"mode": "line"}
    return {"defaults": defaults, "overrides": []}


def options(p):
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    legend = {"displayMode": "table", "placement": "right",
              "showLegend": True, "calcs": ["lastNotNull"]}
    kind = p["kind"]
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value",
                "graphMode": "area", "justifyMode": "auto",
                "orientation": "auto", "textMode": "value"}
    if kind == "bargauge":
        return {"reduceOptions": reduce, "orientation": "horizontal",
                "displayMode": "gradient", "showUnfilled": True}
    if kind == "piechart":
        return {"reduceOptions": reduce, "pieType": "donut",
                "legend": {"displayMode": "table", "placement": "right",
                           "showLegend": True, "values": ["value", "percent"]},
                "tooltip": {"mode": "single", "sort": "none"}}
    return {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}


def panel(backend, p, pid, x, y, h):
    targets = []
    for i, q in enumerate(p["queries"]):
        t = {"refId": chr(ord("A") + i), "datasource": backend.ds}
        t.update(backend.target(q))
        targets.append(t)
    out = {
        "id": pid,
        "type": "timeseries" if p["kind"] == "bars" else p["kind"],
        "title": p["title"],
        "description": p.get("description", ""),
        "datasource": backend.ds,
        "gridPos": {"h": h, "w": p["w"], "x": x, "y": y},
        "fieldConfig": field_config(p),
        "options": options(p),
        "targets": targets,
    }
    if p.get("transform"):
        out["transformations"] = p["transform"]
    if p.get("history"):
        # The months are a year old: this panel shows 13 months whatever
        # the dashboard's time range, one bar per month.
        out["timeFrom"] = HISTORY_RANGE
        out["interval"] = "1d"
        out["hideTimeOverride"] = False
    return out


def variables(backend):
    ds = backend.ds
    if backend is INFLUX:
        host_q = 'SHOW TAG VALUES FROM "digiwatt_value" WITH KEY = "host"'
        meter_q = ('SHOW TAG VALUES FROM "digiwatt_value" WITH KEY = '
                   '"instance" WHERE "host" =~ /^$host$/ AND '
                   '"instance" !~ /^account-/')
        host_re = meter_re = ""
    else:
        host_q = "${prefix}*"
        meter_q = "${prefix}$host.digiwatt-*"
        host_re = "/^(?!carbon$)(.*)$/"
        meter_re = "/^digiwatt-(?!account-)(.+)$/"
    out = [{
        "name": "datasource", "label": "Data source", "type": "datasource",
        "query": backend.name, "hide": 0, "refresh": 1, "regex": "",
        "current": {"selected": False, "text": "${%s}" % backend.input,
                    "value": "${%s}" % backend.input},
        "options": [],
    }]
    if backend is GRAPHITE:
        out.append({
            "name": "prefix", "label": "write_graphite Prefix",
            "type": "textbox", "query": "", "hide": 2,
            "current": {"selected": False, "text": "", "value": ""},
            "options": [{"selected": True, "text": "", "value": ""}],
            "description": "write_graphite's Prefix, dot included "
                           "(e.g. collectd.), empty by default",
        })
    for name, label, query, regex in (
            ("host", "Host", host_q, host_re),
            ("meter", "Meter", meter_q, meter_re)):
        out.append({
            "name": name, "label": label, "type": "query",
            "datasource": ds, "query": query, "definition": query,
            "regex": regex, "refresh": 2, "sort": 1, "hide": 0,
            "multi": False, "includeAll": False, "current": {},
            "options": [],
        })
    out.append({
        "name": "period", "label": "Period", "type": "custom",
        "query": ",".join(PERIODS), "hide": 0, "multi": False,
        "includeAll": False,
        "current": {"selected": True, "text": "this-month",
                    "value": "this-month"},
        "options": [{"selected": p == "this-month", "text": p, "value": p}
                    for p in PERIODS],
    })
    return out


def dashboard(backend):
    panels, pid, y = [], 1, 0
    kinds = set()
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title,
                       "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        pid, y, x = pid + 1, y + 1, 0
        height = 4 if all(p["kind"] == "stat" for p in row) else 8
        for p in row:
            if x + p["w"] > 24:
                x, y = 0, y + height
            panels.append(panel(backend, p, pid, x, y, height))
            kinds.add(panels[-1]["type"])
            pid, x = pid + 1, x + p["w"]
        y += height
    names = {"timeseries": "Time series", "stat": "Stat",
             "bargauge": "Bar gauge", "piechart": "Pie chart",
             "row": "Row"}
    return {
        "__inputs": [{
            "name": backend.input, "label": backend.title,
            "description": "The %s data source that collectd writes to "
                           "(see doc/writers.md)" % backend.title,
            "type": "datasource", "pluginId": backend.name,
            "pluginName": backend.title}],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana",
             "version": "9.1.0"},
            {"type": "datasource", "id": backend.name,
             "name": backend.title, "version": "1.0.0"}] + [
            {"type": "panel", "id": k, "name": names[k], "version": ""}
            for k in sorted(kinds)],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana",
                                         "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "collectd-digiwatt: energy, costs, appliances, "
                       "similar users, savings, 12-month histories and the "
                       "plugin's health, per meter (%s)." % backend.title,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": panels,
        "refresh": "5m",
        "schemaVersion": 37,
        "tags": ["collectd", "digiwatt", "energy", backend.name],
        "templating": {"list": variables(backend)},
        "time": {"from": "now-7d", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "Digiwatt energy (%s)" % backend.title,
        "uid": "digiwatt-%s" % backend.name,
        "version": 1,
        "weekStart": "",
    }


INFLUX, GRAPHITE = Influx(), Graphite()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    for backend in (INFLUX, GRAPHITE):
        path = os.path.join(out, "digiwatt-%s.json" % backend.name)
        with open(path, "w") as f:
            json.dump(dashboard(backend), f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
