#!/usr/bin/python3
"""Every configuration the manual page shows (SYNOPSIS and EXAMPLES of
doc/collectd-digiwatt.pod) is accepted by collectd -T with the built plugin
against the simulator, once its API address and credentials point there;
the fleet file the page shows is used as the SmartmeterFile. So the page's
examples cannot fall behind the grammar."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import lib  # noqa: E402

POD = os.path.join(lib.TOP_SRCDIR, "doc", "collectd-digiwatt.pod")
API = "https://api.digiwatt.example/v1"
SECRET_FILE = "/etc/collectd/digiwatt.secret"
METERS_FILE = "/etc/collectd/digiwatt-meters.txt"


def verbatim_blocks(section):
    """The verbatim paragraphs (indented lines) of a =head1 section."""
    with open(POD) as f:
        text = f.read()
    m = re.search(r"^=head1 %s\n(.*?)^=head1 " % section, text, re.S | re.M)
    if not m:
        lib.fail("the man page has no %s section" % section)
    blocks, current = [], []
    for line in m.group(1).split("\n"):
        if line.startswith(" "):
            current.append(line[1:])
        elif not line.strip() and current:
            current.append("")
        elif current:
            blocks.append("\n".join(current).strip("\n"))
            current = []
    if current:
        blocks.append("\n".join(current).strip("\n"))
    return blocks


def adapt(block, sim, secret, meters):
    """The example with the simulator's address and credentials."""
    if API not in block or "ClientID" not in block:
        lib.fail("an example lacks BaseURL %s or ClientID:\n%s" % (API, block))
    block = block.replace(API, sim.base)
    block = re.sub(r'ClientID "[^"]*"', 'ClientID "%s"' % sim.client_id, block)
    block = block.replace(SECRET_FILE, secret)
    block = block.replace(METERS_FILE, meters)
    # The test's collectd.conf loads the plugin and lists the types itself.
    return "\n".join(l for l in block.split("\n")
                     if not l.startswith(("TypesDB", "LoadPlugin")))


def main():
    examples = [b for b in verbatim_blocks("SYNOPSIS") +
                verbatim_blocks("EXAMPLES") if "<Plugin digiwatt>" in b]
    fleet = [b for b in verbatim_blocks("EXAMPLES")
             if re.match(r"^# ID\b", b)]
    if len(examples) < 4 or len(fleet) != 1:
        lib.fail("expected the synopsis, three examples and one fleet file "
                 "in the man page; found %d and %d" %
                 (len(examples), len(fleet)))
    with lib.Workdir() as workdir:
        sim = lib.Simulator(workdir, client_id="man-client",
                            client_secret="man-s3cret")
        try:
            secret = os.path.join(workdir, "digiwatt.secret")
            with open(secret, "w") as f:
                f.write(sim.client_secret + "\n")
            os.chmod(secret, 0o600)
            meters = os.path.join(workdir, "digiwatt-meters.txt")
            with open(meters, "w") as f:
                f.write(fleet[0] + "\n")
            for number, example in enumerate(examples, 1):
                conf = lib.collectd_config(
                    workdir, adapt(example, sim, secret, meters), writers=())
                run = subprocess.run([lib.COLLECTD, "-T", "-C", conf],
                                     capture_output=True, text=True,
                                     timeout=120)
                with open(os.path.join(workdir, "collectd.log")) as f:
                    log = f.read()
                if run.returncode != 0:
                    lib.fail("example %d of the man page: collectd -T exit "
                             "%d:\n%s\n%s%s" % (number, run.returncode,
                                                example, run.stdout +
                                                run.stderr, log))
                if "[error]" in log:
                    lib.fail("example %d logged errors:\n%s" % (number, log))
        finally:
            sim.stop()
    print("ok: the %d configurations of the man page pass collectd -T" %
          len(examples))


if __name__ == "__main__":
    main()
