#!/usr/bin/python3
"""The Debian package, end to end, on this machine (make package-check;
root, Debian 12, the packages of contrib/deps/package.txt), next to
Debian's full collectd package and its own /etc/collectd/collectd.conf:

0. README.md's "Writers' libraries" names every package that Debian's
   write_prometheus.so needs (objdump's NEEDED) beyond collectd-core's
   Depends;
1. the distributed sources (`make distdir`, the release tarball's
   content) configured with --prefix=/usr and installed into a DESTDIR:
   exactly the files of the install layout, the examples equal to the
   sources, the scripts executable, notify-exec.conf naming the handler
   where it is installed (for another libexecdir too); make uninstall
   removes them all;
2. another copy built with dpkg-buildpackage -us -uc -b: every file the
   build adds is one .gitignore ignores, and debian/rules clean gives back
   the distributed tree;
3. lintian checks the .changes: errors fail, every other tag is printed;
4. dpkg -i installs it; the files are where Debian's collectd looks;
5. the steps of conflib.judge on the installed conf.d file, checked with
   the installed digiwatt-check on Debian's collectd.conf: inert as
   shipped, refused while unfilled, accepted once filled in;
6. the packaged file's own instructions to the letter, on the file as
   shipped: its commands (install, the editor, sed, digiwatt-check, the
   restart) run as written, the filling in done as step 2 says (BaseURL
   pointed at the simulator: the one deviation); the restart starts the
   service through Debian's init script (service, without systemd), and
   the values arrive in the RRD files of Debian's rrdtool settings, equal
   to what the simulator serves; then the service is stopped;
7. dpkg -r keeps the conffile, and collectd then refuses the
   configuration, as the file and the man page say (the source tree's
   digiwatt-check shows it);
8. dpkg --purge: no file the package listed remains, digiwatt-check
   accepts Debian's configuration with no types complaint, and of
   everything new under /etc/collectd, /usr and /var/lib/collectd only
   what the documentation says a purge leaves is there: the secret file
   and the RRD files.

Whatever happens, the service is stopped and the package purged again if
this script started or installed them, and it removes what it created
(the secret file, the RRD files); the full collectd package, installed
if missing (under a policy-rc.d, so that it starts nothing), stays like
the other dependencies. The source tree's `git status` is the same
afterwards. The run refuses to start when the package is installed, the
service runs, or Debian's configuration has been changed."""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import conflib  # noqa: E402
import lib  # noqa: E402

PACKAGE = "collectd-plugin-digiwatt"
CONF_DIR = "/etc/collectd/collectd.conf.d"
CONF = os.path.join(CONF_DIR, "digiwatt.conf")
DEBIAN_CONF = "/etc/collectd/collectd.conf"
SECRET = "/etc/collectd/digiwatt.secret"
VAR = "/var/lib/collectd"
PIDFILE = "/var/run/collectd.pid"
CHECK = "/usr/sbin/digiwatt-check"
SOURCE_CHECK = os.path.join(lib.TOP_SRCDIR, "tools", "digiwatt-check")
NOTIFY = "/usr/libexec/collectd-digiwatt/digiwatt-notify.sh"
DOC = "/usr/share/doc/%s" % PACKAGE
ACCEPTED = "digiwatt-check: configuration accepted"
MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
             "top_srcdir", "top_builddir")
# Where the files of the package or of make install may be; what is new
# there after the purge must be what the documentation says it leaves.
# (Not all of /usr: another test's python may write a __pycache__ there.)
WATCHED = ("/etc/collectd", "/usr/lib/collectd", "/usr/share/collectd",
           "/usr/share/doc", "/usr/share/man", "/usr/sbin", "/usr/libexec",
           "/usr/local", VAR)
RRD = os.path.join(VAR, "rrd")
STATE = os.path.join(VAR, "digiwatt")  # the default StateDirectory


def step(text, started=[time.time()]):
    print("[%5.1f s] %s" % (time.time() - started[0], text), flush=True)


def run(args, log=None, cwd=None, env=None, check=True):
    """Runs a command; its output goes to log (a path) or is returned."""
    out = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "a") as f:
            f.write(out.stdout)
    if check and out.returncode != 0:
        tail = "\n".join(out.stdout.splitlines()[-60:])
        lib.fail("%s exited %d:\n%s" % (" ".join(args), out.returncode, tail))
    return out


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in MAKE_VARS}


