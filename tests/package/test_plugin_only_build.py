"""An operator builds the plugin alone: `./configure --disable-tests && make`
needs only collectd's headers, libcurl and yajl.

The test copies the source tree (the files git knows, as CI clones them),
and configures it where pkg-config finds nothing but libcurl and yajl and
where pod2man does not exist, then:

- without --disable-tests, configure fails and its message names the
  missing test dependency and the option that does without it;
- with --disable-tests, configure succeeds and `make` builds digiwatt.so,
  which exports only module_register and links neither Check nor
  libmicrohttpd, while the simulator and the unit suites are not built.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
PKG_DIRS = ["/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/pkgconfig",
            "/usr/share/pkgconfig"]
RUNTIME_PC = ["libcurl.pc", "yajl.pc"]


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def run(cmd, cwd, env, check=True):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and p.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(cmd), p.returncode,
                                    p.stdout[-3000:]))
    return p


def copy_tree(dest):
    if subprocess.run(["git", "-C", TOP, "rev-parse", "--git-dir"],
                      stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        files = subprocess.run(
            ["git", "-C", TOP, "ls-files", "-co", "--exclude-standard", "-z"],
            stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
        for name in (f.decode() for f in files if f):
            src = os.path.join(TOP, name)
            if not os.path.isfile(src):
                continue
            os.makedirs(os.path.dirname(os.path.join(dest, name)),
                        exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name))
    else:  # a release tarball: its files are what there is
        shutil.copytree(TOP, dest, dirs_exist_ok=True, symlinks=True)


def runtime_only_pkgconfig(where):
    """A pkg-config path that holds libcurl and yajl and nothing else."""
    os.makedirs(where)
    for pc in RUNTIME_PC:
        found = [os.path.join(d, pc) for d in PKG_DIRS
                 if os.path.exists(os.path.join(d, pc))]
        if not found:
            fail("%s not found: install libcurl4-openssl-dev libyajl-dev" % pc)
        os.symlink(found[0], os.path.join(where, pc))


def main():
    work = tempfile.mkdtemp(prefix="plugin-only-")
    try:
        src = os.path.join(work, "src")
        copy_tree(src)
        pcdir = os.path.join(work, "pkgconfig")
        runtime_only_pkgconfig(pcdir)
        env = dict(os.environ, PKG_CONFIG_LIBDIR=pcdir, PKG_CONFIG_PATH="",
                   ac_cv_path_POD2MAN="no")
        run(["autoreconf", "-fi"], src, env)

        full = run(["./configure", "-q"], src, env, check=False)
        if full.returncode == 0:
            fail("configure without --disable-tests succeeded although "
                 "pkg-config sees no Check")
        if "--disable-tests" not in full.stdout or "check" not in full.stdout:
            fail("configure's error does not name Check and --disable-tests:"
                 "\n" + full.stdout[-1500:])

        out = run(["./configure", "--disable-tests"], src, env).stdout
        if "manual page is not built" not in out:
            fail("configure did not say that the manual page is left out")
        run(["make", "-j2"], src, env)
        so = os.path.join(src, ".libs", "digiwatt.so")
        if not os.path.exists(so):
            fail("no .libs/digiwatt.so after make")
        exported = run(["nm", "-D", "--defined-only", so], src, env).stdout
        symbols = {line.split()[-1] for line in exported.splitlines()
                   if line.split() and line.split()[-2] in ("T", "D", "B")}
        if symbols != {"module_register"}:
            fail("digiwatt.so exports %s, want only module_register"
                 % sorted(symbols))
        needed = run(["objdump", "-p", so], src, env).stdout
        for lib in ("libcheck", "libmicrohttpd"):
            if lib in needed:
                fail("digiwatt.so needs %s" % lib)
        built_tests = glob.glob(os.path.join(src, "tests", "unit", "check_*"))
        built_tests = [t for t in built_tests if not t.endswith(".c")]
        if os.path.exists(os.path.join(src, "sim", "digiwatt-sim")) or \
                built_tests:
            fail("make built the simulator or unit suites with "
                 "--disable-tests")
        print("ok: --disable-tests builds digiwatt.so with libcurl and yajl "
              "alone, exporting only module_register")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
