#!/usr/bin/python3
"""The fault matrix: the real collectd with the plugin against a simulator
that misbehaves on purpose, one fault per run.

Each run has its own simulator and collectd (runs go in parallel, so one
fault can never leak into another) and an account with two meters,
"healthy" and "victim", that fetch all ten resources (period "yesterday")
every one-second cycle. The fault targets the victim through the
simulator's per-meter rules, or the token endpoint (then both meters are
affected). Per fault the run checks: collectd keeps running and cycling;
the healthy meter's values arrive (every one, with the simulator's
figures); the victim's broken resource dispatches nothing, or what exists
when the fault is harmless; the log says what went wrong; no secret or
token reaches the log or a notification; the expected FAILURE notification
fires exactly once (through the exec plugin, the way operators receive
them); and after the fault is cleared the values come back with one OKAY.

    python3 tests/fault/test_fault_matrix.py             # every fault
    DIGIWATT_FAULTS=status-503,truncate python3 ...       # some
    DIGIWATT_FAULTS=@memcheck python3 ...                 # one per path
    python3 tests/fault/test_fault_matrix.py --markdown   # the doc's table

Environment: DIGIWATT_COLLECTD_WRAPPER (e.g. valgrind ...) prefixes the
collectd command and stretches every wait; DIGIWATT_FAULT_JOBS runs that
many faults at once (default 6, 2 under a wrapper); KEEP_WORKDIR keeps the
run directories."""

import concurrent.futures
import os
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from faultlib import Failed, check  # noqa: E402

lib = fl.lib
ALL = tuple(lib.RESOURCES)
RETRY_AFTER_S = 10 if fl.WRAPPER else 6
DELAY_MS = 4000 * fl.REQUEST_TIMEOUT
# extra-response: the stray comes this long after the answer, while the
# connection waits in the pool between cycles (a cycle's burst is over in
# a few ms; one that comes with the answer, libcurl itself refuses)
STRAY_MS = 300
BACKOFF_MAX_S = 4            # meter faults: recovery comes quickly
TOKEN_BACKOFF_MAX_S = 8      # token faults: long enough to tell a storm
TOKEN_OBSERVE_S = 12         # from a backoff
FAILURE_THRESHOLD = 2


class Fault:
    """One row of the matrix.

    kind: "meter" (rules on the victim), "token" (rules on the token
    endpoint), "revoke" (installed mid-run). outcome: "fail" (the broken
    resources dispatch nothing and the victim's FAILURE fires), "empty"
    (they dispatch nothing, but the response was valid: no FAILURE),
    "intact" (every value arrives all the same), "ok" (token faults the
    plugin copes with). broken: the victim's resources the rule hits."""

    def __init__(self, name, rules, behaviour, kind="meter", outcome="fail",
                 broken=ALL, log=None, nolog=None, errors=None,
                 retry_after=None, auth_notify=True, oracle_fault=None,
                 marker=None):
        self.name = name
        self.rules = rules
        self.behaviour = behaviour
        self.kind = kind
        self.outcome = outcome
        self.broken = tuple(broken)
        self.log = log
        self.nolog = nolog
        self.errors = errors
        self.retry_after = retry_after
        self.auth_notify = auth_notify
        self.oracle_fault = oracle_fault
        # a 429 or 503 pauses the whole account, the healthy meter too
        self.pauses = any(re.search(r"=(status:)?(429|503)", r) for r in rules)
        self.marker = marker  # a value the fault serves that must never land

    def rule_list(self, n=None, delay_ms=None):
        return [r.format(N=n or RETRY_AFTER_S, DELAY=delay_ms or DELAY_MS,
                         STRAY=STRAY_MS)
                for r in self.rules]


def status_fault(code, errors, backoff="per-slot backoff"):
    return Fault("status-%d" % code, ["victim=status:%d" % code],
                 "HTTP %d on every resource of the victim: nothing of it is "
                 "dispatched, %s, FAILURE after 2 cycles, OKAY on recovery" %
                 (code, backoff),
                 log=r"victim.*HTTP status %d" % code, errors=errors)


def retry_after_fault(status, form):
    rule = "victim=%d%s:{N}" % (status, "date" if form == "date" else "")
    return Fault("retry-after-%d%s" % (status, "-date" if form == "date"
                                       else ""), [rule],
                 "%d with Retry-After as %s: the whole account pauses for "
                 "that long (no request reaches the server), the healthy "
                 "meter's values arrive whenever the account is not paused, "
                 "FAILURE, OKAY on recovery" %
                 (status, "an HTTP date" if form == "date" else "seconds"),
                 log=r"victim.*HTTP status %d" % status,
                 errors="rate-limit" if status == 429 else "server",
                 retry_after=RETRY_AFTER_S - (1 if form == "date" else 0))


