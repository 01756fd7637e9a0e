#!/usr/bin/python3
"""conf.d/digiwatt.conf, the commented example, works as shipped against
the simulator (only its BaseURL port is changed to the test's): the
daemon dispatches values for both of its meters. (Not `collectd -T`: it
exits without draining the write queue, so writers lose values.)"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

EXAMPLE = os.path.join(lib.TOP_SRCDIR, "conf.d", "digiwatt.conf")


def main():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)  # demo-client / demo-secret, as shipped
        try:
            example = open(EXAMPLE).read()
            example, n = re.subn(r'http://127\.0\.0\.1:8080', sim.base, example)
            if n != 1:
                lib.fail("the example should have one BaseURL on port 8080")
            conf = lib.collectd_config(workdir, example, writers=("csv",))
            status, output = lib.run_collectd(conf, seconds=2.5)
            log = open(os.path.join(workdir, "collectd.log")).read()
            if "[error]" in log:
                lib.fail("collectd logged errors:\n" + log[-2000:])
            for instance, ti in (("home", "consumption-last-week"),
                                 ("flat", "consumption-this-month")):
                rows = lib.csv_rows(workdir, "e2e", instance,
                                    "digiwatt_energy_kwh", ti)
                if not rows:
                    lib.fail("no %s value for %s" % (ti, instance))
            flat = os.listdir(os.path.join(workdir, "csv", "e2e",
                                           "digiwatt-flat"))
            if any("disaggregation" in f for f in flat):
                lib.fail("flat fetched a resource its Resources excludes")
            print("ok: the shipped example configuration works")
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
