#!/usr/bin/python3
"""The fleet benchmark: the digiwatt plugin against collectd's own
curl_json plugin, both inside the real collectd, both against the
simulator with an injected latency.

Scenario 1 (speed): N meters x 10 resources, period "yesterday", one read
cycle. The plugin runs in `collectd -T` (each read callback once, then
exit), and once more as a daemon (`collectd -f`) for a CPU figure that
covers all of its dispatching. curl_json runs the same requests twice: in
`collectd -T`, where its one read callback per URL runs strictly one
after another, and as the daemon runs it (`collectd -f`, ReadThreads 5),
stopped as soon as the simulator has answered every request. The daemon
figure, the one that favours curl_json, is the one the "x times faster"
ratio uses.
Scenario 2 (budget): the plugin as a daemon (Interval 2) for the first
cycle and three more; the later cycles must make no request at all.
Scenario 3 (memory): N meters x all resources x all periods (35 requests
a meter), one cycle in `collectd -T` and one as a daemon; peak RSS.

The fleet lifecycle (issue 10), every resource and period:
Scenario 4 (values per meter and day): csv daemons with RepeatCached true
and with the defaults, side by side; rows counted by cycle and resource.
Scenario 5 (collectd CPU per meter and day with rrdtool): RepeatCached
true, RefreshInterval 0 and the defaults, CPU over whole read intervals.
Scenario 6 (restart): a first start, then a restart on its state (no
request in the next cycles); peak RSS of both against a run that cannot
burst (MaxConcurrency 1).
Scenario 7 (SIGTERM): Interval 120, every request hanging; time to exit.
Scenario 8 (inside the process, bench/inprocess): the read callback's
hand-over while a cycle runs, the plugin's own heap per meter, the state
file's size and write time.

For each collectd process: wall time, CPU time (user + sys from
os.wait4), peak RSS (from GNU time, which runs collectd), and the requests
and token requests the simulator counted. Prints a report and, with
--markdown FILE, writes it between the markers of FILE (text outside them
is kept). bench/README.md has the details.

Exit status: 0 when every digiwatt run did what it should (request
counts, HTTP statuses, the second cycle's and the restart's zero
requests), 1 otherwise; curl_json's failures, and those of collectd's
rrdtool writer, are reported as notes. Timing and memory targets are
reported, never enforced: the machine is noisy."""

import argparse
import csv
import datetime
import glob
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("top_srcdir", os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "e2e"))
import lib  # noqa: E402

GNU_TIME = os.environ.get("GNU_TIME", "/usr/bin/time")
BEGIN = "<!-- bench:begin (written by bench/run.py; edit outside) -->"
END = "<!-- bench:end -->"

# What curl_json extracts from each resource: every number the plugin
# dispatches too, so both parse whole bodies. curl_json names each array
# element by its index (about 153 identifiers a meter for "yesterday",
# where the plugin has 60: its history months are one series each).
CJ_KEYS = {
    "costs": ["value", "previousPeriodValueTrend"],
    "consumption": ["value", "previousPeriodValueTrend"],
    "consumption-distribution": ["*/value", "*/percentage"],
    "performance": ["minConsumption", "maxConsumption", "userConsumption"],
    "disaggregation": ["*/value", "*/cost"],
    "savings": ["estimatedConsumption", "estimatedCost",
                "performance/minConsumption", "performance/maxConsumption",
                "performance/userConsumption", "*/estimatedConsumption",
                "*/estimatedCost", "*/savingPotential"],
    "consumption-history": ["*/value"],
    "costs-history": ["forecast/value", "costs/*/value"],
    "yearly-consumption-distribution": ["*/values/*/value"],
    "yearly-compound-consumption": ["*/value", "*/compoundValue"],
}


class BenchError(Exception):
    pass


def meter_ids(n):
    return ["m%05d" % i for i in range(n)]


def requests_per_meter(periods):
    return sum(len(periods) if r in lib.WITH_PERIOD else 1
               for r in lib.RESOURCES)


# --- processes ---------------------------------------------------------------

class Run:
    """One collectd process: what it cost and what the simulator saw."""

    def __init__(self, name, argv):
        self.name = name
        self.argv = argv
        self.wall_s = self.cpu_s = 0.0
        self.rss_kib = 0
        self.exit_code = None
        self.requests = self.token_requests = 0
        self.statuses = {}
        self.max_in_flight = 0

    @property
    def cpu_per_request_ms(self):
        return 1000.0 * self.cpu_s / self.requests if self.requests else None


def stats_delta(before, after):
    statuses = {}
    for code, n in after["by_status"].items():
        d = n - before["by_status"].get(code, 0)
        if d:
            statuses[code] = d
    return (after["requests"] - before["requests"],
            after["token_requests"] - before["token_requests"], statuses)


def cpu_ticks(pid):
    """utime + stime of a live process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def child_of(pid, timeout_s=10):
    """The one child process of pid (collectd under GNU time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                children = f.read().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.002)
    raise BenchError("collectd did not start under %s" % GNU_TIME)


def read_time_output(path):
    """(maxrss KiB, exit status) from GNU time's -o file."""
    with open(path) as f:
        lines = [l.split() for l in f if l.startswith("rusage ")]
    if not lines:
        raise BenchError("no output from %s in %s" % (GNU_TIME, path))
    return int(lines[-1][1]), int(lines[-1][2])