def one_resource(name, resource, kind, behaviour, log, outcome="fail",
                 errors=None):
    return Fault(name, ["victim/%s=%s" % (resource, kind)], behaviour,
                 outcome=outcome, broken=[resource], log=log, errors=errors)


def bad_token(variant, behaviour, log, outcome="fail"):
    return Fault("bad-token-" + variant, ["token=bad-token:" + variant],
                 behaviour, kind="token", outcome=outcome, log=log,
                 nolog=r"ClientID|client secret")


DECODE = r"victim.*%s.*cannot decode"
CREDENTIALS = r"ClientID|client secret|credentials"

FAULTS = [
    status_fault(400, "client"),
    status_fault(401, "auth", "per-slot backoff, at most one token renewal "
                 "per cycle"),
    status_fault(403, "auth"),
    # permanent: BackoffMax at once, and one line per cycle for the meter
    status_fault(404, "client", "every slot waits BackoffMax (a 404 is "
                 "permanent), one log line per cycle names the meter"),
    status_fault(429, "rate-limit", "backoff of the whole account"),
    status_fault(500, "server"),
    status_fault(502, "server"),
    status_fault(503, "server", "backoff of the whole account"),
    retry_after_fault(429, "seconds"),
    retry_after_fault(503, "seconds"),
    retry_after_fault(429, "date"),
    retry_after_fault(503, "date"),
    one_resource("timeout", "costs", "delay:{DELAY}",
                 "costs answers after the Timeout: that request ends at "
                 "Timeout, the rest of the cycle is dispatched, FAILURE",
                 r"(?i)victim.*costs.*timeout", errors="timeout"),
    one_resource("reset", "consumption-history", "reset",
                 "connection closed mid-body: the half body dispatches "
                 "nothing, FAILURE", r"victim.*consumption-history.*"
                 r"(request failed|cannot decode)"),
    one_resource("truncate", "costs-history", "truncate",
                 "a well-formed response with half a JSON document: "
                 "nothing dispatched, FAILURE", DECODE % "costs-history",
                 errors="decode"),
    one_resource("invalid-json", "consumption", "invalid-json",
                 "a trailing comma: nothing of the resource dispatched "
                 "(no partial values), FAILURE", DECODE % "consumption",
                 errors="decode"),
    one_resource("wrong-types", "performance", "wrong-types",
                 "numbers as strings, as some APIs send them: taken as those "
                 "numbers, every value arrives, no FAILURE", None,
                 outcome="intact"),
    one_resource("nulls", "consumption", "nulls",
                 "every number null: nothing to dispatch for it, the "
                 "response is valid, no FAILURE, the other resources arrive",
                 None, outcome="empty"),
    one_resource("empty-array", "consumption-distribution", "empty",
                 "[]: no appliance, nothing dispatched, no FAILURE", None,
                 outcome="empty"),
    one_resource("empty-object", "costs", "empty",
                 "{}: the required value is missing, nothing dispatched, "
                 "FAILURE", DECODE % "costs", errors="decode"),
    Fault("extra-fields", ["victim=extra-fields"],
          "unknown members (nested objects, arrays) in every object of "
          "every resource: ignored, every value arrives, no FAILURE",
          outcome="intact", oracle_fault=None),
    Fault("extra-response", ["victim=extra-response:{STRAY}"],
          "every answer to the victim is followed, 300 ms later (the "
          "connection waits in the pool), by a second response nobody "
          "asked for on the kept-alive connection: the next request on it "
          "goes out on a fresh connection instead, the marker value the "
          "stray carries lands nowhere, every value of both meters is the "
          "one served, no FAILURE",
          outcome="intact", oracle_fault=None, marker=987654.321),
    one_resource("oversized", "disaggregation", "oversized:1048576",
                 "a 1 MiB body with MaxBodySize 65536: the transfer stops "
                 "at the limit, nothing dispatched, FAILURE",
                 r"(?i)victim.*disaggregation.*(too large|MaxBodySize|"
                 r"limit)"),
    one_resource("deep", "yearly-compound-consumption", "deep:10000",
                 "10000 nested arrays: refused at the depth limit, nothing "
                 "dispatched, FAILURE", DECODE % "yearly-compound-consumption",
                 errors="decode"),
    one_resource("html", "savings", "html",
                 "a 200 text/html maintenance page: nothing dispatched, "
                 "FAILURE", r"(?i)victim.*savings.*(cannot decode|content."
                 r"type|not JSON)", errors="decode"),
    Fault("odd-appliances",
          ["victim/%s=odd-appliances" % r for r in
           ("consumption-distribution", "disaggregation",
            "yearly-consumption-distribution")],
          "hostile appliance names (path separators, dots, control bytes, "
          "UTF-8, 200 bytes, the literal of another name's hashed form, a "
          "name ending in -latest): every value arrives under a safe name "
          "of its own, no file outside the meter's directory, no FAILURE",
          outcome="intact", oracle_fault="odd-appliances",
          broken=("consumption-distribution", "disaggregation",
                  "yearly-consumption-distribution")),
    Fault("token-400", ["token=status:400"],
          "token endpoint 400 invalid_request: one ERROR naming TokenParam "
          "and TokenAuth (the form, not the credentials), FAILURE (cannot "
          "authenticate), token attempts back off, no data request; OKAY "
          "and values on recovery", kind="token",
          log=r"token.*HTTP status 400, OAuth error invalid_request \(check "
              r"TokenParam and TokenAuth\)", nolog=CREDENTIALS),
    Fault("token-401", ["token=status:401"],
          "token endpoint 401 (bad credentials): as token-400", kind="token",
          log=r"token.*HTTP status 401"),
    Fault("token-403", ["token=status:403"],
          "token endpoint 403: as token-400", kind="token",
          log=r"token.*HTTP status 403"),
    Fault("token-429", ["token=status:429"],
          "token endpoint rate-limited: logged as rate-limited, never as "
          "bad credentials; attempts back off", kind="token",
          log=r"(?i)token.*(429|rate.limit)", nolog=CREDENTIALS,
          auth_notify=None),
    Fault("token-429-retry-after", ["token=429:{N}"],
          "token endpoint 429 with Retry-After: no token request until "
          "then; not reported as bad credentials", kind="token",
          log=r"(?i)token.*(429|rate.limit)", nolog=CREDENTIALS,
          retry_after=RETRY_AFTER_S, auth_notify=None),
    Fault("token-503", ["token=status:503"],
          "token endpoint 503: FAILURE (cannot authenticate), not blamed on "
          "the credentials, backoff; OKAY on recovery", kind="token",
          log=r"token.*HTTP status 503", nolog=CREDENTIALS),
    bad_token("missing-expires",
              "no expires_in: the token is used with a default lifetime, "
              "values arrive, no FAILURE", None, outcome="ok"),
    bad_token("zero-expires",
              "expires_in 0: the token is refused before it reaches a "
              "header, FAILURE (cannot authenticate), backoff",
              r"token.*expires_in"),
    bad_token("huge-token",
              "a 64 KiB access_token: refused (size bound), FAILURE, "
              "backoff", r"(?i)token.*(too long|too large|over \d+|limit)"),
    bad_token("bad-type",
              "token_type MAC: refused (only Bearer is understood), FAILURE, "
              "backoff", r"token.*token_type"),
    bad_token("not-json",
              "a form-encoded token response: refused, FAILURE, backoff",
              r"token.*JSON"),
    Fault("outage-30-meters",
          ["victim%02d=status:500" % i for i in range(30)],
          "30 meters fail at once: at most 10 failure lines per cycle, then "
          "one line counting the rest; at most 20 meter notifications per "
          "cycle (then one account summary); every meter still gets its one "
          "FAILURE and, after recovery, its one OKAY; the healthy meter is "
          "untouched", kind="outage"),
    Fault("revoke", ["victim/costs=revoke@1"],
          "every token revoked mid-run (401 on data): renewed once, the "
          "refused requests retried once, no value lost, no FAILURE",
          kind="revoke", outcome="intact"),
]


