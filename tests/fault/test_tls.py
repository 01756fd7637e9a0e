#!/usr/bin/python3
"""TLS is verified by default: the real collectd with the plugin against
the simulator serving HTTPS with a fresh self-signed certificate for
127.0.0.1.

  self-signed-refused   no CACert: the handshake fails, no token request
                        reaches the server, nothing is dispatched, the log
                        says the certificate could not be verified
  cacert-accepted       CACert pointing at the certificate: values arrive
  insecure-http-refused http:// to a non-loopback address (192.0.2.1, never
                        contacted) is refused by `collectd -T` with a line
                        naming AllowInsecureHTTP

(Debian 12's collectd -t does not read the configuration, see
tests/e2e/test_bad_config.py; -T does.)"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from faultlib import Failed, check  # noqa: E402

lib = fl.lib
CASES = ["self-signed-refused", "cacert-accepted", "insecure-http-refused"]
KEY = ("digiwatt_energy_kwh", "consumption-" + fl.PERIOD)


def make_cert(workdir):
    cert = os.path.join(workdir, "cert.pem")
    key = os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def https_stats(sim, cert):
    ctx = ssl.create_default_context(cafile=cert)
    with urllib.request.urlopen(sim.base + "/_control/stats", context=ctx,
                                timeout=10) as r:
        return json.load(r)


def run_collectd(workdir, base, options, until, timeout):
    """Runs collectd until until(workdir) is true or timeout; returns the
    log and the exit status."""
    block = fl.digiwatt_block(base, ["tlsmeter"], [
        "Timeout %d" % (2 * fl.REQUEST_TIMEOUT), 'Periods "%s"' % fl.PERIOD,
        'Resources "consumption" "costs"'] + options)
    conf, _ = fl.collectd_config(workdir, block, notify=False)
    collectd = fl.Collectd(conf, workdir)
    try:
        fl.wait_until(lambda: until(workdir) or not collectd.alive(), timeout)
        check(collectd.alive(), "collectd died:\n" +
              fl.log_tail(collectd.log()))
    finally:
        status = collectd.stop()
    log = collectd.log()
    fl.check_no_secret({"collectd.log": log, "output": collectd.output()})
    return log, status


def tls_lines(workdir):
    return [l for l in fl.read_log(workdir).splitlines()
            if "digiwatt plugin: " in l and
            any(w in l.lower() for w in ("certificate", "tls", "ssl"))]


def self_signed_refused(workdir, sim, cert, oracle):
    log, status = run_collectd(workdir, sim.base, [], tls_lines,
                               8 * fl.INTERVAL)
    check(tls_lines(workdir),
          "no log line says the TLS verification failed:\n%s" %
          "\n".join(l for l in log.splitlines() if "digiwatt" in l))
    check(not fl.data_files(workdir, "tlsmeter"),
          "values were dispatched from an unverified server")
    stats = https_stats(sim, cert)
    check(stats["token_requests"] == 0 and stats["requests"] == 0,
          "requests reached the unverified server: %s" % stats)
    check(status == 0, "collectd exited with %s" % status)


def cacert_accepted(workdir, sim, cert, oracle):
    expected = oracle.expected("tlsmeter", ["consumption", "costs"])

    def arrived(d):
        return not fl.missing_values(d, "tlsmeter", expected)
    log, status = run_collectd(workdir, sim.base, ['CACert "%s"' % cert],
                               arrived, 10 * fl.INTERVAL)
    missing = fl.missing_values(workdir, "tlsmeter", expected)
    check(not missing, "values missing over verified TLS: %s\n%s" %
          (missing, fl.log_tail(log)))
    check(status == 0, "collectd exited with %s" % status)


def insecure_http_refused(workdir, sim, cert, oracle):
    block = fl.digiwatt_block("http://192.0.2.1/v1", ["tlsmeter"])
    conf = os.path.join(workdir, "collectd.conf")
    with open(conf, "w") as f:
        f.write('PluginDir "%s"\nTypesDB "/usr/share/collectd/types.db" "%s"\n'
                'LoadPlugin digiwatt\n%s\n' %
                (lib.plugin_dir(workdir, []), lib.TYPES_DB, block))
    run = subprocess.run([lib.COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=60)
    output = run.stdout + run.stderr
    fl.check_no_secret({"collectd -T output": output})
    check(run.returncode != 0, "collectd -T accepted http:// to 192.0.2.1")
    check(any("digiwatt plugin: " in l and "AllowInsecureHTTP" in l
              for l in output.splitlines()),
          "no line naming AllowInsecureHTTP in:\n%s" % output)


def main():
    if not shutil.which("openssl"):
        print("SKIP: openssl is missing")
        return 77
    for path in (lib.SIM, lib.PLUGIN_SO, lib.COLLECTD):
        if not os.path.exists(path):
            print("SKIP: %s is missing" % path)
            return 77
    failed = []
    with fl.Workdir("digiwatt-tls-") as top:
        cert, key = make_cert(top)
        sim = fl.start_sim(top, "--tls-cert", cert, "--tls-key", key)
        sim.base = "https://127.0.0.1:%d" % sim.port
        os.makedirs(os.path.join(top, "oracle"))
        oracle = fl.Oracle(os.path.join(top, "oracle"))
        try:
            for name, fn in zip(CASES, (self_signed_refused, cacert_accepted,
                                        insecure_http_refused)):
                workdir = os.path.join(top, name)
                os.makedirs(workdir)
                t0 = time.monotonic()
                try:
                    fn(workdir, sim, cert, oracle)
                    print("ok - %s (%.1f s)" % (name, time.monotonic() - t0))
                except Failed as e:
                    failed.append(name)
                    print("not ok - %s\n  %s" % (name,
                                                 str(e).replace("\n", "\n  ")))
                sys.stdout.flush()
        finally:
            oracle.stop()
            sim.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
