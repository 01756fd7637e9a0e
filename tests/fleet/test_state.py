#!/usr/bin/python3
"""State across restarts, with the real collectd and the simulator.

- restart: a second start with the first run's state makes no data request
  in its first three cycles, has every current value in csv in its first
  cycle, sends no history month again, and rrdtool logs no "illegal
  attempt to update";
- damaged state files (a table: empty, cut, one byte changed, another
  version, another account's, not a state file): one warning each, a cold
  start, and a good file written in its place;
- kill -9 at random moments, six times, then a start: never a damaged
  file (the write is atomic), and the state comes back;
- meters removed between runs: only the remaining ones come back, and the
  file no longer holds the others;
- shard moves: going from Shard 0 2 to Shard 0 3 keeps every meter that
  stays warm (no request for it), and the meters that moved away are not
  dispatched any more."""

import os
import random
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

HISTORY = [("digiwatt_energy_kwh", "consumption-history"),
           ("digiwatt_cost", "costs-history")]
CURRENT = [("digiwatt_cost", "costs-this-month"),
           ("digiwatt_energy_kwh", "consumption-yesterday"),
           ("digiwatt_energy_kwh", "savings"),
           ("digiwatt_energy_kwh", "consumption-history-latest")]


def state_path(workdir, account="main"):
    return os.path.join(workdir, "digiwatt", account + ".state")


class Run:
    """One collectd run in workdir: the log lines it added, the data and
    token requests the simulator saw while it ran."""

    def __init__(self, workdir, sim, block, writers=("csv",)):
        self.workdir, self.sim = workdir, sim
        self.log_path = os.path.join(workdir, "collectd.log")
        self.log_at = (os.path.getsize(self.log_path)
                       if os.path.exists(self.log_path) else 0)
        self.before = sim.stats()
        self.started = time.time()
        conf = fleetlib.digiwatt_config(workdir, block, writers=writers)
        self.daemon = fleetlib.Collectd(conf)

    def requests(self):
        now = self.sim.stats()
        return (now["requests"] - self.before["requests"],
                now["token_requests"] - self.before["token_requests"])

    def log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            f.seek(self.log_at)
            return f.read()

    def wait_log(self, text, timeout_s=15):
        fleetlib.wait_for(repr(text), lambda: text in self.log(), timeout_s,
                          [self.daemon])

    def stop(self):
        self.daemon.stop()

    def kill(self):
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        self.daemon.out.close()


def block_for(sim, meters, options=()):
    return fleetlib.account_block(sim, meters=[(m, None) for m in meters],
                                  options=list(options))


def fetched_all(run, n):
    return lambda: run.requests()[0] >= n


def month_rows(workdir, meter):
    """{series: [month epochs]} csv holds for a meter's history series."""
    out = {}
    for type_, ti in HISTORY:
        rows = fleetlib.series(workdir, "e2e", meter, type_, ti)
        out[ti] = [t for t, _ in rows]
    return out


