#!/usr/bin/python3
"""collectd refuses each bad configuration of the built plugin with a line
that names the problem, and accepts the good one.

Debian 12's collectd 5.12 `-t` exits 0 without reading the file at all
(upstream collectd#3216, fixed after 5.12 by PR #3793), so the check runs
through `collectd -T`, which parses the configuration, stops with
"Error: Parsing the config file failed!" and exit status 1 when a plugin's
config callback fails, and otherwise runs each read callback once. The
good configuration therefore points at a running simulator."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

GOOD = """
  <Account "main">
    BaseURL "%s"
    ClientID "id"
    ClientSecret "s3cr3t-value"
    %s
    <Smartmeter "%s">
    %s
    </Smartmeter>
  </Account>
"""

CASES = [  # name, account options, smartmeter ID, smartmeter options, words
    ("good", "", "125fd56", "", None),
    # collectd's own spelling of booleans, quoted (with a warning)
    ("quoted boolean", 'VerifyPeer "false"\n    SelfMetrics "on"', "125fd56",
     "", None),
    ("unknown option", "Tiemout 3", "125fd56", "", 'Tiemout'),
    ("typo with a suggestion", "Tiemout 3", "125fd56", "",
     'unknown option "Tiemout"; did you mean Timeout?'),
    ("unknown resource", 'Resources "consumption" "costz"', "125fd56", "",
     "costz"),
    ("unknown period", 'Periods "tomorrow"', "125fd56", "", "tomorrow"),
    ("unknown meter option", "", "125fd56", 'Color "red"', "Color"),
    ("whitespace in ID", "", "12 34", "", "whitespace"),
    ("bad instance", "", "125fd56", 'Instance "a/b"', "Instance"),
    ("bad path", 'Path "savings" "/smartmeters/x/savings"', "125fd56", "",
     "Path"),
    # issue 12 item 5: shorter than "https://" (read past it once)
    ("BaseURL without a scheme", 'BaseURL "bogus"', "125fd56", "",
     "BaseURL is not a URL"),
    # issue 12 item 7: a secret in the wrong option is not quoted back (the
    # check fails whenever s3cr3t-value is printed)
    ("secret as BaseURL", 'BaseURL "s3cr3t-value"', "125fd56", "",
     "BaseURL is not a URL"),
    ("secret as a header", 'Header "Authorization: s3cr3t-value"', "125fd56",
     "", "Authorization is the plugin's"),
    ("secret in a boolean", 'VerifyPeer "s3cr3t-value"', "125fd56", "",
     "VerifyPeer needs one boolean"),
    ("token parameter of the plugin's",
     'TokenParam "client_secret" "s3cr3t-value"', "125fd56", "",
     "TokenParam \"client_secret\""),
    ("proxy scheme", 'Proxy "ftp://u:s3cr3t-value@proxy:21"', "125fd56", "",
     'Proxy "ftp://proxy:21": the proxy\'s scheme'),
    ("TokenAuth", 'TokenAuth "digest"', "125fd56", "", "TokenAuth must be"),
]


def check(workdir, base, name, options, meter, meter_options, words,
          drop=None, absent=()):
    block = GOOD % (base, options, meter, meter_options)
    if drop:
        block = "\n".join(l for l in block.splitlines() if drop not in l)
        block += "\n"
    conf = os.path.join(workdir, "collectd.conf")
    with open(conf, "w") as f:
        f.write('PluginDir "%s"\nTypesDB "/usr/share/collectd/types.db" "%s"\n'
                'LoadPlugin digiwatt\n<Plugin digiwatt>%s</Plugin>\n' %
                (lib.plugin_dir(workdir, []), lib.TYPES_DB, block))
    run = subprocess.run([lib.COLLECTD, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=30)
    output = run.stdout + run.stderr
    if "s3cr3t-value" in output:
        lib.fail("%s: the secret was printed" % name)
    if words is None:
        if run.returncode != 0:
            lib.fail("%s: collectd -T refused a good config:\n%s" %
                     (name, output))
        return
    if run.returncode == 0:
        lib.fail("%s: collectd -T accepted it:\n%s" % (name, output))
    lines = [l for l in output.splitlines()
             if "digiwatt plugin: " in l and words in l]
    if not lines:
        lib.fail("%s: no 'digiwatt plugin:' line naming %r in:\n%s" %
                 (name, words, output))
    for word in absent:
        if word in output:
            lib.fail("%s: %r should not be said:\n%s" % (name, word, output))


def main():
    cases = CASES + [
        ("missing BaseURL", "", "125fd56", "", "BaseURL", "BaseURL"),
        ("missing ClientID", "", "125fd56", "", "ClientID", "ClientID"),
        ("missing secret", "", "125fd56", "", "ClientSecret", "ClientSecret"),
        # one mistake, one error: a typo is not also a missing option
        ("secret file typo", 'ClientSecretFil "/nonexistent"', "125fd56", "",
         "did you mean ClientSecretFile?", 'ClientSecret "', ["is required"]),
        ("empty ClientID", 'ClientID ""', "125fd56", "",
         "ClientID must not be empty", 'ClientID "id"', ["is required"]),
        ("secret where its file belongs", 'ClientSecretFile "s3cr3t-value"',
         "125fd56", "", "cannot open ClientSecretFile (a relative path, not "
         "shown)", 'ClientSecret "'),
    ]
    with lib.Workdir() as simdir:
        sim = lib.Simulator(simdir, client_id="id",
                            client_secret="s3cr3t-value")
        try:
            for case in cases:
                with lib.Workdir() as workdir:
                    name, options, meter, meter_options, words = case[:5]
                    check(workdir, sim.base, name, options, meter,
                          meter_options, words,
                          drop=case[5] if len(case) > 5 else None,
                          absent=case[6] if len(case) > 6 else ())
        finally:
            sim.stop()
    print("ok: %d configurations judged as expected by collectd -T" %
          len(cases))


if __name__ == "__main__":
    main()