# --- one run ----------------------------------------------------------------

def backoff_max(fault):
    """The run's BackoffMax, seconds. A Retry-After is honoured up to
    BackoffMax: the faults that send one get room to have it in full."""
    backoff = TOKEN_BACKOFF_MAX_S if fault.kind == "token" else BACKOFF_MAX_S
    backoff *= fl.INTERVAL
    if fault.retry_after:
        backoff = max(backoff, fault.retry_after + fl.INTERVAL)
    return backoff


def digiwatt_block(sim, fault):
    options = ["Timeout %d" % fl.REQUEST_TIMEOUT,
               "MaxBodySize 65536",
               "FailureThreshold %d" % FAILURE_THRESHOLD,
               "BackoffMax %d" % backoff_max(fault),
               "MonthlyHistory false",
               'Periods "%s"' % fl.PERIOD]
    options += ['RefreshInterval "%s" 0' % r for r in lib.RESOURCES]
    meters = ["healthy"] + (OUTAGE_METERS if fault.kind == "outage" else
                            ["victim"])
    return fl.digiwatt_block(sim.base, meters, options)


class Run:
    def __init__(self, fault, oracle, workdir):
        self.fault = fault
        self.oracle = oracle
        self.workdir = workdir
        self.sim = None
        self.collectd = None
        self.sampler = None
        self.ndir = None
        self.started = None

    # -- plumbing --
    def notes(self, severity=None, plugin_instance=None):
        return fl.select(fl.notifications(self.ndir), severity,
                         plugin_instance)

    def rows(self, inst, key):
        return len(fl.csv_rows(self.workdir, inst, *key))

    def alive(self, when):
        check(self.collectd.alive(), "collectd died %s (exit %s):\n%s" %
              (when, self.collectd.proc.poll(),
               fl.log_tail(self.collectd.log())))

    def grows(self, inst, key, what):
        """The series gains at least two rows: cycles go on. Each value is
        written once per fetch, so under a fault that pauses the whole
        account the healthy meter's rows come only between the pauses
        (at most BackoffMax each)."""
        before = self.rows(inst, key)
        timeout = 6 * fl.INTERVAL
        if self.fault.pauses and inst == "healthy":
            timeout = 2 * (backoff_max(self.fault) + 2 * fl.INTERVAL)
        check(fl.wait_until(lambda: self.rows(inst, key) >= before + 2,
                            timeout),
              "%s stopped growing at %d rows (%s)" % (what, before, key))

    def expect_log(self, pattern):
        log = self.collectd.log()
        digi = [l for l in log.splitlines() if "digiwatt plugin: " in l]
        check(any(re.search(pattern, l) for l in digi),
              "no log line matches %r; the plugin logged:\n%s" %
              (pattern, "\n".join(digi[-12:])))

    def forbid_log(self, pattern):
        for line in self.collectd.log().splitlines():
            if "digiwatt plugin: " in line:
                check(not re.search(pattern, line),
                      "log line matches %r: %s" % (pattern, line))

    def exec_sane(self):
        for line in self.collectd.log().splitlines():
            check("exec plugin" not in line or "[info]" in line,
                  "the notification sink is broken (harness): " + line)

    # -- the run --
    def start(self):
        self.sim = fl.start_sim(self.workdir)
        if self.fault.kind != "revoke":
            fl.set_faults(self.sim, self.fault.rule_list())
        conf, self.ndir = fl.collectd_config(
            self.workdir, digiwatt_block(self.sim, self.fault))
        self.sampler = fl.Sampler(self.sim)
        self.started = time.monotonic()
        self.collectd = fl.Collectd(conf, self.workdir)

    def stop(self):
        if self.sampler:
            self.sampler.stop()
        status = None
        if self.collectd:
            status = self.collectd.stop()
        if self.sim:
            self.sim.stop()
        return status

    def run(self):
        healthy = self.oracle.expected("healthy", ALL)
        kind = self.fault.kind
        if kind == "meter":
            self.run_meter(healthy)
        elif kind == "token":
            self.run_token(healthy)
        elif kind == "outage":
            self.run_outage(healthy)
        else:
            self.run_revoke(healthy)
        self.alive("at the end")
        self.exec_sane()

    def finish(self):
        """After collectd stopped: exit status and the leak check."""
        texts = {"collectd.log": self.collectd.log(),
                 "collectd's output": self.collectd.output()}
        for n in fl.notifications(self.ndir):
            texts["notification " + os.path.basename(n["file"])] = n["raw"]
        fl.check_no_secret(texts)
        check(self.collectd.returncode == 0,
              "collectd exited with status %s:\n%s" %
              (self.collectd.returncode,
               fl.log_tail(self.collectd.output())))

    # -- checks shared by the kinds --
    def check_healthy(self, healthy):
        missing = fl.missing_values(self.workdir, "healthy", healthy)
        check(not missing, "healthy values missing: %s" % missing[:5])
        bad = self.notes("FAILURE", "healthy")
        check(not bad, "a FAILURE for the healthy meter: %s" %
              [n["message"] for n in bad])

    def check_integrity(self, marker, healthy, *victim):
        """Nothing landed under a series that did not ask for it."""
        check(self.sampler.samples and
              self.sampler.samples[-1][1]["faults_applied"] > 0,
              "the fault never applied")
        landed = fl.rows_holding(self.workdir, marker)
        check(not landed, "the stray response's value was dispatched: %s" %
              landed[:5])
        expected = {"healthy": healthy, "victim": {}}
        for part in victim:
            expected["victim"].update(part)
        for meter, series in expected.items():
            wrong = fl.wrong_values(self.workdir, meter, series)
            check(not wrong, "%s has values it was not served: %s" %
                  (meter, wrong[:5]))

    def check_errors_class(self):
        cls = self.fault.errors
        if cls is None:
            return
        value = fl.last_value(self.workdir, fl.SELF, "digiwatt_errors", cls)
        check(value is not None and value >= 1,
              "digiwatt_errors-%s is %s, want >= 1" % (cls, value))

    def check_quiet(self, key):
        """After the first faulted answer, no request for retry_after s."""
        n = self.fault.retry_after
        samples = self.sampler.samples
        first = next((t for t, s in samples if s["faults_applied"] > 0), None)
        check(first is not None, "the fault never applied")
        settle = 1.5 * fl.INTERVAL  # the rest of the faulted cycle
        window = fl.quiet_window(samples, first + settle, first + n - 1.2, key)
        check(window is not None, "no samples in the quiet window")
        check(window[0] == window[1],
              "%d %s reached the server within %d s of a Retry-After: %d "
              "(%s from %d to %d)" % (window[1] - window[0], key, n, n, key,
                                      window[0], window[1]))

    def wait_note(self, severity, inst, timeout, after=0):
        return fl.wait_until(
            lambda: len(self.notes(severity, inst)) > after, timeout)

    # -- meter faults --
    def run_meter(self, healthy):
        f = self.fault
        victim_broken = self.oracle.expected("victim", f.broken,
                                             f.oracle_fault)
        victim_other = self.oracle.expected(
            "victim", [r for r in ALL if r not in f.broken])
        self.start()
        if f.outcome == "fail":
            wait = 12 + (2 * f.retry_after if f.retry_after else 0)
            check(self.wait_note("FAILURE", "victim", wait * fl.INTERVAL),
                  "no FAILURE notification for the victim; log:\n%s" %
                  fl.log_tail(self.collectd.log()))
        else:
            # FailureThreshold + 2 cycles: a FAILURE would have fired
            fl.wait_until(lambda: self.rows("healthy", HEALTHY_KEY) >= 5,
                          10 * fl.INTERVAL)
        self.alive("while the fault is active")
        self.check_healthy(healthy)
        self.grows("healthy", HEALTHY_KEY, "the healthy meter's values")
        self.grows(fl.SELF, CYCLE_KEY, "digiwatt_cycle_seconds")

        # the broken resources, while broken
        if f.outcome in ("fail", "empty"):
            leaked = [k for k in victim_broken
                      if fl.csv_rows(self.workdir, "victim", *k)]
            check(not leaked, "the broken resource dispatched values: %s" %
                  leaked[:5])
            if f.broken == ALL:
                check(not fl.data_files(self.workdir, "victim"),
                      "the victim dispatched data: %s" %
                      fl.data_files(self.workdir, "victim")[:5])
                age = fl.csv_rows(self.workdir, "victim",
                                  "digiwatt_data_age_seconds")
                check(len(age) >= 2 and age[-1][1][0] > age[0][1][0],
                      "the victim's data age does not grow: %s" % age[-3:])
        else:
            missing = fl.missing_values(self.workdir, "victim", victim_broken)
            check(not missing, "victim values missing under the fault: %s" %
                  missing[:5])
        missing = fl.missing_values(self.workdir, "victim", victim_other)
        check(not missing, "the victim's other resources are missing: %s" %
              missing[:5])
        if f.oracle_fault == "odd-appliances":
            self.check_file_names()
        if f.marker is not None:
            self.check_integrity(f.marker, healthy, victim_broken,
                                 victim_other)

        if f.outcome == "fail":
            failure = self.notes("FAILURE", "victim")[0]
            check(failure.get("Type") == "digiwatt_data_age_seconds" and
                  failure.get("TypeInstance") in f.broken,
                  "FAILURE notification for the wrong thing: %s" %
                  failure["raw"])
            check("victim" in failure["message"] and
                  failure["TypeInstance"] in failure["message"],
                  "the FAILURE message names neither meter nor resource: "
                  "%r" % failure["message"])
        else:
            check(not self.notes("FAILURE"), "unexpected FAILURE: %s" %
                  [n["message"] for n in self.notes("FAILURE")])
        check(not self.notes("FAILURE", fl.SELF),
              "an authentication FAILURE for a meter fault: %s" %
              [n["message"] for n in self.notes("FAILURE", fl.SELF)])
        if f.log:
            self.expect_log(f.log)
        self.check_errors_class()
        if f.retry_after:
            self.check_quiet("requests")
        if f.name == "status-401":
            self.check_renewals()

        if f.outcome == "fail":
            # cycles have passed since the FAILURE (the growth checks)
            early = self.notes("OKAY", "victim")
            check(not early, "OKAY while the victim was still broken: %s" %
                  [n["message"] for n in early])

        # recovery
        fl.set_faults(self.sim, [])
        wait = 6 + BACKOFF_MAX_S + (f.retry_after or 0)
        check(fl.wait_until(lambda: not fl.missing_values(
            self.workdir, "victim", self.oracle.expected("victim", f.broken)),
            wait * fl.INTERVAL),
            "the victim's values did not come back after the fault: %s" %
            fl.missing_values(self.workdir, "victim",
                              self.oracle.expected("victim", f.broken))[:5])
        if f.outcome == "fail":
            check(self.wait_note("OKAY", "victim", 6 * fl.INTERVAL),
                  "no OKAY notification after recovery")
            check(len(self.notes("FAILURE", "victim")) == 1,
                  "want one FAILURE (state changes only), got %d" %
                  len(self.notes("FAILURE", "victim")))
            check(len(self.notes("OKAY", "victim")) == 1,
                  "want one OKAY, got %d" % len(self.notes("OKAY", "victim")))
        self.grows("healthy", HEALTHY_KEY, "the healthy meter's values")

    def check_renewals(self):
        """401 on data: at most one token renewal per cycle."""
        stats = self.sampler.latest()
        cycles = (time.monotonic() - self.started) / fl.INTERVAL
        check(stats["token_requests"] <= cycles + 2,
              "%d token requests in %.0f cycles: a renewal storm" %
              (stats["token_requests"], cycles))

    def check_file_names(self):
        """Hostile names never leave the meter's directory."""
        root = os.path.join(self.workdir, "csv")
        for d, dirs, files in os.walk(root):
            rel = os.path.relpath(d, root)
            check(rel in (".", fl.HOST) or
                  re.fullmatch(re.escape(fl.HOST) + r"/digiwatt-[A-Za-z0-9_-]+",
                               rel), "unexpected directory %s" % rel)
            for name in files:
                check(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name),
                      "unsafe csv file name %r" % name)

    # -- token faults --
    def run_token(self, healthy):
        f = self.fault
        self.start()
        if f.outcome == "ok":
            check(fl.wait_until(lambda: not fl.missing_values(
                self.workdir, "healthy", healthy), 10 * fl.INTERVAL),
                "values did not arrive with that token response")
            self.check_healthy(healthy)
            victim = self.oracle.expected("victim", ALL)
            missing = fl.missing_values(self.workdir, "victim", victim)
            check(not missing, "victim values missing: %s" % missing[:5])
            check(not self.notes("FAILURE"), "unexpected FAILURE: %s" %
                  [n["message"] for n in self.notes("FAILURE")])
            stats = self.sampler.latest()
            check(stats["token_requests"] <= 2,
                  "%d token requests for a usable token" %
                  stats["token_requests"])
            return
        observe = TOKEN_OBSERVE_S * fl.INTERVAL
        if f.auth_notify:
            check(self.wait_note("FAILURE", fl.SELF, observe),
                  "no authentication FAILURE; log:\n%s" %
                  fl.log_tail(self.collectd.log()))
        # observe long enough to tell a backoff from one try per cycle
        remaining = self.started + observe - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        self.alive("while the token endpoint fails")
        self.grows(fl.SELF, CYCLE_KEY, "digiwatt_cycle_seconds")
        stats = self.sampler.latest()
        elapsed = (time.monotonic() - self.started) / fl.INTERVAL
        check(stats["requests"] == 0,
              "%d data requests without a token" % stats["requests"])
        # one attempt per cycle would be a storm; a backoff doubles
        check(stats["token_requests"] <= elapsed / 2 + 1,
              "%d token requests in %.0f cycles: no backoff" %
              (stats["token_requests"], elapsed))
        for meter in ("healthy", "victim"):
            check(not fl.data_files(self.workdir, meter),
                  "%s dispatched data without a token" % meter)
        failures = self.notes("FAILURE", fl.SELF)
        for n in failures:
            check(n.get("Type") == "digiwatt_requests" and
                  n.get("TypeInstance") == "token" and
                  "cannot authenticate" in n["message"],
                  "odd authentication FAILURE: %s" % n["raw"])
            if f.nolog:
                check(not re.search(f.nolog, n["message"]),
                      "the notification blames the credentials: %r" %
                      n["message"])
        check(len(failures) <= 1, "want one authentication FAILURE, got %d" %
              len(failures))
        if f.log:
            self.expect_log(f.log)
        if f.nolog:
            self.forbid_log(f.nolog)
        else:
            self.expect_log(CREDENTIALS)
        errors_line = [l for l in self.collectd.log().splitlines()
                       if "digiwatt plugin: " in l and "[error]" in l and
                       "token" in l]
        if f.auth_notify:
            check(len(errors_line) >= 1, "no ERROR line about the token")
        if f.retry_after:
            self.check_quiet("token_requests")

        fl.set_faults(self.sim, [])
        wait = 6 + TOKEN_BACKOFF_MAX_S + (f.retry_after or 0)
        check(fl.wait_until(lambda: not fl.missing_values(
            self.workdir, "healthy", healthy), wait * fl.INTERVAL),
            "values did not arrive after the token endpoint recovered")
        self.check_healthy(healthy)
        if failures:
            check(self.wait_note("OKAY", fl.SELF, 4 * fl.INTERVAL),
                  "no OKAY notification after a token was obtained")
            check(len(self.notes("FAILURE", fl.SELF)) == 1,
                  "want one authentication FAILURE, got %d" %
                  len(self.notes("FAILURE", fl.SELF)))

    # -- many meters fail at once --
    def per_cycle(self, severity):
        """{notification time: [meter notifications]} of that severity."""
        groups = {}
        for n in self.notes(severity):
            if n.get("PluginInstance") in OUTAGE_METERS:
                groups.setdefault(n.get("Time"), []).append(n)
        return groups

    def check_notification_limit(self, severity):
        groups = self.per_cycle(severity)
        got = sorted(n["PluginInstance"] for g in groups.values() for n in g)
        check(got == OUTAGE_METERS,
              "want one %s per failing meter, got %d: %s" %
              (severity, len(got), got))
        biggest = max(len(g) for g in groups.values())
        check(biggest <= MAX_NOTIFICATIONS,
              "%d meter notifications in one cycle (limit %d)" %
              (biggest, MAX_NOTIFICATIONS))
        # an account summary only stands for notifications held back
        for n in fl.select(self.notes(), plugin_instance=fl.SELF):
            if n.get("Type") == "digiwatt_meters":
                check(len(groups.get(n.get("Time"), [])) in
                      (0, MAX_NOTIFICATIONS),
                      "a summary in a cycle below the limit: %s" % n["raw"])

    def run_outage(self, healthy):
        self.start()
        check(fl.wait_until(
            lambda: len(self.notes("FAILURE")) >= len(OUTAGE_METERS),
            20 * fl.INTERVAL),
            "only %d of %d failing meters got a FAILURE" %
            (len(self.notes("FAILURE")), len(OUTAGE_METERS)))
        self.alive("during the outage")
        self.check_healthy(healthy)
        self.grows("healthy", HEALTHY_KEY, "the healthy meter's values")
        self.check_notification_limit("FAILURE")
        # the first cycle: every request of 30 meters fails
        lines = [l for l in self.collectd.log().splitlines()
                 if "digiwatt plugin: " in l]
        count = next((i for i, l in enumerate(lines)
                      if "more requests failed this cycle" in l), None)
        check(count is not None, "no line counting the unlogged failures")
        logged = [l for l in lines[:count] if "smartmeter victim" in l]
        check(len(logged) == MAX_LOG_LINES,
              "%d failure lines before the count line (limit %d)" %
              (len(logged), MAX_LOG_LINES))
        more = int(re.search(r"(\d+) more requests failed", lines[count])
                   .group(1))
        check(more >= 10 * len(OUTAGE_METERS) - MAX_LOG_LINES - 20,
              "the count line says %d more, want about %d" %
              (more, 10 * len(OUTAGE_METERS) - MAX_LOG_LINES))

        fl.set_faults(self.sim, [])
        check(fl.wait_until(
            lambda: len(self.notes("OKAY")) >= len(OUTAGE_METERS),
            (10 + BACKOFF_MAX_S) * fl.INTERVAL),
            "only %d of %d meters got an OKAY after recovery" %
            (len(self.notes("OKAY")), len(OUTAGE_METERS)))
        self.check_notification_limit("OKAY")
        check(len(self.notes("FAILURE")) == len(OUTAGE_METERS),
              "FAILUREs after the recovery: %d" % len(self.notes("FAILURE")))
        for meter in (OUTAGE_METERS[0], OUTAGE_METERS[-1]):
            expected = self.oracle.expected(meter, ["consumption", "costs"])
            missing = fl.missing_values(self.workdir, meter, expected)
            check(not missing, "%s: values missing after recovery: %s" %
                  (meter, missing))

    # -- a token revoked mid-run --
    def run_revoke(self, healthy):
        self.start()
        check(fl.wait_until(lambda: not fl.missing_values(
            self.workdir, "healthy", healthy), 10 * fl.INTERVAL),
            "values did not arrive before the revocation")
        # ask the simulator now: the sampler's last poll may predate the
        # values' arrival on a loaded machine
        check(self.sim.stats()["token_requests"] == 1,
              "want one token request before the revocation")
        log_before = len(self.collectd.log().splitlines())
        fl.set_faults(self.sim, self.fault.rule_list())
        check(fl.wait_until(lambda: self.sampler.latest()["faults_applied"]
                            >= 1, 6 * fl.INTERVAL),
              "the revocation never happened")
        self.grows("healthy", HEALTHY_KEY, "the healthy meter's values")
        self.grows("victim", HEALTHY_KEY, "the victim's values")
        stats = self.sampler.latest()
        check(stats["token_requests"] == 2,
              "want exactly one renewal after the revocation, got %d token "
              "requests in all" % stats["token_requests"])
        check(not self.notes("FAILURE"), "unexpected FAILURE: %s" %
              [n["message"] for n in self.notes("FAILURE")])
        after = self.collectd.log().splitlines()[log_before:]
        failed = [l for l in after if "digiwatt plugin: " in l and
                  ("[warning]" in l or "[error]" in l)]
        check(not failed, "a request failed despite the renewal:\n%s" %
              "\n".join(failed[:5]))
        self.check_healthy(healthy)
        missing = fl.missing_values(self.workdir, "victim",
                                    self.oracle.expected("victim", ALL))
        check(not missing, "victim values missing: %s" % missing[:5])


