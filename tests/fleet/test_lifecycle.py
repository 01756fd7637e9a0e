#!/usr/bin/python3
"""The fleet lifecycle against collectd's own threads, with the real
collectd and the simulator.

- A fleet cycle that would take 100 s (every API request answers after
  60 s; CycleTimeout 100, Timeout 100) runs while collectd has a single
  read thread (ReadThreads 1): the host's load plugin keeps its 1 s
  interval all along, and SIGTERM ends collectd within 2 s although 600
  requests are in flight or queued.
- A fleet bigger than what a cycle can fetch (300 slots, 4 at a time,
  each answered after 150 ms, Interval 1): what a cycle has no time for
  is deferred, never a timeout: no FAILURE notification, no warning or
  error line from the plugin, no timeout counted, the deferred counter
  grows, and every slot is fetched in the end."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402


def load_times(workdir):
    rows = []
    for path in sorted(os.listdir(os.path.join(workdir, "csv", "e2e", "load"))
                       if os.path.isdir(os.path.join(workdir, "csv", "e2e",
                                                     "load")) else []):
        if path.startswith("load-"):
            with open(os.path.join(workdir, "csv", "e2e", "load", path)) as f:
                rows += [float(l.split(",")[0]) for l in f
                         if l[:1].isdigit()]
    return sorted(rows)


def check_long_cycle():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet", "--fault", "*=delay:60000",
                            "--max-connections", "1024")
        daemon = None
        try:
            meters = [("h%02d" % i, None) for i in range(20)]
            block = fleetlib.account_block(sim, meters=meters, options=[
                'Resources "costs" "consumption" "performance" '
                '"consumption-distribution" "disaggregation"',
                'CycleTimeout 100', 'Timeout 100', 'MaxConcurrency 16'])
            conf = fleetlib.digiwatt_config(workdir, block, writers=("csv",),
                                            extra="LoadPlugin load")
            lib.plugin_dir(workdir, ["load"])
            with open(conf) as f:
                text = f.read()
            with open(conf, "w") as f:
                f.write(text.replace("WriteThreads", "ReadThreads 1\n"
                                     "WriteThreads", 1))
            daemon = fleetlib.Collectd(conf)
            fleetlib.wait_for("requests in flight",
                              lambda: sim.stats()["in_flight"] >= 16, 15,
                              [daemon])
            started = time.time()
            time.sleep(6)
            times = [t for t in load_times(workdir) if t >= started]
            gaps = [b - a for a, b in zip(times, times[1:])]
            if len(times) < 4 or max(gaps) > 2.5:
                fail("the load plugin lost its interval while the fleet "
                     "cycle ran: %d values in 6 s, gaps %s" %
                     (len(times), [round(g, 1) for g in gaps]))
            t0 = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            daemon.proc.wait(30)
            took = time.monotonic() - t0
            daemon.out.close()
            if took > 2.0:
                fail("collectd took %.1f s to stop after SIGTERM with "
                     "requests in flight, want at most 2 s" % took)
            bad = fleetlib.plugin_complaints(daemon.log())
            if bad:
                fail("the interrupted cycle was blamed on someone:\n" +
                     "\n".join(bad[:5]))
            print("ok: a 100 s fleet cycle on ReadThreads 1: load every "
                  "%.1f s at worst; SIGTERM to exit in %.2f s with %d "
                  "requests in flight" % (max(gaps), took, 16))
        finally:
            if daemon and daemon.running():
                daemon.proc.kill()
            sim.stop()


def check_bigger_than_a_cycle():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet", "--fault", "*=delay:150")
        daemon = None
        try:
            meters = [("f%03d" % i, None) for i in range(300)]
            block = fleetlib.account_block(sim, meters=meters, options=[
                'Resources "savings"', 'MaxConcurrency 4'])
            conf = fleetlib.digiwatt_config(workdir, block, writers=("csv",))
            daemon = fleetlib.Collectd(conf)
            def missing():
                return [m for m, _ in meters
                        if not fleetlib.series(workdir, "e2e", m,
                                               "digiwatt_energy_kwh",
                                               "savings")]

            fleetlib.wait_for("every meter's values", lambda: not missing(),
                              60, [daemon])
            daemon.stop()
            log = daemon.log()
            failures = [l for l in log.splitlines()
                        if "severity = FAILURE" in l]
            bad = fleetlib.plugin_complaints(log)
            if failures or bad:
                fail("a fleet bigger than a cycle was reported as failing:\n"
                     + "\n".join((failures + bad)[:8]))
            deferred = fleetlib.series(workdir, "e2e", "account-main",
                                       "digiwatt_requests", "deferred")
            timeouts = fleetlib.series(workdir, "e2e", "account-main",
                                       "digiwatt_errors", "timeout")
            if not deferred or max(v[0] for _, v in deferred) <= 0:
                fail("nothing was deferred: %s" % deferred[-3:])
            if any(v[0] != 0 for _, v in timeouts):
                fail("deferred work counted as timeouts: %s" % timeouts[-3:])
            requests = sim.stats()["requests"]
            print("ok: 300 slots at 4 at a time: %d deferred in all, no "
                  "FAILURE, no timeout, every meter fetched (%d requests)" %
                  (max(v[0] for _, v in deferred), requests))
        finally:
            if daemon:
                daemon.stop()
            sim.stop()


def main():
    check_long_cycle()
    check_bigger_than_a_cycle()
    return 0


if __name__ == "__main__":
    sys.exit(main())
