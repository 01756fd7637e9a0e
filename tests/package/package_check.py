#!/usr/bin/python3
"""The Debian package, end to end, on this machine (make package-check;
root, Debian 12, the packages of contrib/deps/package.txt):

1. the source tree as `make distdir` gives it (the release tarball's
   content) is built with dpkg-buildpackage -us -uc -b;
2. lintian checks the .changes (the .deb and .buildinfo with it): errors
   fail, every other tag is printed;
3. dpkg -i installs it; the files are where Debian's collectd looks;
4. the installed /etc/collectd/collectd.conf.d/digiwatt.conf goes through
   the steps of conflib.judge with the installed plugin (default PluginDir
   /usr/lib/collectd) and /usr/share/collectd/digiwatt.db: inert, refused
   while unfilled, accepted by collectd -T once filled in;
5. /usr/sbin/collectd runs with it against the simulator of the build
   tree and values arrive in csv, equal to what the simulator serves;
6. dpkg --purge removes it, and no file the package listed remains (nor
   the edited configuration, nor a directory only it owned).

The system's collectd service is never started or touched. Whatever
happens, the package is purged again if this script installed it."""

import glob
import os
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
EXPECTED = [
    "/usr/lib/collectd/digiwatt.so",
    "/usr/share/collectd/digiwatt.db",
    "/usr/share/man/man5/collectd-digiwatt.5.gz",
    CONF,
    "/usr/share/doc/%s/examples/digiwatt.conf" % PACKAGE,
    "/usr/share/doc/%s/copyright" % PACKAGE,
    "/usr/share/doc/%s/changelog.gz" % PACKAGE,
]
MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
             "top_srcdir", "top_builddir")


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


def installed():
    out = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", PACKAGE],
              check=False)
    return out.returncode == 0 and out.stdout.strip() not in ("",
                                                              "not-installed")


def preconditions():
    if os.geteuid() != 0:
        print("SKIP: package-check installs a package: run it as root")
        sys.exit(0)
    for tool in ("dpkg-buildpackage", "dh", "lintian", "fakeroot"):
        if shutil.which(tool) is None:
            lib.fail("%s is missing: contrib/install-deps.sh installs "
                     "contrib/deps/package.txt" % tool)
    if installed():
        lib.fail("%s is already installed; purge it first (dpkg --purge %s)"
                 % (PACKAGE, PACKAGE))
    if os.path.lexists(CONF):
        lib.fail("%s exists without the package; move it away first" % CONF)


def distdir(tmp, name):
    """The distributed sources (what `make dist` packs) in tmp/name."""
    src = os.path.join(tmp, name)
    make = os.environ.get("MAKE", "make")
    run([make, "-s", "-C", lib.TOP_BUILDDIR, "distdir", "distdir=" + src],
        log=os.path.join(tmp, "distdir.log"))
    return src


def install_layout(tmp, env):
    """./configure --prefix=/usr (defaults otherwise), make install into a
    DESTDIR: the files land where Debian's collectd looks; make uninstall
    removes every one of them."""
    src = distdir(tmp, "layout-src")
    build_dir = os.path.join(tmp, "layout-build")
    dest = os.path.join(tmp, "layout-dest")
    os.makedirs(build_dir)
    log = os.path.join(tmp, "layout.log")
    run([os.path.join(src, "configure"), "-q", "--prefix=/usr"],
        cwd=build_dir, env=env, log=log)
    jobs = "-j%d" % (os.cpu_count() or 1)
    run(["make", "-s", jobs, "install", "DESTDIR=" + dest], cwd=build_dir,
        env=env, log=log)
    want = {"usr/lib/collectd/digiwatt.so", "usr/share/collectd/digiwatt.db",
            "usr/share/doc/collectd-digiwatt/examples/digiwatt.conf",
            "usr/share/man/man5/collectd-digiwatt.5"}
    found = set()
    for root, _dirs, names in os.walk(dest):
        found |= {os.path.relpath(os.path.join(root, n), dest) for n in names}
    if found != want:
        lib.fail("make install --prefix=/usr: missing %s, unexpected %s" %
                 (sorted(want - found), sorted(found - want)))
    run(["make", "-s", "uninstall", "DESTDIR=" + dest], cwd=build_dir,
        env=env, log=log)
    found = [os.path.join(r, n) for r, _d, names in os.walk(dest)
             for n in names]
    if found:
        lib.fail("make uninstall left %s" % found)
    step("make install (--prefix=/usr): %d files in place; make uninstall "
         "removed them" % len(want))