def dpkg(*args):
    """dpkg, waiting (up to 3 minutes) while apt or dpkg holds the lock."""
    for _ in range(36):
        out = run(["dpkg", *args], check=False)
        if out.returncode == 0 or "lock" not in out.stdout:
            break
        time.sleep(5)
    if out.returncode != 0:
        lib.fail("dpkg %s exited %d:\n%s" % (" ".join(args), out.returncode,
                                             out.stdout))
    return out.stdout


def status_of(package):
    out = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", package],
              check=False)
    return out.stdout.strip() if out.returncode == 0 else "not-installed"


def installed(package=PACKAGE):
    return status_of(package) not in ("", "not-installed")


def files_under(*roots):
    """Every path (files, links, directories) under the roots."""
    found = set()
    for root in roots:
        for top, dirs, names in os.walk(root):
            found |= {os.path.join(top, n) for n in dirs + names}
    return found


def service_running():
    try:
        with open(PIDFILE) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


# --- before anything ---------------------------------------------------------

def preconditions():
    if os.geteuid() != 0:
        print("SKIP: package-check installs a package: run it as root")
        sys.exit(0)
    for tool in ("dpkg-buildpackage", "dh", "lintian", "fakeroot", "apt-get",
                 "objdump"):
        if shutil.which(tool) is None:
            lib.fail("%s is missing: contrib/install-deps.sh installs "
                     "contrib/deps/package.txt" % tool)
    if not os.access(lib.RRDTOOL, os.X_OK):
        lib.fail("%s is missing: apt-get install rrdtool (contrib/deps/"
                 "package.txt)" % lib.RRDTOOL)
    if installed():
        lib.fail("%s is already installed; purge it first (dpkg --purge %s)"
                 % (PACKAGE, PACKAGE))
    ours = sorted(p for p in files_under(*WATCHED)
                  if "digiwatt" in os.path.basename(p))
    if ours:
        lib.fail("files of the plugin exist without the package (a make "
                 "install, or an earlier run? make uninstall, or move them "
                 "away): %s" % ours)
    if service_running():
        lib.fail("the collectd service runs (%s): this check starts and "
                 "stops it; stop it first (service collectd stop)" % PIDFILE)


def ensure_collectd():
    """Debian's full collectd package (its collectd.conf includes
    collectd.conf.d/), installed without starting its service."""
    if installed("collectd"):
        return
    policy = "/usr/sbin/policy-rc.d"
    made = not os.path.exists(policy)
    if made:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\n# package-check: start no service\nexit 101\n")
        os.chmod(policy, 0o755)
    env = dict(clean_env(), DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
               "collectd"]
    try:
        if run(install, env=env, check=False).returncode != 0:
            run(["apt-get", "update", "-qq"], env=env)
            run(install, env=env)
    finally:
        if made:
            os.unlink(policy)
    step("installed Debian's collectd package (it stays, as the other "
         "dependencies do)")


def check_debian_conf():
    """Debian's configuration as the collectd package ships it: that is
    what the packaged instructions are written for."""
    out = run(["dpkg-query", "-W", "-f", "${Conffiles}", "collectd"]).stdout
    sums = dict(l.split()[:2] for l in out.splitlines() if l.strip())
    with open(DEBIAN_CONF, "rb") as f:
        if hashlib.md5(f.read()).hexdigest() != sums.get(DEBIAN_CONF):
            lib.fail("%s is not the one Debian ships: this check follows the "
                     "package's instructions on Debian's own; move yours "
                     "away and reinstall collectd" % DEBIAN_CONF)
    strangers = [p for p in glob.glob(os.path.join(CONF_DIR, "*"))
                 if run(["dpkg-query", "-S", p], check=False).returncode]
    if strangers:
        lib.fail("%s holds files of no package: %s; move them away" %
                 (CONF_DIR, strangers))