def run_collectd(run, sim, workdir, done=None, timeout_s=3600, settle=True):
    """Runs collectd until it exits or, once done() says so, stops it with
    SIGTERM. done(sim, before) returns None to go on, else the monotonic
    time where the wall time ends; without done, it ends at exit. Before
    the SIGTERM (with settle) it waits until the process has used no CPU
    for a second: collectd's write threads drop what is still queued when
    it stops, so the CPU time then covers every value dispatched.

    collectd runs under GNU time, which reports its peak RSS: a process
    exec()ed straight from this one would inherit Python's own peak RSS as
    a floor of its ru_maxrss (the kernel keeps the larger of the two
    across exec), which would hide the baseline."""
    before = sim.stats()
    log = open(os.path.join(workdir, run.name + ".out"), "w")
    time_out = os.path.join(workdir, run.name + ".time")
    start = time.monotonic()
    proc = subprocess.Popen(
        [GNU_TIME, "-o", time_out, "-f", "rusage %M %x"] + run.argv,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    end = usage = None
    idle = (None, 0)  # last CPU ticks seen, since when unchanged
    try:
        collectd = child_of(proc.pid)
        # GNU time is reaped here, not by Popen, for its rusage: its CPU
        # time includes the child it waited for, collectd.
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            now = time.monotonic()
            if pid != 0:
                end = end if end is not None else now
                break
            if now - start > timeout_s:
                raise BenchError("%s: still running after %d s" %
                                 (run.name, timeout_s))
            if end is None and done is not None:
                end = done(sim, before)
            if end is not None and idle is not False:
                ticks = cpu_ticks(collectd)
                if ticks != idle[0]:
                    idle = (ticks, now)
                elif not settle or now - idle[1] >= 1.0 or now - end > 120:
                    os.kill(collectd, signal.SIGTERM)
                    idle = False
            time.sleep(0.01 if done is None else 0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if proc.returncode is None:
            # the session started above: GNU time and its collectd
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    run.wall_s = end - start
    run.cpu_s = usage.ru_utime + usage.ru_stime
    run.rss_kib, run.exit_code = read_time_output(time_out)
    after = sim.stats()
    run.requests, run.token_requests, run.statuses = stats_delta(before, after)
    run.max_in_flight = after.get("max_in_flight", 0)
    return run


def all_answered(expected, stall_s=30):
    """done() for a daemon: every expected request answered; or, so that a
    run cannot hang, no new request for stall_s seconds (the shortfall is
    then reported), the wall time ending at the last answer seen."""
    progress = {"count": -1, "at": 0.0}

    def done(sim, before):
        s = sim.stats()
        now = time.monotonic()
        count = s["requests"] - before["requests"]
        if count != progress["count"] or s["in_flight"] != 0:
            progress.update(count=count, at=now)
        if count >= expected and s["in_flight"] == 0:
            return now
        if now - progress["at"] >= stall_s:
            return progress["at"]
        return None
    return done


def start_sim(workdir, latency_ms, *extra):
    os.makedirs(workdir, exist_ok=True)
    sim = lib.Simulator(workdir, "--quiet", "--latency-ms", str(latency_ms),
                        "--max-connections", "1024", *extra)
    # Counters since this point only (max_in_flight restarts too).
    urllib.request.urlopen(urllib.request.Request(
        sim.base + "/_control/reset-stats", data=b"", method="POST")).close()
    return sim


# --- configurations --------------------------------------------------------

# No writer: values reach collectd's cache (as with any writer), then this
# chain drops them. Without it, collectd logs "Available write targets::
# [none]" for every value, a cost no real setup has.
DROP_CHAIN = """PostCacheChain "drop"
<Chain "drop">
  Target "stop"
</Chain>"""


def collectd_conf(workdir, name, plugin_dir, body, interval_s, read_threads=5,
                  drop=True):
    lines = [
        'Hostname "bench"',
        'FQDNLookup false',
        'BaseDir "%s"' % workdir,
        'PIDFile "%s/%s.pid"' % (workdir, name),
        'PluginDir "%s"' % plugin_dir,
        'TypesDB "/usr/share/collectd/types.db" "%s"' % lib.TYPES_DB,
        'Interval %s' % interval_s,
        'ReadThreads %d' % read_threads,
        'LoadPlugin logfile',
        '<Plugin logfile>',
        '  LogLevel "info"',
        '  File "%s/%s.log"' % (workdir, name),
        '  Timestamp true',
        '  PrintSeverity true',
        '</Plugin>',
        DROP_CHAIN if drop else '',
        body,
    ]
    path = os.path.join(workdir, name + ".conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def digiwatt_body(sim, meters, periods, concurrency, options=(),
                  resources=None, timeout=30, cycle_timeout=600):
    """options: more lines of the <Account>."""
    out = ['LoadPlugin digiwatt',
           '<Plugin digiwatt>',
           '  <Account "bench">',
            '    BaseURL "%s"' % sim.base,
            '    ClientID "%s"' % sim.client_id,
            '    ClientSecret "%s"' % sim.client_secret,
            '    Timeout %d' % timeout,
            '    CycleTimeout %d' % cycle_timeout,
            '    MaxConcurrency %d' % concurrency,
            '    Resources %s' % " ".join('"%s"' % r
                                         for r in resources or lib.RESOURCES),
            '    Periods %s' % " ".join('"%s"' % p for p in periods)]
    out += ['    ' + o for o in options]
    for m in meters:
        out += ['    <Smartmeter "%s">' % m, '    </Smartmeter>']
    out += ['  </Account>', '</Plugin>']
    return "\n".join(out)


def curl_json_body(sim, meters, period):
    # A static header, as curl_json offers; Connection: close because each
    # <URL> keeps its own easy handle, so an idle keep-alive connection per
    # URL would pile up (10,000 of them) without ever being reused within
    # a cycle: closing them costs curl_json no reuse it would have had.
    header = 'Header "Authorization: %s"' % sim.token()
    out = ['LoadPlugin curl_json', '<Plugin curl_json>']
    for m in meters:
        for r in lib.RESOURCES:
            url = "%s/smartmeters/%s/%s" % (sim.base, m, r)
            if r in lib.WITH_PERIOD:
                url += "/" + period
            out += ['  <URL "%s">' % url,
                    '    Instance "%s_%s"' % (m, r),
                    '    %s' % header,
                    '    Header "Connection: close"',
                    '    Timeout 30000']
            for key in CJ_KEYS[r]:
                out += ['    <Key "%s">' % key, '      Type "gauge"',
                        '    </Key>']
            out.append('  </URL>')
    out.append('</Plugin>')
    return "\n".join(out)


def digiwatt_dir(workdir):
    return lib.plugin_dir(workdir, ["logfile", "csv", "match_regex"])


# --- scenarios -------------------------------------------------------------

def check_run(run, expected_requests, expected_tokens, problems):
    bad = {c: n for c, n in run.statuses.items() if c != "200"}
    if run.exit_code != 0:
        problems.append("%s: collectd exited with %s" %
                        (run.name, run.exit_code))
    if run.requests != expected_requests:
        problems.append("%s: %d requests, expected %d" %
                        (run.name, run.requests, expected_requests))
    if expected_tokens is not None and run.token_requests != expected_tokens:
        problems.append("%s: %d token requests, expected %d" %
                        (run.name, run.token_requests, expected_tokens))
    if bad:
        problems.append("%s: non-200 answers %s" % (run.name, bad))


def log_errors(workdir, name, pattern="[error]"):
    path = os.path.join(workdir, name + ".log")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip() for line in f if pattern in line]


def scenario_speed(args, root, problems, notes):
    """problems: of the plugin; notes: of curl_json, reported only."""
    meters = meter_ids(args.meters)
    per_meter = requests_per_meter(["yesterday"])
    expected = args.meters * per_meter
    workdir = os.path.join(root, "speed")
    sim = start_sim(workdir, args.latency_ms, "--token-lifetime", "86400")
    runs = {}
    try:
        conf = collectd_conf(workdir, "digiwatt", digiwatt_dir(workdir),
                             digiwatt_body(sim, meters, ["yesterday"],
                                           args.concurrency), 3600)
        say("scenario 1: digiwatt, collectd -T, %d requests" % expected)
        runs["ours"] = run_collectd(
            Run("digiwatt", [lib.COLLECTD, "-T", "-C", conf]), sim, workdir)
        check_run(runs["ours"], expected, 1, problems)
        say("scenario 1: digiwatt, collectd -f, %d requests" % expected)
        conf = collectd_conf(workdir, "digiwatt-f", digiwatt_dir(workdir),
                             watch_chain(workdir) +
                             digiwatt_body(sim, meters, ["yesterday"],
                                           args.concurrency), 3600,
                             drop=False)
        runs["ours_daemon"] = run_collectd(
            Run("digiwatt-f", [lib.COLLECTD, "-f", "-C", conf]), sim, workdir,
            done=all_answered(expected))
        check_run(runs["ours_daemon"], expected, 1, problems)
        runs["ours_cycle"] = self_metric(workdir, "digiwatt_cycle_seconds")
        runs["ours_response"] = self_metric(workdir,
                                            "digiwatt_response_time_seconds")
        for line in log_errors(workdir, "digiwatt-f")[:5]:
            problems.append("digiwatt-f log: " + line)
        for line in log_errors(workdir, "digiwatt")[:5]:
            problems.append("digiwatt log: " + line)

        if not args.skip_curl_json:
            body = curl_json_body(sim, meters, "yesterday")
            conf = collectd_conf(workdir, "curl_json", lib.SYSTEM_PLUGINS,
                                 body, 3600, read_threads=5)
            if not args.skip_serial:
                say("scenario 1: curl_json, collectd -T (sequential), "
                    "%d requests" % expected)
                # one request after another: allow three times that
                serial_s = expected * (args.latency_ms / 1000.0 + 0.01)
                runs["cj_serial"] = run_collectd(
                    Run("curl_json-T", [lib.COLLECTD, "-T", "-C", conf]), sim,
                    workdir, timeout_s=max(3600, 3 * serial_s))
                check_run(runs["cj_serial"], expected, 0, notes)
            say("scenario 1: curl_json, collectd -f with ReadThreads 5, "
                "%d requests" % expected)
            runs["cj_daemon"] = run_collectd(
                Run("curl_json-f", [lib.COLLECTD, "-f", "-C", conf]), sim,
                workdir, done=all_answered(expected))
            check_run(runs["cj_daemon"], expected, 0, notes)
            for line in log_errors(workdir, "curl_json")[:5]:
                notes.append("curl_json log: " + line)
    finally:
        sim.stop()
    return runs, expected


def watch_chain(workdir):
    """csv for the account's self-metrics through a PostCache chain that
    drops every other value."""
    return '''LoadPlugin match_regex
LoadPlugin csv
<Plugin csv>
  DataDir "%s/csv"
  StoreRates false
</Plugin>
PostCacheChain "bench"
<Chain "bench">
  <Rule "self">
    <Match "regex">
      PluginInstance "^account-"
    </Match>
    Target "write"
  </Rule>
  Target "stop"
</Chain>
''' % workdir


def self_metric(workdir, type_):
    """The values csv holds for one of the account's GAUGE self-metrics
    without type_instance, oldest first."""
    pattern = os.path.join(workdir, "csv", "bench", "digiwatt-account-bench",
                           type_ + "-[0-9][0-9][0-9][0-9]-*")
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            rows += [(float(r[0]), float(r[1])) for r in csv.reader(f)
                     if r and r[0] != "epoch"]
    return [v for _, v in sorted(rows)]


def scenario_budget(args, root, problems):
    """First cycle, then at least three more from the cache."""
    meters = meter_ids(args.meters)
    expected = args.meters * requests_per_meter(["yesterday"])
    workdir = os.path.join(root, "budget")
    sim = start_sim(workdir, args.rss_latency_ms)
    # csv gets the account's self-metrics, which go out every cycle: the
    # rows of digiwatt_cycle_seconds count the cycles. (A meter's values
    # go out once per fetch, so they no longer count cycles.)
    watch = watch_chain(workdir)
    body = watch + digiwatt_body(sim, meters, ["yesterday"], args.concurrency)
    conf = collectd_conf(workdir, "digiwatt-daemon", digiwatt_dir(workdir),
                         body, 2, drop=False)
    state = {}
    first_done = all_answered(expected)

    def done(sim_, before):
        s = sim_.stats()
        if "first" not in state:
            if first_done(sim_, before) is not None:
                state["first"] = s
                state["first_at"] = time.monotonic()
            return None
        cycles = self_metric(workdir, "digiwatt_cycle_seconds")
        state["cycles"] = len(cycles)
        # the first cycle's row, then three from the cache
        now = time.monotonic()
        if len(cycles) >= 4 or now - state["first_at"] > 30:
            return now
        return None

    say("scenario 2: digiwatt daemon, Interval 2, %d requests in the first "
        "cycle, then from the cache" % expected)
    try:
        run = run_collectd(Run("digiwatt-daemon",
                               [lib.COLLECTD, "-f", "-C", conf]), sim,
                           workdir, done=done, timeout_s=600, settle=False)
        final = sim.stats()
    finally:
        sim.stop()
    if "first" not in state:
        problems.append("scenario 2: the first cycle never completed")
        return None
    check_run(run, run.requests, 1, problems)  # statuses, exit, one token
    later = final["requests"] - state["first"]["requests"]
    result = {"run": run, "first": expected, "later": later,
              "later_tokens": final["token_requests"] -
              state["first"]["token_requests"],
              "cycles": state.get("cycles", 0),
              "self": self_metrics(workdir)}
    if later != 0 or result["later_tokens"] != 0:
        problems.append("scenario 2: %d requests and %d token requests after "
                        "the first cycle, expected 0" %
                        (later, result["later_tokens"]))
    if result["cycles"] < 4:
        problems.append("scenario 2: only %d cycles seen in 30 s" %
                        result["cycles"])
    return result


def self_metrics(workdir):
    """The plugin's own request counter per cycle, when it has one."""
    pattern = os.path.join(workdir, "csv", "bench", "digiwatt-account-bench",
                           "digiwatt_requests-data-*")
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            rows += [float(r[1]) for r in csv.reader(f)
                     if r and r[0] != "epoch"]
    return rows


def scenario_memory(args, root, problems):
    """{"base": one meter, "T": collectd -T, "f": collectd -f} runs."""
    meters = meter_ids(args.rss_meters)
    expected = args.rss_meters * requests_per_meter(lib.PERIODS)
    workdir = os.path.join(root, "memory")
    sim = start_sim(workdir, args.rss_latency_ms)
    plugins = digiwatt_dir(workdir)
    runs = {}
    try:
        # The same with one meter: what collectd and the libraries take.
        conf = collectd_conf(workdir, "digiwatt-one", plugins,
                             digiwatt_body(sim, meters[:1], lib.PERIODS,
                                           args.concurrency), 3600)
        runs["base"] = run_collectd(Run("digiwatt-one",
                                        [lib.COLLECTD, "-T", "-C", conf]),
                                    sim, workdir)
        check_run(runs["base"], requests_per_meter(lib.PERIODS), 1,
                  problems)
        conf = collectd_conf(workdir, "digiwatt-all", plugins,
                             digiwatt_body(sim, meters, lib.PERIODS,
                                           args.concurrency), 3600)
        say("scenario 3: digiwatt, collectd -T, all resources and periods, "
            "%d requests" % expected)
        runs["T"] = run_collectd(Run("digiwatt-all-T",
                                     [lib.COLLECTD, "-T", "-C", conf]),
                                 sim, workdir)
        # -T drops what the write queue still holds at the end, so part of
        # the values never reach collectd's cache: the daemon, once every
        # value is dispatched and handled, is the honest peak.
        say("scenario 3: digiwatt, collectd -f, all resources and periods, "
            "%d requests" % expected)
        runs["f"] = run_collectd(Run("digiwatt-all-f",
                                     [lib.COLLECTD, "-f", "-C", conf]),
                                 sim, workdir, done=all_answered(expected))
    finally:
        sim.stop()
    for key in ("T", "f"):
        check_run(runs[key], expected, 1, problems)
    for line in log_errors(workdir, "digiwatt-all")[:5]:
        problems.append("digiwatt-all log: " + line)
    return runs


# --- the fleet lifecycle (issue 10) ----------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
INPROCESS = os.path.join(lib.TOP_BUILDDIR, "bench", "inprocess")

# The default RefreshInterval of each resource in seconds (README.md,
# "RefreshInterval"; plugin/dw_resource.c).
DEFAULT_REFRESH_S = {
    "costs": 900, "consumption": 900, "consumption-distribution": 3600,
    "performance": 3600, "disaggregation": 3600, "savings": 21600,
    "consumption-history": 21600, "costs-history": 21600,
    "yearly-consumption-distribution": 21600,
    "yearly-compound-consumption": 21600}

# A value's resource from the label its type_instance starts with (README
# "Identifier scheme"); longer labels first, so "costs-history" is not
# taken for "costs".
LABEL_RESOURCE = [
    ("yearly-compound-total", "yearly-compound-consumption"),
    ("yearly-compound", "yearly-compound-consumption"),
    ("yearly-distribution", "yearly-consumption-distribution"),
    ("consumption-history", "consumption-history"),
    ("costs-history", "costs-history"), ("costs-forecast", "costs-history"),
    ("saving-potential", "savings"), ("savings", "savings"),
    ("distribution", "consumption-distribution"),
    ("disaggregation", "disaggregation"), ("performance", "performance"),
    ("consumption", "consumption"), ("costs", "costs")]

# Self-metrics: the account's own (plugin instance account-<name>), every
# read interval, and each meter's digiwatt_data_age_seconds, every tenth
# of the shortest RefreshInterval its account uses (at least an interval);
# both whatever the mode.
ACCOUNT_SELF, METER_SELF = "account self-metrics", "meter self-metrics"


def resource_of(type_instance):
    for label, slug in LABEL_RESOURCE:
        if type_instance == label or type_instance.startswith(label + "-"):
            return slug
    return None


class Daemon:
    """collectd -f started from here and watched through /proc: CPU time
    (cpu_s), RSS (VmRSS, sampled) and peak RSS
    (VmHWM, which belongs to the process image: unlike ru_maxrss it does
    not carry Python's own peak over exec)."""

    def __init__(self, name, conf, workdir):
        self.name = name
        self.workdir = workdir
        self.out = open(os.path.join(workdir, name + ".out"), "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([lib.COLLECTD, "-f", "-C", conf],
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.rss = []  # (seconds since start, VmRSS KiB)
        self.peak_kib = self.final_kib = None
        self.stop_s = None

    def status_kib(self, key):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        """CPU time so far, utime + stime of /proc/PID/stat: clock ticks
        (10 ms), every thread the process ever had."""
        return cpu_ticks(self.proc.pid) / CLK_TCK

    def run_time_s(self):
        """CPU time so far to the nanosecond: the run time of each live
        thread (/proc/PID/task/*/schedstat), which leaves out threads that
        have ended (compare with cpu_s); None without schedstat."""
        total, pid = 0, self.proc.pid
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return total / 1e9

    def sample(self):
        try:
            self.rss.append((time.monotonic() - self.started,
                             self.status_kib("VmRSS")))
        except OSError:
            pass

    def watch(self, what, cond, timeout_s, period=0.05):
        """Samples the RSS every period until cond() holds."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise BenchError("%s: collectd exited with %s while waiting "
                                 "for %s (see %s.log)" %
                                 (self.name, self.proc.returncode, what,
                                  self.name))
            self.sample()
            if cond():
                return
            if time.monotonic() > deadline:
                raise BenchError("%s: no %s within %d s" %
                                 (self.name, what, timeout_s))
            time.sleep(period)

    def settle(self, idle_s=1.0, timeout_s=300):
        """Until the process has used no CPU for idle_s: collectd's write
        threads have handled what was dispatched."""
        last = {"ticks": -1, "since": 0.0}

        def idle():
            ticks, now = cpu_ticks(self.proc.pid), time.monotonic()
            if ticks != last["ticks"]:
                last.update(ticks=ticks, since=now)
            return now - last["since"] >= idle_s
        self.watch("quiet second", idle, timeout_s)

    def stop(self, timeout_s=120):
        """SIGTERM; returns the seconds until the process had exited."""
        if self.proc.poll() is None:
            try:
                self.peak_kib = self.status_kib("VmHWM")
                self.final_kib = self.status_kib("VmRSS")
            except OSError:
                pass
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise BenchError("%s: still running %d s after SIGTERM" %
                                 (self.name, timeout_s))
            self.stop_s = time.monotonic() - t0
        self.out.close()
        return self.stop_s

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.out.close()


def first_cycle_done(sim, before, expected):
    s = sim.stats()
    return (s["requests"] - before["requests"] >= expected and
            s["in_flight"] == 0)


def lifecycle_conf(workdir, name, sim, meters, interval, options=(),
                   writer=None, **account):
    """A daemon's configuration: every resource and period unless account
    says otherwise (digiwatt_body's keywords); writer None (self-metrics
    to csv, the rest dropped), "csv" or "rrdtool" (every value)."""
    account.setdefault("concurrency", 64)
    body = digiwatt_body(sim, meter_ids(meters), lib.PERIODS,
                         options=options, **account)
    if writer is None:
        head = watch_chain(workdir)
    elif writer == "csv":
        head = ('LoadPlugin csv\n<Plugin csv>\n  DataDir "%s/csv"\n'
                '  StoreRates false\n</Plugin>\n' % workdir)
    else:  # Debian's rrdtool block: DataDir only, so no CacheTimeout
        head = ('LoadPlugin rrdtool\n<Plugin rrdtool>\n  DataDir "%s/rrd"\n'
                '</Plugin>\n' % workdir)
    plugins = lib.plugin_dir(workdir, ["logfile", "csv", "match_regex",
                                       "rrdtool"])
    return collectd_conf(workdir, name, plugins, head + body, interval,
                         drop=False)


def cycle_count(workdir):
    return len(self_metric(workdir, "digiwatt_cycle_seconds"))


# --- scenario 4: values per meter and day (csv) ----------------------------

def csv_census(workdir):
    """What csv wrote, by cycle: {"cycles": [epoch text], "by_cycle":
    {epoch: {kind: rows}}, "months": rows stamped at no cycle's time}. A
    kind is a resource, ACCOUNT_SELF or METER_SELF."""
    base = os.path.join(workdir, "csv", "bench")
    rows = []  # (instance, type, type_instance, epoch text)
    for d in sorted(os.listdir(base)):
        instance = d[len("digiwatt-"):]
        for name in os.listdir(os.path.join(base, d)):
            type_, rest = name.split("-", 1)
            ti = rest[:-11]  # less "-YYYY-MM-DD"
            with open(os.path.join(base, d, name)) as f:
                for r in csv.reader(f):
                    if r and r[0] != "epoch":
                        rows.append((instance, type_, ti, r[0]))
    cycles = sorted({e for i, t, ti, e in rows
                     if i.startswith("account-") and
                     t == "digiwatt_cycle_seconds"}, key=float)
    by_cycle = {e: {} for e in cycles}
    months = 0
    unknown = set()
    for instance, type_, ti, epoch in rows:
        if instance.startswith("account-"):
            kind = ACCOUNT_SELF
        elif type_ == "digiwatt_data_age_seconds":
            kind = METER_SELF
        else:
            kind = resource_of(ti)
            if kind is None:
                unknown.add(type_ + "-" + ti)
                continue
        if epoch in by_cycle:
            by_cycle[epoch][kind] = by_cycle[epoch].get(kind, 0) + 1
        else:
            months += 1
    return {"cycles": cycles, "by_cycle": by_cycle, "months": months,
            "unknown": sorted(unknown)}


def data_rows(counts):
    return sum(n for k, n in counts.items()
               if k not in (ACCOUNT_SELF, METER_SELF))


def fetches_per_day(resource, interval_s):
    """A slot's fetches per day with the default RefreshInterval R: the
    plugin shortens each next due time by 0 to 10 % (5 % on average) and
    a due slot waits for the next read tick (half an interval on
    average), so the mean time between fetches is 0.95 R + I / 2."""
    r = max(DEFAULT_REFRESH_S[resource], interval_s)
    return 86400.0 / (0.95 * r + interval_s / 2.0)


def data_age_period(interval_s):
    """Seconds between a meter's data ages with the default
    RefreshIntervals: a tenth of the shortest (at least an interval), sent
    at the first cycle no less than half an interval short of it."""
    every = max(min(DEFAULT_REFRESH_S.values()) / 10.0, interval_s)
    return math.ceil((every - interval_s / 2.0) / interval_s) * interval_s


def scenario_values(args, root, problems):
    """Two csv daemons side by side, RepeatCached true and the default."""
    n = args.writer_meters
    expected = n * requests_per_meter(lib.PERIODS)
    want = 1 + args.writer_cycles
    out = {}
    sim = start_sim(os.path.join(root, "values"), args.rss_latency_ms)
    try:
        for mode, options in (("repeat", ["RepeatCached true"]),
                              ("default", [])):
            workdir = os.path.join(root, "values", mode)
            os.makedirs(workdir)
            name = "values-" + mode
            conf = lifecycle_conf(workdir, name, sim, n, args.writer_interval,
                                  options, writer="csv")
            say("scenario 4: digiwatt, csv, %s, %d meters, Interval %d, %d "
                "cycles" % (mode, n, args.writer_interval, want))
            before = sim.stats()
            d = Daemon(name, conf, workdir)
            try:
                d.watch("first cycle",
                        lambda: first_cycle_done(sim, before, expected),
                        300)
                d.watch("%d cycles" % want,
                        lambda: cycle_count(workdir) >= want,
                        args.writer_interval * (want + 3) + 60, period=0.2)
                d.settle()
                d.stop()
            finally:
                d.kill()
            after = sim.stats()
            census = csv_census(workdir)
            census["requests"] = after["requests"] - before["requests"]
            census["tokens"] = (after["token_requests"] -
                                before["token_requests"])
            out[mode] = census
            if census["requests"] != expected:
                problems.append("scenario 4 %s: %d requests, expected %d" %
                                (mode, census["requests"], expected))
            if census["unknown"]:
                problems.append("scenario 4 %s: values of no known "
                                "resource: %s" %
                                (mode, ", ".join(census["unknown"][:5])))
            for line in log_errors(workdir, name)[:3]:
                problems.append(name + " log: " + line)
            if not args.keep:
                shutil.rmtree(os.path.join(workdir, "csv"),
                              ignore_errors=True)
    finally:
        sim.stop()
    return values_arithmetic(args, out, problems)


def values_arithmetic(args, runs, problems):
    """Values per meter and day of both modes from what csv wrote."""
    n, interval = args.writer_meters, args.writer_interval
    per_day = 86400.0 / interval
    rep, dft = runs["repeat"], runs["default"]
    res = {"runs": runs}
    if len(rep["cycles"]) < 3 or len(dft["cycles"]) < 2:
        problems.append("scenario 4: too few cycles (%d, %d)" %
                        (len(rep["cycles"]), len(dft["cycles"])))
        return res
    # RepeatCached: every cycle after the first dispatches the cache again.
    steady = [data_rows(rep["by_cycle"][e]) for e in rep["cycles"][1:]]
    if len(set(steady)) != 1:
        problems.append("scenario 4 repeat: data rows per cycle vary: %s" %
                        steady)
    res["repeat_per_cycle"] = max(steady) / n
    res["repeat_data_day"] = res["repeat_per_cycle"] * per_day
    # Default: the first cycle's rows, by resource, are one fetch's values.
    first = dft["by_cycle"][dft["cycles"][0]]
    res["per_fetch"] = {r: first.get(r, 0) / n for r in lib.RESOURCES}
    res["default_data_day"] = sum(
        res["per_fetch"][r] * fetches_per_day(r, interval)
        for r in lib.RESOURCES)
    res["default_later"] = [data_rows(dft["by_cycle"][e])
                            for e in dft["cycles"][1:]]
    # The account's self-metrics, every cycle in both modes: measured in
    # a later cycle.
    later = dft["by_cycle"][dft["cycles"][-1]]
    res["account_self_cycle"] = later.get(ACCOUNT_SELF, 0)
    # A meter's data age: once in the first cycle (measured), then at its
    # cadence, longer than the measured window (arithmetic).
    res["meter_self_first"] = (
        dft["by_cycle"][dft["cycles"][0]].get(METER_SELF, 0) / n)
    if res["meter_self_first"] != 1:
        problems.append("scenario 4: %.2f data ages per meter in the first "
                        "cycle, expected 1" % res["meter_self_first"])
    res["age_period_s"] = data_age_period(interval)
    res["meter_self_day"] = 86400.0 / res["age_period_s"]
    self_day = res["meter_self_day"] + res["account_self_cycle"] / n * per_day
    res["self_day"] = self_day
    res["months_per_meter"] = {m: runs[m]["months"] / n for m in runs}
    res["repeat_day"] = res["repeat_data_day"] + self_day
    res["default_day"] = res["default_data_day"] + self_day
    res["ratio"] = res["repeat_day"] / res["default_day"]
    res["data_ratio"] = res["repeat_data_day"] / res["default_data_day"]
    return res


# --- scenario 5: collectd CPU per meter and day (rrdtool) -------------------

def rrd_window(args, sim, root, name, options, problems, notes,
               expected_first):
    """One rrdtool daemon: its first cycle (and the RRD files it creates),
    then collectd's CPU over a window of --writer-cycles read intervals in
    steady state. Any window of whole intervals holds exactly that many
    cycles' work, wherever it starts, when each cycle does the same."""
    workdir = os.path.join(root, "cpu", name)
    os.makedirs(workdir)
    conf = lifecycle_conf(workdir, name, sim, args.writer_meters,
                          args.writer_interval,
                          ["MonthlyHistory false"] + options,
                          writer="rrdtool")
    say("scenario 5: digiwatt, rrdtool, %s, %d meters, Interval %d" %
        (name, args.writer_meters, args.writer_interval))
    before = sim.stats()
    d = Daemon(name, conf, workdir)
    r = {"name": name}
    try:
        t0 = time.monotonic()
        d.watch("first cycle",
                lambda: first_cycle_done(sim, before, expected_first), 300)
        d.settle(timeout_s=600)
        r["first_s"] = time.monotonic() - t0
        r["first_cpu_s"] = d.cpu_s()
        window = args.writer_cycles * args.writer_interval
        s0, w0 = sim.stats(), time.monotonic()
        c0, n0 = d.cpu_s(), d.run_time_s()
        d.watch("end of the window", lambda: time.monotonic() - w0 >= window,
                window + 60, period=0.1)
        s1, c1, n1 = sim.stats(), d.cpu_s(), d.run_time_s()
        r["window_s"] = time.monotonic() - w0
        cpu = c1 - c0
        # the nanosecond figure when no thread ended in the window (then
        # it agrees with the ticks to a few ticks)
        r["precise"] = (n0 is not None and n1 is not None and
                        abs((n1 - n0) - cpu) <= 3.0 / CLK_TCK + 0.05 * cpu)
        if r["precise"]:
            cpu = n1 - n0
        r["cpu_per_cycle"] = cpu * args.writer_interval / r["window_s"]
        r["window_requests"] = s1["requests"] - s0["requests"]
        r["files"] = len(glob.glob(os.path.join(workdir, "rrd", "*", "*",
                                                "*.rrd")))
        d.stop()
    finally:
        d.kill()
    r["illegal"] = len(log_errors(workdir, name, "illegal attempt"))
    r["requests"] = sim.stats()["requests"] - before["requests"]
    errors = log_errors(workdir, name)
    # collectd's rrdtool writer can fail to create a file that two write
    # threads create at once (when a first cycle that creates 17,000
    # files outlasts the interval): its failure, not the plugin's
    theirs = [l for l in errors if "rrdtool plugin:" in l]
    for line in theirs[:3]:
        notes.append("%s log (collectd's rrdtool writer, %d such lines): "
                     "%s" % (name, len(theirs), line))
    for line in [l for l in errors if l not in theirs][:3]:
        problems.append(name + " log: " + line)
    if not args.keep:
        shutil.rmtree(os.path.join(workdir, "rrd"), ignore_errors=True)
    return r


def scenario_cpu(args, root, problems, notes, values):
    n = args.writer_meters
    expected = n * requests_per_meter(lib.PERIODS)
    every = ['RefreshInterval "%s" 0' % r for r in lib.RESOURCES]
    sim = start_sim(os.path.join(root, "cpu"), args.rss_latency_ms)
    runs = {}
    try:
        runs["repeat"] = rrd_window(args, sim, root, "cpu-repeat",
                                    ["RepeatCached true"], problems, notes,
                                    expected)
        runs["refetch"] = rrd_window(args, sim, root, "cpu-refetch", every,
                                     problems, notes, expected)
        runs["default"] = rrd_window(args, sim, root, "cpu-default", [],
                                     problems, notes, expected)
    finally:
        sim.stop()
    for key in ("repeat", "default"):
        if runs[key]["window_requests"] != 0:
            problems.append("scenario 5 %s: %d requests in the steady "
                            "window, expected 0" %
                            (key, runs[key]["window_requests"]))
    res = {"runs": runs}
    if not values or "per_fetch" not in values:
        return res
    per_day = 86400.0 / args.writer_interval
    idle = runs["default"]["cpu_per_cycle"]
    # what one cycle of the refetch run adds to an idle cycle: fetching
    # and writing every value once
    per_cycle_values = sum(values["per_fetch"].values()) * n
    res["cpu_per_value"] = max(0.0, runs["refetch"]["cpu_per_cycle"] -
                               idle) / per_cycle_values
    res["default_day"] = (res["cpu_per_value"] * values["default_data_day"] +
                          idle * per_day / n)
    res["repeat_day"] = runs["repeat"]["cpu_per_cycle"] * per_day / n
    res["ratio"] = (res["repeat_day"] / res["default_day"]
                    if res["default_day"] > 0 else None)
    return res


# --- scenario 6: restart with state; RSS over the lifecycle ----------------

def scenario_restart(args, root, problems):
    """Steady RSS (MaxConcurrency 1: no dispatch burst can build up), a
    first start (MaxConcurrency 64), and a restart on its state."""
    n = args.rss_meters
    expected = n * requests_per_meter(lib.PERIODS)
    workdir = os.path.join(root, "restart")
    out = {}
    os.makedirs(workdir)
    if not args.skip_steady:
        steady_dir = os.path.join(workdir, "steady")
        os.makedirs(steady_dir)
        sim0 = start_sim(os.path.join(steady_dir, "sim"), 0)
        try:
            conf = lifecycle_conf(steady_dir, "steady", sim0, n, 2,
                                  concurrency=1)
            say("scenario 6: digiwatt, MaxConcurrency 1, no latency, %d "
                "requests one at a time" % expected)
            before = sim0.stats()
            d = Daemon("steady", conf, steady_dir)
            try:
                t0 = time.monotonic()
                d.watch("first cycle",
                        lambda: first_cycle_done(sim0, before, expected),
                        max(600, expected * 0.01))
                out["steady_cycle_s"] = time.monotonic() - t0
                d.settle()
                d.stop()
            finally:
                d.kill()
            out["steady"] = d
        finally:
            sim0.stop()
    sim = start_sim(os.path.join(workdir, "sim"), args.rss_latency_ms)
    try:
        conf = lifecycle_conf(workdir, "first", sim, n, 2)
        say("scenario 6: digiwatt, first start, %d requests" % expected)
        before = sim.stats()
        d = Daemon("first", conf, workdir)
        try:
            d.watch("first cycle",
                    lambda: first_cycle_done(sim, before, expected), 600)
            d.settle()
            d.stop()
        finally:
            d.kill()
        out["first"] = d
        out["first_requests"] = sim.stats()["requests"] - before["requests"]
        state = os.path.join(workdir, "digiwatt", "bench.state")
        out["state_bytes"] = (os.path.getsize(state)
                              if os.path.exists(state) else None)
        # the same BaseDir: csv's self-metrics start counting cycles anew
        shutil.rmtree(os.path.join(workdir, "csv"), ignore_errors=True)
        say("scenario 6: digiwatt, restart with that state, 4 cycles")
        # the same BaseDir, so the same StateDirectory
        conf = lifecycle_conf(workdir, "restart", sim, n, 2)
        before = sim.stats()
        d = Daemon("restart", conf, workdir)
        try:
            d.watch("4 cycles after the restart",
                    lambda: cycle_count(workdir) >= 4, 120, period=0.05)
            d.settle()
            d.stop()
        finally:
            d.kill()
        after = sim.stats()
        out["restart"] = d
        out["restart_requests"] = after["requests"] - before["requests"]
        out["restart_tokens"] = (after["token_requests"] -
                                 before["token_requests"])
        out["restart_cycles"] = cycle_count(workdir)
        out["restored"] = log_errors(workdir, "restart", "state restored")
    finally:
        sim.stop()
    if out["first_requests"] != expected:
        problems.append("scenario 6: the first start made %d requests, "
                        "expected %d" % (out["first_requests"], expected))
    if out["restart_requests"] != 0 or out["restart_tokens"] != 0:
        problems.append("scenario 6: %d requests and %d token requests in "
                        "the %d cycles after the restart, expected 0" %
                        (out["restart_requests"], out["restart_tokens"],
                         out["restart_cycles"]))
    if not out["restored"]:
        problems.append("scenario 6: the restart did not log \"state "
                        "restored\"")
    for name in ("steady/steady", "first", "restart"):
        for line in log_errors(workdir, name)[:3]:
            problems.append("scenario 6 %s log: %s" % (name, line))
    return out


# --- scenario 7: SIGTERM to exit ---------------------------------------------

SIGTERM_METERS, SIGTERM_RESOURCES = 20, ["costs", "consumption",
                                          "consumption-distribution",
                                          "performance", "disaggregation"]


def scenario_sigterm(args, root, problems):
    """Interval 120, every data request answered after 600 s: SIGTERM with
    requests in flight."""
    workdir = os.path.join(root, "sigterm")
    sim = start_sim(workdir, 0, "--fault", "*=delay:600000")
    slots = SIGTERM_METERS * len(SIGTERM_RESOURCES) * len(lib.PERIODS)
    out = {"slots": slots, "runs": []}
    try:
        for i in range(args.sigterm_runs):
            name = "sigterm-%d" % i
            conf = lifecycle_conf(workdir, name, sim, SIGTERM_METERS, 120,
                                  resources=SIGTERM_RESOURCES,
                                  concurrency=16, timeout=100,
                                  cycle_timeout=100)
            say("scenario 7: SIGTERM with %d requests hanging (%d of %d)" %
                (slots, i + 1, args.sigterm_runs))
            # the simulator still holds the earlier runs' requests
            hanging = sim.stats()["in_flight"]
            d = Daemon(name, conf, workdir)
            try:
                d.watch("16 requests in flight",
                        lambda: sim.stats()["in_flight"] >= hanging + 16, 60)
                time.sleep(1.0)
                in_flight = sim.stats()["in_flight"] - hanging
                took = d.stop()
            finally:
                d.kill()
            out["runs"].append({"stop_s": took, "in_flight": in_flight,
                                "exit": d.proc.returncode})
            if d.proc.returncode != 0:
                problems.append("scenario 7: collectd exited with %s" %
                                d.proc.returncode)
            for line in log_errors(workdir, name)[:3]:
                problems.append(name + " log: " + line)
    finally:
        sim.stop()
    return out


# --- scenario 8: inside the process (bench/inprocess) ----------------------

def inprocess(mode, url, meters, *extra, tcache=True):
    env = dict(os.environ)
    if not tcache:
        # glibc's per-thread cache holds freed chunks that mallinfo2
        # counts as in use (up to about 230 KiB here): off, the heap
        # figure is exact
        env["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0"
    p = subprocess.run([INPROCESS, mode, url, str(meters)] + list(extra),
                       capture_output=True, text=True, env=env, timeout=1800)
    if p.returncode != 0:
        raise BenchError("bench/inprocess %s %d: exit %d: %s" %
                         (mode, meters, p.returncode, p.stderr.strip()[-300:]))
    return json.loads(p.stdout)


def scenario_inprocess(args, root, problems):
    out = {}
    if not os.path.exists(INPROCESS):
        problems.append("bench/inprocess is not built (make "
                        "bench/inprocess): scenario 8 left out")
        return out
    n = args.rss_meters
    workdir = os.path.join(root, "inprocess")
    sim = start_sim(workdir, args.handover_latency_ms)
    try:
        say("scenario 8: the read callback's hand-over, %d meters, %d ms" %
            (n, args.handover_latency_ms))
        out["handover"] = inprocess("handover", sim.base, n)
    finally:
        sim.stop()
    sim = start_sim(os.path.join(workdir, "heap"), args.rss_latency_ms)
    try:
        out["heap"] = []
        for m in sorted({1, n, 3 * n}):
            say("scenario 8: the plugin's own heap, %d meters" % m)
            out["heap"].append(inprocess("heap", sim.base, m, tcache=False))
        say("scenario 8: the state file, %d meters" % n)
        out["state"] = inprocess("state", sim.base, n,
                                 os.path.join(workdir, "state"))
    finally:
        sim.stop()
    expect = n * requests_per_meter(lib.PERIODS)
    if out["state"]["slots_with_values"] != expect:
        problems.append("scenario 8: the state holds %d slots with values, "
                        "expected %d" %
                        (out["state"]["slots_with_values"], expect))
    return out


# --- the report ------------------------------------------------------------

def say(text):
    print("bench: " + text, flush=True)


def raise_fd_limit(urls):
    """curl_json keeps, for every <URL> it has fetched, an idle curl multi
    handle with its two wakeup sockets: 10,000 URLs need over 20,000
    descriptors, or its last requests fail with EMFILE (and collectd cannot
    even open its log file to say so). collectd inherits this limit."""
    want = max(65536, 2 * urls + 1024)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):  # raising the hard limit needs root
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft, soft >= 2 * urls + 256


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    version = subprocess.run([lib.COLLECTD, "-h"], capture_output=True,
                             text=True).stdout
    version = next((l.strip() for l in version.splitlines()
                    if l.startswith("collectd ")), "collectd")
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model,
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC"),
            "collectd": version,
            "load": "%.2f %.2f %.2f" % os.getloadavg()}


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def row(label, run):
    return "| %s | %s | %s | %s | %d | %d | %s |" % (
        label, fmt(run.wall_s, ".2f"), fmt(run.cpu_s, ".2f"),
        fmt(run.cpu_per_request_ms, ".3f"), run.requests, run.token_requests,
        fmt(run.rss_kib / 1024.0, ".1f"))


def verdict(ok):
    return "met" if ok else "**missed**"


def kib(v):
    return "n/a" if v is None else "%.1f" % (v / 1024.0)


def judged(ok, meters, target_meters=1000):
    """A verdict, for a run of the size the target is set for."""
    if meters < target_meters:
        return "(set for %s meters)" % "{:,}".format(target_meters)
    return verdict(ok)


def life_rows(args, life):
    """The lifecycle targets of issue 10, as rows of the verdict table."""
    out = []
    v = life.get("values")
    if v and "ratio" in v:
        out.append("| values dispatched per meter and day, defaults, "
                   "Interval %d: 100x fewer than `RepeatCached true` "
                   "(self-metrics included) | %s / %s = %.0fx (data values "
                   "alone: %.0fx) | %s |" %
                   (args.writer_interval, "{:,.0f}".format(v["repeat_day"]),
                    "{:,.0f}".format(v["default_day"]), v["ratio"],
                    v["data_ratio"], verdict(v["ratio"] >= 100)))
    c = life.get("cpu")
    if c and c.get("ratio"):
        out.append("| collectd CPU per meter-day with rrdtool: 20x less than "
                   "`RepeatCached true` | %.2f s / %.3f s = %.0fx | %s |" %
                   (c["repeat_day"], c["default_day"], c["ratio"],
                    verdict(c["ratio"] >= 20)))
    r = life.get("restart")
    if r:
        out.append("| data requests in the 3 cycles after a restart with "
                   "fresh state: 0 (%d meters, all resources and periods) | "
                   "%d requests, %d token requests in the %d cycles after "
                   "the restart | %s |" %
                   (args.rss_meters, r["restart_requests"],
                    r["restart_tokens"], r["restart_cycles"],
                    verdict(r["restart_requests"] == 0 and
                            r["restart_tokens"] == 0 and
                            r["restart_cycles"] >= 4)))
    ip = life.get("inprocess") or {}
    h = ip.get("handover")
    if h and h["wall"]:
        out.append("| read callback time per account, %d meters, cycle in "
                   "progress: under 1 ms | median %.1f µs, max %.0f µs over "
                   "%d calls (CPU: max %.0f µs) | %s |" %
                   (h["meters"], h["wall"]["median_us"], h["wall"]["max_us"],
                    h["ticks"], h["cpu"]["max_us"],
                    judged(h["wall"]["max_us"] < 1000, h["meters"])))
    st = life.get("sigterm")
    if st and st["runs"]:
        worst = max(x["stop_s"] for x in st["runs"])
        out.append("| SIGTERM to exit, Interval 120, %d requests hanging: at "
                   "most 2 s | %s s | %s |" %
                   (st["slots"], ", ".join("%.2f" % x["stop_s"]
                                           for x in st["runs"]),
                    verdict(worst <= 2.0)))
    if r and r.get("steady") and r["steady"].final_kib:
        steady = r["steady"].final_kib
        first = r["first"].peak_kib / steady
        again = r["restart"].peak_kib / steady
        out.append("| peak RSS / steady RSS, %d meters, all resources and "
                   "periods: at most 1.15 | first start %s / %s MiB = %.3f; "
                   "restart %s / %s MiB = %.3f | %s |" %
                   (args.rss_meters, kib(r["first"].peak_kib), kib(steady),
                    first, kib(r["restart"].peak_kib), kib(steady), again,
                    judged(max(first, again) <= 1.15, args.rss_meters)))
    heap = ip.get("heap")
    if heap:
        at = heap_at(heap, args.rss_meters)
        if at:
            out.append("| plugin's own heap per meter, all resources and "
                       "periods: at most 8 KiB | %.2f KiB at %d meters, "
                       "fixed costs included (%s) | %s |" %
                       (at["per_meter"] / 1024.0, at["meters"],
                        heap_marginal(heap) or "one size only",
                        judged(at["per_meter"] <= 8192, at["meters"])))
    s = ip.get("state")
    if s:
        per = s["file_bytes"] / s["meters"]
        out.append("| state file size per meter: at most 4 KiB | %.2f KiB "
                   "(%s bytes for %d meters) | %s |" %
                   (per / 1024.0, "{:,}".format(s["file_bytes"]),
                    s["meters"], verdict(per <= 4096)))
        out.append("| time to write it for %d meters: at most 100 ms | "
                   "%.1f ms (median of 5; max %.1f ms) | %s |" %
                   (s["meters"], s["write"]["median_us"] / 1000.0,
                    s["write"]["max_us"] / 1000.0,
                    judged(s["write"]["max_us"] <= 100000, s["meters"])))
    return out


def heap_at(heap, meters):
    for h in heap:
        if h["meters"] == meters:
            used = max(h["after_first_cycle"], h["after_months"]) - h["before"]
            return {"meters": meters, "bytes": used,
                    "per_meter": used / float(meters)}
    return None


def heap_marginal(heap):
    sizes = sorted(h["meters"] for h in heap)
    if len(sizes) < 3:
        return None
    a, b, c = (heap_at(heap, m) for m in sizes[:3])
    slope = (c["bytes"] - b["bytes"]) / float(c["meters"] - b["meters"])
    return ("%.2f KiB per further meter from %d to %d, %.0f KiB with %d "
            "meter" % (slope / 1024.0, b["meters"], c["meters"],
                       a["bytes"] / 1024.0, a["meters"]))


def life_details(args, life):
    out = []
    v = life.get("values")
    if v and "ratio" in v:
        out += ["", "Scenario 4 (values per meter and day): %d meters, all "
                "resources and periods, csv, Interval %d, %d cycles after the "
                "first, in two daemons one after the other. Measured: the "
                "csv rows; arithmetic: the rest." %
                (args.writer_meters, args.writer_interval,
                 args.writer_cycles), "",
                "| resource | values per fetch and meter (measured) | fetches "
                "per day (arithmetic) | values per meter-day |",
                "|---|---:|---:|---:|"]
        for res in lib.RESOURCES:
            f = fetches_per_day(res, args.writer_interval)
            out.append("| %s | %.2f | %.1f | %.0f |" %
                       (res, v["per_fetch"][res], f,
                        v["per_fetch"][res] * f))
        out.append("| default mode, data values | %.2f | | %s |" %
                   (sum(v["per_fetch"].values()),
                    "{:,.0f}".format(v["default_data_day"])))
        out.append("| `RepeatCached true`, data values | %.2f per cycle "
                   "(measured) | %.0f cycles | %s |" %
                   (v["repeat_per_cycle"], 86400.0 / args.writer_interval,
                    "{:,.0f}".format(v["repeat_data_day"])))
        out.append("| self-metrics, both modes: %d per account each cycle "
                   "(measured), a meter's data age every %.0f s (%.0f in "
                   "the first cycle, measured) | | %.0f cycles; %.0f ages "
                   "| %s |" %
                   (v["account_self_cycle"], v["age_period_s"],
                    v["meter_self_first"], 86400.0 / args.writer_interval,
                    v["meter_self_day"], "{:,.0f}".format(v["self_day"])))
        out.append("")
        line = ("Data rows in the default mode's later cycles: %s "
                "(nothing was due). History months are not in these "
                "figures: after a cold start each month series sends one "
                "month per cycle until all are out (csv saw %.0f per meter "
                "in these %d cycles)" %
                (", ".join(str(x) for x in v["default_later"]),
                 v["months_per_meter"]["default"],
                 len(v["runs"]["default"]["cycles"])))
        heap = (life.get("inprocess") or {}).get("heap")
        if heap:
            line += (", %.0f per meter in all (scenario 8)" %
                     (heap[-1]["month_values"] / float(heap[-1]["meters"])))
        out.append(line + ", once: a restart with state sends none, and "
                   "later a new month goes out once.")
    c = life.get("cpu")
    if c and c.get("runs"):
        out += ["", "Scenario 5 (collectd CPU with rrdtool): %d meters, all "
                "resources and periods, Interval %d, Debian's rrdtool block "
                "(DataDir only: no CacheTimeout, every value written when it "
                "arrives), MonthlyHistory false (the once-per-start month "
                "backfill left out of every run); CPU time of the "
                "collectd process (the run time of its threads, "
                "/proc/PID/task/*/schedstat, checked against utime + stime) "
                "over %d read intervals once the first cycle and its RRD "
                "files were done." %
                (args.writer_meters, args.writer_interval,
                 args.writer_cycles), "",
                "| run | first cycle s | CPU s per cycle (measured) | "
                "requests in the window | RRD files |",
                "|---|---:|---:|---:|---:|"]
        labels = {"repeat": "`RepeatCached true`",
                  "refetch": "RefreshInterval 0 (every slot fetched and "
                  "written every cycle)",
                  "default": "defaults (nothing due: self-metrics only)"}
        for key in ("repeat", "refetch", "default"):
            x = c["runs"].get(key)
            if x:
                out.append("| %s | %.1f | %.3f%s | %d | %d |" %
                           (labels[key], x["first_s"], x["cpu_per_cycle"],
                            "" if x["precise"] else " (in clock ticks: a "
                            "thread ended)", x["window_requests"],
                            x["files"]))
        if c.get("ratio"):
            out.append("")
            out.append(
                "Arithmetic: `RepeatCached true` %.3f s per cycle x %.0f "
                "cycles / %d meters = %.2f s per meter-day (its fetches, the "
                "same as the default's, left out). Default: (%.3f - %.3f) s "
                "/ %s values = %.1f µs per value fetched and written, x %s "
                "values per meter-day (scenario 4), + %.3f s idle cycle x "
                "%.0f / %d meters = %.3f s per meter-day." %
                (c["runs"]["repeat"]["cpu_per_cycle"],
                 86400.0 / args.writer_interval, args.writer_meters,
                 c["repeat_day"], c["runs"]["refetch"]["cpu_per_cycle"],
                 c["runs"]["default"]["cpu_per_cycle"],
                 "{:,.0f}".format(sum(v["per_fetch"].values()) *
                                  args.writer_meters),
                 c["cpu_per_value"] * 1e6,
                 "{:,.0f}".format(v["default_data_day"]),
                 c["runs"]["default"]["cpu_per_cycle"],
                 86400.0 / args.writer_interval, args.writer_meters,
                 c["default_day"]))
    r = life.get("restart")
    if r:
        out += ["", "Scenario 6 (restart with state, RSS over the "
                "lifecycle): %d meters, all resources and periods, Interval "
                "2, no writer (self-metrics to csv, the rest dropped). RSS of "
                "the collectd process: VmHWM (its peak) and VmRSS when "
                "stopped, after it had been idle for a second." %
                args.rss_meters, "",
                "| run | requests | peak RSS MiB | RSS at the end MiB |",
                "|---|---:|---:|---:|"]
        if r.get("steady"):
            out.append("| steady: MaxConcurrency 1, no latency (one "
                       "response at a time: no dispatch burst), %.1f s | %d "
                       "| %s | %s |" %
                       (r["steady_cycle_s"], args.rss_meters *
                        requests_per_meter(lib.PERIODS),
                        kib(r["steady"].peak_kib),
                        kib(r["steady"].final_kib)))
        out.append("| first start, MaxConcurrency 64, %d ms | %d | %s | %s |"
                   % (args.rss_latency_ms, r["first_requests"],
                      kib(r["first"].peak_kib), kib(r["first"].final_kib)))
        out.append("| restart on its state (its first cycle dispatches every "
                   "cached value), %d cycles | %d | %s | %s |" %
                   (r["restart_cycles"], r["restart_requests"],
                    kib(r["restart"].peak_kib), kib(r["restart"].final_kib)))
        if r.get("state_bytes"):
            out.append("")
            line = ("The state file the first start left: %s bytes; "
                    "SIGTERM of the first start took %.2f s" %
                    ("{:,}".format(r["state_bytes"]), r["first"].stop_s))
            said = re.search(r"state restored from .*\): (.*)$",
                             (r.get("restored") or [""])[0])
            if said:
                line += "; the restart logged \"state restored\" with %s" % \
                    said.group(1)
            out.append(line + ".")
    st = life.get("sigterm")
    if st and st["runs"]:
        out += ["", "Scenario 7 (SIGTERM): %d meters x %d resources x %d "
                "periods = %d slots, every data request answered after "
                "600 s, MaxConcurrency 16, Timeout 100, CycleTimeout 100, "
                "Interval 120; SIGTERM 1 s after 16 requests were in flight "
                "(in flight then: %s), time to exit: %s s." %
                (SIGTERM_METERS, len(SIGTERM_RESOURCES), len(lib.PERIODS),
                 st["slots"],
                 ", ".join(str(x["in_flight"]) for x in st["runs"]),
                 ", ".join("%.2f" % x["stop_s"] for x in st["runs"]))]
    ip = life.get("inprocess") or {}
    h = ip.get("handover")
    if h:
        out += ["", "Scenario 8, in one process (bench/inprocess: "
                "libdigiwatt and the unit tests' stand-in of collectd):", "",
                "- Hand-over: %d meters, all resources and periods, %d ms "
                "latency; the worker's first cycle took %.2f s; "
                "dw_worker_tick() (all the read callback does besides "
                "cdtime() and plugin_get_interval()) called from the main "
                "thread every millisecond meanwhile: %d calls, wall time "
                "median %.2f, p99 %.2f, max %.1f µs; the calling thread's "
                "CPU time median %.2f, max %.1f µs. Ticks to an idle worker "
                "(each starts a cycle): median %.1f, max %.1f µs; the very "
                "first tick, which woke the new thread, %.0f µs (%.0f µs of "
                "CPU)." %
                (h["meters"], args.handover_latency_ms, h["cycle_s"],
                 h["ticks"], h["wall"]["median_us"], h["wall"]["p99_us"],
                 h["wall"]["max_us"], h["cpu"]["median_us"],
                 h["cpu"]["max_us"], h["idle_wall"]["median_us"],
                 h["idle_wall"]["max_us"], h["first_tick_us"],
                 h["first_tick_cpu_us"])]
    heap = ip.get("heap")
    if heap:
        out += ["- Heap (glibc mallinfo2, in use, tcache off), "
                "before the account is created and after its first cycle "
                "(the stand-in's records freed); the same once the history "
                "months have all gone out:"]
        for x in heap:
            at = heap_at(heap, x["meters"])
            out.append("  %d meters: %s KiB after the first cycle, %s KiB "
                       "after %d cycles, %.2f KiB per meter" %
                       (x["meters"],
                        kib(x["after_first_cycle"] - x["before"]),
                        kib(x["after_months"] - x["before"]), x["cycles"],
                        at["per_meter"] / 1024.0))
    s = ip.get("state")
    if s:
        out.append("- State file: %d meters, %s bytes (%s of payload, %d "
                   "slots with values); encode + write (temporary file, "
                   "fsync, rename, fsync of the directory) median %.1f ms, "
                   "max %.1f ms; read + decode median %.1f ms, max %.1f ms "
                   "(5 each)." %
                   (s["meters"], "{:,}".format(s["file_bytes"]),
                    "{:,}".format(s["payload_bytes"]),
                    s["slots_with_values"], s["write"]["median_us"] / 1000,
                    s["write"]["max_us"] / 1000, s["read"]["median_us"] / 1000,
                    s["read"]["max_us"] / 1000))
    return out


def runs_table(args, speed, expected, budget, memory):
    """Scenarios 1 to 3: one row per collectd process."""
    out = []
    out.append("Scenario 1: %d meters x 10 resources, period yesterday "
               "(%d requests), %d ms latency, MaxConcurrency %d, Timeout 30, "
               "CycleTimeout 600, no writer. Scenario 2: the same meters, "
               "%d ms latency, Interval 2. Scenario 3: %d meters x all "
               "resources x all periods (%d requests), %d ms latency." %
               (args.meters, expected, args.latency_ms, args.concurrency,
                args.rss_latency_ms, args.rss_meters,
                args.rss_meters * requests_per_meter(lib.PERIODS),
                args.rss_latency_ms))
    out.append("")
    out.append("| run | wall s | CPU s | CPU ms/request | requests | "
               "token requests | peak RSS MiB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    labels = [
        ("ours", "1: digiwatt, `collectd -T`"),
        ("ours_daemon", "1: digiwatt, `collectd -f`"),
        ("cj_serial", "1: curl_json, `collectd -T` (sequential)"),
        ("cj_daemon", "1: curl_json, `collectd -f`, ReadThreads 5"),
    ]
    for key, label in labels:
        if key in speed:
            out.append(row(label, speed[key]))
    if budget:
        out.append(row("2: digiwatt, `collectd -f`, Interval 2, %d cycles" %
                       budget["cycles"], budget["run"]))
    if "base" in memory:
        out.append(row("3: digiwatt, 1 meter (baseline), `collectd -T`",
                       memory["base"]))
    if "T" in memory:
        out.append(row("3: digiwatt, all resources and periods, "
                       "`collectd -T`", memory["T"]))
    if "f" in memory:
        out.append(row("3: digiwatt, all resources and periods, "
                       "`collectd -f`", memory["f"]))
    out.append("")
    out.append("Wall time runs from starting collectd to its exit (`-T`) or "
               "to the moment the simulator has answered every request "
               "(`-f`). A `-f` run then waits until collectd has used no CPU "
               "for a second before SIGTERM, so its CPU time covers every "
               "dispatched value; in `-T` collectd drops what its write "
               "queue still holds when the reads are done. curl_json makes "
               "no token request: the benchmark fetched its static token "
               "beforehand.")
    if speed.get("ours_cycle"):
        out.append("")
        line = ("The plugin's own figures for its `-f` cycle: "
                "digiwatt_cycle_seconds %.2f s" % speed["ours_cycle"][0])
        if speed.get("ours_response"):
            line += (", digiwatt_response_time_seconds (mean per request) "
                     "%.3f s" % speed["ours_response"][0])
        out.append(line + ".")
    out.append("")
    return out


def report(args, info, speed, expected, budget, memory, problems, notes,
           life):
    out = []
    out.append("Measured %s on %d CPU(s) (`nproc`), %s, Linux %s, %s; "
               "load average before the run: %s, after it: %s; the run took "
               "%.1f min; open files limit %d." %
               (info["date"], info["nproc"], info["cpu"], info["kernel"],
                info["collectd"], info["load"], info["load_after"],
                info["duration_s"] / 60.0, info["nofile"]))
    out.append("")
    out.append("Command: `%s`" % info["command"])
    out.append("")
    if speed or budget or memory:
        out += runs_table(args, speed, expected, budget, memory)
    if args.meters != 1000 or args.latency_ms != 50:
        out.append("The targets are set for 1,000 meters at 50 ms; in a "
                   "smaller run the fixed costs (collectd's start, the "
                   "token request, the plugin's fixed heap) weigh more.")
        out.append("")
    out.append("| target | measured | verdict |")
    out.append("|---|---|---|")
    ours = speed.get("ours")
    if ours:
        bound = expected * args.latency_ms / 1000.0 / args.concurrency
        ratio = ours.wall_s / bound
        out.append("| one cycle within 1.3x of the latency bound "
                   "(%d x %d ms / %d = %.2f s) | %.2f s = %.2fx | %s |" %
                   (expected, args.latency_ms, args.concurrency, bound,
                    ours.wall_s, ratio, verdict(ratio <= 1.3)))
    cj = speed.get("cj_daemon")
    if ours and cj:
        faster = cj.wall_s / ours.wall_s
        out.append("| >= 10x faster than curl_json (`-f`, 5 read threads) | "
                   "%.2f s / %.2f s = %.1fx | %s |" %
                   (cj.wall_s, ours.wall_s, faster, verdict(faster >= 10)))
    if ours and "cj_serial" in speed:
        out.append("| (for reference: curl_json in `-T`) | %.2f s / %.2f s = "
                   "%.1fx | |" % (speed["cj_serial"].wall_s, ours.wall_s,
                                 speed["cj_serial"].wall_s / ours.wall_s))
    od = speed.get("ours_daemon")
    if od and cj and od.requests and cj.requests:
        cpr = od.cpu_per_request_ms / cj.cpu_per_request_ms
        out.append("| CPU per request <= curl_json's (both `-f`) | %.3f / "
                   "%.3f ms = %.2fx | %s |" %
                   (od.cpu_per_request_ms, cj.cpu_per_request_ms, cpr,
                    verdict(cpr <= 1.0)))
    if ours and "cj_serial" in speed and ours.requests:
        s = speed["cj_serial"]
        out.append("| (for reference: both `-T`) | %.3f / %.3f ms = %.2fx "
                   "| |" % (ours.cpu_per_request_ms, s.cpu_per_request_ms,
                            ours.cpu_per_request_ms / s.cpu_per_request_ms))
    if memory.get("T") and memory.get("f"):
        mib = max(memory["T"].rss_kib, memory["f"].rss_kib) / 1024.0
        out.append("| peak RSS < 32 MiB (%d meters, all resources and "
                   "periods; the larger of `-T` and `-f`) | %.1f MiB | %s |" %
                   (args.rss_meters, mib, verdict(mib < 32)))
    if budget:
        out.append("| a second cycle with fresh cache makes zero requests | "
                   "%d requests, %d token requests in %d cycles after the "
                   "first | %s |" %
                   (budget["later"], budget["later_tokens"],
                    budget["cycles"] - 1,
                    verdict(budget["later"] == 0 and
                            budget["later_tokens"] == 0 and
                            budget["cycles"] >= 4)))
    out += life_rows(args, life)
    if budget and budget["self"]:
        out.append("")
        out.append("Scenario 2, the plugin's own digiwatt_requests-data "
                   "counter at each cycle: %s." %
                   ", ".join("%d" % v for v in budget["self"]))
    out += life_details(args, life)
    if problems:
        out.append("")
        out.append("Problems of the digiwatt runs:")
        out.append("")
        out += ["- " + p for p in problems]
    if notes:
        out.append("")
        out.append("Notes (what went wrong outside the plugin: curl_json, "
                   "collectd's own writers; not counted as problems):")
        out.append("")
        out += ["- " + n for n in notes]
    return "\n".join(out)


def write_markdown(path, text):
    block = BEGIN + "\n" + text + "\n" + END
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + block + tail
    else:
        new = (old.rstrip() + "\n\n" if old else "# Benchmarks\n\n") + \
            block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--meters", type=int, default=1000)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rss-meters", type=int, default=None,
                   help="meters of scenario 3 (default: --meters)")
    p.add_argument("--rss-latency-ms", type=int, default=2,
                   help="latency of scenarios 2 and 3")
    p.add_argument("--skip-serial", action="store_true",
                   help="no curl_json run in collectd -T (the slowest run)")
    p.add_argument("--skip-curl-json", action="store_true")
    p.add_argument("--writer-meters", type=int, default=100,
                   help="meters of scenarios 4 and 5 (csv, rrdtool)")
    p.add_argument("--writer-interval", type=int, default=10,
                   help="Interval of scenarios 4 and 5")
    p.add_argument("--writer-cycles", type=int, default=3,
                   help="steady cycles measured in scenarios 4 and 5")
    p.add_argument("--skip-writers", action="store_true",
                   help="no scenario 4 or 5 (their daemons take minutes)")
    p.add_argument("--skip-steady", action="store_true",
                   help="no MaxConcurrency 1 run in scenario 6 (no "
                   "peak/steady RSS ratio)")
    p.add_argument("--sigterm-runs", type=int, default=3,
                   help="SIGTERMs of scenario 7")
    p.add_argument("--handover-latency-ms", type=int, default=10,
                   help="latency of scenario 8's hand-over (a cycle of "
                   "seconds)")
    p.add_argument("--only", metavar="LIST",
                   help="only these scenarios, e.g. 1,3,8")
    p.add_argument("--markdown", metavar="FILE",
                   help="write the report between the bench markers of FILE")
    p.add_argument("--keep", action="store_true",
                   help="keep the working directory (logs, configs)")
    args = p.parse_args()
    if args.rss_meters is None:
        args.rss_meters = args.meters
    for path in (lib.SIM, lib.PLUGIN_SO, GNU_TIME, lib.COLLECTD):
        if not os.path.exists(path):
            print("bench: %s is missing (not built, or not installed)" % path,
                  file=sys.stderr)
            return 77
    info = machine()
    info["nofile"], enough = raise_fd_limit(args.meters * 10)
    problems, notes = [], []
    if not enough and not args.skip_curl_json:
        notes.append("the open files limit is %d (its hard limit cannot be "
                     "raised here): curl_json needs about %d for %d URLs "
                     "and loses its last requests" %
                     (info["nofile"], 2 * args.meters * 10 + 256,
                      args.meters * 10))
    top = os.path.abspath(os.environ["top_srcdir"]) + os.sep
    shown = [os.path.relpath(a, top) if a.startswith(top) else a
             for a in sys.argv[1:]]
    info["command"] = " ".join(shlex.quote(a) for a in
                               ["bench/run.py"] + shown)
    only = set(int(x) for x in args.only.split(",")) if args.only else None
    if args.skip_writers:
        only = (only or set(range(1, 9))) - {4, 5}
    root = tempfile.mkdtemp(prefix="digiwatt-bench-")
    speed, expected, budget, memory = {}, 0, None, {}
    life = {}

    def scenario(number, run):
        """Runs one scenario unless left out; what goes wrong in it is a
        problem, and the next one runs anyway."""
        if only is not None and number not in only:
            return None
        try:
            return run()
        except BenchError as e:
            problems.append("scenario %d: %s" % (number, e))
            return None

    started = time.monotonic()
    try:
        speed, expected = scenario(1, lambda: scenario_speed(
            args, root, problems, notes)) or ({}, 0)
        budget = scenario(2, lambda: scenario_budget(args, root, problems))
        memory = scenario(3, lambda: scenario_memory(args, root,
                                                     problems)) or {}
        life["values"] = scenario(4, lambda: scenario_values(args, root,
                                                             problems))
        life["cpu"] = scenario(5, lambda: scenario_cpu(
            args, root, problems, notes, life["values"]))
        life["restart"] = scenario(6, lambda: scenario_restart(args, root,
                                                               problems))
        life["sigterm"] = scenario(7, lambda: scenario_sigterm(args, root,
                                                               problems))
        life["inprocess"] = scenario(8, lambda: scenario_inprocess(
            args, root, problems))
    finally:
        if args.keep:
            say("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    info["duration_s"] = time.monotonic() - started
    info["load_after"] = "%.2f %.2f %.2f" % os.getloadavg()
    text = report(args, info, speed, expected, budget, memory, problems,
                  notes, life)
    print(text)
    if args.markdown:
        write_markdown(args.markdown, text)
        say("wrote " + args.markdown)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
