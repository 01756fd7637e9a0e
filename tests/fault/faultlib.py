"""Shared pieces of the fault-matrix, TLS and soak tests.

Built on tests/e2e/lib.py (the simulator, the plugin directory, the
independent identifier table); adds what a test of failures needs: a
collectd that runs in the background (optionally under a wrapper such as
valgrind), a notification sink through the exec plugin (the path operators
use), the simulator's control endpoint, a stats sampler, and the check that
no secret or token ever reached a log line or a notification.

Every helper raises Failed instead of exiting, so that one fault of the
matrix can fail while the others still run and every process is cleaned
up."""

import glob
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import lib  # noqa: E402

# DIGIWATT_COLLECTD_WRAPPER prefixes the collectd command line (valgrind);
# everything then runs slower, so waits, intervals and timeouts stretch.
WRAPPER = shlex.split(os.environ.get("DIGIWATT_COLLECTD_WRAPPER", ""))
SCALE = float(os.environ.get("DIGIWATT_TIMEOUT_SCALE") or
              (4 if WRAPPER else 1))
INTERVAL = 2 if WRAPPER else 1          # collectd's Interval, seconds
REQUEST_TIMEOUT = 2 if WRAPPER else 1   # the plugin's Timeout, seconds

TODAY = "2026-11-15"
HOST = "fm"
ACCOUNT = "fm"
SELF = "account-" + ACCOUNT
CLIENT_ID = "fault-client"
SECRET = "fault-S3cr3t-must-never-be-logged"
DATA_TYPES = ("digiwatt_energy_kwh", "digiwatt_cost", "digiwatt_trend_percent",
              "digiwatt_share_percent", "digiwatt_performance_kwh")
PERIOD = "yesterday"  # the one period the matrix fetches

# What must never appear in a log line or a notification: the simulator's
# tokens ("dwsim." + 48 hex), an Authorization header, a bearer credential.
TOKEN_RE = re.compile(r"dwsim\.[0-9a-fA-F]{6}|Authorization:|"
                      r"Bearer\s+[A-Za-z0-9._~+/=-]{6,}")


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def wait_until(predicate, timeout, step=0.2):
    """Polls predicate until it returns something true or timeout (seconds,
    stretched by SCALE) passes; returns its last value."""
    deadline = time.monotonic() + timeout * SCALE
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def period_of(resource):
    return PERIOD if resource in lib.WITH_PERIOD else None


# --- the simulator -------------------------------------------------------

def start_sim(workdir, *extra):
    """A simulator with the matrix's credentials and a fixed date."""
    try:
        return lib.Simulator(workdir, "--today", TODAY, *extra,
                             client_id=CLIENT_ID, client_secret=SECRET)
    except SystemExit:
        raise Failed("the simulator did not start (see %s/sim.log)" % workdir)


def _post(url, body):
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def set_faults(sim, rules):
    """Replaces every fault rule of sim; [] clears them."""
    answer = _post(sim.base + "/_control/fault", "\n".join(rules).encode())
    check(len(answer.get("rules", [])) == len(rules),
          "the simulator did not take the rules %s: %s" % (rules, answer))


class Sampler:
    """Reads the simulator's counters every `step` seconds in a thread:
    samples is a list of (monotonic time, stats)."""

    def __init__(self, sim, step=0.2):
        self.sim = sim
        self.step = step
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.sim.stats()))
            except OSError:
                pass
            self._stop.wait(self.step)

    def latest(self):
        return self.samples[-1][1] if self.samples else self.sim.stats()

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def quiet_window(samples, start, end, key):
    """(first, last) values of stats[key] over samples taken within
    [start, end] (monotonic seconds); None when there were fewer than two."""
    inside = [s[key] for t, s in samples if start <= t <= end]
    return (inside[0], inside[-1]) if len(inside) >= 2 else None


# --- notifications through the exec plugin ---------------------------------

NOTIFY_SCRIPT = """#!/bin/sh
# collectd's exec plugin forks this once per notification and writes it to
# stdin (headers, a blank line, the message): one file each, renamed into
# place so a reader never sees half of one.
name="$1/n.$(date +%s%N).$$"
cat > "$name.tmp" && mv "$name.tmp" "$name.txt"
"""