def writers_libraries():
    """README.md names the packages Debian's write_prometheus.so needs
    beyond collectd-core's Depends (it only recommends them)."""
    plugin = "/usr/lib/collectd/write_prometheus.so"
    out = run(["ldd", plugin]).stdout
    if "not found" in out:
        lib.fail("%s lacks libraries (contrib/deps/writers.txt installs "
                 "them):\n%s" % (plugin, out))
    depends = run(["dpkg-query", "-W", "-f", "${Depends}",
                   "collectd-core"]).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M))
    dynamic = run(["objdump", "-p", plugin]).stdout
    direct = [(n, paths[n]) for n in re.findall(r"^\s*NEEDED\s+(\S+)",
                                                dynamic, re.M)]
    readme = open(os.path.join(lib.TOP_SRCDIR, "README.md")).read()
    m = re.search(r"\*\*Writers' libraries\.\*\*(.*?)\n\n", readme, re.S)
    if not m:
        lib.fail("README.md has no \"Writers' libraries\" paragraph")
    needed = set()
    for soname, path in direct:
        owner = None
        # dpkg knows /lib or /usr/lib, whichever the package shipped.
        for candidate in (path, os.path.realpath(path),
                          re.sub(r"^/usr/lib/", "/lib/", path)):
            found = run(["dpkg-query", "-S", candidate], check=False)
            if found.returncode == 0:
                owner = found.stdout.split(":")[0]
                break
        if owner is None:
            lib.fail("no package owns %s (%s)" % (path, soname))
        if owner not in re.split(r"[\s,(]+", depends):
            needed.add(owner)
    missing = [p for p in sorted(needed) if "`%s`" % p not in m.group(1)]
    if missing or not needed:
        lib.fail("README.md's \"Writers' libraries\" should name %s, which "
                 "write_prometheus.so needs beyond collectd-core's Depends" %
                 (missing or "what objdump -p %s calls NEEDED" % plugin))
    step("README.md names what write_prometheus needs: %s" %
         ", ".join(sorted(needed)))


def git_status():
    out = run(["git", "-C", lib.TOP_SRCDIR, "status", "--porcelain"],
              check=False)
    return out.stdout if out.returncode == 0 else None


# --- 1. make install ---------------------------------------------------------

def distdir(tmp, name):
    """The distributed sources (what `make dist` packs) in tmp/name."""
    src = os.path.join(tmp, name)
    make = os.environ.get("MAKE", "make")
    run([make, "-s", "-C", lib.TOP_BUILDDIR, "distdir", "distdir=" + src],
        log=os.path.join(tmp, "distdir.log"))
    return src


def example_sources():
    """{path under examples/: source file}: what must be installed there."""
    wanted = {"digiwatt.conf": os.path.join(lib.TOP_SRCDIR, "conf.d",
                                            "digiwatt.conf")}
    for area, skip in (("grafana", {"make-dashboards.py"}),
                       ("alerting", {"digiwatt-notify.sh"})):
        top = os.path.join(lib.TOP_SRCDIR, "contrib", area)
        for root, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            for n in names:
                if n not in skip and not n.startswith("."):
                    path = os.path.join(root, n)
                    rel = os.path.relpath(path, top)
                    wanted[os.path.join(area, rel)] = path
    return wanted


def layout(docdir):
    """{installed path without the leading '/': source or None}."""
    want = {"usr/lib/collectd/digiwatt.so": None,
            "usr/share/collectd/digiwatt.db": os.path.join(
                lib.TOP_SRCDIR, "types.db.d", "digiwatt.db"),
            "usr/sbin/digiwatt-check": SOURCE_CHECK,
            NOTIFY[1:]: os.path.join(lib.TOP_SRCDIR, "contrib", "alerting",
                                     "digiwatt-notify.sh")}
    for rel, src in example_sources().items():
        want[os.path.join(docdir, "examples", rel)] = src
    return want


def notify_target(conf_path):
    with open(conf_path) as f:
        m = re.search(r'^\s*NotificationExec "[^"]*" "([^"]+)"', f.read(),
                      re.M)
    return m and m.group(1)


def check_dest(dest, want):
    found = {os.path.relpath(p, dest) for p in files_under(dest)
             if not os.path.isdir(p)}
    want = dict(want)
    want["usr/share/man/man5/collectd-digiwatt.5"] = None
    want["usr/share/man/man8/digiwatt-check.8"] = None
    if found != set(want):
        lib.fail("make install --prefix=/usr: missing %s, unexpected %s; the "
                 "example lists are in doc/doc.am" %
                 (sorted(set(want) - found), sorted(found - set(want))))
    for rel, src in want.items():
        path = os.path.join(dest, rel)
        if src and not rel.endswith("notify-exec.conf"):
            if open(src, "rb").read() != open(path, "rb").read():
                lib.fail("%s differs from %s" % (rel, src))
        if rel.startswith("usr/lib/"):
            continue  # the plugin: libtool decides
        executable = rel.startswith(("usr/sbin/", "usr/libexec/"))
        if executable != bool(os.stat(path).st_mode & 0o111):
            lib.fail("%s is %sexecutable" %
                     (rel, "not " if executable else ""))


