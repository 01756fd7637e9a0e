#!/usr/bin/python3
"""MaxRequestsPerSecond: the token bucket paces every request of an
account, spreads a first cycle that does not fit over the next cycles,
and loses or doubles nothing.

One account, 20 meters, four resources each (consumption and costs of
"yesterday", savings, consumption-history: 80 slots), every
RefreshInterval an hour (so each slot is fetched once in the test),
MaxRequestsPerSecond 10 (burst 10), collectd Interval 2 and CycleTimeout
1.8 (below the interval, as doc/fleet.md advises for pacing: a cycle that
runs to a deadline of the full interval makes collectd warn that the read
took longer than its interval). The 81 requests (a token and 80 data)
need about 7 s: four cycles. The simulator's request log (when each
request arrived) must show:

(a) in no window of W ms more than 10 x W / 1000 + 10 (the burst)
    requests, plus one for clock granularity, the token request included;
(b) every slot fetched exactly once, one token, and every value of every
    slot in csv exactly once;
(c) no error or warning in collectd's log, of the plugin or about it, and
    no notification of it: the deferred work is not a failure;
(d) digiwatt_requests-deferred above 0 while the first cycle is spread,
    and not growing once everything is fetched; digiwatt_requests-data
    ends at the 80 requests the simulator saw.

The test fails without pacing: all 81 requests arrive within a few ms."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

RATE = 10
BURST = 10  # one second's worth
INTERVAL = 2
CYCLE_TIMEOUT = 1.8
METERS = ["p%02d" % i for i in range(1, 21)]
RESOURCES = ["consumption", "costs", "savings", "consumption-history"]
PERIOD = "yesterday"
SLOTS = len(METERS) * len(RESOURCES)
WINDOWS_MS = [100, 250, 500, 1000, 2000, 3000, 5000]
LINE = re.compile(r"^digiwatt-sim: t=(\d+) (\w+) (\S+) -> (\d+)")


def path(meter, resource):
    p = "/smartmeters/%s/%s" % (meter, resource)
    return p + "/" + PERIOD if resource in lib.WITH_PERIOD else p


def arrivals(sim_log):
    """(ms, method, path) of every API request the simulator answered,
    in the order they arrived."""
    out = []
    with open(sim_log, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m and not m.group(3).startswith("/_control/"):
                out.append((int(m.group(1)), m.group(2), m.group(3)))
    return sorted(out)


def check_windows(times):
    """(a): the most requests seen in any window of each length."""
    worst = {}
    for w in WINDOWS_MS:
        limit = RATE * w // 1000 + BURST + 1
        first = most = 0
        for last in range(len(times)):
            while times[last] - times[first] >= w:
                first += 1
            most = max(most, last - first + 1)
        if most > limit:
            fail("%d requests within %d ms, want at most %d (rate %d, burst "
                 "%d, one for clock granularity)" % (most, w, limit, RATE,
                                                      BURST))
        worst[w] = most
    return worst


def check_requests(sim, reqs):
    """(b), the simulator's side: each slot once, one token, nothing else."""
    stats = sim.stats()
    by_path = dict(stats["by_path"])
    if by_path.pop("/auth/token", 0) != 1 or stats["token_requests"] != 1:
        fail("token requests: %s, want 1" % stats["token_requests"])
    want = {path(m, r): 1 for m in METERS for r in RESOURCES}
    if by_path != want:
        wrong = {p: (by_path.get(p), want.get(p))
                 for p in set(by_path) | set(want)
                 if by_path.get(p) != want.get(p)}
        fail("requests per path (got, want): %s" % wrong)
    if len(reqs) != SLOTS + 1:
        fail("%d requests in the simulator's log, want %d" %
             (len(reqs), SLOTS + 1))
    token_ms = [t for t, _, p in reqs if p == "/auth/token"][0]
    if token_ms > reqs[0][0]:  # the same millisecond as data is first
        fail("a data request came %d ms before the token" %
             (token_ms - reqs[0][0]))