def check_restart():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            meters = ["r1", "r2"]
            block = block_for(sim, meters)
            first = Run(workdir, sim, block, writers=("csv", "rrdtool"))
            fleetlib.wait_for("the first cycle", fetched_all(first, 70), 20,
                              [first.daemon])
            time.sleep(3)  # a few months go out, one per series and cycle
            first.stop()
            path = state_path(workdir)
            if not os.path.exists(path):
                fail("no state file after a stop: %s" % path)
            mode = os.stat(path).st_mode & 0o777
            dmode = os.stat(os.path.dirname(path)).st_mode & 0o777
            if mode != 0o600 or dmode != 0o700:
                fail("state file mode %o in a %o directory, want 600 in 700" %
                     (mode, dmode))
            size = os.path.getsize(path)
            months_before = month_rows(workdir, "r1")
            # an RRD file takes one update per second: a restart within the
            # second of the last update would be refused for any plugin
            time.sleep(1.1)
            second = Run(workdir, sim, block, writers=("csv", "rrdtool"))
            second.wait_log("state restored")
            time.sleep(3.5)  # three cycles
            data, tokens = second.requests()
            second.stop()
            if data != 0:
                fail("%d data requests in the three cycles after a restart "
                     "with fresh state, want 0" % data)
            if tokens > 1:
                fail("%d token requests after the restart, want 1" % tokens)
            for meter in meters:
                for type_, ti in CURRENT:
                    rows = fleetlib.series(workdir, "e2e", meter, type_, ti)
                    if not [t for t, _ in rows
                            if second.started - 1 <= t <= second.started + 2]:
                        fail("%s %s-%s: no value in the first cycle after "
                             "the restart: %s" % (meter, type_, ti, rows))
            after = month_rows(workdir, "r1")
            for ti, epochs in after.items():
                if len(epochs) != len(set(epochs)):
                    fail("%s: a month was sent again after the restart: %s" %
                         (ti, sorted(epochs)))
                if len(epochs) <= len(months_before[ti]):
                    fail("%s: no month went out after the restart" % ti)
            illegal = [l for l in first.log().splitlines()
                       if "illegal attempt" in l]
            if illegal:
                fail("rrdtool refused updates: %s" % illegal[:3])
            print("ok: restart: 0 data requests and %d token request in 3 "
                  "cycles, values in the first cycle, no month again, no "
                  "rrdtool complaint; state %d bytes for 2 meters" %
                  (tokens, size))
            return open(path, "rb").read()
        finally:
            sim.stop()