def install_layout(tmp, env):
    """./configure --prefix=/usr, make install into a DESTDIR: the files
    land where Debian's collectd looks; make uninstall removes them."""
    src = distdir(tmp, "layout-src")
    build_dir = os.path.join(tmp, "layout-build")
    os.makedirs(build_dir)
    log = os.path.join(tmp, "layout.log")
    run([os.path.join(src, "configure"), "-q", "--prefix=/usr"],
        cwd=build_dir, env=env, log=log)
    jobs = "-j%d" % (os.cpu_count() or 1)
    run(["make", "-s", jobs], cwd=build_dir, env=env, log=log)
    want = layout("usr/share/doc/collectd-digiwatt")
    dest = os.path.join(tmp, "layout-dest")
    run(["make", "-s", "install", "DESTDIR=" + dest], cwd=build_dir, env=env,
        log=log)
    check_dest(dest, want)
    exec_conf = "usr/share/doc/collectd-digiwatt/examples/alerting/" \
                "notify-exec.conf"
    if notify_target(os.path.join(dest, exec_conf)) != NOTIFY:
        lib.fail("the installed notify-exec.conf names %r, not %s" %
                 (notify_target(os.path.join(dest, exec_conf)), NOTIFY))
    other = os.path.join(tmp, "layout-other")
    run(["make", "-s", "install", "DESTDIR=" + other,
         "libexecdir=/opt/dw/libexec"], cwd=build_dir, env=env, log=log)
    target = notify_target(os.path.join(other, exec_conf))
    if target != "/opt/dw/libexec/collectd-digiwatt/digiwatt-notify.sh" or \
            not os.access(other + target, os.X_OK):
        lib.fail("with libexecdir=/opt/dw/libexec, notify-exec.conf names "
                 "%r" % target)
    for d, extra in ((dest, []), (other, ["libexecdir=/opt/dw/libexec"])):
        run(["make", "-s", "uninstall", "DESTDIR=" + d, *extra],
            cwd=build_dir, env=env, log=log)
        left = [p for p in files_under(d) if not os.path.isdir(p)]
        if left:
            lib.fail("make uninstall left %s" % left)
    step("make install (--prefix=/usr): %d files in place, the examples as "
         "in the sources, notify-exec.conf naming %s; make uninstall removed "
         "them" % (len(want) + 2, NOTIFY))


# --- 2. the package ----------------------------------------------------------

def build_leftovers(src, before, env):
    """What dpkg-buildpackage adds to the tree it builds in is ignored by
    git; debian/rules clean takes it all away again."""
    new = sorted(os.path.relpath(p, src) for p in files_under(src) - before)
    if git_status() is not None:
        out = subprocess.run(["git", "-C", lib.TOP_SRCDIR, "check-ignore",
                              "--no-index", "--stdin"],
                             input="\n".join(new) + "\n", text=True,
                             capture_output=True)
        ignored = set(out.stdout.split("\n"))
        # A directory counts as ignored when what is in it is.
        loose = [p for p in new if p not in ignored and not any(
            p.startswith(i + "/") for i in ignored if i) and
            not os.path.isdir(os.path.join(src, p))]
        if loose:
            lib.fail("a package build in the tree leaves files git would "
                     "show: %s; add them to .gitignore" % loose[:20])
    run(["debian/rules", "clean"], cwd=src, env=env,
        log=os.path.join(src, "..", "clean.log"))
    # Files only: make distclean leaves the emptied .deps directories,
    # which neither git nor dpkg-source sees.
    after = {p for p in files_under(src) if not os.path.isdir(p)}
    before = {p for p in before if not os.path.isdir(p)}
    if after != before:
        lib.fail("debian/rules clean leaves %s and removes %s" %
                 (sorted(after - before)[:20], sorted(before - after)[:20]))
    step("the build added %d paths, all ignored by .gitignore; debian/rules "
         "clean removed them" % len(new))


