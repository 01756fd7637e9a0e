"""What the package tests do with the packaged configuration
debian/digiwatt.conf (installed as /etc/collectd/collectd.conf.d/
digiwatt.conf): enable it the way its own instructions say, fill in the
credentials, and run collectd -T (or digiwatt-check) on a collectd.conf
shaped like Debian's (no TypesDB of its own, conf.d included at the end)
or on Debian's own."""

import os
import re
import subprocess

# The file's convention: a setting is a line whose '#' is not followed by a
# space; explanations start with "# " (or are a lone '#').
SETTING = re.compile(r"^#(?=[^ #\n])", re.M)
# The hint for a check by hand: "##", so that step 3 leaves it alone.
LOGFILE_HINT = "##LoadPlugin logfile"
# What collectd logs when a types file is read twice, or is missing.
TYPES_TROUBLE = ("Replacing DS", "Failed to open types database")


def uncomment(text):
    """The file after step 3 of its instructions."""
    return SETTING.sub("", text)


def replace_once(text, pattern, replacement, what):
    new, count = re.subn(pattern, replacement, text, flags=re.M)
    if count != 1:
        raise AssertionError("the configuration should have exactly one %s, "
                             "found %d" % (what, count))
    return new


def fill(text, client_id=None, secret_file=None, meter=None, base_url=None,
         types_db=None):
    """Fills in what the operator fills in (only what is not None), in
    the settings whether or not they are still commented out."""
    if client_id is not None:
        text = replace_once(text, r'^(#?\s*)ClientID ""',
                            r'\1ClientID "%s"' % client_id, "empty ClientID")
    if secret_file is not None:
        text = replace_once(text, r'^(#?\s*)ClientSecretFile "[^"]*"',
                            r'\1ClientSecretFile "%s"' % secret_file,
                            "ClientSecretFile")
    if meter is not None:
        text = replace_once(text, r'^(#?\s*)<Smartmeter ""',
                            r'\1<Smartmeter "%s"' % meter,
                            "empty <Smartmeter>")
    if base_url is not None:
        text = replace_once(text, r'^(#?\s*)BaseURL "[^"]*"',
                            r'\1BaseURL "%s"' % base_url, "BaseURL")
    if types_db is not None:
        text = replace_once(
            text, r'^(#?TypesDB .*)"/usr/share/collectd/digiwatt\.db"',
            r'\1"%s"' % types_db, "TypesDB line naming digiwatt.db")
    return text