def build(tmp):
    """The .deb and .changes built from the distributed sources."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARS}
    install_layout(tmp, env)
    src = distdir(tmp, PACKAGE)
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
    files = dpkg("-L", PACKAGE).split("\n")
    files = [f for f in files if f and f != "/."]
    for path in EXPECTED:
        if path not in files or not os.path.isfile(path):
            lib.fail("%s is not installed by the package" % path)
    leftovers = [f for f in files if f.endswith(".la")]
    if leftovers:
        lib.fail("libtool archives installed: %s" % leftovers)
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for need in ("collectd-core", "libcurl", "libyajl", "libc6"):
        if need not in depends:
            lib.fail("Depends lacks %s: %s" % (need, depends))
    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE]).stdout
    if CONF not in conffiles:
        lib.fail("%s is not a conffile: %r" % (CONF, conffiles))
    step("installed: %d paths, Depends: %s" % (len(files), depends.strip()))
    return files


def run_daemon(workdir, sim):
    """collectd -f with the installed plugin and the filled-in file."""
    csv = os.path.join(workdir, "csv")
    log = os.path.join(workdir, "collectd.log")
    conf = conflib.collectd_conf(
        workdir, CONF_DIR, log_file=log, filter="digiwatt.conf",
        extra='LoadPlugin csv\n<Plugin csv>\n  DataDir "%s"\n'
              '  StoreRates false\n</Plugin>' % csv)
    status, out = lib.run_collectd(conf, 4)
    with open(log) as f:
        text = f.read()
    if sim.client_secret in text + out:
        lib.fail("the secret appears in collectd's output")
    errors = [l for l in text.splitlines()
              if "[error]" in l and "digiwatt" in l]
    if errors:
        lib.fail("the plugin logged errors:\n" + "\n".join(errors))
    want = sim.get("125fd56", "consumption", "yesterday")["value"]
    rows = lib.csv_rows(workdir, "pkg", "home", "digiwatt_energy_kwh",
                        "consumption-yesterday")
    if not rows or not lib.close(rows[-1][1][0], want):
        lib.fail("consumption-yesterday of meter home: csv has %r, the "
                 "simulator serves %r\n%s" % (rows[-1:], want, text))
    requests = lib.csv_rows(workdir, "pkg", "account-main",
                            "digiwatt_requests", "data")
    if not requests:
        lib.fail("no self-metric digiwatt_requests-data in csv")
    step("collectd -f: %d rows of consumption-yesterday, value %s as "
         "served" % (len(rows), want))


def purge(files):
    dpkg("--purge", PACKAGE)
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
    step("purged: none of the %d paths remains" % len(files))


def main():
    preconditions()
    tmp = tempfile.mkdtemp(prefix="digiwatt-pkg-")
    sim = None
    ours = False
    try:
        deb, changes = build(tmp)
        lint(changes)
        ours = True
        dpkg("-i", deb)
        files = check_installed(deb)
        workdir = os.path.join(tmp, "run")
        os.makedirs(workdir)
        sim = lib.Simulator(workdir, client_id="pkg-client",
                            client_secret="pkg-s3cret")
        conflib.judge(lib.COLLECTD, workdir, CONF, CONF_DIR, sim, lib.fail,
                      filter="digiwatt.conf")
        step("collectd -T: inert as shipped, refused unfilled, accepted "
             "filled in")
        run_daemon(workdir, sim)
        purge(files)
        ours = False
    finally:
        if sim is not None:
            sim.stop()
        if ours and installed():
            run(["dpkg", "--purge", PACKAGE], check=False)
        if os.environ.get("KEEP_WORKDIR"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok: package built, lintian clean of errors, installed, run, "
          "purged without leftovers")


if __name__ == "__main__":
    main()
