#!/usr/bin/python3
"""Alerting: the real collectd runs contrib/alerting/threshold.conf (its
budget and data-age limits lowered below what the simulator serves) and
contrib/alerting/notify-exec.conf (exec's NotificationExec running
contrib/alerting/digiwatt-notify.sh, which appends a line per
notification to a file) against the simulator, with three meters in two
accounts:

- "home": costs this month above the budget -> threshold FAILURE;
- "stale" (an ID the simulator does not know): its data age grows past
  the limit -> threshold FAILURE, and the plugin's own meter FAILURE
  (FailureThreshold 1);
- account "bad", wrong client secret -> the plugin's authentication
  FAILURE, exactly once (no storm), never quoting the secret.

"home" fetches its costs every cycle, so its data age stays below the
limit: no data-age notification for it; and none of account main's values
may go "missing" for collectd because one of its meters fails (collectd
suspends a read callback that reports a failure, which would silence the
healthy meters of the account and raise false alerts)."""

import os
import pwd
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wlib  # noqa: E402

lib = wlib.lib
ALERTING = os.path.join(lib.TOP_SRCDIR, "contrib", "alerting")
WRONG_SECRET = "wr0ng-s3cret-never-logged"
HOME, STALE = ("125fd56", "home"), ("unknown-7", "stale")
LINE = re.compile(r'^(\S+) (\S+) (\S+?)(?: value=(\S+))? message="(.*)"$')


def set_limits(text, type_, warning, failure):
    """WarningMax/FailureMax of the <Type "type_"> block of threshold.conf."""
    out, inside, seen = [], False, 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == '<Type "%s">' % type_:
            inside = True
        elif stripped == "</Type>":
            inside = False
        elif inside and stripped.split()[:1] in (["WarningMax"],
                                                 ["FailureMax"]):
            key = stripped.split()[0]
            line = "      %s %s" % (key, warning if key == "WarningMax"
                                    else failure)
            seen += 1
        out.append(line)
    if seen != 2:
        lib.fail("threshold.conf: no WarningMax and FailureMax in <Type %r>"
                 % type_)
    return "\n".join(out) + "\n"


def exec_user():
    """exec refuses to run a program as root."""
    if os.getuid() == 0:
        return "nobody:nogroup"
    return pwd.getpwuid(os.getuid()).pw_name


def notify_config(workdir):
    """notify-exec.conf with the script and log file of this test."""
    notify = os.path.join(workdir, "notify")
    os.makedirs(notify)
    script = os.path.join(notify, "digiwatt-notify.sh")
    shutil.copy(os.path.join(ALERTING, "digiwatt-notify.sh"), script)
    os.chmod(script, 0o755)
    os.chmod(workdir, 0o755)  # mkdtemp's 0700 would stop the exec user
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(notify, nobody.pw_uid, nobody.pw_gid)
    alerts = os.path.join(notify, "alerts.log")
    with open(os.path.join(ALERTING, "notify-exec.conf")) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(\s*)NotificationExec .*$",
                      lambda m: '%sNotificationExec "%s" "%s" "%s"' % (
                          m.group(1), exec_user(), script, alerts), text)
    if n != 1:
        lib.fail("notify-exec.conf: want one NotificationExec line")
    return text, alerts