def exec_user():
    """The exec plugin refuses to run anything as root."""
    return "nobody" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name


def notification_block(workdir):
    """The exec plugin configuration and the directory it fills."""
    ndir = os.path.join(workdir, "notifications")
    os.makedirs(ndir, exist_ok=True)
    os.chmod(workdir, 0o755)  # the script runs as another user
    os.chmod(ndir, 0o777)
    script = os.path.join(workdir, "notify.sh")
    with open(script, "w") as f:
        f.write(NOTIFY_SCRIPT)
    os.chmod(script, 0o755)
    block = "\n".join([
        "LoadPlugin exec",
        "<Plugin exec>",
        '  NotificationExec "%s" "/bin/sh" "%s" "%s"' % (exec_user(), script,
                                                        ndir),
        "</Plugin>"])
    return block, ndir


def notifications(ndir):
    """Every notification so far, oldest first: dicts of the headers
    (Severity, PluginInstance, Type, TypeInstance, ...) and "message"."""
    out = []
    for path in glob.glob(os.path.join(ndir, "n.*.txt")):
        with open(path, errors="replace") as f:
            text = f.read()
        head, _, message = text.partition("\n\n")
        n = {"message": message.strip(), "raw": text, "file": path}
        for line in head.splitlines():
            key, _, value = line.partition(": ")
            n[key] = value
        out.append(n)
    out.sort(key=lambda n: (float(n.get("Time", "0") or 0), n["file"]))
    return out


def select(notes, severity=None, plugin_instance=None):
    return [n for n in notes if n.get("Plugin") == "digiwatt" and
            (severity is None or n.get("Severity") == severity) and
            (plugin_instance is None or
             n.get("PluginInstance") == plugin_instance)]


# --- collectd --------------------------------------------------------------

def collectd_config(workdir, digiwatt_block, interval=None, notify=True,
                    writers=("csv",)):
    """A collectd.conf: logfile (info), csv (raw counters), the exec
    notification sink when notify, then the plugin. Returns (path, ndir)."""
    plugins = list(writers) + (["exec"] if notify else [])
    lines = lib.config_head(workdir, HOST, interval or INTERVAL, plugins)
    if "csv" in writers:
        lines += ['LoadPlugin csv'] + lib.csv_block(workdir)
    ndir = None
    if notify:
        block, ndir = notification_block(workdir)
        lines.append(block)
    lines += ["LoadPlugin digiwatt", digiwatt_block]
    return lib.write_config(workdir, lines), ndir


def digiwatt_block(base_url, meters, options=(), account=ACCOUNT):
    """One <Account> with the matrix's credentials; meters: IDs."""
    out = ['<Plugin digiwatt>', '  <Account "%s">' % account,
           '    BaseURL "%s"' % base_url,
           '    ClientID "%s"' % CLIENT_ID,
           '    ClientSecret "%s"' % SECRET]
    out += ["    " + o for o in options]
    for m in meters:
        out += ['    <Smartmeter "%s">' % m, '    </Smartmeter>']
    out += ['  </Account>', '</Plugin>']
    return "\n".join(out)


