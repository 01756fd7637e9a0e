#!/usr/bin/python3
"""The request budget: a resource is fetched only when its RefreshInterval
says so, and its values are written once per fetch (by default) or every
cycle (RepeatCached true).

One account, five meters, all ten resources, period "yesterday" (ten slots
per meter); RefreshInterval 0 (every cycle) for consumption and 3600 s for
the nine others; collectd Interval 1 for about five cycles, once in each
mode. The simulator's per-path counters must show the first cycle fetching
all 50 slots and every later cycle only the five consumption slots, with
one token request; csv must hold the refetched value every cycle, and the
values not refetched once (default) or in every cycle (RepeatCached)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

METERS = ["b%d" % i for i in range(1, 6)]
WANT_CYCLES = 5
# (type, type_instance) of resources fetched once, dispatched every cycle
CACHED = [("digiwatt_energy_kwh", "savings"),
          ("digiwatt_cost", "costs-yesterday"),
          ("digiwatt_energy_kwh", "consumption-history-latest")]
NOW = ("digiwatt_energy_kwh", "consumption-yesterday")


def path(meter, resource):
    p = "/smartmeters/%s/%s" % (meter, resource)
    return p + "/yesterday" if resource in lib.WITH_PERIOD else p


def run(repeat_cached):
    options = ['Periods "yesterday"', 'RefreshInterval "consumption" 0',
               "RepeatCached %s" % ("true" if repeat_cached else "false")]
    options += ['RefreshInterval "%s" 3600' % r for r in lib.RESOURCES
                if r != "consumption"]
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        daemon = None
        try:
            block = fleetlib.account_block(
                sim, meters=[(m, None) for m in METERS], options=options)
            daemon = fleetlib.Collectd(fleetlib.digiwatt_config(workdir,
                                                                block))

            def consumption_fetches():
                return sim.stats()["by_path"].get(path(METERS[0],
                                                       "consumption"), 0)

            fleetlib.wait_for("%d cycles" % WANT_CYCLES,
                              lambda: consumption_fetches() >= WANT_CYCLES,
                              timeout_s=20, procs=[daemon])
            daemon.stop()  # a cycle in progress finishes first
            stats = sim.stats()
            by_path = dict(stats["by_path"])
            by_path.pop("/auth/token", None)

            cycles = by_path.get(path(METERS[0], "consumption"), 0)
            want = {}
            for m in METERS:
                for r in lib.RESOURCES:
                    want[path(m, r)] = cycles if r == "consumption" else 1
            if by_path != want:
                wrong = {p: (by_path.get(p), want.get(p))
                         for p in set(by_path) | set(want)
                         if by_path.get(p) != want.get(p)}
                fail("requests per path (got, want) after %d cycles: %s" %
                     (cycles, wrong))
            total = len(METERS) * 10 + len(METERS) * (cycles - 1)
            if stats["requests"] != total:
                fail("%d requests after %d cycles, want 50 + 5 x %d = %d" %
                     (stats["requests"], cycles, cycles - 1, total))
            if stats["token_requests"] != 1:
                fail("%d token requests, want 1" % stats["token_requests"])

            # The refetched slot goes out every cycle; the cached ones once
            # (at the first cycle's time), or with RepeatCached in every
            # cycle, at the same cycle timestamps. The last cycle's values
            # may be lost when collectd stops its write threads.
            for m in METERS:
                now_times = [t for t, _ in fleetlib.series(workdir, "e2e", m,
                                                           *NOW)]
                if not cycles - 1 <= len(now_times) <= cycles:
                    fail("%s: %d csv rows of %s for %d cycles" %
                         (m, len(now_times), NOW, cycles))
                for type_, ti in CACHED:
                    rows = fleetlib.series(workdir, "e2e", m, type_, ti)
                    times = [t for t, _ in rows]
                    want_times = now_times[:-1] if repeat_cached else \
                        now_times[:1]
                    missing = [t for t in want_times if t not in times]
                    if missing:
                        fail("%s %s-%s: no value in the cycles at %s "
                             "(fetched once, RepeatCached %s)"
                             % (m, type_, ti, missing, repeat_cached))
                    if not repeat_cached and len(times) != 1:
                        fail("%s %s-%s: %d rows at %s for one fetch, want "
                             "one" % (m, type_, ti, len(times), times))
                    if len({tuple(v) for _, v in rows}) != 1:
                        fail("%s %s-%s: cached value changed: %s" %
                             (m, type_, ti, rows))
            errors = fleetlib.plugin_complaints(daemon.log())
            if errors:
                fail("the plugin complained:\n" + "\n".join(errors[:10]))
            print("ok: RepeatCached %s: %d cycles, %d requests (50 + 5 per "
                  "later cycle), 1 token" % (repeat_cached, cycles,
                                             stats["requests"]))
        finally:
            if daemon:
                daemon.stop()
            sim.stop()


def main():
    run(repeat_cached=False)
    run(repeat_cached=True)


if __name__ == "__main__":
    main()
