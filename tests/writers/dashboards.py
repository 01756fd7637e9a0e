"""Reading the Grafana dashboards of contrib/grafana/ the way Grafana
would run them: every query and template variable, with the variables
substituted, over the panel's time range.

Graphite targets are evaluated here against whisper files (the stored
data carbon-cache wrote) by a small evaluator of Graphite's target
grammar: paths with Graphite's globs (*, ?, [..], {a,b}) and the few
functions the dashboards use. A function it does not know fails the
test, so a dashboard cannot use something this test never ran."""

import json
import os
import re
import time

import wlib

GRAFANA_DIR = os.path.join(wlib.lib.TOP_SRCDIR, "contrib", "grafana")
PERIODS = wlib.lib.PERIODS


def load(backend):
    with open(os.path.join(GRAFANA_DIR, "digiwatt-%s.json" % backend)) as f:
        return json.load(f)


def panels(dashboard):
    """Every panel, rows' nested panels included, rows themselves not."""
    out = []
    for p in dashboard["panels"]:
        if p.get("type") == "row":
            out += p.get("panels", [])
        else:
            out.append(p)
    return out


def targets(dashboard):
    """(panel, target) for every query of the dashboard."""
    return [(p, t) for p in panels(dashboard) for t in p.get("targets", [])]


def variable(dashboard, name):
    for v in dashboard["templating"]["list"]:
        if v["name"] == name:
            return v
    raise KeyError(name)


def substitute(text, values):
    """Grafana's $name, ${name} and [[name]] forms, longest names first."""
    for name in sorted(values, key=len, reverse=True):
        value = values[name]
        text = text.replace("${%s}" % name, value)
        text = text.replace("[[%s]]" % name, value)
        text = re.sub(r"\$%s(?![A-Za-z0-9_])" % re.escape(name),
                      lambda _: value, text)
    return text


def uses(text, name):
    return bool(re.search(r"\$\{?%s(?![A-Za-z0-9_])|\[\[%s\]\]" %
                          (name, name), text))


def unresolved(text):
    """Whether a variable reference is left ($name, ${name}, [[name]])."""
    return bool(re.search(r"\$\{?[A-Za-z_]|\[\[", text))


def time_range(panel, default_seconds):
    """(from, until) in Unix seconds: the panel's relative time override
    ("13M", "7d", ...) or the default range."""
    span = default_seconds
    rel = panel.get("timeFrom")
    if rel:
        m = re.fullmatch(r"(\d+)([smhdwMy])", rel)
        if not m:
            raise ValueError("panel %r: timeFrom %r" % (panel["title"], rel))
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
                "M": 31 * 86400, "y": 366 * 86400}[m.group(2)]
        span = int(m.group(1)) * unit
    now = int(time.time())
    return now - span, now + 60


# --- Graphite ----------------------------------------------------------------

class GraphiteError(Exception):
    pass


def _parse(text):
    """Graphite's target grammar: call(args), 'string', "string", number,
    or a path (globs and {a,b} included). Returns a nested tuple tree."""
    pos = 0

    def skip_ws():
        nonlocal pos
        while pos < len(text) and text[pos] == " ":
            pos += 1

    def expr():
        nonlocal pos
        skip_ws()
        if pos >= len(text):
            raise GraphiteError("unexpected end of %r" % text)
        c = text[pos]
        if c in "'\"":
            end = text.index(c, pos + 1)
            value = text[pos + 1:end]
            pos = end + 1
            return ("str", value)
        start, depth = pos, 0
        while pos < len(text):
            c = text[pos]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif depth == 0 and c in "(),":
                break
            pos += 1
        token = text[start:pos].strip()
        if pos < len(text) and text[pos] == "(":
            pos += 1
            args = []
            skip_ws()
            if text[pos] == ")":
                pos += 1
                return ("call", token, args)
            while True:
                args.append(expr())
                skip_ws()
                if text[pos] == ",":
                    pos += 1
                elif text[pos] == ")":
                    pos += 1
                    return ("call", token, args)
                else:
                    raise GraphiteError("bad argument list in %r" % text)
        if re.fullmatch(r"-?\d+(\.\d+)?", token):
            return ("num", float(token))
        if token in ("true", "false"):
            return ("bool", token == "true")
        if not token:
            raise GraphiteError("empty token in %r" % text)
        return ("path", token)

    tree = expr()
    skip_ws()
    if pos != len(text):
        raise GraphiteError("trailing text in %r" % text)
    return tree


def _glob_regex(component):
    """One path component of a Graphite glob as a regex."""
    out, i = "", 0
    while i < len(component):
        c = component[i]
        if c == "*":
            out += "[^.]*"
        elif c == "?":
            out += "[^.]"
        elif c == "[":
            end = component.index("]", i)
            out += component[i:end + 1]
            i = end
        elif c == "{":
            end = component.index("}", i)
            out += "(?:%s)" % "|".join(
                re.escape(a) for a in component[i + 1:end].split(","))
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def find(root, pattern):
    """Metric names under a whisper root that match a Graphite glob."""
    parts = pattern.split(".")
    found = []

    def walk(directory, i, prefix):
        try:
            entries = sorted(os.listdir(directory))
        except FileNotFoundError:
            return
        rx = _glob_regex(parts[i])
        last = i == len(parts) - 1
        for entry in entries:
            full = os.path.join(directory, entry)
            if last and entry.endswith(".wsp") and rx.match(entry[:-4]):
                found.append(prefix + entry[:-4])
            elif not last and os.path.isdir(full) and rx.match(entry):
                walk(full, i + 1, prefix + entry + ".")

    walk(root, 0, "")
    return found


def find_nodes(root, pattern):
    """Like Graphite's /metrics/find: names of the last component of
    every branch or leaf matching the glob (what a query variable lists)."""
    parts = pattern.split(".")
    directory = root
    names = set()

    def walk(directory, i):
        try:
            entries = sorted(os.listdir(directory))
        except FileNotFoundError:
            return
        rx = _glob_regex(parts[i])
        for entry in entries:
            name = entry[:-4] if entry.endswith(".wsp") else entry
            if not rx.match(name):
                continue
            if i == len(parts) - 1:
                names.add(name)
            elif os.path.isdir(os.path.join(directory, entry)):
                walk(os.path.join(directory, entry), i + 1)

    walk(directory, 0)
    return sorted(names)


def evaluate(root, target, start, until):
    """[(name, [values...])] of a Graphite target over [start, until]."""
    import whisper

    def series_of(path):
        out = []
        for name in find(root, path):
            f = os.path.join(root, *name.split(".")) + ".wsp"
            (_, _, _), values = whisper.fetch(f, start, until)
            out.append((name, list(values)))
        return out

    def series_arg(node):
        value = ev(node)
        if not isinstance(value, list):
            raise GraphiteError("a series list was expected, not %r" % value)
        return value

    def ev(node):
        kind = node[0]
        if kind == "path":
            return series_of(node[1])
        if kind in ("str", "num", "bool"):
            return node[1]
        name, args = node[1], node[2]
        if name == "alias":
            return [(ev(args[1]), v) for _, v in series_arg(args[0])]
        if name == "aliasSub":
            search, replace = ev(args[1]), ev(args[2])
            return [(re.sub(search, replace, n), v)
                    for n, v in series_arg(args[0])]
        if name == "exclude":
            rx = re.compile(ev(args[1]))
            return [(n, v) for n, v in series_arg(args[0])
                    if not rx.search(n)]
        raise GraphiteError("function %s() is not known to this test; "
                            "teach dashboards.evaluate() what it does" % name)

    return ev(_parse(target))