def read_alerts(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                lib.fail("digiwatt-notify.sh wrote %r" % line)
            out.append(m.groups())
    return out


def find(alerts, ident, severity=None):
    return [a for a in alerts if a[2] == ident and
            (severity is None or a[1] == severity)]


def crossed(alerts, ident):
    """The threshold plugin's notifications of a value against its limits
    (they carry the value; "has not been updated" ones do not)."""
    return [a for a in find(alerts, ident) if a[3] is not None]


def check(alerts, cost, log):
    everything = "\nall: %s\nlog: %s" % ("\n".join(map(str, alerts)),
                                          log[-3000:])
    budget = crossed(alerts,
                     "e2e/digiwatt-home/digiwatt_cost-costs-this-month")
    if not budget or budget[0][1] != "FAILURE" or \
            not lib.close(float(budget[0][3]), cost):
        lib.fail("want a budget FAILURE with value %s, got %s%s" %
                 (cost, budget, everything))
    age = crossed(alerts, "e2e/digiwatt-stale/digiwatt_data_age_seconds")
    if not [a for a in age if a[1] == "FAILURE" and float(a[3]) > 2]:
        lib.fail("want a data-age FAILURE of meter stale above 2 s, got %s%s"
                 % (age, everything))
    fresh = [a for a in crossed(alerts,
                                "e2e/digiwatt-home/digiwatt_data_age_seconds")
             if a[1] != "OKAY"]
    if fresh:
        lib.fail("meter home has fresh data but alerted: %s%s" %
                 (fresh, everything))
    # The plugin dispatches every meter's values on every cycle, failing
    # meters included: collectd must never find one "not updated" (it does
    # when the account's read callback reports a failure for one meter
    # and collectd suspends the whole account's reads).
    missing = [a for a in alerts if "has not been updated" in a[4] and
               "/digiwatt-account-bad/" not in a[2] and
               "/digiwatt-flat/" not in a[2]]
    suspended = [line for line in log.splitlines()
                 if "read-function of plugin `digiwatt/main' failed" in line]
    if missing or suspended:
        lib.fail("values of account main went missing (false alerts for "
                 "healthy meters): %s\ncollectd suspended the account's "
                 "reads: %s%s" % (missing, suspended[:3], everything))
    own = find(alerts, "e2e/digiwatt-stale/digiwatt_data_age_seconds-costs")
    if len(own) != 1 or own[0][1] != "FAILURE" or "unknown-7" not in own[0][4]:
        lib.fail("want one plugin FAILURE for meter unknown-7 (resource "
                 "costs), got %s%s" % (own, everything))
    auth = find(alerts, "e2e/digiwatt-account-bad/digiwatt_requests-token")
    if len(auth) != 1 or auth[0][1] != "FAILURE" or \
            "cannot authenticate" not in auth[0][4]:
        lib.fail("want exactly one authentication FAILURE of account bad "
                 "(host e2e), got %s%s" % (auth, everything))
    if [a for a in alerts if "account-main" in a[2]]:
        lib.fail("account main authenticated but alerted%s" % everything)


def main():
    wlib.stop_on_sigterm()
    for plugin in ("threshold", "exec"):
        if not os.path.exists(os.path.join(lib.SYSTEM_PLUGINS,
                                           plugin + ".so")):
            wlib.missing("collectd's %s plugin is missing" % plugin)
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir)
        try:
            cost = sim.get(HOME[0], "costs", "this-month")["value"]
            with open(os.path.join(ALERTING, "threshold.conf")) as f:
                threshold = f.read()
            # a budget the simulator's meter is already over
            threshold = set_limits(threshold, "digiwatt_cost",
                                   round(cost / 2, 2), round(cost * 0.9, 2))
            threshold = set_limits(threshold, "digiwatt_data_age_seconds",
                                   1, 2)
            notify, alerts_path = notify_config(workdir)
            block = wlib.digiwatt_block(sim, [
                ("main", ['Resources "costs"', 'Periods "this-month"',
                          'RefreshInterval "costs" 0', "FailureThreshold 1"],
                 [HOME, STALE]),
                ("bad", ['ClientSecret "%s"' % WRONG_SECRET],
                 [("9f00a1b", "flat")])])
            # collectd_config copies and loads both plugins itself
            extra = re.sub(r"(?m)^LoadPlugin (threshold|exec)$", "",
                           threshold + notify)
            conf = lib.collectd_config(workdir, block,
                                       writers=("threshold", "exec"),
                                       extra=extra)
            status, output = lib.run_collectd(conf, seconds=8.5)
            log = wlib.collectd_log(workdir)
            alerts = read_alerts(alerts_path)
            if any(WRONG_SECRET in x for x in (log, output, repr(alerts))):
                lib.fail("the client secret reached a notification or log")
            check(alerts, cost, log)
            print("ok: budget, data age, failing meter and authentication "
                  "FAILURE notifications arrived through exec (%d in all)" %
                  len(alerts))
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