def build(tmp):
    """The .deb and .changes built from the distributed sources."""
    env = clean_env()
    install_layout(tmp, env)
    src = distdir(tmp, PACKAGE)
    before = files_under(src)
    step("sources in %s" % src)
    log = os.path.join(tmp, "build.log")
    run(["dpkg-buildpackage", "-us", "-uc", "-b", "-Jauto"], cwd=src, env=env,
        log=log)
    debs = glob.glob(os.path.join(tmp, PACKAGE + "_*.deb"))
    changes = glob.glob(os.path.join(tmp, PACKAGE + "_*.changes"))
    if len(debs) != 1 or len(changes) != 1:
        lib.fail("expected one .deb and one .changes in %s: %s" %
                 (tmp, os.listdir(tmp)))
    step("built %s (log: %s)" % (os.path.basename(debs[0]), log))
    build_leftovers(src, before, env)
    return debs[0], changes[0]


def lint(changes):
    out = run(["lintian", "--fail-on", "error", "--info", "--display-info",
               changes], check=False)
    tags = [l for l in out.stdout.splitlines()
            if l[:2] in ("E:", "W:", "I:", "P:", "X:", "O:")]
    for line in tags:
        print("  lintian " + line)
    errors = [l for l in tags if l.startswith("E:")]
    if out.returncode != 0 or errors:
        lib.fail("lintian found errors (exit %d):\n%s" % (out.returncode,
                                                         out.stdout))
    step("lintian: no errors, %d warnings, %d other tags" % (
        sum(l.startswith("W:") for l in tags),
        sum(not l.startswith(("E:", "W:")) for l in tags)))


def check_installed(deb):
    files = [f for f in dpkg("-L", PACKAGE).split("\n") if f and f != "/."]
    want = ["/" + p for p in layout(DOC[1:])] + [
        CONF, "/usr/share/man/man5/collectd-digiwatt.5.gz",
        "/usr/share/man/man8/digiwatt-check.8.gz", DOC + "/copyright",
        DOC + "/changelog.gz"]
    for path in want:
        if path not in files or not os.path.isfile(path):
            lib.fail("%s is not installed by the package" % path)
    for path in (CHECK, NOTIFY):
        if not os.access(path, os.X_OK):
            lib.fail("%s is not executable" % path)
    if notify_target(DOC + "/examples/alerting/notify-exec.conf") != NOTIFY:
        lib.fail("the packaged notify-exec.conf does not name %s" % NOTIFY)
    leftovers = [f for f in files if f.endswith(".la")]
    if leftovers:
        lib.fail("libtool archives installed: %s" % leftovers)
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for need in ("collectd-core", "libcurl", "libyajl", "libc6"):
        if need not in depends:
            lib.fail("Depends lacks %s: %s" % (need, depends))
    suggests = run(["dpkg-deb", "-f", deb, "Suggests"]).stdout
    if "collectd" not in re.split(r"[\s,]+", suggests):
        lib.fail("Suggests lacks collectd, whose collectd.conf includes "
                 "collectd.conf.d/: %r" % suggests)
    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE]).stdout
    if CONF not in conffiles:
        lib.fail("%s is not a conffile: %r" % (CONF, conffiles))
    step("installed: %d paths, Depends: %s" % (len(files), depends.strip()))
    return files


# --- 5. and 6.: the configuration --------------------------------------------

def installed_check(conf):
    return conflib.digiwatt_check(CHECK, conf)


def instructions(text):
    """The commands of the file's header: its lines indented by 8."""
    commands = re.findall(r"^#        (\S.*)$", text, re.M)
    want = ["install -m 600 /dev/null " + SECRET, "editor " + SECRET,
            "sed -i 's/^#\\([^ #]\\)/\\1/' " + CONF, "digiwatt-check",
            "systemctl restart collectd"]
    if commands != want or "service collectd restart" not in text:
        lib.fail("the instructions of %s changed: %r; bring this test along "
                 "(and keep the restart without systemd)" % (CONF, commands))
    return commands


def sh(command):
    out = run(["sh", "-c", command], check=False)
    if out.returncode != 0:
        lib.fail("%r (from %s) exited %d:\n%s" % (command, CONF,
                                                  out.returncode, out.stdout))
    return out.stdout


