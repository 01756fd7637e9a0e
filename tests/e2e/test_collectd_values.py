#!/usr/bin/python3
"""The real collectd loads the built plugin with two accounts of one meter
each against the simulator, for fourteen one-second cycles. Every numeric
field of every resource and period, as the simulator serves it, must
arrive under the documented identifier in csv (once: each value goes out
once per fetch, and with the default RefreshIntervals one fetch happens;
history months at their own timestamps) and in rrdtool; collectd must log no
"value too old", no error of ours, and never the client secret."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

SECRET = "s3cr3t-never-logged"
METERS = [  # account, smartmeter ID, Instance option or None
    ("main", "125fd56", "home"),
    ("second", "ab.cd~7", None),
]


def digiwatt_block(sim):
    out = ["<Plugin digiwatt>"]
    for account, meter, instance in METERS:
        out += ['  <Account "%s">' % account,
                '    BaseURL "%s"' % sim.base,
                '    ClientID "%s"' % sim.client_id,
                '    ClientSecret "%s"' % sim.client_secret,
                '    Timeout 5',
                '    <Smartmeter "%s">' % meter]
        if instance:
            out.append('      Instance "%s"' % instance)
        out += ['    </Smartmeter>', '  </Account>']
    out.append("</Plugin>")
    return "\n".join(out)


def check_meter(workdir, sim, meter, instance):
    checked = 0
    for resource in lib.RESOURCES:
        for period in (lib.PERIODS if resource in lib.WITH_PERIOD else [None]):
            body = sim.get(meter, resource, period)
            expected = lib.expected_values(resource, period, body)
            if not expected:
                lib.fail("%s/%s: the simulator served no value" %
                         (resource, period))
            for (type_, ti), wanted in expected.items():
                rows = lib.csv_rows(workdir, "e2e", instance, type_, ti)
                where = "%s %s %s-%s" % (meter, instance, type_, ti)
                for epoch, values in wanted:
                    if epoch is None:
                        now_rows = [r for r in rows if r[0] > 1e9 and
                                    all(lib.close(a, b) for a, b in
                                        zip(r[1], values))]
                        if len(now_rows) != 1 or len(rows) != 1:
                            lib.fail("%s: %d csv rows (%d with %s), want "
                                     "one (one fetch); rows: %s" %
                                     (where, len(rows), len(now_rows), values,
                                      rows[-3:]))
                        last = lib.rrd_last(workdir, "e2e", instance, type_,
                                            ti)
                        if last is None:
                            lib.fail("%s: no RRD file" % where)
                        got = list(last.values())
                        if not all(lib.close(a, b) for a, b in
                                   zip(got, values)):
                            lib.fail("%s: RRD has %s, want %s" %
                                     (where, got, values))
                    else:
                        stamped = [r for r in rows if r[0] == epoch]
                        if len(stamped) != 1 or not lib.close(
                                stamped[0][1][0], values[0]):
                            lib.fail("%s: want exactly one csv row at %d "
                                     "with %s, got %s" %
                                     (where, epoch, values, stamped))
                    checked += 1
    return checked


def main():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, client_secret=SECRET)
        try:
            # collectd's default five write threads: history months must
            # survive them (one month per series and cycle, see README).
            conf = lib.collectd_config(workdir, digiwatt_block(sim))
            # twelve one-second cycles backfill the twelve history months
            status, output = lib.run_collectd(conf, seconds=14.5)
            log = open(os.path.join(workdir, "collectd.log")).read()
            if SECRET in log or SECRET in output:
                lib.fail("the client secret reached collectd's log")
            for bad in ("value too old", "Value too old"):
                if bad in log:
                    lib.fail("collectd logged %r:\n%s" % (bad, log[-2000:]))
            errors = [l for l in log.splitlines()
                      if ("[error]" in l or "[warning]" in l) and
                      ("digiwatt plugin" in l or "csv plugin" in l or
                       "rrdtool plugin" in l)]
            if errors:
                lib.fail("the plugin complained:\n" + "\n".join(errors[:10]))
            stats = sim.stats()  # before the test's own requests
            if stats["token_requests"] != 2:
                lib.fail("want one token request per account, got %s" %
                         stats["token_requests"])
            total = 0
            for account, meter, instance in METERS:
                total += check_meter(workdir, sim, meter,
                                     instance or lib.safe_name(meter))
            print("ok: %d values of 2 meters in 2 accounts arrived in csv and "
                  "rrd; %d requests" % (total, stats["requests"]))
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