def check_shape(text):
    """The shipped file: nothing but comments, and exactly one of each
    placeholder the operator fills in. Returns a list of problems."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            problems.append("line %d is not a comment: %r" % (number, line))
    settings = uncomment(text)
    for what, pattern in (
            ("LoadPlugin digiwatt", r"^LoadPlugin digiwatt$"),
            ("TypesDB line", r'^TypesDB "/usr/share/collectd/types.db" '
                             r'"/usr/share/collectd/digiwatt.db"$'),
            ("empty ClientID", r'^\s*ClientID ""$'),
            ("ClientSecretFile", r'^\s*ClientSecretFile "/etc/collectd/'
                                 r'digiwatt.secret"$'),
            ("empty <Smartmeter>", r'^\s*<Smartmeter "">$'),
            ("BaseURL", r'^\s*BaseURL "https://[^"]+"$'),
            ("hint " + LOGFILE_HINT, "^" + LOGFILE_HINT + "$")):
        found = len(re.findall(pattern, settings, re.M))
        if found != 1:
            problems.append("expected one %s among the settings, found %d" %
                            (what, found))
    return problems


def collectd_conf(workdir, include_dir, plugin_dir=None, log_file=None,
                  extra="", filter="*.conf", syslog=False, types_db=None,
                  name="collectd.conf"):
    """A collectd.conf like Debian's: no TypesDB (unless types_db lists
    files for one), conf.d included last; with syslog, collectd logs to
    syslog as Debian's does (and its PluginDir needs syslog.so)."""
    lines = ['Hostname "pkg"', 'FQDNLookup false',
             'BaseDir "%s"' % workdir, 'PIDFile "%s/collectd.pid"' % workdir,
             'Interval 1']
    if plugin_dir:
        lines.append('PluginDir "%s"' % plugin_dir)
    if types_db:
        lines.append("TypesDB " + " ".join('"%s"' % t for t in types_db))
    if syslog:
        lines += ['LoadPlugin syslog', '<Plugin syslog>', '  LogLevel info',
                  '</Plugin>']
    if log_file:
        lines += ['LoadPlugin logfile', '<Plugin logfile>',
                  '  LogLevel "info"', '  File "%s"' % log_file,
                  '  Timestamp true', '  PrintSeverity true', '</Plugin>']
    lines += [extra, '<Include "%s">' % include_dir, '  Filter "%s"' % filter,
              '</Include>']
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def collectd_t(collectd, conf):
    """collectd -T: (exit status, output)."""
    run = subprocess.run([collectd, "-T", "-C", conf], capture_output=True,
                         text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def digiwatt_check(program, conf=None, *options, env=None):
    """digiwatt-check [options] [conf]: (exit status, output). Its verdict
    goes to stdout, its usage errors to stderr: both are returned."""
    args = [program, *options] + ([conf] if conf else [])
    run = subprocess.run(args, capture_output=True, text=True, timeout=180,
                         env=env)
    return run.returncode, run.stdout + run.stderr


def verdict(output):
    """The last line of digiwatt-check's output."""
    lines = output.strip().splitlines()
    return lines[-1] if lines else ""


def types_trouble(output):
    """collectd's lines about a types file read twice or missing."""
    return [l for l in output.splitlines()
            if any(t in l for t in TYPES_TROUBLE)]


def inert(output):
    """Nothing of the plugin in collectd's output: not loaded, no line."""
    return (not plugin_lines(output) and
            'plugin "digiwatt" successfully loaded' not in output)


def plugin_lines(output, *words):
    """The "digiwatt plugin:" lines of output that contain every word."""
    return [l for l in output.splitlines()
            if "digiwatt plugin:" in l and all(w in l for w in words)]


def judge(collectd, workdir, conf_path, include_dir, sim, fail,
          plugin_dir=None, types_db=None, filter="*.conf", main=None,
          check=None):
    """The packaged configuration at conf_path, step by step as an operator
    goes: inert as shipped; once uncommented, refused by collectd -T with
    lines naming what is missing; accepted once filled in (against the
    simulator sim, a lib.Simulator). main is the collectd.conf that
    includes it (default: one shaped like Debian's, written in workdir);
    check(main) runs the check (default: collectd -T), returning (exit
    status, output). Leaves the filled-in file at conf_path and returns
    main."""
    with open(conf_path) as f:
        shipped = f.read()
    for p in check_shape(shipped):
        fail("%s: %s" % (conf_path, p))
    if main is None:
        main = collectd_conf(workdir, include_dir, plugin_dir, filter=filter)
    if check is None:
        def check(conf):
            return collectd_t(collectd, conf)

    def write(text):
        with open(conf_path, "w") as f:
            f.write(text)

    def refused(step, *words_per_line):
        status, out = check(main)
        if status == 0:
            fail("%s: collectd -T accepted it:\n%s" % (step, out))
        for words in words_per_line:
            if not plugin_lines(out, *words):
                fail("%s: no 'digiwatt plugin:' line naming %s in:\n%s" %
                     (step, " + ".join(words), out))
        return out

    status, out = check(main)
    if status != 0 or not inert(out):
        fail("as shipped, the file is not inert (status %d):\n%s" %
             (status, out))

    # Where the operator keeps the secret; it does not exist yet.
    secret = os.path.join(workdir, "digiwatt.secret")
    enabled = fill(uncomment(shipped), secret_file=secret, types_db=types_db)
    write(enabled)
    refused("enabled but not filled in", ("ClientID",),
            ("ClientSecretFile", secret), ("smartmeter",))

    write(fill(enabled, client_id=sim.client_id, meter="125fd56",
               base_url=sim.base))
    open(secret, "w").close()
    os.chmod(secret, 0o600)
    refused("empty secret file", ("ClientSecretFile", secret))

    with open(secret, "w") as f:
        f.write(sim.client_secret + "\n")
    os.chmod(secret, 0o644)
    status, out = check(main)
    if status != 0:
        fail("filled in: collectd -T refused it:\n%s" % out)
    if not plugin_lines(out, "ClientSecretFile", secret, "0644"):
        fail("no warning about the readable secret file in:\n%s" % out)

    os.chmod(secret, 0o600)
    before = sim.stats()
    status, out = check(main)
    if status != 0 or plugin_lines(out, "ClientSecretFile"):
        fail("filled in, chmod 600: status %d, output:\n%s" % (status, out))
    after = sim.stats()
    if (after["token_requests"] <= before["token_requests"] or
            after["requests"] <= before["requests"]):
        fail("collectd -T passed without fetching from the simulator: "
             "%r -> %r" % (before, after))
    if sim.client_secret in out:
        fail("the secret was printed")
    if types_trouble(out):
        fail("filled in as told, collectd complains about its types:\n%s" %
             "\n".join(types_trouble(out)))
    return main
