#!/usr/bin/python3
"""Writes the three Grafana dashboards of collectd-digiwatt from one layout:

    contrib/grafana/digiwatt-influxdb.json     InfluxDB 1.x, collectd input
    contrib/grafana/digiwatt-graphite.json     Graphite, write_graphite
    contrib/grafana/digiwatt-prometheus.json   Prometheus, write_prometheus

All three have the same rows and panels; only the queries differ. Run it
after changing the layout (`contrib/grafana/make-dashboards.py [OUTDIR]`);
tests/writers/test_dashboards.py fails when the committed files differ
from what this script writes, and the InfluxDB, Graphite and Prometheus
tests run every query of these files against the real store, filled by
the real collectd and plugin.

The budget thresholds (WarningMax and FailureMax of costs-this-month) and
the data-age thresholds are read from contrib/alerting/threshold.conf, so
the dashboards turn orange and red where collectd's threshold plugin
warns and fails.

The identifiers are those of doc/writers.md. Every query works whether the
plugin dispatches a value on every read cycle or once per RefreshInterval:
panels show the last value within their range (InfluxQL last(), Graphite
consolidateBy 'last', PromQL last_over_time) or one bar per day or month,
never a line that assumes a point every Interval. Only the plugin's own
health (requests, errors, cycle time, data age) is drawn as lines."""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLD_CONF = os.path.join(HERE, "..", "alerting", "threshold.conf")

