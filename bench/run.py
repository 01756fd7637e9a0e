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

For each collectd process: wall time, CPU time (user + sys from
os.wait4), peak RSS (from GNU time, which runs collectd), and the requests
and token requests the simulator counted. Prints a report and, with
--markdown FILE, writes it between the markers of FILE (text outside them
is kept). bench/README.md has the details.

Exit status: 0 when every digiwatt run did what it should (request
counts, HTTP statuses, the second cycle's zero requests), 1 otherwise;
curl_json's failures are reported as notes. Timing and memory targets are
reported, never enforced: the machine is noisy."""

import argparse
import csv
import datetime
import glob
import os
import platform
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


def digiwatt_body(sim, meters, periods, concurrency):
    out = ['LoadPlugin digiwatt',
           '<Plugin digiwatt>',
           '  <Account "bench">',
           '    BaseURL "%s"' % sim.base,
           '    ClientID "%s"' % sim.client_id,
           '    ClientSecret "%s"' % sim.client_secret,
           '    Timeout 30',
           '    CycleTimeout 600',
           '    MaxConcurrency %d' % concurrency,
           '    Resources %s' % " ".join('"%s"' % r for r in lib.RESOURCES),
           '    Periods %s' % " ".join('"%s"' % p for p in periods)]
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


def report(args, info, speed, expected, budget, memory, problems, notes):
    out = []
    out.append("Measured %s on %d CPU(s) (`nproc`), %s, Linux %s, %s; "
               "load average before the run: %s; open files limit %d." %
               (info["date"], info["nproc"], info["cpu"], info["kernel"],
                info["collectd"], info["load"], info["nofile"]))
    out.append("")
    out.append("Command: `%s`" % info["command"])
    out.append("")
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
    if args.meters != 1000 or args.latency_ms != 50:
        out.append("The targets are set for 1,000 meters at 50 ms; in a "
                   "smaller run the fixed costs (collectd's start, the "
                   "token request) weigh more.")
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
    if budget and budget["self"]:
        out.append("")
        out.append("Scenario 2, the plugin's own digiwatt_requests-data "
                   "counter at each cycle: %s." %
                   ", ".join("%d" % v for v in budget["self"]))
    if problems:
        out.append("")
        out.append("Problems of the digiwatt runs:")
        out.append("")
        out += ["- " + p for p in problems]
    if notes:
        out.append("")
        out.append("Notes on the curl_json runs:")
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
    root = tempfile.mkdtemp(prefix="digiwatt-bench-")
    speed, expected, budget, memory = {}, 0, None, {}
    try:
        speed, expected = scenario_speed(args, root, problems, notes)
        budget = scenario_budget(args, root, problems)
        memory = scenario_memory(args, root, problems)
    except BenchError as e:
        problems.append(str(e))
    finally:
        if args.keep:
            say("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    text = report(args, info, speed, expected, budget, memory, problems,
                  notes)
    print(text)
    if args.markdown:
        write_markdown(args.markdown, text)
        say("wrote " + args.markdown)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