class Collectd:
    """collectd -f in the background, with WRAPPER in front."""

    def __init__(self, config, workdir):
        self.workdir = workdir
        self.out = open(os.path.join(workdir, "collectd.out"), "w")
        self.proc = subprocess.Popen(
            WRAPPER + [lib.COLLECTD, "-f", "-C", config],
            stdout=self.out, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.returncode = None

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM (the writers flush), then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.out.close()
                raise Failed("collectd did not stop within %d s of SIGTERM" %
                             (30 * SCALE))
        self.out.close()
        self.returncode = self.proc.returncode
        return self.returncode

    def log(self):
        return read_log(self.workdir)

    def output(self):
        path = os.path.join(self.workdir, "collectd.out")
        with open(path, errors="replace") as f:
            return f.read()


def read_log(workdir):
    """collectd's log file so far ("" before it exists)."""
    path = os.path.join(workdir, "collectd.log")
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


def log_tail(text, lines=25):
    return "\n".join(text.splitlines()[-lines:])


def check_no_secret(texts, secret=SECRET):
    """texts: {what: text}. Fails when a secret or token is in any."""
    for what, text in texts.items():
        check(secret not in text, "the client secret is in %s" % what)
        m = TOKEN_RE.search(text)
        check(m is None, "a token or Authorization header is in %s: %r" %
              (what, m.group(0)[:40] if m else ""))


# --- csv -----------------------------------------------------------------

def csv_rows(workdir, plugin_instance, type_, ti=None):
    """Every (epoch, values) row the csv writer wrote for one identifier."""
    name = type_ + ("-" + ti if ti else "")
    pattern = os.path.join(workdir, "csv", HOST, "digiwatt-" + plugin_instance,
                           "%s-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]" %
                           glob.escape(name))
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for line in f:
                fields = line.strip().split(",")
                if not fields or fields[0] in ("", "epoch"):
                    continue
                try:
                    rows.append((float(fields[0]),
                                 [float(v) for v in fields[1:]]))
                except ValueError:
                    pass  # a line being written right now
    return rows


def data_files(workdir, plugin_instance):
    """The csv files of a meter's data values (not the self-metrics)."""
    d = os.path.join(workdir, "csv", HOST, "digiwatt-" + plugin_instance)
    if not os.path.isdir(d):
        return []
    return sorted(f for f in os.listdir(d)
                  if any(f.startswith(t + "-") for t in DATA_TYPES))


def now_values(resource, body):
    """{(type, type_instance): values} that a fetch of body dispatches at
    the cycle's time (history months stamped in the past are left out)."""
    out = {}
    for key, entries in lib.expected_values(resource, period_of(resource),
                                            body).items():
        for epoch, values in entries:
            if epoch is None:
                out[key] = values
    return out


def has_value(workdir, plugin_instance, key, values):
    """True when some csv row of the series holds exactly these values."""
    return any(all(lib.close(a, b) for a, b in zip(r[1], values)) and
               len(r[1]) == len(values)
               for r in csv_rows(workdir, plugin_instance, *key))


def wrong_values(workdir, plugin_instance, expected):
    """(key, values) of every csv row of expected's series whose values
    are not the expected ones: a value filed under the wrong series."""
    wrong = []
    for key, values in expected.items():
        for _, got in csv_rows(workdir, plugin_instance, *key):
            if len(got) != len(values) or \
                    not all(lib.close(a, b) for a, b in zip(got, values)):
                wrong.append((key, got))
    return wrong


def rows_holding(workdir, value):
    """Every csv file under workdir with a row holding value."""
    found = []
    for path in glob.glob(os.path.join(workdir, "csv", "*", "*", "*")):
        with open(path) as f:
            for line in f:
                fields = line.strip().split(",")[1:]
                try:
                    if any(lib.close(float(v), value) for v in fields):
                        found.append(path)
                        break
                except ValueError:
                    continue
    return found


def missing_values(workdir, plugin_instance, expected):
    """The keys of expected ({key: values}) with no matching csv row."""
    return [k for k, v in expected.items()
            if not has_value(workdir, plugin_instance, k, v)]


def last_value(workdir, plugin_instance, type_, ti=None):
    rows = csv_rows(workdir, plugin_instance, type_, ti)
    return rows[-1][1][0] if rows else None


# --- oracle ----------------------------------------------------------------

class Oracle:
    """What the simulator serves for a meter and resource, read from a
    simulator of its own (same date) before the runs start."""

    def __init__(self, workdir):
        self.sim = start_sim(workdir, "--quiet")
        self.bodies = {}

    def body(self, meter, resource, fault=None):
        key = (meter, resource, fault)
        if key not in self.bodies:
            if fault:
                set_faults(self.sim, ["%s/%s=%s" % (meter, resource, fault)])
            try:
                self.bodies[key] = self.sim.get(meter, resource,
                                                period_of(resource))
            finally:
                if fault:
                    set_faults(self.sim, [])
        return self.bodies[key]

    def expected(self, meter, resources, fault=None):
        out = {}
        for r in resources:
            out.update(now_values(r, self.body(meter, r, fault)))
        return out

    def stop(self):
        self.sim.stop()


class Workdir:
    """A temporary directory, kept when KEEP_WORKDIR is set."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix=self.prefix)
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("KEEP_WORKDIR"):
            print("kept " + self.path, flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
