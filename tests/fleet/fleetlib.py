"""Pieces the fleet tests share, on top of tests/e2e/lib.py: several
collectd daemons at once (started in the background and always stopped),
the network plugin between them, csv series of the plugin's own metrics,
and the shard function written again in Python (FNV-1a 64 of the ID modulo
the shard count) so the C code cannot agree with itself by construction."""

import glob
import csv
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import lib  # noqa: E402,F401  (re-exported for the tests)

fail = lib.fail


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def jump(key: int, count: int) -> int:
    """Jump consistent hashing (Lamping and Veach, 2014)."""
    bucket, nxt = -1, 0
    while nxt < count:
        bucket = nxt
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        nxt = int((bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket


def shard_of(meter_id: str, count: int) -> int:
    """The plugin's shard of an ID, computed here independently."""
    return jump(fnv1a64(meter_id.encode("utf-8")), count)


def free_udp_port():
    """A UDP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def account_block(sim, meters=(), options=(), name="main"):
    """<Plugin digiwatt> with one account against sim. meters: (id,
    instance or None) pairs as <Smartmeter> blocks; options: lines."""
    out = ["<Plugin digiwatt>",
           '  <Account "%s">' % name,
           '    BaseURL "%s"' % sim.base,
           '    ClientID "%s"' % sim.client_id,
           '    ClientSecret "%s"' % sim.client_secret,
           '    Timeout 5']
    out += ["    " + o for o in options]
    for meter, instance in meters:
        out.append('    <Smartmeter "%s">' % meter)
        if instance:
            out.append('      Instance "%s"' % instance)
        out.append('    </Smartmeter>')
    out += ["  </Account>", "</Plugin>"]
    return "\n".join(out)


def write_fleet_file(path, lines):
    """Replaces path atomically (write beside it, then rename), the way a
    configuration management tool would, so the plugin never reads half
    a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, path)


def digiwatt_config(workdir, block, hostname="e2e", extra="",
                    writers=("csv",), interval=1):
    """lib.collectd_config with another Hostname (a fleet has one per
    host); extra may load more of Debian's plugins (see plugin_dir)."""
    path = lib.collectd_config(workdir, block, interval=interval,
                               writers=writers, extra=extra)
    text = open(path).read().replace('Hostname "e2e"',
                                     'Hostname "%s"' % hostname, 1)
    with open(path, "w") as f:
        f.write(text)
    return path


def network_sender(workdir, port):
    """The lines that send every value to 127.0.0.1:port, flushed every
    second rather than only when a packet is full."""
    lib.plugin_dir(workdir, ["network"])
    return "\n".join(['<LoadPlugin network>', '  FlushInterval 1',
                      '</LoadPlugin>', '<Plugin network>',
                      '  Server "127.0.0.1" "%d"' % port, '</Plugin>'])


def receiver_config(workdir, port, interval=1):
    """A collectd without the digiwatt plugin that listens on
    127.0.0.1:port and writes what it receives to workdir/csv."""
    lines = lib.config_head(workdir, "receiver", interval, ["csv", "network"])
    lines += ['LoadPlugin csv'] + lib.csv_block(workdir) + [
        'LoadPlugin network',
        '<Plugin network>', '  Listen "127.0.0.1" "%d"' % port, '</Plugin>',
    ]
    return lib.write_config(workdir, lines)


class Collectd:
    """collectd -f in the background; stop() (SIGTERM, then SIGKILL after
    20 s) is safe to call twice. Use as a context manager or keep a list
    and stop each in a finally block."""

    def __init__(self, config):
        self.config = config
        self.workdir = os.path.dirname(config)
        self.out = open(os.path.join(self.workdir, "collectd.out"), "w")
        self.proc = subprocess.Popen([lib.COLLECTD, "-f", "-C", config],
                                     stdout=self.out, stderr=subprocess.STDOUT)

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.out.close()
                fail("collectd (%s) did not stop within 20 s of SIGTERM" %
                     self.config)
        self.out.close()
        return self.proc.returncode

    def log(self):
        text = ""
        for name in ("collectd.log", "collectd.out"):
            path = os.path.join(self.workdir, name)
            if os.path.exists(path):
                text += open(path, errors="replace").read()
        return text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def series(workdir, host, plugin_instance, type_, ti=None):
    """Sorted (epoch, [values]) rows csv wrote for one identifier; ti None
    for a type without type_instance."""
    name = type_ if ti is None else "%s-%s" % (type_, ti)
    pattern = os.path.join(workdir, "csv", host, "digiwatt-" + plugin_instance,
                           name + "-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for row in csv.reader(f):
                if row and row[0] != "epoch":
                    rows.append((float(row[0]), [float(v) for v in row[1:]]))
    return sorted(rows)


def meter_dirs(workdir, host):
    """The plugin instances of meters (not accounts) csv has for host."""
    base = os.path.join(workdir, "csv", host)
    if not os.path.isdir(base):
        return set()
    return {d[len("digiwatt-"):] for d in os.listdir(base)
            if d.startswith("digiwatt-") and
            not d.startswith("digiwatt-account-")}


def wait_for(what, predicate, timeout_s, procs=()):
    """Polls predicate every 0.2 s; fails naming `what` after timeout_s or
    when one of procs (Collectd) has died."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        for p in procs:
            if not p.running():
                fail("collectd (%s) exited early:\n%s" %
                     (p.config, p.log()[-3000:]))
        time.sleep(0.2)
    tails = ["%s:\n%s" % (p.config, "\n".join(p.log().splitlines()[-12:]))
             for p in procs]
    fail("timed out after %g s waiting for %s\n%s" %
         (timeout_s, what, "\n".join(tails)))


def suspended(log):
    """collectd's lines saying it suspended one of our read callbacks: it
    does so when the callback returns an error, and then no meter of the
    account gets values until the suspension ends."""
    return [line for line in log.splitlines()
            if "read-function of plugin `digiwatt" in line and
            "suspend" in line]


def plugin_complaints(log, levels=("[error]", "[warning]")):
    return [line for line in log.splitlines()
            if "digiwatt plugin" in line and any(l in line for l in levels)]