def damaged(good):
    """(name, bytes) of the damaged state files to start with."""
    other = bytearray(good)
    version = bytearray(good)
    version[8:12] = struct.pack("<I", 99)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x40
    return [("empty", b""), ("cut", good[:len(good) // 3]),
            ("one byte changed", bytes(flipped)),
            ("another version", bytes(version)),
            ("not a state file", b"hello, I am not what you think\n" * 9),
            ("another account's", bytes(other))]


def check_damaged(good):
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            for name, data in damaged(good):
                # the good file is main's; copied under "other" it is
                # another account's
                account = "other" if name == "another account's" else "main"
                os.makedirs(os.path.join(workdir, "digiwatt"), mode=0o700,
                            exist_ok=True)
                with open(state_path(workdir, account), "wb") as f:
                    f.write(data)
                block = fleetlib.account_block(
                    sim, meters=[("d1", None)], name=account,
                    options=['Resources "costs"', 'Periods "yesterday"'])
                run = Run(workdir, sim, block)
                fleetlib.wait_for("a cold start (%s)" % name,
                                  fetched_all(run, 1), 15, [run.daemon])
                time.sleep(1.2)
                run.stop()
                warnings = [l for l in run.log().splitlines()
                            if "state file" in l and "ignored" in l]
                if len(warnings) != 1 or "[warning]" not in warnings[0]:
                    fail("%s: want one warning about the state file, got "
                         "%s\n%s" % (name, warnings, run.log()[-2000:]))
                with open(state_path(workdir, account), "rb") as f:
                    if f.read(8) != b"DWSTATE\0":
                        fail("%s: no good state file written in its place" %
                             name)
                print("ok: damaged state (%s): %s" %
                      (name, warnings[0].split("ignored: ", 1)[1]))
        finally:
            sim.stop()


def check_kill_loop():
    rng = random.Random(20261201)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            options = ['Resources "costs" "consumption"',
                       'Periods "yesterday" "this-month"',
                       'RefreshInterval "costs" 0']
            block = block_for(sim, ["k%d" % i for i in range(5)], options)
            fleet = block.replace("<Plugin digiwatt>",
                                  "<Plugin digiwatt>\n  StateSaveInterval 1")
            for i in range(6):
                run = Run(workdir, sim, fleet)
                time.sleep(rng.uniform(0.6, 2.6))
                run.kill()
                bad = [l for l in run.log().splitlines()
                       if "state file" in l and "ignored" in l]
                if bad:
                    fail("kill -9 #%d left a damaged state file: %s" %
                         (i + 1, bad))
            run = Run(workdir, sim, fleet)
            run.wait_log("state restored")
            time.sleep(1.5)
            run.stop()
            if [l for l in run.log().splitlines() if "ignored" in l]:
                fail("the start after the kills ignored the state:\n" +
                     run.log()[-2000:])
            if os.path.exists(state_path(workdir) + ".tmp"):
                fail("a temporary state file was left behind")
            print("ok: six kill -9 at random moments, then a warm start")
        finally:
            sim.stop()


def check_meters_removed():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            options = ['Periods "yesterday"']
            first = Run(workdir, sim, block_for(sim, ["a", "b", "c"], options))
            fleetlib.wait_for("the first cycle", fetched_all(first, 30), 20,
                              [first.daemon])
            time.sleep(1)
            first.stop()
            size3 = os.path.getsize(state_path(workdir))
            second = Run(workdir, sim, block_for(sim, ["a"], options))
            second.wait_log("state restored")
            time.sleep(1.5)
            second.stop()
            if "1 smartmeters" not in second.log():
                fail("want one meter restored:\n" + second.log()[-1500:])
            for meter in ("b", "c"):
                rows = [t for t, _ in fleetlib.series(
                    workdir, "e2e", meter, "digiwatt_cost", "costs-yesterday")
                    if t >= second.started - 0.5]
                if rows:
                    fail("meter %s, removed, still dispatched: %s" %
                         (meter, rows))
            size1 = os.path.getsize(state_path(workdir))
            if not size1 < size3 / 2:
                fail("the state kept the removed meters: %d bytes, %d with "
                     "three" % (size1, size3))
            if second.requests()[0] != 0:
                fail("meter a was fetched again after the restart")
            print("ok: meters removed: %d bytes of state for 3 meters, %d "
                  "for the one left" % (size3, size1))
        finally:
            sim.stop()


def check_shard_moves():
    meters = ["S-%03d" % i for i in range(40)]
    stay = [m for m in meters if fleetlib.shard_of(m, 3) == 0]
    moved = [m for m in meters if fleetlib.shard_of(m, 2) == 0 and
             fleetlib.shard_of(m, 3) == 2]
    if not stay or not moved:
        fail("the test's meters do not exercise a move")
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        try:
            path = os.path.join(workdir, "meters.txt")
            fleetlib.write_fleet_file(path, meters)

            def block(count):
                return fleetlib.account_block(sim, options=[
                    'SmartmeterFile "%s"' % path, 'Shard 0 %d' % count,
                    'Resources "costs"', 'Periods "yesterday"'])

            first = Run(workdir, sim, block(2))
            fleetlib.wait_for("shard 0 of 2 fetched",
                              fetched_all(first, len(stay) + len(moved)), 20,
                              [first.daemon])
            time.sleep(1)
            first.stop()
            second = Run(workdir, sim, block(3))
            second.wait_log("state restored")
            time.sleep(2)
            second.stop()
            data = second.requests()[0]
            if data != 0:
                fail("%d data requests after going to 3 shards: the meters "
                     "that stay should be warm" % data)
            for m in moved:
                rows = [t for t, _ in fleetlib.series(
                    workdir, "e2e", lib.safe_name(m), "digiwatt_cost",
                    "costs-yesterday") if t >= second.started - 0.5]
                if rows:
                    fail("meter %s moved to shard 2 but is still dispatched" %
                         m)
            print("ok: shard moves: %d meters stayed warm (0 requests), %d "
                  "moved away" % (len(stay), len(moved)))
        finally:
            sim.stop()


def main():
    good = check_restart()
    check_damaged(good)
    check_kill_loop()
    check_meters_removed()
    check_shard_moves()
    return 0


if __name__ == "__main__":
    sys.exit(main())