PERIODS = ["yesterday", "last-seven-days", "this-week", "last-week",
           "this-month", "last-month"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK"]
HISTORY_RANGE = "13M"  # twelve complete months and the current one
DAILY_RANGE = "31d"


# --- what threshold.conf says -----------------------------------------------

def threshold_limits(path, type_, instance=None):
    """(WarningMax, FailureMax) of the <Type "type_"> block of the
    threshold plugin's configuration whose Instance is `instance` (None:
    the block without one)."""
    with open(path) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    for body in re.findall(r'<Type\s+"%s">(.*?)</Type>' % re.escape(type_),
                           text, re.S | re.I):
        m = re.search(r'^\s*Instance\s+"([^"]*)"', body, re.M | re.I)
        if (m.group(1) if m else None) != instance:
            continue
        limits = []
        for key in ("WarningMax", "FailureMax"):
            v = re.search(r"^\s*%s\s+([0-9.]+)" % key, body, re.M | re.I)
            if not v:
                sys.exit("%s: %s has no %s" % (path, type_, key))
            limits.append(float(v.group(1)))
        return tuple(limits)
    sys.exit("%s: no <Type \"%s\"> block with Instance %r" %
             (path, type_, instance))


BUDGET = threshold_limits(THRESHOLD_CONF, "digiwatt_cost", "costs-this-month")
AGE = threshold_limits(THRESHOLD_CONF, "digiwatt_data_age_seconds")


def steps(limits):
    return [(None, "green"), (limits[0], "orange"), (limits[1], "red")]


# --- what a query asks for, whatever the store ------------------------------
# A type_instance is a tuple of parts: text (which may hold $period), ANY
# (an appliance name) or ALL_PERIODS (one of the six periods). Each store
# writes it as an exact match, a regular expression or a glob.

ANY, ALL_PERIODS = object(), object()

# Modes: the latest value in the range; one bar per day; the month-stamped
# history values (one bar per month); a line of a self-metric; the per-
# second rate of a self-metric counter.
LAST, DAILY, MONTHS, LINE, RATE = "last", "daily", "months", "line", "rate"
ANY_TI = (ANY,)
COUNTERS = {"digiwatt_requests", "digiwatt_errors"}  # DERIVE in digiwatt.db


class Query:
    """One query of a panel. name None: each series is named
    "<plugin_instance> <type_instance>"; otherwise "<plugin_instance>
    <name>" (name "": the plugin_instance alone). scope: this dashboard's
    meters, every account, or every meter of the host."""

    def __init__(self, type_, ti, mode=LAST, name=None, ds=None,
                 scope="meter", no_latest=False):
        self.type_, self.mode, self.name, self.ds = type_, mode, name, ds
        self.ti = ti if ti is None or isinstance(ti, tuple) else (ti,)
        self.scope, self.no_latest = scope, no_latest

    def label(self, instance, ti):
        """The series name, from a store's references to the
        plugin_instance and the type_instance."""
        if self.name is None:
            return instance + " " + ti
        return instance + (" " + self.name if self.name else "")

    def exact(self):
        return self.ti is not None and all(isinstance(p, str)
                                           for p in self.ti)

    def text(self):
        return "".join(self.ti)

    def regex(self, anchored=True):
        out = "".join(p if isinstance(p, str) else ".+" if p is ANY else
                      "(%s)" % "|".join(PERIODS) for p in self.ti)
        return "^%s$" % out if anchored else out

    def glob(self):
        return "".join(p if isinstance(p, str) else "*" if p is ANY else
                       "{%s}" % ",".join(PERIODS) for p in self.ti)


# --- the three stores -------------------------------------------------------

class Influx:
    name, title, input = "influxdb", "InfluxDB", "DS_INFLUXDB"
    ds = {"type": "influxdb", "uid": "${datasource}"}
    SCOPES = {"meter": '"host" =~ /^$host$/ AND "instance" =~ /^$meter$/',
              "accounts": '"host" =~ /^$host$/ AND "instance" =~ /^account-/',
              "meters": '"host" =~ /^$host$/ AND "instance" !~ /^account-/'}

    def target(self, q):
        conds = [self.SCOPES[q.scope], '"type" = \'%s\'' % q.type_]
        if q.ti is not None:
            conds.append('"type_instance" = \'%s\'' % q.text() if q.exact()
                         else '"type_instance" =~ /%s/' % q.regex())
        if q.no_latest:
            conds.append('"type_instance" !~ /-latest$/')
        conds.append("$timeFilter")
        where = " AND ".join(conds)
        frm = '"digiwatt_%s"' % (q.ds or "value")
        tags = '"instance", "type_instance"'
        select, group = {
            LAST: ('last("value")', tags),
            DAILY: ('last("value")', "time(1d), %s fill(none)" % tags),
            MONTHS: ('"value"', tags),
            LINE: ('max("value")', "time($__interval), %s fill(none)" % tags),
            RATE: ('non_negative_derivative(max("value"), 1s)',
                   "time($__interval), %s fill(none)" % tags),
        }[q.mode]
        alias = q.label("$tag_instance", "$tag_type_instance")
        return {"query": "SELECT %s FROM %s WHERE %s GROUP BY %s" %
                         (select, frm, where, group),
                "rawQuery": True, "resultFormat": "time_series",
                "alias": alias}


class Graphite:
    name, title, input = "graphite", "Graphite", "DS_GRAPHITE"
    ds = {"type": "graphite", "uid": "${datasource}"}
    INSTANCE = {"meter": "$meter", "accounts": "account-*", "meters": "*"}
    PART = "[A-Za-z0-9_-]+"  # what the plugin's names are made of

    def target(self, q):
        node = q.type_ if q.ti is None else "%s-%s" % (q.type_, q.glob())
        path = "${prefix}$host.digiwatt-%s.%s%s" % (
            self.INSTANCE[q.scope], node, "." + q.ds if q.ds else "")
        if q.no_latest:
            path = "exclude(%s, '-latest$')" % path
        expr = {LAST: "consolidateBy(%s, 'last')",
                DAILY: "summarize(%s, '1d', 'last')",
                MONTHS: "consolidateBy(%s, 'max')",
                LINE: "consolidateBy(%s, 'max')",
                RATE: "consolidateBy(%s, 'max')"}[q.mode] % path
        # Series names as on the other stores: "<instance> <ti or name>".
        if q.name is None:
            search = r"^.*\.digiwatt-(%s)\.[a-z_]+-(%s).*$" % (self.PART,
                                                              self.PART)
        else:
            search = r"^.*\.digiwatt-(%s)\..*$" % self.PART
        replace = q.label(r"\1", r"\2")
        return {"target": "aliasSub(%s, '%s', '%s')" % (expr, search,
                                                         replace),
                "textEditor": True}


class Prometheus:
    name, title, input = "prometheus", "Prometheus", "DS_PROMETHEUS"
    ds = {"type": "prometheus", "uid": "${datasource}"}
    SCOPES = {"meter": 'digiwatt=~"$meter"',
              "accounts": 'digiwatt=~"account-.*"',
              "meters": 'digiwatt!~"account-.*"'}

    def target(self, q):
        metric = "collectd_digiwatt_" + q.type_ + ("_" + q.ds if q.ds else "")
        if q.type_ in COUNTERS:
            metric += "_total"
        labels = ['instance=~"$host"', self.SCOPES[q.scope]]
        ti = q
        if q.mode == MONTHS:
            # Prometheus refuses samples months old: the newest month,
            # dispatched at the time of the cycle, is the -latest series.
            ti = Query(q.type_, q.ti + ("-latest",))
        if ti.ti is not None:
            labels.append('type="%s"' % ti.text() if ti.exact()
                          else 'type=~"%s"' % ti.regex(anchored=False))
        sel = "%s{%s}" % (metric, ",".join(labels))
        # A bar at day D: the last value reported in [D, D+1d), as the
        # InfluxDB and Graphite buckets of one day.
        expr, instant = {
            LAST: ("last_over_time(%s[$__range])", True),
            DAILY: ("last_over_time(%s[1d] offset -1d)", False),
            MONTHS: ("last_over_time(%s[1d] offset -1d)", False),
            LINE: ("max_over_time(%s[$__rate_interval])", False),
            RATE: ("rate(%s[$__rate_interval])", False),
        }[q.mode]
        return {"expr": expr % sel, "instant": instant, "range": not instant,
                "format": "time_series", "editorMode": "code",
                "legendFormat": q.label("{{digiwatt}}", "{{type}}")}


INFLUX, GRAPHITE, PROMETHEUS = Influx(), Graphite(), Prometheus()
BACKENDS = (INFLUX, GRAPHITE, PROMETHEUS)

# --- the layout -------------------------------------------------------------
E, C, T, S, P = ("digiwatt_energy_kwh", "digiwatt_cost",
                 "digiwatt_trend_percent", "digiwatt_share_percent",
                 "digiwatt_performance_kwh")
CUR = "${currency}"


def renamer(pattern, rename):
    return {"id": "renameByRegex",
            "options": {"regex": pattern, "renamePattern": rename}}


def names(*pairs):
    """renameByRegex steps on "<meter> <type_instance>" names."""
    return [renamer("^(\\S+) %s$" % p, "$1 " + r if r else "$1")
            for p, r in pairs]


PERIOD_RE = "(?:%s)" % "|".join(PERIODS)
PERIOD_NAMES = names(("(?:consumption|costs)-(.*)", "$2"))
TREND_NAMES = names(("(consumption|costs)-(.*)", "$2 $3"))
APPLIANCE_NAMES = names(("(?:distribution|disaggregation)-%s-(.*)" %
                         PERIOD_RE, "$2"))
YEARLY_NAMES = names(("yearly-distribution-(.*?)(?:-latest)?", "$2"))
SAVING_NAMES = names(("savings", "total"),
                     ("(?:savings|saving-potential)-(.*)", "$2"))
BUDGET_NAMES = names(("costs-this-month", "so far"),
                     ("costs-forecast", "forecast"))
HISTORY_NOTE = {
    "prometheus": " Prometheus keeps no samples months old, so here each "
                  "bar is the newest complete month as reported that day "
                  "(the -latest series); the history fills in as Prometheus "
                  "keeps scraping.",
}

ROWS = [
    ("Overview: $meter", 5, [
        dict(title="Consumption this month (kWh)", kind="stat",
             unit="kwatth", w=5,
             queries=[Query(E, "consumption-this-month", name="")],
             description="Energy used since the 1st (resource consumption, "
                         "period this-month), per selected meter."),
        dict(title="Costs this month (%s)" % CUR, kind="stat", unit="none",
             w=5, thresholds=steps(BUDGET),
             queries=[Query(C, "costs-this-month", name="")],
             description="Costs since the 1st, in the account's currency "
                         "(choose it with the Currency variable). Orange "
                         "and red at the WarningMax %g and FailureMax %g "
                         "of contrib/alerting/threshold.conf." % BUDGET),
        dict(title="This month against the budget (%s)" % CUR,
             kind="bargauge", unit="none", w=6, thresholds=steps(BUDGET),
             min=0, max=BUDGET[1] * 1.25, transform=BUDGET_NAMES,
             queries=[Query(C, "costs-this-month"),
                      Query(C, "costs-forecast")],
             description="Costs so far and the API's forecast for the "
                         "whole month (resource costs-history, member "
                         "forecast) against the budget of contrib/alerting/"
                         "threshold.conf: orange from its WarningMax %g, "
                         "red from its FailureMax %g. The alert fires on "
                         "the costs so far; the forecast shows it coming."
                         % BUDGET),
        dict(title="Consumption against last month (%)", kind="stat",
             unit="percent", w=4,
             queries=[Query(T, "consumption-this-month", name="")],
             description="Change of this month's consumption against the "
                         "previous month, in percent "
                         "(previousPeriodValueTrend)."),
        dict(title="Data age", kind="stat", unit="s", w=4,
             thresholds=steps(AGE),
             queries=[Query("digiwatt_data_age_seconds", None, name="")],
             description="Seconds since the plugin last fetched anything "
                         "for the meter; orange and red at the limits of "
                         "contrib/alerting/threshold.conf."),
    ]),
    ("Daily consumption and costs, and each period so far", 8, [
        dict(title="Daily consumption (kWh)", kind="bars", unit="kwatth",
             w=12, time=DAILY_RANGE, names=names(("consumption-yesterday",
                                                  "")),
             queries=[Query(E, "consumption-yesterday", DAILY)],
             description="One bar per day and meter: the consumption of "
                         "the previous day (period yesterday) as reported "
                         "that day."),
        dict(title="Daily costs (%s)" % CUR, kind="bars", unit="none",
             w=12, time=DAILY_RANGE, names=names(("costs-yesterday", "")),
             queries=[Query(C, "costs-yesterday", DAILY)],
             description="One bar per day and meter: the costs of the "
                         "previous day as reported that day."),
        dict(title="Consumption per period (kWh)", kind="bargauge",
             unit="kwatth", w=8, transform=PERIOD_NAMES,
             queries=[Query(E, ("consumption-", ALL_PERIODS))],
             description="The latest total of each period; this-week and "
                         "this-month are totals so far."),
        dict(title="Costs per period (%s)" % CUR, kind="bargauge",
             unit="none", w=8, transform=PERIOD_NAMES,
             queries=[Query(C, ("costs-", ALL_PERIODS))]),
        dict(title="Change against the previous period (%)",
             kind="bargauge", unit="percent", w=8, transform=TREND_NAMES,
             queries=[Query(T, ("consumption-", ALL_PERIODS)),
                      Query(T, ("costs-", ALL_PERIODS))],
             description="Percent change of consumption and costs against "
                         "the previous period of the same length; empty "
                         "when the API has no previous period."),
    ]),
    ("The last 12 months", 8, [
        dict(title="Monthly consumption (kWh)", kind="bars", unit="kwatth",
             w=12, time=HISTORY_RANGE, names=names(("consumption-history"
                                                    "(?:-latest)?", "")),
             queries=[Query(E, "consumption-history", MONTHS)],
             description="Resource consumption-history: each complete "
                         "month at its own timestamp (the 1st, 00:00 UTC). "
                         "The store's retention must cover a year."),
        dict(title="Monthly costs (%s)" % CUR, kind="bars", unit="none",
             w=12, time=HISTORY_RANGE, names=names(("costs-history"
                                                    "(?:-latest)?", "")),
             queries=[Query(C, "costs-history", MONTHS)],
             description="Resource costs-history: the costs of each "
                         "complete month."),
        dict(title="Monthly consumption per appliance (kWh)", kind="bars",
             unit="kwatth", w=12, time=HISTORY_RANGE, stack=True,
             transform=YEARLY_NAMES,
             queries=[Query(E, ("yearly-distribution-", ANY), MONTHS,
                            no_latest=True)],
             description="Resource yearly-consumption-distribution, "
                         "stacked: each month's consumption per appliance."),
        dict(title="Consumption since January (kWh)", kind="bars",
             unit="kwatth", w=12, time=HISTORY_RANGE,
             names=names(("yearly-compound-total(?:-latest)?", "since 1 Jan"),
                         ("yearly-compound(?:-latest)?", "month")),
             queries=[Query(E, "yearly-compound-total", MONTHS),
                      Query(E, "yearly-compound", MONTHS)],
             description="Resource yearly-compound-consumption: the running "
                         "total of the year and each month's part of it."),
    ]),
    ("Appliances: $period", 8, [
        dict(title="Appliance breakdown (kWh)", kind="piechart",
             unit="kwatth", w=6, transform=APPLIANCE_NAMES,
             queries=[Query(E, ("distribution-$period-", ANY))],
             description="Resource consumption-distribution: energy per "
                         "appliance in the chosen period."),
        dict(title="Appliance shares (%)", kind="bargauge", unit="percent",
             w=6, transform=APPLIANCE_NAMES, min=0, max=100,
             queries=[Query(S, ("distribution-$period-", ANY))]),
        dict(title="Disaggregation (kWh)", kind="bargauge", unit="kwatth",
             w=6, transform=APPLIANCE_NAMES,
             queries=[Query(E, ("disaggregation-$period-", ANY))]),
        dict(title="Disaggregation (%s)" % CUR, kind="bargauge",
             unit="none", w=6, transform=APPLIANCE_NAMES,
             queries=[Query(C, ("disaggregation-$period-", ANY))]),
    ]),
    ("You against similar users: $period", 8, [
        dict(title="You against similar users (kWh)", kind="bargauge",
             unit="kwatth", w=9,
             queries=[Query(P, "performance-$period", ds="min",
                            name="most frugal similar user"),
                      Query(P, "performance-$period", ds="user", name="you"),
                      Query(P, "performance-$period", ds="max",
                            name="most consuming similar user")],
             description="Resource performance: the meter's consumption "
                         "in the chosen period between those of the most "
                         "frugal and the most consuming similar users."),
        dict(title="Savings estimate (kWh, 30 days)", kind="bargauge",
             unit="kwatth", w=5, transform=SAVING_NAMES,
             queries=[Query(E, "savings"), Query(E, ("savings-", ANY))],
             description="Resource savings: the estimated consumption, in "
                         "total and per appliance."),
        dict(title="Savings estimate (%s, 30 days)" % CUR, kind="bargauge",
             unit="none", w=5, transform=SAVING_NAMES,
             queries=[Query(C, "savings"), Query(C, ("savings-", ANY))]),
        dict(title="Saving potential per appliance (%s)" % CUR,
             kind="bargauge", unit="none", w=5, transform=SAVING_NAMES,
             queries=[Query(C, ("saving-potential-", ANY))]),
    ]),
    ("Plugin health: all accounts and meters of $host", 8, [
        dict(title="API requests per second", kind="timeseries",
             unit="reqps", w=8,
             queries=[Query("digiwatt_requests", ANY_TI, RATE,
                            scope="accounts")],
             description="Data and token requests of each account."),
        dict(title="API errors per second, by class", kind="timeseries",
             unit="reqps", w=8,
             queries=[Query("digiwatt_errors", ANY_TI, RATE,
                            scope="accounts")],
             description="auth, rate-limit, server, timeout, network, "
                         "client, decode."),
        dict(title="Data age per meter", kind="timeseries", unit="s", w=8,
             thresholds=steps(AGE),
             queries=[Query("digiwatt_data_age_seconds", None, LINE,
                            name="", scope="meters")],
             description="Seconds since each meter's last successful "
                         "fetch, with the limits of threshold.conf."),
        dict(title="Read cycle and response time", kind="timeseries",
             unit="s", w=12,
             queries=[Query("digiwatt_cycle_seconds", None, LINE,
                            name="cycle", scope="accounts"),
                      Query("digiwatt_response_time_seconds", None, LINE,
                            name="mean response", scope="accounts")]),
        dict(title="Meters whose requests succeeded / failed",
             kind="timeseries", unit="short", w=12,
             queries=[Query("digiwatt_meters", ANY_TI, LINE,
                            scope="accounts")]),
    ]),
]

# --- Grafana's JSON model ---------------------------------------------------


def field_config(p):
    defaults = {"unit": p["unit"], "decimals": 2,
                "color": {"mode": "palette-classic"}}
    for key in ("min", "max"):
        if key in p:
            defaults[key] = p[key]
    steps_ = [{"color": c, "value": v}
              for v, c in p.get("thresholds", [(None, "green")])]
    defaults["thresholds"] = {"mode": "absolute", "steps": steps_}
    if "thresholds" in p and p["kind"] in ("stat", "bargauge"):
        defaults["color"] = {"mode": "thresholds"}
    if p["kind"] in ("timeseries", "bars"):
        bars = p["kind"] == "bars"
        defaults["custom"] = {
            "drawStyle": "bars" if bars else "line",
            "lineWidth": 1 if bars else 2,
            "fillOpacity": 80 if bars else 10,
            "showPoints": "never",
            "spanNulls": not bars,
            "stacking": {"mode": "normal" if p.get("stack") else "none",
                         "group": "A"},
        }
        if "thresholds" in p:
            defaults["custom"]["thresholdsStyle"] = {"mode": "line"}
    return {"defaults": defaults, "overrides": []}


def options(p):
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    kind = p["kind"]
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value",
                "graphMode": "none", "justifyMode": "auto",
                "orientation": "auto", "textMode": "auto"}
    if kind == "bargauge":
        return {"reduceOptions": reduce, "orientation": "horizontal",
                "displayMode": "gradient", "showUnfilled": True}
    if kind == "piechart":
        return {"reduceOptions": reduce, "pieType": "donut",
                "legend": {"displayMode": "table", "placement": "right",
                           "showLegend": True, "values": ["value", "percent"]},
                "tooltip": {"mode": "single", "sort": "none"}}
    calcs = ["lastNotNull"] if kind == "timeseries" else ["sum", "mean"]
    return {"legend": {"displayMode": "table", "placement": "right",
                       "showLegend": True, "calcs": calcs},
            "tooltip": {"mode": "multi", "sort": "desc"}}


