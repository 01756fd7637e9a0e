"""What the writer tests share: free loopback ports, background servers
that are always stopped, the digiwatt block of a configuration, and the
values one meter must show, computed by tests/e2e/lib.py from the
simulator's own bodies (never from the plugin's output).

Every server a test starts runs in its own session from a temporary
directory, on ports picked free on 127.0.0.1, and is stopped by the
test's `finally` (SIGTERM from make's harness turns into SystemExit so
that `finally` still runs).

A component these tests need (contrib/deps/writers.txt) that is missing
fails the test with the package to install: CI installs them all, so a
missing one is a broken setup, never a reason to pass by skipping. The
same holds for Python modules from Debian packages (python3-whisper,
python3-yaml, graphite-web's Django), which a pyenv or virtualenv
python3 first on PATH does not see: a test finds the interpreter that has
them (Debian's /usr/bin/python3) or fails saying which is missing."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import lib  # noqa: E402

HOST = "e2e"  # collectd's Hostname in lib.collectd_config
SYSTEM_TYPES_DB = "/usr/share/collectd/types.db"


DEBIAN_PYTHON = "/usr/bin/python3"
# Debian package of each Python module the tests or the stores import
PACKAGES = {"whisper": "python3-whisper", "yaml": "python3-yaml",
            "django": "python3-django (graphite-web)",
            "graphite": "graphite-web"}


def missing(message):
    """A component is not installed: fail, naming what to install."""
    lib.fail("%s; install contrib/deps/writers.txt "
             "(contrib/install-deps.sh as root)" % message)


def need(*paths):
    """Fails the test when a component is not installed."""
    for path in paths:
        if not os.path.exists(path):
            missing("%s is not installed" % path)


def _imports(python, modules):
    check = "import importlib.util, sys; sys.exit(any(importlib.util." \
            "find_spec(m) is None for m in sys.argv[1:]))"
    try:
        return subprocess.run([python, "-c", check] + list(modules),
                              capture_output=True).returncode == 0
    except OSError:
        return False


def python_with(*modules):
    """The interpreter that can import `modules`: this one, else Debian's
    /usr/bin/python3. Fails, naming the packages, when neither can."""
    for python in dict.fromkeys([sys.executable, DEBIAN_PYTHON]):
        if _imports(python, modules):
            return python
    missing("no Python can import %s (tried %s and %s; packages: %s)" % (
        ", ".join(modules), sys.executable, DEBIAN_PYTHON,
        ", ".join(PACKAGES.get(m, m) for m in modules)))


def run_with(*modules):
    """Makes the running test script run under an interpreter that has
    `modules`: returns at once when this one has them, else re-executes
    the script under the one python_with() finds."""
    if _imports(sys.executable, modules):
        return
    python = python_with(*modules)
    print("%s lacks %s: running under %s" % (sys.executable,
                                              ", ".join(modules), python),
          flush=True)
    os.execv(python, [python] + sys.argv)


def stop_on_sigterm():
    """make's harness stops a test with SIGTERM: unwind through finally."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port(udp=False):
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks)."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Daemon:
    """A server in its own session, its output in WORKDIR/NAME.log."""

    def __init__(self, workdir, name, argv, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=workdir,
                                     env=env, start_new_session=True)

    def wait_until(self, ready, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if ready():
                return
            if self.proc.poll() is not None:
                lib.fail("%s exited (%s) before %s:\n%s" %
                         (self.name, self.proc.returncode, what, self.tail()))
            time.sleep(0.1)
        lib.fail("%s: no %s within %d s:\n%s" %
                 (self.name, what, seconds, self.tail()))

    def tail(self, chars=3000):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()[-chars:]

    def stop(self, seconds=20):
        """SIGTERM, then SIGKILL after `seconds`; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class NotYet(Exception):
    """A check that may pass once a store has written what it received."""


def settle(check, seconds=30):
    """Runs check() until it raises no NotYet, for at most `seconds` (the
    stores write asynchronously); then fails with its last complaint."""
    deadline = time.time() + seconds
    while True:
        try:
            return check()
        except NotYet as e:
            if time.time() > deadline:
                lib.fail(str(e))
            time.sleep(0.5)


def digiwatt_block(sim, accounts):
    """<Plugin digiwatt> for [(account, [option lines], meters)], a meter
    being (ID, Instance or None[, [option lines]])."""
    out = ["<Plugin digiwatt>"]
    for name, options, meters in accounts:
        out += ['  <Account "%s">' % name,
                '    BaseURL "%s"' % sim.base,
                '    ClientID "%s"' % sim.client_id,
                '    ClientSecret "%s"' % sim.client_secret,
                '    Timeout 5']
        out += ["    " + line for line in options]
        for meter in meters:
            out.append('    <Smartmeter "%s">' % meter[0])
            if meter[1]:
                out.append('      Instance "%s"' % meter[1])
            out += ["      " + line for line in (meter[2:] or [[]])[0]]
            out.append('    </Smartmeter>')
        out.append('  </Account>')
    out.append("</Plugin>")
    return "\n".join(out)


def set_hostname(config, hostname):
    """lib.collectd_config writes Hostname "e2e"; some tests need another."""
    with open(config) as f:
        text = f.read()
    with open(config, "w") as f:
        f.write(text.replace('Hostname "%s"' % HOST, 'Hostname "%s"' %
                             hostname, 1))


def expected(sim, meter, resources=lib.RESOURCES):
    """(now, months) for one meter: now = {(type, ti): values} the current
    values, months = {(type, ti): {epoch: value}} month-stamped."""
    now, months = {}, {}
    for resource in resources:
        periods = lib.PERIODS if resource in lib.WITH_PERIOD else [None]
        for period in periods:
            body = sim.get(meter, resource, period)
            for key, entries in lib.expected_values(resource, period,
                                                    body).items():
                for epoch, values in entries:
                    if epoch is None:
                        now[key] = values
                    else:
                        months.setdefault(key, {})[epoch] = values[0]
    return now, months


def http_json(url, data=None, timeout=10):
    with urllib.request.urlopen(url, data, timeout=timeout) as r:
        return json.load(r)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return 200 <= r.status < 300
    except (urllib.error.URLError, OSError):
        return False


def collectd_log(workdir):
    path = os.path.join(workdir, "collectd.log")
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


# Harmless lines of Debian's collectd 5.12 with libmicrohttpd 0.9.75.
BENIGN = ("MHD_OPTION_EXTERNAL_LOGGER is not the first option",)


def complaints(log, plugins):
    """collectd log lines at error/warning level from the named plugins."""
    return [line for line in log.splitlines()
            if ("[error]" in line or "[warning]" in line) and
            any(p + " plugin" in line for p in plugins) and
            not any(b in line for b in BENIGN)]