def check_values(workdir, sim):
    """(b), collectd's side: every value of every slot in csv, once."""
    checked = 0
    for m in METERS:
        for r in RESOURCES:
            period = PERIOD if r in lib.WITH_PERIOD else None
            expected = lib.expected_values(r, period, sim.get(m, r, period))
            for (type_, ti), wanted in expected.items():
                rows = lib.csv_rows(workdir, "e2e", m, type_, ti)
                for epoch, values in wanted:
                    if epoch is not None:
                        continue  # MonthlyHistory false
                    if len(rows) != 1 or not all(
                            lib.close(a, b) for a, b in zip(rows[0][1],
                                                            values)):
                        fail("%s %s-%s: csv rows %s, want one with %s" %
                             (m, type_, ti, rows, values))
                    checked += 1
    return checked


def check_quiet(daemon):
    """(c): deferring is not failing."""
    log = daemon.log()
    complaints = [line for line in log.splitlines()
                  if "[error]" in line or "[warning]" in line]
    if complaints:
        fail("collectd or the plugin complained:\n" +
             "\n".join(complaints[:10]))
    notes = [line for line in log.splitlines()
             if "Notification:" in line and "plugin = digiwatt" in line]
    if notes:
        fail("notifications for deferred work:\n" + "\n".join(notes[:10]))
    if fleetlib.suspended(log):
        fail("collectd suspended the read callback:\n" +
             "\n".join(fleetlib.suspended(log)))


def check_deferred(workdir):
    """(d): the deferred counter per cycle, as csv has it."""
    data = fleetlib.series(workdir, "e2e", "account-main",
                           "digiwatt_requests", "data")
    if not data or data[-1][1][0] != SLOTS:
        fail("digiwatt_requests-data %s, want %d at the end" %
             ([v[0] for _, v in data], SLOTS))
    rows = fleetlib.series(workdir, "e2e", "account-main",
                           "digiwatt_requests", "deferred")
    counts = [v[0] for _, v in rows]
    if not counts or max(counts) <= 0:
        fail("digiwatt_requests-deferred never above 0: %s" % counts)
    if counts != sorted(counts):
        fail("digiwatt_requests-deferred decreases: %s" % counts)
    if len(counts) < 2 or counts[-1] != counts[-2]:
        fail("digiwatt_requests-deferred still grows at the end: %s" %
             counts)
    return counts


def main():
    options = ["MaxRequestsPerSecond %d" % RATE, "MonthlyHistory false",
               "CycleTimeout %g" % CYCLE_TIMEOUT,
               "Resources %s" % " ".join('"%s"' % r for r in RESOURCES),
               'Periods "%s"' % PERIOD]
    options += ['RefreshInterval "%s" 3600' % r for r in RESOURCES]
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)  # with its request log
        daemon = None
        try:
            block = fleetlib.account_block(
                sim, meters=[(m, None) for m in METERS], options=options)
            daemon = fleetlib.Collectd(fleetlib.digiwatt_config(
                workdir, block, interval=INTERVAL))

            def fetched():
                return sim.stats()["requests"] >= SLOTS

            fleetlib.wait_for("%d data requests" % SLOTS, fetched,
                              timeout_s=20, procs=[daemon])
            # two more cycles: nothing more is sent, the counter stands
            time.sleep(2 * INTERVAL + 0.5)
            daemon.stop()
            reqs = arrivals(sim.log.name)
            check_requests(sim, reqs)
            times = [t for t, _, _ in reqs]
            worst = check_windows(times)
            span_ms = times[-1] - times[0]
            least_ms = (len(times) - BURST) * 1000 // RATE - 1
            if span_ms < least_ms:
                fail("%d requests in %d ms, want at least %d ms" %
                     (len(times), span_ms, least_ms))
            check_quiet(daemon)
            deferred = check_deferred(workdir)
            values = check_values(workdir, sim)
            print("ok: %d requests over %.1f s (at least %.1f s paced); most "
                  "in a window: %s; deferred counter per cycle %s; %d values "
                  "in csv once each" %
                  (len(times), span_ms / 1000.0, least_ms / 1000.0,
                   ", ".join("%d in %d ms" % (worst[w], w)
                             for w in WINDOWS_MS),
                   [int(c) for c in deferred], values))
        finally:
            if daemon:
                daemon.stop()
            sim.stop()


if __name__ == "__main__":
    main()
