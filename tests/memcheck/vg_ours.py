#!/usr/bin/python3
"""Reads valgrind XML logs (--xml=yes --xml-file=...) of collectd runs and
reports the errors that are ours: those with a stack frame in digiwatt.so
or in one of the plugin's sources (plugin/dw_*.c, plugin/digiwatt.c).

collectd and its other plugins have leaks and quirks of their own that are
not ours to fix, so the daemon's exit status under valgrind says little;
an error counts when the plugin is on its stack (for a leak: the stack
that allocated the block; for an invalid access: the access or the stack
that allocated or freed the block).

    vg_ours.py [--expect-ours N] [--min-others N] LOG.xml...

Exit 0 when no error is ours; 1 otherwise, and also when no log holds a
valgrind run at all, since then nothing was checked. The self-test plants
leaks and states what it planted: exactly N errors of ours
(--expect-ours), at least N of others (--min-others; collectd may add
leaks of its own)."""

import os
import re
import sys
import xml.etree.ElementTree as ET

OUR_OBJ = "digiwatt.so"
OUR_FILE = re.compile(r"^(dw_[a-z_]+|digiwatt)\.c$")


def is_ours(frame):
    obj = frame.findtext("obj") or ""
    name = frame.findtext("file") or ""
    return os.path.basename(obj) == OUR_OBJ or OUR_FILE.match(name) is not None


def describe(frame):
    fn = frame.findtext("fn") or frame.findtext("ip") or "?"
    name = frame.findtext("file")
    where = ("%s:%s" % (name, frame.findtext("line"))) if name else \
        os.path.basename(frame.findtext("obj") or "?")
    return "%s (%s)" % (fn, where)


def text_of(error):
    what = error.find("xwhat")
    if what is not None:
        return what.findtext("text") or ""
    return error.findtext("what") or ""


def read_log(path):
    """(pid, [error elements]); pid None when the file holds no run."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        # valgrind writes the closing tag last: a truncated file is a
        # process that died under valgrind, which is worth a look too
        raise SystemExit("FAIL: %s is not complete valgrind XML (%s)" %
                         (path, e))
    return root.findtext("pid"), root.findall("error")


def main(argv):
    expect_ours = min_others = None
    paths = []
    it = iter(argv)
    for arg in it:
        if arg == "--expect-ours":
            expect_ours = int(next(it))
        elif arg == "--min-others":
            min_others = int(next(it))
        else:
            paths.append(arg)
    runs = ours = others = 0
    for path in paths:
        pid, errors = read_log(path)
        if pid is None:
            continue
        runs += 1
        for error in errors:
            frames = error.findall(".//stack/frame")
            if not any(is_ours(f) for f in frames):
                others += 1
                continue
            ours += 1
            print("%s: %s: %s" % (path, error.findtext("kind"),
                                  text_of(error)))
            for f in frames:
                print("    %s%s" % ("* " if is_ours(f) else "  ", describe(f)))
    print("valgrind: %d run(s), %d error(s) in the plugin, %d elsewhere "
          "(collectd and its other plugins: not counted)" %
          (runs, ours, others))
    if runs == 0:
        print("FAIL: no valgrind run in %s" % (" ".join(paths) or "(none)"))
        return 1
    if min_others is not None and others < min_others:
        print("FAIL: expected at least %d error(s) elsewhere" % min_others)
        return 1
    if expect_ours is not None:
        return 0 if ours == expect_ours else 1
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