# DIGIWATT_FAULTS=@memcheck: one fault per failure path (transport errors,
# decoder limits, hostile names, Retry-After dates, token failures and
# renewal), for runs under valgrind where the whole matrix takes too long.
SUBSETS = {"@memcheck": ["retry-after-429-date", "timeout", "reset",
                         "oversized", "deep", "odd-appliances", "token-401",
                         "bad-token-huge-token", "revoke"]}
HEALTHY_KEY = ("digiwatt_energy_kwh", "consumption-" + fl.PERIOD)
OUTAGE_METERS = ["victim%02d" % i for i in range(30)]
MAX_LOG_LINES = 10       # failure lines per cycle
MAX_NOTIFICATIONS = 20   # meter notifications per cycle
CYCLE_KEY = ("digiwatt_cycle_seconds", None)


def run_fault(fault, oracle):
    """Runs one fault; (name, None) or (name, failure text), seconds."""
    t0 = time.monotonic()
    with fl.Workdir("digiwatt-fault-%s-" % fault.name) as workdir:
        run = Run(fault, oracle, workdir)
        error = None
        try:
            run.run()
        except Failed as e:
            error = str(e)
        except Exception:  # a bug of the test itself: say where
            error = traceback.format_exc()
        finally:
            try:
                run.stop()
            except Failed as e:
                error = error or str(e)
        if error is None and run.collectd is not None:
            try:
                run.finish()
            except Failed as e:
                error = str(e)
        if error and run.collectd is not None:
            error += "\n  --- collectd.log (tail) ---\n" + fl.log_tail(
                run.collectd.log(), 15)
    return fault.name, error, time.monotonic() - t0