def describe(backend, p):
    text = p.get("description", "")
    if p.get("time") == HISTORY_RANGE:
        text += HISTORY_NOTE.get(backend.name, "")
    return text


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
        "description": describe(backend, p),
        "datasource": backend.ds,
        "gridPos": {"h": h, "w": p["w"], "x": x, "y": y},
        "fieldConfig": field_config(p),
        "options": options(p),
        "targets": targets,
    }
    transform = p.get("transform", []) + p.get("names", [])
    if transform:
        out["transformations"] = transform
    if p.get("time"):
        # Bars of days or months, whatever the dashboard's range.
        out["timeFrom"] = p["time"]
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
    elif backend is GRAPHITE:
        host_q = "${prefix}*"
        meter_q = "${prefix}$host.digiwatt-*"
        host_re = "/^(?!carbon$)(.*)$/"
        meter_re = "/^digiwatt-(?!account-)(.+)$/"
    else:
        # energy values exist for meters only, never for account-<name>
        host_q = "label_values(collectd_digiwatt_digiwatt_energy_kwh, instance)"
        meter_q = ("label_values(collectd_digiwatt_digiwatt_energy_kwh"
                   '{instance=~"$host"}, digiwatt)')
        host_re = meter_re = ""
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
    for name, label, query, regex, multi in (
            ("host", "Host", host_q, host_re, False),
            ("meter", "Meter", meter_q, meter_re, True)):
        out.append({
            "name": name, "label": label, "type": "query",
            "datasource": ds, "query": query, "definition": query,
            "regex": regex, "refresh": 2, "sort": 1, "hide": 0,
            "multi": multi, "includeAll": multi, "current": {},
            "options": [],
        })
    for name, label, values, default, description in (
            ("period", "Period", PERIODS, "this-month",
             "The period of the appliance and similar-user panels"),
            ("currency", "Currency", CURRENCIES, CURRENCIES[0],
             "The account's currency: the API sends amounts without one")):
        out.append({
            "name": name, "label": label, "type": "custom",
            "query": ",".join(values), "hide": 0, "multi": False,
            "includeAll": False, "description": description,
            "current": {"selected": True, "text": default, "value": default},
            "options": [{"selected": v == default, "text": v, "value": v}
                        for v in values],
        })
    return out