def restart():
    """Step 4's restart; without systemd, the file's other spelling."""
    if os.path.isdir("/run/systemd/system"):
        sh("systemctl restart collectd")
    else:
        sh("service collectd restart")
    if not service_running():
        lib.fail("the collectd service did not start (%s)" % PIDFILE)


def stop():
    cmd = ("systemctl stop collectd" if os.path.isdir("/run/systemd/system")
           else "service collectd stop")
    run(["sh", "-c", cmd], check=False)
    for _ in range(100):
        if not service_running():
            return
        time.sleep(0.1)
    lib.fail("the collectd service did not stop: %s" % cmd)


def follow(shipped, sim):
    """The file's steps to the letter, on the file as shipped. Returns
    when collectd was restarted."""
    with open(CONF, "w") as f:
        f.write(shipped)
    for command in instructions(shipped):
        if command.startswith("editor "):
            with open(SECRET, "w") as f:  # what the operator types
                f.write(sim.client_secret + "\n")
        elif command.startswith("sed "):
            with open(CONF) as f:  # step 2, before step 3
                text = f.read()
            with open(CONF, "w") as f:
                f.write(conflib.fill(text, client_id=sim.client_id,
                                     meter="125fd56", base_url=sim.base))
            sh(command)
        elif command == "digiwatt-check":
            out = sh(command)
            if (conflib.verdict(out) != ACCEPTED or "warning" in out or
                    conflib.types_trouble(out) or sim.client_secret in out):
                lib.fail("digiwatt-check, as step 4 says:\n" + out)
        elif command.startswith("systemctl restart"):
            restarted = int(time.time())
            restart()
        else:
            sh(command)
    if os.stat(SECRET).st_mode & 0o077:
        lib.fail("step 1 left %s readable by others" % SECRET)
    step("the file's steps as written: secret, filled in, sed, "
         "digiwatt-check accepted, collectd restarted")
    return restarted


def rrd_last(path):
    """(time, value) of an RRD file's last update, or None."""
    if not os.path.exists(path):
        return None
    out = run([lib.RRDTOOL, "lastupdate", path]).stdout.split("\n")
    when, value = out[2].split(":", 1)  # " value\n\n1700000000: 12.5"
    return int(when), None if value.strip() == "U" else float(value)


def rrd_values(sim, started):
    """The meter's value in the RRD files of Debian's rrdtool settings,
    stored by the daemon started at `started`."""
    want = sim.get("125fd56", "consumption", "yesterday")["value"]
    deadline = time.time() + 60
    while time.time() < deadline:
        for meter in glob.glob(os.path.join(RRD, "*", "digiwatt-home")):
            host = os.path.dirname(meter)
            last = rrd_last(os.path.join(
                meter, "digiwatt_energy_kwh-consumption-yesterday.rrd"))
            requests = os.path.join(host, "digiwatt-account-main",
                                    "digiwatt_requests-data.rrd")
            if last and last[0] >= started and last[1] is not None and \
                    os.path.exists(requests):
                if not lib.close(last[1], want):
                    lib.fail("consumption-yesterday of meter home: the RRD "
                             "has %r (since %d), the simulator serves %r" %
                             (last, started, want))
                host = os.path.basename(host)
                step("collectd (Debian's init script, Debian's collectd.conf):"
                     " %s/digiwatt-home/digiwatt_energy_kwh-consumption-"
                     "yesterday.rrd holds %s, as served" % (host, want))
                return
        time.sleep(0.5)
    lib.fail("no value of meter home in %s/rrd/*/digiwatt-home within 60 s"
             % VAR)


# --- 7. and 8.: remove, purge ------------------------------------------------

def remove():
    """dpkg -r keeps the enabled conffile; collectd then refuses to start,
    as the file and the man page warn."""
    dpkg("-r", PACKAGE)
    if not os.path.exists(CONF):
        lib.fail("dpkg -r removed the conffile %s" % CONF)
    status, out = conflib.digiwatt_check(SOURCE_CHECK, DEBIAN_CONF)
    if status != 1 or 'plugin "digiwatt"' not in conflib.verdict(out):
        lib.fail("after dpkg -r, collectd should refuse the configuration "
                 "for the missing plugin:\n" + out)
    step("dpkg -r: the conffile stays and collectd refuses the "
         "configuration (%s)" % conflib.verdict(out)[len(
             "digiwatt-check: configuration refused: "):])