def markdown():
    rows = ["| Fault | Simulator rule | Expected behaviour | Test |",
            "|---|---|---|---|"]
    for f in FAULTS:
        # the figures without a wrapper, so the table never depends on it
        rules = f.rule_list(6, 4000)
        if len(rules) > 3:
            rules = [rules[0], "... (%d rules)" % len(rules), rules[-1]]
        rule = "<br>".join("`%s`" % r for r in rules)
        rows.append("| %s | %s | %s | `test_fault_matrix.py` %s |" %
                    (f.name, rule, f.behaviour, f.name))
    return "\n".join(rows)


def main():
    if "--markdown" in sys.argv[1:]:
        print(markdown())
        return 0
    for path in (fl.lib.SIM, fl.lib.PLUGIN_SO, fl.lib.COLLECTD):
        if not os.path.exists(path):
            print("SKIP: %s is missing" % path)
            return 77
    wanted = []
    for w in os.environ.get("DIGIWATT_FAULTS", "").split(","):
        wanted += SUBSETS.get(w, [w] if w else [])
    unknown = set(wanted) - {f.name for f in FAULTS}
    if unknown:
        print("FAIL: unknown faults in DIGIWATT_FAULTS: %s" % sorted(unknown))
        return 1
    faults = [f for f in FAULTS if not wanted or f.name in wanted]
    jobs = int(os.environ.get("DIGIWATT_FAULT_JOBS") or
               (2 if fl.WRAPPER else 6))
    t0 = time.monotonic()
    failures = []
    with fl.Workdir("digiwatt-fault-oracle-") as odir:
        oracle = fl.Oracle(odir)
        try:
            # fill the oracle's cache before the threads share it
            for meter in ("healthy", "victim"):
                oracle.expected(meter, ALL)
            for f in faults:
                oracle.expected("victim", f.broken, f.oracle_fault)
            for meter in (OUTAGE_METERS[0], OUTAGE_METERS[-1]):
                oracle.expected(meter, ["consumption", "costs"])
            with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
                # the longest runs first, so the pool drains evenly
                order = sorted(faults, key=lambda f: (f.kind != "token",
                                                      not f.retry_after))
                for name, error, secs in pool.map(
                        lambda f: run_fault(f, oracle), order):
                    if error:
                        failures.append(name)
                        print("not ok - %s (%.1f s)\n  %s" %
                              (name, secs, error.replace("\n", "\n  ")),
                              flush=True)
                    else:
                        print("ok - %s (%.1f s)" % (name, secs), flush=True)
        finally:
            oracle.stop()
    print("%d of %d faults passed in %.0f s%s" %
          (len(faults) - len(failures), len(faults), time.monotonic() - t0,
           "; failed: " + ", ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