def dashboard(backend):
    panels, pid, y = [], 1, 0
    kinds = set()
    for title, height, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title,
                       "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        pid, y, x = pid + 1, y + 1, 0
        for p in row:
            if x + p["w"] > 24:
                x, y = 0, y + height
            panels.append(panel(backend, p, pid, x, y, height))
            kinds.add(panels[-1]["type"])
            pid, x = pid + 1, x + p["w"]
        y += height
    names_ = {"timeseries": "Time series", "stat": "Stat",
              "bargauge": "Bar gauge", "piechart": "Pie chart"}
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
            {"type": "panel", "id": k, "name": names_[k], "version": ""}
            for k in sorted(kinds)],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana",
                                         "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "collectd-digiwatt: daily and monthly consumption "
                       "and costs, the budget, appliances, similar users, "
                       "savings and the plugin's health, for one or more "
                       "meters (%s)." % backend.title,
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
        "time": {"from": "now-2d", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": "Digiwatt energy (%s)" % backend.title,
        "uid": "digiwatt-%s" % backend.name,
        "version": 1,
        "weekStart": "",
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    for backend in BACKENDS:
        path = os.path.join(out, "digiwatt-%s.json" % backend.name)
        with open(path, "w") as f:
            json.dump(dashboard(backend), f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
