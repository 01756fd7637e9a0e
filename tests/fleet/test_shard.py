#!/usr/bin/python3
"""Sharding a fleet across three collectd daemons on loopback.

One simulator; three collectd ("shard0".."shard2") whose digiwatt blocks
differ only in `Shard i 3`, all reading one SmartmeterFile of 30 meters
and sending every value through the network plugin to a fourth collectd
that has no digiwatt plugin and writes csv. Every meter must be fetched
exactly once in all (the simulator counts each path), by the daemon the
documented hash names (FNV-1a 64 of the ID modulo 3), and its values must
reach the receiving collectd under that daemon's host name."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import fail, lib  # noqa: E402

COUNT = 3
METERS = ["m%02d" % i for i in range(30)]
PATH = "/smartmeters/%s/consumption/yesterday"
SERIES = ("digiwatt_energy_kwh", "consumption-yesterday")


def main():
    expected = {i: {m for m in METERS if fleetlib.shard_of(m, COUNT) == i}
                for i in range(COUNT)}
    if not all(expected.values()):  # the test would prove less
        fail("pick other meter IDs: a shard is empty: %s" % expected)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, "--quiet")
        daemons = []
        try:
            fleet = os.path.join(workdir, "fleet.txt")
            fleetlib.write_fleet_file(
                fleet, ["# 30 meters, one per line"] + METERS)
            port = fleetlib.free_udp_port()
            rdir = os.path.join(workdir, "receiver")
            os.makedirs(rdir)
            receiver = fleetlib.Collectd(fleetlib.receiver_config(rdir, port))
            daemons.append(receiver)
            sdirs = []
            for i in range(COUNT):
                d = os.path.join(workdir, "shard%d" % i)
                os.makedirs(d)
                block = fleetlib.account_block(sim, options=[
                    'SmartmeterFile "%s"' % fleet, 'Shard %d %d' % (i, COUNT),
                    'Resources "consumption"', 'Periods "yesterday"'])
                conf = fleetlib.digiwatt_config(
                    d, block, hostname="shard%d" % i,
                    extra=fleetlib.network_sender(d, port))
                daemons.append(fleetlib.Collectd(conf))
                sdirs.append(d)

            def received(host, m):
                return len(fleetlib.series(rdir, host, m, *SERIES)) >= 1

            fleetlib.wait_for(
                "every one of the 30 meters at the receiver",
                lambda: all(received("shard%d" % i, m)
                            for i in range(COUNT) for m in expected[i]),
                timeout_s=20, procs=daemons)
            for d in daemons[1:]:  # senders first: they flush on shutdown
                d.stop()
            receiver.stop()
            stats = sim.stats()

            # every consumption URL fetched exactly once across the fleet
            # (RefreshInterval 900 s: once per daemon run, though several
            # cycles ran)
            for m in METERS:
                n = stats["by_path"].get(PATH % m, 0)
                if n != 1:
                    fail("%s fetched %d times by the fleet, want 1" % (m, n))
            if stats["requests"] != len(METERS):
                fail("%d data requests, want %d: %s" %
                     (stats["requests"], len(METERS), stats["by_path"]))
            if stats["token_requests"] != COUNT:
                fail("%d token requests, want one per daemon" %
                     stats["token_requests"])

            # each daemon fetched its own shard, nothing else
            seen = set()
            for i, d in enumerate(sdirs):
                got = fleetlib.meter_dirs(d, "shard%d" % i)
                if got != expected[i]:
                    fail("shard%d wrote %s, want %s (jump hash of FNV-1a 64, %d shards)" %
                         (i, sorted(got), sorted(expected[i]), COUNT))
                if got & seen:
                    fail("meters in two shards: %s" % sorted(got & seen))
                seen |= got
            if seen != set(METERS):
                fail("the shards miss %s" % sorted(set(METERS) - seen))

            # the receiver holds every meter's value, from its shard only
            for i in range(COUNT):
                host = "shard%d" % i
                got = fleetlib.meter_dirs(rdir, host)
                if got != expected[i]:
                    fail("the receiver has %s from %s, want %s" %
                         (sorted(got), host, sorted(expected[i])))
                for m in expected[i]:
                    want = sim.get(m, "consumption", "yesterday")["value"]
                    rows = fleetlib.series(rdir, host, m, *SERIES)
                    bad = [r for r in rows if not lib.close(r[1][0], want)]
                    if not rows or bad:
                        fail("receiver %s/%s: rows %s, want %s" %
                             (host, m, rows[-3:] or bad[:3], want))
            errors = [l for l in receiver.log().splitlines()
                      if "[error]" in l]
            if errors:
                fail("the receiver:\n" + "\n".join(errors[:10]))
            for d in daemons:
                errors = fleetlib.plugin_complaints(d.log())
                if errors:
                    fail("%s:\n%s" % (d.config, "\n".join(errors[:10])))
            print("ok: 30 meters split %s over 3 collectd, each fetched once, "
                  "all received" % [len(expected[i]) for i in range(COUNT)])
        finally:
            for d in reversed(daemons):
                d.stop()
            sim.stop()


if __name__ == "__main__":
    main()
