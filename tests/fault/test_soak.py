#!/usr/bin/python3
"""Soak: collectd with the plugin at a one-second interval, 20 meters,
every resource fetched every cycle, while the simulator's faults rotate
every five seconds (statuses, Retry-After, timeouts, resets, truncated,
broken, oversized and deep bodies, hostile names, revoked tokens, a failing
token endpoint). collectd's resident memory (VmRSS) and open file
descriptors are sampled every second; after a warm-up they must stay flat
(no leak per request, per failure or per connection), and collectd must
stay alive and stop cleanly. The figures are printed.

    SOAK_SECONDS=180 python3 tests/fault/test_soak.py   (default 180)

Not part of `make check` (it takes minutes): `make soak` (in CI_EXTRA)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from faultlib import Failed, check  # noqa: E402

lib = fl.lib
METERS = ["m%02d" % i for i in range(20)]
WARMUP_S = 30
ROTATE_S = 5
# RSS: the median of the last third after the warm-up may exceed that of
# the first third by less than RSS_GROWTH_KIB (a leak raises the floor);
# peaks are transient (a body being refused is buffered up to MaxBodySize
# per transfer in flight, then freed) and bounded by RSS_PEAK_KIB.
RSS_GROWTH_KIB = 2048
RSS_PEAK_KIB = 16384
FD_SPREAD = 8          # max - min over the last two thirds (+-4)
MAX_CONCURRENCY = 4    # keeps the connection pool, hence the fds, small

# Per meter rule kinds, rotated: meter i at step j gets KINDS[(i + j) % n]
# (None: healthy), so every kind hits some meter at every step.
KINDS = [None, "status:500", "delay:1500", "reset", "truncate",
         "invalid-json", "oversized:2097152", "deep:20000", "html", "nulls",
         "wrong-types", None, "extra-fields", "status:503", "status:401",
         "empty", "status:404", None, "revoke@1", "status:400"]
# Rules added at some steps (of 16): these pause the whole account or
# break its token, so they come once in a while.
EXTRA = {3: ["token=status:503@2"], 5: ["m05=429:2@1"],
         7: ["token=bad-token:not-json@1"], 9: ["m09=503date:2@1"],
         11: ["consumption-distribution=odd-appliances"],
         13: ["token=bad-token:huge-token@1"], 15: ["*=delay:300"]}


def rules_for(step):
    rules = []
    for i, meter in enumerate(METERS):
        kind = KINDS[(i + step) % len(KINDS)]
        if kind == "revoke@1":
            rules.append("%s/costs=%s" % (meter, kind))
        elif kind:
            rules.append("%s=%s" % (meter, kind))
    return rules + EXTRA.get(step % 16, [])


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failed("no VmRSS for pid %d" % pid)


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def spread(values):
    return max(values) - min(values)


def main():
    seconds = int(os.environ.get("SOAK_SECONDS") or 180)
    for path in (lib.SIM, lib.PLUGIN_SO, lib.COLLECTD):
        if not os.path.exists(path):
            print("SKIP: %s is missing" % path)
            return 77
    if seconds < WARMUP_S + 30:
        print("FAIL: SOAK_SECONDS must be at least %d" % (WARMUP_S + 30))
        return 1
    with fl.Workdir("digiwatt-soak-") as workdir:
        sim = fl.start_sim(workdir, "--quiet")
        collectd = None
        samples = []  # (seconds since start, rss KiB, fds)
        try:
            options = ["Timeout 1", "MaxBodySize 1048576",
                       "MaxConcurrency %d" % MAX_CONCURRENCY,
                       "BackoffMax 5", "FailureThreshold 2",
                       'Periods "%s"' % fl.PERIOD]
            options += ['RefreshInterval "%s" 0' % r for r in lib.RESOURCES]
            block = fl.digiwatt_block(sim.base, METERS, options)
            conf, _ = fl.collectd_config(workdir, block, interval=1,
                                         notify=False)
            collectd = fl.Collectd(conf, workdir)
            start = time.monotonic()
            step = -1
            while time.monotonic() - start < seconds:
                elapsed = time.monotonic() - start
                check(collectd.alive(), "collectd died after %.0f s:\n%s" %
                      (elapsed, fl.log_tail(collectd.log())))
                if int(elapsed // ROTATE_S) != step:
                    step = int(elapsed // ROTATE_S)
                    fl.set_faults(sim, rules_for(step))
                samples.append((elapsed, proc_rss_kib(collectd.pid),
                                proc_fds(collectd.pid)))
                time.sleep(1 - (time.monotonic() - start) % 1)
            fl.set_faults(sim, [])
            stats = sim.stats()
        finally:
            status = collectd.stop() if collectd else None
            sim.stop()
        log = collectd.log()
        fl.check_no_secret({"collectd.log": log,
                            "collectd's output": collectd.output()})
        check(status == 0, "collectd exited with status %s" % status)

        after = [s for s in samples if s[0] >= WARMUP_S]
        check(len(after) >= 30, "too few samples: %d" % len(after))
        third = len(after) // 3
        rss_first = median([s[1] for s in after[:third]])
        rss_last = median([s[1] for s in after[-third:]])
        tail = after[third:]
        rss = [s[1] for s in tail]
        fds = [s[2] for s in tail]
        cycles = len(fl.csv_rows(workdir, fl.SELF, "digiwatt_cycle_seconds"))
        print("soak: %d s, %d meters, %d fault steps, %d cycles, %d data "
              "requests, %d token requests, %d faults applied" %
              (seconds, len(METERS), step + 1, cycles, stats["requests"],
               stats["token_requests"], stats["faults_applied"]))
        print("soak: RSS KiB median of the first third after the warm-up %d, "
              "of the last third %d (growth %d, bound %d); last two thirds "
              "min %d max %d (peak bound %d)" %
              (rss_first, rss_last, rss_last - rss_first, RSS_GROWTH_KIB,
               min(rss), max(rss), min(rss) + RSS_PEAK_KIB))
        print("soak: fds last two thirds min %d max %d (spread %d, bound %d)"
              % (min(fds), max(fds), spread(fds), FD_SPREAD))
        print("soak: every 10 s (s: RSS KiB/fds): " + " ".join(
            "%d:%d/%d" % s for s in samples[::10]))
        check(cycles >= seconds / 2,
              "only %d cycles in %d s: the read callback stalls" %
              (cycles, seconds))
        check(rss_last - rss_first < RSS_GROWTH_KIB,
              "RSS grew by %d KiB after the warm-up" % (rss_last - rss_first))
        check(max(rss) - min(rss) < RSS_PEAK_KIB,
              "RSS peaked %d KiB above its floor" % (max(rss) - min(rss)))
        check(spread(fds) <= FD_SPREAD,
              "open fds moved by %d after the warm-up: %s" %
              (spread(fds), [s[2] for s in tail[::max(1, len(tail) // 10)]]))
    print("ok - soak")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as e:
        print("FAIL: %s" % e)
        sys.exit(1)
