"""The house rules of plugin/, checked on the sources themselves.

- Every room's header (the glue's .c) opens with its contract: a first
  line naming the file, then "Owns:" and "May call:".
- A room includes only the rooms its contract says it may call, and the
  libraries too: curl only in the transport (dw_http, dw_transfer,
  dw_conn), yajl
  only in dw_json, collectd's
  headers only where the contract names collectd or oconfig.
- The include picture has no circle, and nothing includes the glue.
- No file in plugin/ is longer than 600 lines.
- doc/architecture.md names every room.

A failure names the file and the rule, so the fix is obvious."""

import os
import re
import sys

TOP = os.environ.get("top_srcdir", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
PLUGIN = os.path.join(TOP, "plugin")
GLUE = "digiwatt"
MAX_LINES = 600

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


PROBLEMS = []


def fail(message):
    """Notes a broken rule; every one is reported before the test fails."""
    PROBLEMS.append(message)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def rooms():
    names = set()
    for name in os.listdir(PLUGIN):
        base, ext = os.path.splitext(name)
        if ext in (".c", ".h"):
            names.add(base)
    return sorted(names)


def sources_of(room):
    return [os.path.join(PLUGIN, room + ext) for ext in (".c", ".h")
            if os.path.exists(os.path.join(PLUGIN, room + ext))]


def contract_of(room):
    """(owns, may_call) text of the comment that opens the room's header
    (the glue has no header: its .c)."""
    path = os.path.join(PLUGIN, room + (".c" if room == GLUE else ".h"))
    text = read(path)
    if not text.startswith("/* %s" % os.path.basename(path)):
        fail("%s does not open with its name and contract" % path)
        return "", ""
    comment = text[:text.index("*/")]
    # the contract is the first paragraph: up to the first empty " *" line
    paragraph = re.split(r"\n \*\s*\n", comment)[0]
    flat = " ".join(line.strip(" */") for line in paragraph.splitlines())
    owns = flat.find("Owns:")
    may = flat.find("May call:")
    if owns < 0 or may < 0 or may < owns:
        fail("%s: the opening paragraph needs 'Owns:' then 'May call:'"
             % path)
        return "", ""
    return flat[owns:may], flat[may:]


def includes_of(room):
    found = set()
    for path in sources_of(room):
        found.update(INCLUDE.findall(read(path)))
    return found


def print_picture(graph):
    """The rooms by layer: each room is one above the highest room it
    includes, so every arrow points down the page."""
    layer = {}

    def height(room):
        if room not in layer:
            layer[room] = 0  # a circle is reported elsewhere
            layer[room] = 1 + max((height(d) for d in graph[room]),
                                  default=-1)
        return layer[room]

    for room in graph:
        height(room)
    for level in range(max(layer.values()), -1, -1):
        names = sorted(r for r in graph if layer[r] == level)
        print("%2d  %s" % (level, "  ".join(names)))
        for room in names:
            if graph[room]:
                print("      %s -> %s" % (room, ", ".join(sorted(graph[room]))))


def main():
    all_rooms = rooms()
    graph = {}
    for room in all_rooms:
        owns, may_call = contract_of(room)
        allowed = set(re.findall(r"\bdw_[a-z]+\b", may_call))
        incs = includes_of(room)
        deps = {inc[:-2] for inc in incs
                if inc.endswith(".h") and inc[:-2] in all_rooms} - {room}
        undeclared = deps - allowed
        if undeclared:
            fail("%s includes %s, which its contract's 'May call:' does not "
                 "name" % (room, ", ".join(sorted(undeclared))))
        if GLUE in deps:
            fail("%s includes the glue" % room)
        curl = any(i.startswith("curl/") for i in incs)
        yajl = any(i.startswith("yajl/") for i in incs)
        collectd = any(i in ("collectd.h", "plugin.h", "utils_time.h",
                             "liboconfig/oconfig.h") for i in incs)
        if curl and room not in ("dw_http", "dw_transfer", "dw_conn"):
            fail("%s includes libcurl: only the transport (dw_http, "
                 "dw_transfer, dw_conn) may" % room)
        if yajl and room != "dw_json":
            fail("%s includes yajl: only dw_json may" % room)
        if collectd and not re.search(r"collectd|oconfig", may_call):
            fail("%s includes collectd's headers but its contract does not "
                 "say it may call collectd" % room)
        graph[room] = deps
        for path in sources_of(room):
            n = read(path).count("\n")
            if n > MAX_LINES:
                fail("%s has %d lines (at most %d)" % (path, n, MAX_LINES))

    # No circle: a depth-first walk never meets a room it is inside of.
    state = {}

    def visit(room, stack):
        state[room] = "open"
        for dep in sorted(graph[room]):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                fail("include circle: " + " -> ".join(cycle))
                continue
            if dep not in state:
                visit(dep, stack + [dep])
        state[room] = "done"

    for room in all_rooms:
        if room not in state:
            visit(room, [room])

    doc_path = os.path.join(TOP, "doc", "architecture.md")
    doc = read(doc_path) if os.path.exists(doc_path) else ""
    for room in all_rooms:
        if not re.search(r"\b%s\b" % re.escape(room), doc):
            fail("doc/architecture.md does not name the room %s" % room)

    if "--picture" in sys.argv:
        print_picture(graph)
    if PROBLEMS:
        for message in PROBLEMS:
            print("FAIL: " + message)
        sys.exit(1)
    print("PASS: %d rooms, %d arrows, no circle, every contract kept"
          % (len(all_rooms), sum(len(d) for d in graph.values())))


if __name__ == "__main__":
    main()
