#!/usr/bin/python3
"""tools/digiwatt-check, the helper that runs collectd -T with the log on
the terminal, with the real collectd and the plugin of the build tree
(through the PluginDir of the checked configuration) against the
simulator. The configuration is shaped like Debian's: it logs to syslog
(where this machine has no daemon listening, as in a container) and
includes a conf.d directory holding the packaged debian/digiwatt.conf.

- --help exits 0 and lists the options and environment variables, each of
  which doc/digiwatt-check.pod and README.md document; the page is clean
  for podchecker and groff; a wrong option or two files exit 2; a missing
  file is refused (exit 1).
- The file as shipped: accepted, with a note that the plugin is not loaded.
- Uncommented but not filled in: a bare collectd -T refuses it without
  one line saying why (syslog), collectd -t (what Debian's init script and
  service check with) exits 0 without reading it; digiwatt-check exits 1,
  prints the plugin's lines naming ClientID, the secret file and the
  smartmeter, and ends "configuration refused: <the first of them>".
- A typo that breaks the syntax of the conf.d file: refused, although
  collectd -T exits 0 (it skips a file of an included directory that it
  cannot parse), naming the file and its true line (collectd 5.12 adds the
  lines of the files it read before, and blames the next line for an
  error at a line's end), at the end of the file for a block left
  open, and without the text near the error when that line holds a
  secret.
- Filled in: "configuration accepted", exit 0, having fetched from the
  simulator; the secret never printed; its temporary files gone.
- TypesDB: a collectd.conf with a TypesDB line of its own and the file's
  full line gives the "Replacing DS" warning; the documented fix (list only
  digiwatt.db) is accepted without it. A TypesDB line naming a missing
  file (a README-style line after a purge) gives the "Failed to open"
  warning. No TypesDB line for the plugin: refused, naming the TypesDB
  line to add, although collectd -T exits 0.
- -v prints the lines of other plugins too."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import conflib  # noqa: E402
import lib  # noqa: E402

CHECK = os.path.join(lib.TOP_SRCDIR, "tools", "digiwatt-check")
POD = os.path.join(lib.TOP_SRCDIR, "doc", "digiwatt-check.pod")
SHIPPED = os.path.join(lib.TOP_SRCDIR, "debian", "digiwatt.conf")
SYSTEM_TYPES = "/usr/share/collectd/types.db"
ACCEPTED = "digiwatt-check: configuration accepted"
REFUSED = "digiwatt-check: configuration refused: "


class Setup:
    """A Debian-shaped collectd.conf in workdir including workdir/conf.d,
    whose digiwatt.conf the steps rewrite."""

    def __init__(self, workdir, sim):
        self.workdir = workdir
        self.sim = sim
        self.include = os.path.join(workdir, "conf.d")
        os.makedirs(self.include)
        self.conf_d = os.path.join(self.include, "digiwatt.conf")
        self.plugins = lib.plugin_dir(workdir, ["syslog", "logfile"])
        self.main = self.collectd_conf()
        self.secret = os.path.join(workdir, "digiwatt.secret")
        self.absent = os.path.join(workdir, "absent.secret")
        with open(self.secret, "w") as f:
            f.write(sim.client_secret + "\n")
        os.chmod(self.secret, 0o600)
        self.tmpdir = os.path.join(workdir, "tmp")
        os.makedirs(self.tmpdir)
        with open(SHIPPED) as f:
            self.shipped = f.read()

    def collectd_conf(self, types_db=None, name="collectd.conf"):
        return conflib.collectd_conf(self.workdir, self.include, self.plugins,
                                     syslog=True, types_db=types_db,
                                     name=name)

    def enabled(self):
        """The file uncommented (step 3), not filled in, naming a secret
        file that does not exist."""
        return conflib.fill(conflib.uncomment(self.shipped),
                            secret_file=self.absent, types_db=lib.TYPES_DB)

    def filled(self):
        return conflib.fill(self.enabled(), client_id=self.sim.client_id,
                            secret_file=self.secret, meter="125fd56",
                            base_url=self.sim.base)

    def write(self, text):
        with open(self.conf_d, "w") as f:
            f.write(text)

    def check(self, *options, conf=None, expect=None, what=""):
        env = dict(os.environ, TMPDIR=self.tmpdir, COLLECTD=lib.COLLECTD)
        status, out = conflib.digiwatt_check(CHECK, conf or self.main,
                                             *options, env=env)
        if expect is not None and status != expect:
            lib.fail("%s: digiwatt-check exited %d, not %d:\n%s" %
                     (what, status, expect, out))
        if self.sim.client_secret in out:
            lib.fail("%s: digiwatt-check printed the secret:\n%s" %
                     (what, out))
        left = os.listdir(self.tmpdir)
        if left:
            lib.fail("%s: digiwatt-check left %s in TMPDIR" % (what, left))
        return out


def want_verdict(out, text, what):
    if conflib.verdict(out) != text:
        lib.fail("%s: the last line should be %r:\n%s" % (what, text, out))


def help_and_usage(s):
    status, out = conflib.digiwatt_check(CHECK, None, "--help")
    if status != 0 or "Usage: digiwatt-check" not in out:
        lib.fail("--help: status %d:\n%s" % (status, out))
    options = re.findall(r"^\s+(-\w), (--[\w-]+)", out, re.M)
    names = re.findall(r"^\s+([A-Z][A-Z_]+)\s", out.split("Environment:")[1],
                       re.M)
    if len(options) < 2 or "COLLECTD" not in names:
        lib.fail("--help lists options %r and environment %r" %
                 (options, names))
    pod = open(POD).read()
    readme = open(os.path.join(lib.TOP_SRCDIR, "README.md")).read()
    for short, long in options:
        if "=item B<%s>, B<%s>" % (short, long) not in pod:
            lib.fail("doc/digiwatt-check.pod has no =item for %s, %s" %
                     (short, long))
        if "`%s`" % short not in readme or "`%s`" % long not in readme:
            lib.fail("README.md does not document digiwatt-check's %s, %s" %
                     (short, long))
    for name in names:
        if "=item B<%s>" % name not in pod or "`%s`" % name not in readme:
            lib.fail("the man page or README.md does not document "
                     "digiwatt-check's %s" % name)
    lint = subprocess.run(["podchecker", POD], capture_output=True,
                          text=True)
    if lint.returncode != 0 or "WARNING" in lint.stderr:
        lib.fail("podchecker %s:\n%s" % (POD, lint.stderr))
    page = os.path.join(lib.TOP_BUILDDIR, "doc", "digiwatt-check.8")
    if os.path.exists(page):
        groff = subprocess.run(["groff", "-man", "-ww", "-z", page],
                               capture_output=True, text=True)
        if groff.returncode != 0 or groff.stderr.strip():
            lib.fail("groff on %s:\n%s" % (page, groff.stderr))
    for bad in (["--bogus"], ["a.conf", "b.conf"]):
        status, out = conflib.digiwatt_check(CHECK, None, *bad)
        if status != 2 or "--help" not in out:
            lib.fail("digiwatt-check %s: want exit 2 and a pointer to --help, "
                     "got %d:\n%s" % (" ".join(bad), status, out))
    missing = os.path.join(s.workdir, "missing.conf")
    out = s.check(conf=missing, expect=1, what="a missing file")
    want_verdict(out, REFUSED + missing + " does not exist", "a missing file")


def as_shipped(s):
    s.write(s.shipped)
    out = s.check(expect=0, what="as shipped")
    want_verdict(out, ACCEPTED, "as shipped")
    if "does not load the digiwatt plugin" not in out:
        lib.fail("as shipped: no note that the plugin is not loaded:\n" + out)


def unfilled(s):
    s.write(s.enabled())
    status, bare = conflib.collectd_t(lib.COLLECTD, s.main)
    if status == 0 or conflib.plugin_lines(bare):
        lib.fail("a bare collectd -T logging to syslog should refuse without "
                 "a plugin line (status %d):\n%s" % (status, bare))
    t = subprocess.run([lib.COLLECTD, "-t", "-C", s.main],
                       capture_output=True, text=True)
    if t.returncode != 0:
        lib.fail("collectd -t exited %d: it reads the configuration now, so "
                 "README.md, the man pages and debian/digiwatt.conf should "
                 "stop saying it does not:\n%s" % (t.returncode, t.stderr))
    out = s.check(expect=1, what="unfilled")
    for words in (("ClientID",), ("ClientSecretFile", s.absent),
                  ("smartmeter",)):
        if not conflib.plugin_lines(out, *words):
            lib.fail("unfilled: no line naming %s:\n%s" % (words, out))
    first = [l for l in out.splitlines()
             if l.startswith("[error] digiwatt plugin:")][0]
    want_verdict(out, REFUSED + first[len("[error] "):], "unfilled")
    if "collectd -T exited 1" not in out:
        lib.fail("unfilled: the exit status of collectd -T is not shown:\n"
                 + out)


def typos(s):
    text = s.filled()
    lines = text.split("\n")
    number = [i for i, l in enumerate(lines, 1)
              if '<Smartmeter "125fd56"' in l]
    broken = text.replace('<Smartmeter "125fd56">', '<Smartmeter "125fd56"', 1)
    s.write(broken)
    status, bare = conflib.collectd_t(lib.COLLECTD, s.main)
    if status != 0:
        lib.fail("collectd -T refuses a conf.d file it cannot parse now: "
                 "README.md and digiwatt-check(8) say it skips it:\n" + bare)
    out = s.check(expect=1, what="a broken line")
    want = REFUSED + "Parse error in file `%s', line %d near" % (s.conf_d,
                                                                 number[0])
    if not conflib.verdict(out).startswith(want):
        lib.fail("a broken line: the verdict should start %r:\n%s" %
                 (want, out))
    # collectd quotes the token near the error, here a secret ("-" would
    # end the token, so a part of the simulator's without one).
    secret = s.sim.client_secret.split("-")[-1]
    s.write(text.replace("<Smartmeter", "</ClientSecret %s>\n<Smartmeter" %
                         secret, 1))
    out = s.check(expect=1, what="a broken line with a secret")
    if secret in out or "(the text is not shown: the line holds a " \
            "secret)" not in conflib.verdict(out):
        lib.fail("a broken line with a secret: verdict:\n" + out)
    s.write(text.rstrip("\n").rsplit("\n", 1)[0] + "\n")  # no </Plugin>
    out = s.check(expect=1, what="a block left open")
    want = REFUSED + "Parse error in file `%s', at the end of the file" % (
        s.conf_d)
    if not conflib.verdict(out).startswith(want):
        lib.fail("a block left open: the verdict should start %r:\n%s" %
                 (want, out))


def filled(s):
    s.write(s.filled())
    before = s.sim.stats()
    out = s.check(expect=0, what="filled in")
    want_verdict(out, ACCEPTED, "filled in")
    after = s.sim.stats()
    if after["requests"] <= before["requests"]:
        lib.fail("filled in: accepted without fetching: %r -> %r" %
                 (before, after))
    if "warning" in out or conflib.types_trouble(out):
        lib.fail("filled in as told: warnings:\n" + out)
    if 'plugin "digiwatt" successfully loaded' not in out:
        lib.fail("filled in: the plugin's load line is not shown:\n" + out)
    relative = subprocess.run(
        [CHECK, os.path.basename(s.main)], cwd=s.workdir, text=True,
        capture_output=True, env=dict(os.environ, COLLECTD=lib.COLLECTD))
    if relative.returncode != 0 or \
            conflib.verdict(relative.stdout) != ACCEPTED:
        lib.fail("a relative path: %d\n%s%s" % (relative.returncode,
                                                relative.stdout,
                                                relative.stderr))
    verbose = s.check("-v", expect=0, what="-v")
    if 'plugin "syslog" successfully loaded' not in verbose:
        lib.fail("-v does not show the other plugins' lines:\n" + verbose)
    if 'plugin "syslog" successfully loaded' in out:
        lib.fail("without -v, other plugins' info lines are shown:\n" + out)


def types(s):
    filled = s.filled()
    own = s.collectd_conf(types_db=[SYSTEM_TYPES], name="own-types.conf")
    s.write(filled)
    out = s.check(conf=own, expect=0, what="two TypesDB lines")
    if not re.search(r"warning: collectd read \d+ type definitions twice",
                     out):
        lib.fail("types.db on two TypesDB lines: no warning:\n" + out)
    # The documented fix: with a TypesDB line in collectd.conf, the file
    # lists only digiwatt.db.
    s.write(re.sub(r'(?m)^TypesDB "%s" ' % re.escape(SYSTEM_TYPES),
                   "TypesDB ", filled, 1))
    out = s.check(conf=own, expect=0, what="the documented fix")
    want_verdict(out, ACCEPTED, "the documented fix")
    if "warning" in out:
        lib.fail("listing only digiwatt.db: still warnings:\n" + out)

    gone = os.path.join(s.workdir, "purged", "digiwatt.db")
    stale = s.collectd_conf(types_db=[SYSTEM_TYPES, gone], name="stale.conf")
    s.write(s.shipped)
    out = s.check(conf=stale, expect=0, what="a missing types file")
    if not re.search(r"warning: collectd cannot open the types file %s "
                     r"\(\"Failed to open types database\"\)" %
                     re.escape(gone), out):
        lib.fail("a missing types file: no warning naming it:\n" + out)

    s.write(re.sub(r'(?m)^TypesDB .*$', "", filled))
    status, bare = conflib.collectd_t(lib.COLLECTD, s.main)
    out = s.check(expect=1, what="no TypesDB for the plugin")
    if status != 0 or not conflib.verdict(out).startswith(
            REFUSED + "collectd does not know the digiwatt types"):
        lib.fail("no TypesDB for the plugin (collectd -T exited %d): want a "
                 "refusal naming the types:\n%s" % (status, out))
    if 'TypesDB "%s" "/usr/share/collectd/digiwatt.db"' % SYSTEM_TYPES \
            not in conflib.verdict(out):
        lib.fail("the refusal does not give the TypesDB line:\n" + out)


def main():
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, client_id="check-client",
                            client_secret="check-s3cret")
        try:
            s = Setup(workdir, sim)
            help_and_usage(s)
            as_shipped(s)
            unfilled(s)
            typos(s)
            filled(s)
            types(s)
        finally:
            sim.stop()
    print("ok: digiwatt-check accepts and refuses as collectd does, names the "
          "first reason, the true line of a parse error and the TypesDB fix")


if __name__ == "__main__":
    main()
