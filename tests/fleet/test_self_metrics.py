#!/usr/bin/python3
"""The plugin's own metrics, as csv receives them.

One account "main" with three meters; the simulator answers every request
for meter "bad1" with 500 and the others after 20 ms. Per account: request
counters grow, the seven error classes are all there with only "server"
above zero, response time and cycle duration are plausible seconds, two
meters ok and one failed. Per meter: the data age of healthy meters stays
small, the failing meter's grows with the clock."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

GOOD = ["ok1", "ok2"]
BAD = "bad1"
ACCOUNT = "account-main"
CLASSES = ["auth", "rate-limit", "server", "timeout", "network", "client",
           "decode"]
LATENCY_S = 0.02


def series(workdir, instance, type_, ti=None):
    return fleetlib.series(workdir, "e2e", instance, type_, ti)


def values(rows):
    return [v[0] for _, v in rows]


def check_account(workdir, stats):
    data = values(series(workdir, ACCOUNT, "digiwatt_requests", "data"))
    if len(data) < 3 or data != sorted(data) or data[-1] <= data[0]:
        fail("digiwatt_requests-data does not grow: %s" % data)
    if data[-1] > stats["requests"]:
        fail("digiwatt_requests-data says %g, the simulator saw only %d" %
             (data[-1], stats["requests"]))
    token = values(series(workdir, ACCOUNT, "digiwatt_requests", "token"))
    if not token or set(token) != {1}:
        fail("digiwatt_requests-token: %s, want 1 in every cycle" % token)
    for cls in CLASSES:
        rows = values(series(workdir, ACCOUNT, "digiwatt_errors", cls))
        if len(rows) < 3:
            fail("digiwatt_errors-%s: %d rows, want one per cycle" %
                 (cls, len(rows)))
        if rows != sorted(rows):
            fail("digiwatt_errors-%s decreases: %s" % (cls, rows))
        if cls == "server":
            if rows[-1] <= 0 or rows[-1] > stats["by_status"].get("500", 0):
                fail("digiwatt_errors-server %s, the simulator answered "
                     "500 %s times" % (rows, stats["by_status"].get("500")))
        elif rows[-1] != 0:
            fail("digiwatt_errors-%s %s, want 0 (only 500s were served)" %
                 (cls, rows))
    for type_ in ("digiwatt_response_time_seconds", "digiwatt_cycle_seconds"):
        rows = values(series(workdir, ACCOUNT, type_))
        # every request waits LATENCY_S in the simulator: not milliseconds
        if len(rows) < 3 or not all(LATENCY_S * 0.75 < x < 10 for x in rows):
            fail("%s: %s, want seconds between %g and 10" %
                 (type_, rows, LATENCY_S * 0.75))
    ok = values(series(workdir, ACCOUNT, "digiwatt_meters", "ok"))
    failed = values(series(workdir, ACCOUNT, "digiwatt_meters", "failed"))
    if len(ok) < 3 or len(failed) != len(ok):
        fail("digiwatt_meters: ok %s, failed %s" % (ok, failed))
    # healthy meters fetch (RefreshInterval 0) and succeed in every cycle
    if set(ok) != {2}:
        fail("digiwatt_meters-ok %s, want 2 in every cycle" % ok)
    if failed[0] != 1 or max(failed) != 1:
        fail("digiwatt_meters-failed %s, want 1 (first cycle, and at most 1)"
             % failed)


def check_age(workdir):
    for m in GOOD:
        rows = values(series(workdir, m, "digiwatt_data_age_seconds"))
        if len(rows) < 3 or not all(0 <= x < 10 for x in rows):
            fail("%s: digiwatt_data_age_seconds %s, want small (fetched "
                 "every cycle)" % (m, rows))
    rows = series(workdir, BAD, "digiwatt_data_age_seconds")
    if len(rows) < 3:
        fail("%s: digiwatt_data_age_seconds has %d rows" % (BAD, len(rows)))
    # never succeeded: age since plugin start, growing with the cycle time
    (t0, (a0,)), (t1, (a1,)) = rows[0], rows[-1]
    if values(rows) != sorted(values(rows)) or a1 <= a0:
        fail("%s: data age does not grow: %s" % (BAD, rows))
    if abs((a1 - a0) - (t1 - t0)) > 1.5:
        fail("%s: data age grew by %g s in %g s of cycles: %s" %
             (BAD, a1 - a0, t1 - t0, rows))


def main():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet", "--latency-ms",
                            str(int(LATENCY_S * 1000)),
                            "--fault", "%s/*=status:500" % BAD)
        daemon = None
        try:
            block = fleetlib.account_block(
                sim, meters=[(m, None) for m in GOOD + [BAD]],
                options=['Resources "consumption" "savings"',
                         'Periods "yesterday"',
                         'RefreshInterval "consumption" 0'])
            daemon = fleetlib.Collectd(fleetlib.digiwatt_config(workdir,
                                                                block))
            def check_not_suspended():
                lines = fleetlib.suspended(daemon.log())
                if lines:
                    fail("one failing meter made collectd suspend the whole "
                         "account (the read callback returned an error), so "
                         "the healthy meters got no values meanwhile:\n" +
                         "\n".join(lines[:3]))
                return False

            fleetlib.wait_for(
                "five cycles of self-metrics",
                lambda: check_not_suspended() or
                len(series(workdir, ACCOUNT, "digiwatt_meters",
                           "ok")) >= 5 and
                len(series(workdir, BAD, "digiwatt_data_age_seconds")) >= 5,
                timeout_s=20, procs=[daemon])
            daemon.stop()
            stats = sim.stats()
            check_account(workdir, stats)
            check_age(workdir)
            log = daemon.log()
            if sim.client_secret in log:
                fail("the client secret reached collectd's log")
            if any("access_token" in l or "dwsim." in l
                   for l in log.splitlines()):
                fail("a token reached collectd's log")
            print("ok: self-metrics of 1 account and 3 meters present and "
                  "plausible after %d requests" % stats["requests"])
        finally:
            if daemon:
                daemon.stop()
            sim.stop()


if __name__ == "__main__":
    main()