def purge(files, before):
    # the run kept state in the default StateDirectory; purge removes it
    if not os.path.isfile(os.path.join(STATE, "main.state")):
        lib.fail("no state file under %s before the purge" % STATE)
    dpkg("--purge", PACKAGE)
    if os.path.lexists(STATE):
        lib.fail("the purge left the state directory %s" % STATE)
    if installed():
        lib.fail("%s is still installed after dpkg --purge" % PACKAGE)
    left = []
    for path in files:
        if not os.path.lexists(path):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            owned = run(["dpkg-query", "-S", path], check=False)
            if owned.returncode == 0:
                continue  # a directory other packages share
        left.append(path)
    if left or os.path.lexists(CONF):
        lib.fail("left behind after purge: %s" % (left or [CONF]))
    status, out = conflib.digiwatt_check(SOURCE_CHECK, DEBIAN_CONF)
    if status != 0 or conflib.types_trouble(out) or "warning" in out:
        lib.fail("after the purge, Debian's configuration draws complaints:\n"
                 + out)
    new = sorted(files_under(*WATCHED) - before)
    documented = [p for p in new if p == SECRET or p.startswith(RRD)]
    new += glob.glob("/var/lib/dpkg/info/%s.*" % PACKAGE)
    if sorted(new) != documented:
        lib.fail("after the purge, not documented as left: %s" %
                 sorted(set(new) - set(documented)))
    if SECRET not in new or not any("/digiwatt-home/" in p for p in new):
        lib.fail("a purge should leave the secret file and the RRD files, "
                 "as the documentation says: %s" % new[:10])
    step("purged: none of the %d paths remains, nor the state directory; "
         "digiwatt-check accepts "
         "Debian's configuration without types complaints; left as "
         "documented: %s and %d RRD paths" % (len(files), SECRET,
                                              len(new) - 1))


def tidy_rrd(before):
    """Removes the RRD files and directories this run created (collectd -T
    and the daemon with Debian's configuration write them), deepest
    first."""
    made = files_under(RRD) | ({RRD} if os.path.isdir(RRD) else set())
    for path in sorted(made - before, reverse=True):
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)


# --- the whole ---------------------------------------------------------------

def exercise(tmp, sim, deb, before):
    files = check_installed(deb)
    with open(CONF) as f:
        shipped = f.read()
    workdir = os.path.join(tmp, "run")
    os.makedirs(workdir, exist_ok=True)
    conflib.judge(lib.COLLECTD, workdir, CONF, CONF_DIR, sim, lib.fail,
                  main=DEBIAN_CONF, check=installed_check)
    step("digiwatt-check on Debian's collectd.conf: inert as shipped, "
         "refused unfilled, accepted filled in")
    tidy_rrd(before)  # what judge's collectd -T runs stored
    rrd_values(sim, follow(shipped, sim))
    stop()
    remove()
    return files


def main():
    preconditions()
    git_before = git_status()
    ensure_collectd()
    check_debian_conf()
    writers_libraries()
    before = files_under(*WATCHED)
    tmp = tempfile.mkdtemp(prefix="digiwatt-pkg-")
    sim = None
    ours = False
    try:
        deb, changes = build(tmp)
        lint(changes)
        ours = True
        dpkg("-i", deb)
        sim = lib.Simulator(tmp, client_id="pkg-client",
                            client_secret="pkg-s3cret")
        files = exercise(tmp, sim, deb, before)
        purge(files, before)
        ours = False
    finally:
        if service_running():
            stop()
        if sim is not None:
            sim.stop()
        if ours and installed():
            run(["dpkg", "--purge", PACKAGE], check=False)
        tidy_rrd(before)
        if SECRET not in before and os.path.lexists(SECRET):
            os.unlink(SECRET)
        if os.environ.get("KEEP_WORKDIR"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if git_status() != git_before:
        lib.fail("git status of the source tree changed during the check:\n"
                 "before:\n%s\nafter:\n%s" % (git_before, git_status()))
    print("ok: package built, lintian clean of errors, installed next to "
          "Debian's collectd, its instructions followed, values stored, "
          "purged leaving only what the documentation says")


if __name__ == "__main__":
    main()
