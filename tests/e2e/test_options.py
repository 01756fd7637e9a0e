#!/usr/bin/python3
"""The HTTP and OAuth options of issue 11 and the errors that name their
fix, through the real collectd (`collectd -T`: the configuration, then one
read of each account) with the built plugin against the simulator.

- TokenAuth "basic" and TokenParam "scope": the simulator insists on HTTP
  Basic (--token-auth basic) and on the scope (--require-scope), so a
  token is only granted when both reach it; without them the log names
  the option to check.
- A stray http_proxy in collectd's environment: the failure names the
  proxy and the variable; Proxy "" ignores the environment.
- https:// to the simulator's plain-HTTP port: "does not speak TLS", not
  OpenSSL's words; a TokenURL that answers 404: "check TokenURL", and its
  query never reaches the log.
- An unknown meter (404 on all of its 35 slots): one line naming it."""

import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

SECRET = "s3cr3t-value"


def block(base, extra="", meters=("125fd56",)):
    smartmeters = "".join('    <Smartmeter "%s">\n    </Smartmeter>\n' % m
                          for m in meters)
    return ('<Plugin digiwatt>\n  <Account "main">\n'
            '    BaseURL "%s"\n    ClientID "id"\n    ClientSecret "%s"\n'
            '%s\n%s  </Account>\n</Plugin>\n' % (base, SECRET, extra,
                                                 smartmeters))


def run_t(workdir, plugin_block, env=None):
    """collectd -T with the block; its output (collectd's own log)."""
    conf = os.path.join(workdir, "collectd.conf")
    with open(conf, "w") as f:
        f.write('PluginDir "%s"\nTypesDB "/usr/share/collectd/types.db" "%s"\n'
                'LoadPlugin digiwatt\n%s' %
                (lib.plugin_dir(workdir, []), lib.TYPES_DB, plugin_block))
    full_env = {k: v for k, v in os.environ.items()
                if not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    run = subprocess.run([lib.COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=60, env=full_env)
    output = run.stdout + run.stderr
    if SECRET in output:
        lib.fail("the secret was printed:\n" + output)
    return output


def ours(output):
    return [l for l in output.splitlines() if "digiwatt plugin: " in l]


def expect(name, output, present=(), absent=()):
    for words in present:
        if not any(words in l for l in ours(output)):
            lib.fail("%s: no 'digiwatt plugin:' line with %r in:\n%s" %
                     (name, words, output))
    for words in absent:
        if words in output:
            lib.fail("%s: %r should not be said:\n%s" % (name, words, output))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token_options(workdir):
    with lib.Workdir() as simdir:
        sim = lib.Simulator(simdir, "--token-auth", "basic", "--require-scope",
                            "read:meters", client_id="id",
                            client_secret=SECRET)
        try:
            out = run_t(workdir, block(sim.base, 'TokenAuth "basic"\n'
                                       'TokenParam "scope" "read:meters"\n'
                                       'TokenParam "audience" "digiwatt"'))
            expect("basic and scope", out, absent=["cannot get a token",
                                                   "smartmeter 125fd56"])
            stats = sim.stats()
            if stats["token_requests"] < 1 or \
                    stats["by_status"].get("200", 0) < 2:
                lib.fail("basic and scope: no token, no data: %s" % stats)
            out = run_t(workdir, block(sim.base, 'TokenAuth "basic"'))
            expect("no scope", out, present=[
                "HTTP status 400, OAuth error invalid_scope (check TokenParam"])
            out = run_t(workdir, block(sim.base,
                                       'TokenParam "scope" "read:meters"'))
            expect("post to a basic-only issuer", out, present=[
                "HTTP status 401, OAuth error invalid_client (check ClientID, "
                "the client secret and TokenAuth)"])
        finally:
            sim.stop()


def proxies(workdir, sim):
    port = closed_port()
    env = {"http_proxy": "http://ops:pr0xy-pass@127.0.0.1:%d" % port}
    out = run_t(workdir, block(sim.base), env)
    expect("stray http_proxy", out, present=[
        "request failed (connect) through proxy 127.0.0.1:%d (from "
        "http_proxy)" % port], absent=["pr0xy-pass"])
    out = run_t(workdir, block(sim.base, 'Proxy ""'), env)
    expect("Proxy \"\"", out, absent=["cannot get a token", "through proxy"])
    out = run_t(workdir, block(sim.base, 'Proxy "http://u:pr0xy-pass@127.0.0.1:'
                               '%d"' % port))
    expect("Proxy refusing", out, present=[
        "through proxy 127.0.0.1:%d (from Proxy)" % port],
        absent=["pr0xy-pass"])


def wrong_places(workdir, sim):
    tls = sim.base.replace("http://", "https://")
    out = run_t(workdir, block(tls, "VerifyPeer false\nVerifyHost false"))
    # OpenSSL says "wrong version number" when the server answers the
    # ClientHello, SSL_ERROR_SYSCALL when it hangs up: ours either way
    expect("https to a plain port", out, present=["TLS", "use http://"],
           absent=["wrong version number", "SSL_ERROR", "OpenSSL"])
    out = run_t(workdir, block(sim.base, 'TokenURL "%s/no/token?api_key=k3y"' %
                               sim.base))
    expect("TokenURL 404", out, present=[
        "cannot get a token from %s/no/token: HTTP status 404 (check TokenURL"
        % sim.base], absent=["api_key", "k3y"])
    out = run_t(workdir, block(sim.base, meters=("unknown-7", "125fd56")))
    lines = [l for l in ours(out) if "smartmeter unknown-7" in l]
    if len(lines) != 1 or "Unknown smartmeter" not in lines[0] or \
            "check its ID and Path" not in lines[0]:
        lib.fail("unknown meter: want one line naming it with the API's "
                 "message, got %d:\n%s" % (len(lines), out))


def main():
    with lib.Workdir() as workdir:
        token_options(workdir)
        with lib.Workdir() as simdir:
            sim = lib.Simulator(simdir, client_id="id", client_secret=SECRET)
            try:
                proxies(workdir, sim)
                wrong_places(workdir, sim)
            finally:
                sim.stop()
    print("ok: TokenAuth basic, TokenParam, Proxy and the errors that name "
          "their fix, through collectd -T")


if __name__ == "__main__":
    main()
