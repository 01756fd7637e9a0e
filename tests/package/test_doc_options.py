#!/usr/bin/python3
"""The manual page, README.md's configuration reference and the option
tables of plugin/dw_config.c describe the same options, so neither
document can drift from the code:

- the option names of <Account> and of <Smartmeter> are the same three
  sets (dw_config.c's account_options[] / meter_options[], the man page's
  =item entries, README.md's "| option |" tables);
- every option in the man page states its default (or that it is
  required), numeric ranges match the table's [min, max], and the
  DW_DEFAULT_* constants of dw_config.h appear as the documented defaults;
- the resources (slug, period or not, default refresh interval) match
  plugin/dw_resource.c, and the types named match types.db.d/digiwatt.db;
- conf.d/digiwatt.conf shows every option, as a line of its own
  (commented out or not);
- the POD is clean for podchecker and the generated page for groff.

README.md is parsed only when it has a "## Configuration reference" with
option tables; otherwise the man page is checked against the code alone
(and a note says so)."""

import os
import re
import subprocess
import sys

TOP_SRCDIR = os.environ.get("top_srcdir", os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..")))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
POD = os.path.join(TOP_SRCDIR, "doc", "collectd-digiwatt.pod")
MAN = os.path.join(TOP_BUILDDIR, "doc", "collectd-digiwatt.5")
CONFIG_C = os.path.join(TOP_SRCDIR, "plugin", "dw_config.c")
CONFIG_H = os.path.join(TOP_SRCDIR, "plugin", "dw_config.h")
RESOURCE_C = os.path.join(TOP_SRCDIR, "plugin", "dw_resource.c")
TYPES_DB = os.path.join(TOP_SRCDIR, "types.db.d", "digiwatt.db")
README = os.path.join(TOP_SRCDIR, "README.md")
EXAMPLE = os.path.join(TOP_SRCDIR, "conf.d", "digiwatt.conf")

# DW_DEFAULT_<name> of dw_config.h -> (option, unit divisor). A new
# constant must be added here, and documented.
# (A string default is checked as written.)
DEFAULTS = {
    "TIMEOUT_MS": ("Timeout", 1000),
    "MAX_CONCURRENCY": ("MaxConcurrency", 1),
    "MAX_BODY": ("MaxBodySize", 1),
    "BACKOFF_MAX_MS": ("BackoffMax", 1000),
    "FAILURE_THRESHOLD": ("FailureThreshold", 1),
    "STATE_DIR": ("StateDirectory", None),
    "STATE_SAVE_MS": ("StateSaveInterval", 1000),
}
LEVELS = ("plugin", "account", "meter")
NUMERIC_KINDS = {"DW_OPT_SECONDS", "DW_OPT_UNSIGNED", "DW_OPT_SIZE",
                 "DW_OPT_REFRESH", "DW_OPT_SHARD", "DW_OPT_RATE"}
BLOCK_KINDS = {"DW_OPT_BLOCK"}  # <Smartmeter>: a block, no default
LABEL = {"plugin": "<Plugin digiwatt>", "account": "<Account>",
         "meter": "<Smartmeter>"}

problems = []


def problem(text):
    problems.append(text)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def number(expr, macros):
    """The value of a constant expression of the C tables, or None."""
    expr = expr.strip()
    for name, value in macros.items():
        expr = re.sub(r"\b%s\b" % name, "(%s)" % value, expr)
    expr = re.sub(r"(\d)[uUlL]+\b", r"\1", expr)
    if not re.fullmatch(r"[\d\s.*+()/-]+", expr):
        return None
    return eval(expr, {"__builtins__": {}})  # digits and operators only


def shown(value):
    """A number as the documents write it: 300, 0.1, 67108864."""
    if value == int(value):
        return str(int(value))
    return ("%f" % value).rstrip("0")


# --- the code ----------------------------------------------------------------

def code_tables():
    """{"account": {name: (kind, min, max)}, "meter": {...}}."""
    text = read(CONFIG_C)
    macros = dict(re.findall(r"#define\s+(\w+)\s+\(?([\d\s*+()uUlL]+)\)?\s*(?:/\*|\n)",
                             text))
    tables = {}
    for level, array in (("plugin", "plugin_options"),
                         ("account", "account_options"),
                         ("meter", "meter_options")):
        m = re.search(r"dw_option_t\s+%s\[\]\s*=\s*\{(.*?)\n\};" % array,
                      text, re.S)
        if not m:
            problem("dw_config.c: no %s[] table found" % array)
            tables[level] = {}
            continue
        rows = {}
        for row in re.findall(r"\{([^{}]*)\}", m.group(1)):
            fields = [f.strip() for f in row.split(",")]
            key = re.fullmatch(r'"(\w+)"', fields[0])
            if not key or len(fields) < 5:
                problem("dw_config.c: cannot read the row {%s}" % row)
                continue
            rows[key.group(1)] = (fields[1], number(fields[3], macros),
                                  number(fields[4], macros))
        if not rows:
            problem("dw_config.c: %s[] has no rows" % array)
        tables[level] = rows
    return tables


def code_defaults():
    text = read(CONFIG_H)
    found = {}
    for name, expr in re.findall(r"#define\s+DW_DEFAULT_(\w+)\s+(.+)", text):
        if name not in DEFAULTS:
            problem("dw_config.h: DW_DEFAULT_%s is new: document it and add "
                    "it to DEFAULTS in %s" % (name, os.path.basename(__file__)))
            continue
        option, divisor = DEFAULTS[name]
        literal = re.match(r'\s*"([^"]*)"', expr)
        if divisor is None and literal:
            found[option] = literal.group(1)
            continue
        value = number(expr, {})
        if value is None:
            problem("dw_config.h: cannot evaluate DW_DEFAULT_%s" % name)
            continue
        found[option] = value / divisor
    return found


def code_resources():
    """[(slug, takes a period, refresh seconds)] in table order."""
    text = read(RESOURCE_C)
    macros = {"MINUTE": "60", "HOUR": "3600"}
    rows = []
    for slug, period, _path, refresh in re.findall(
            r'\{\s*"([a-z-]+)",\s*(true|false),\s*"([^"]*)",\s*([^}]+?)\s*\}',
            text):
        rows.append((slug, period == "true", number(refresh, macros)))
    if len(rows) != 10:
        problem("dw_resource.c: expected 10 resources, read %d" % len(rows))
    return rows


# --- the manual page ---------------------------------------------------------

def pod_items():
    """{"account": {name: text}, "meter": {name: text}} from the nested
    =over lists under =head1 CONFIGURATION: an item whose tag starts with
    B<Name> belongs to the nearest enclosing E<lt>B<Block>E<gt> item
    (Account options to "account", Smartmeter options to "meter")."""
    text = read(POD)
    m = re.search(r"^=head1 CONFIGURATION\n(.*?)^=head1 ", text, re.S | re.M)
    if not m:
        problem("man page: no =head1 CONFIGURATION")
        return {"plugin": {}, "account": {}, "meter": {}}
    levels = {None: "plugin", "Account": "account", "Smartmeter": "meter"}
    items = {"plugin": {}, "account": {}, "meter": {}}
    stack, pending_block, current = [], None, None
    for paragraph in re.split(r"\n\s*\n", m.group(1)):
        paragraph = paragraph.strip()
        if paragraph.startswith("=over"):
            stack.append(pending_block)
            pending_block = None
        elif paragraph.startswith("=back"):
            if stack:
                stack.pop()
            current = None
        elif paragraph.startswith("=item"):
            tag = paragraph.split("\n", 1)[0]
            block = re.match(r"=item E<lt>B<(\w+)>", tag)
            option = re.match(r"=item B<(\w+)>", tag)
            owner = next((b for b in reversed(stack) if b), None)
            current = None
            if block:
                pending_block = block.group(1)
                if owner in levels:  # <Smartmeter> is an Account option
                    current = items[levels[owner]].setdefault(
                        block.group(1), [])
            elif option and owner in levels:
                current = items[levels[owner]].setdefault(option.group(1), [])
                if len(current):
                    problem("man page: %s listed twice" % option.group(1))
            if current is not None:
                current.append(paragraph)
        elif current is not None:
            current.append(paragraph)
    return {level: {k: "\n".join(v) for k, v in d.items()}
            for level, d in items.items()}


def plain(pod_text):
    """POD markup removed, for matching words and numbers."""
    text = pod_text.replace("E<lt>", "<").replace("E<gt>", ">")
    for _ in range(3):
        text = re.sub(r"[BICFL]<([^<>]*)>", r"\1", text)
    return re.sub(r"\s+", " ", text)


# --- README.md ---------------------------------------------------------------

def readme_options():
    """{"account": set, "meter": set}, or None without a reference."""
    if not os.path.exists(README):
        return None
    text = read(README)
    m = re.search(r"^## Configuration reference\s*$(.*?)(?=^## |\Z)", text,
                  re.S | re.M)
    if not m:
        return None
    found = {"plugin": set(), "account": set(), "meter": set()}
    level = "account"
    in_table = False
    for line in m.group(1).splitlines():
        if line.startswith("#"):
            level = ("meter" if "<Smartmeter" in line else
                     "plugin" if "Plugin-level" in line else "account")
            if "<Smartmeter" in line:
                found["account"].add("Smartmeter")
            if "<Account" in line:
                found["plugin"].add("Account")
            in_table = False
        elif re.match(r"\|\s*option\s*\|", line, re.I):
            in_table = True
        elif in_table and line.startswith("|"):
            name = re.match(r"\|\s*`(\w+)`", line)
            if name:
                found[level].add(name.group(1))
        elif not line.startswith("|"):
            in_table = False
    if not found["account"] and not found["meter"]:
        return None
    return found


# --- the checks ----------------------------------------------------------------

def compare(what, a_name, a, b_name, b):
    for name in sorted(set(a) - set(b)):
        problem("%s option %s: in %s, not in %s" % (what, name, a_name, b_name))
    for name in sorted(set(b) - set(a)):
        problem("%s option %s: in %s, not in %s" % (what, name, b_name, a_name))


def check_items(tables, items, defaults):
    for level in LEVELS:
        for name, text in items[level].items():
            flat = plain(text)
            row = tables[level].get(name)
            if row and row[0] in BLOCK_KINDS:
                continue
            if not re.search(r"\bdefaults?\b|\brequired\b", flat, re.I):
                problem("man page: %s does not state its default" % name)
            if row and row[0] in NUMERIC_KINDS and None not in row[1:]:
                rng = "%s to %s" % (shown(row[1]), shown(row[2]))
                if rng not in flat:
                    problem("man page: %s should give its range \"%s\" "
                            "(dw_config.c)" % (name, rng))
    for option, value in defaults.items():
        text = plain(items["account"].get(option) or
                     items["plugin"].get(option, ""))
        want = value if isinstance(value, str) else shown(value)
        if not re.search(r"Default: %s\b" % re.escape(want), text):
            problem("man page: %s should say \"Default: %s\" (dw_config.h)" %
                    (option, want))


def check_resources(resources, pod):
    section = re.search(r"^=head1 RESOURCES AND PERIODS\n(.*?)^=head1 ", pod,
                        re.S | re.M)
    body = section.group(1) if section else ""
    for slug, period, refresh in resources:
        row = re.search(r"^ %s\s+(yes|no)\s+(\d+)\s*$" % re.escape(slug), body,
                        re.M)
        if not row:
            problem("man page: resource %s missing from the table" % slug)
            continue
        if (row.group(1) == "yes") != period:
            problem("man page: resource %s: period column is wrong" % slug)
        if int(row.group(2)) != refresh:
            problem("man page: resource %s: refresh %s, code says %s" %
                    (slug, row.group(2), shown(refresh)))
        if not re.search(r"^=item B<%s>$" % re.escape(slug), pod, re.M):
            problem("man page: resource %s missing from IDENTIFIERS" % slug)


def check_types(pod):
    declared = set(re.findall(r"^(digiwatt_\w+)\s", read(TYPES_DB), re.M))
    named = set(re.findall(r"\b(digiwatt_[a-z_]+[a-z])\b", pod))
    for t in sorted(declared - named):
        problem("man page: type %s of digiwatt.db is not documented" % t)
    for t in sorted(named - declared):
        problem("man page: names type %s, which digiwatt.db lacks" % t)


def check_example(tables):
    """Every option is a line of the example, commented out or not."""
    shown = set(re.findall(r"^\s*#?\s*<?(\w+)", read(EXAMPLE), re.M))
    for level in LEVELS:
        for name in sorted(set(tables[level]) - shown):
            problem("conf.d/digiwatt.conf: %s option %s is not shown" %
                    (LABEL[level], name))


def check_rendering():
    run = subprocess.run(["podchecker", POD], capture_output=True, text=True)
    if run.returncode != 0 or "WARNING" in run.stderr:
        problem("podchecker:\n" + run.stderr)
    if not os.path.exists(MAN):
        print("note: %s not built; groff check skipped" % MAN)
        return
    if not os.path.exists("/usr/bin/groff"):
        print("note: groff not installed; groff check skipped")
        return
    run = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", MAN],
                         capture_output=True, text=True)
    if run.returncode != 0 or run.stderr.strip():
        problem("groff warns about %s:\n%s" % (MAN, run.stderr))


def main():
    tables = code_tables()
    items = pod_items()
    pod = read(POD)
    for level in LEVELS:
        compare(LABEL[level], "dw_config.c", tables[level],
                "the man page", items[level])
    readme = readme_options()
    if readme is None:
        print("note: README.md has no configuration reference with option "
              "tables; checked the man page against dw_config.c only")
    else:
        for level in LEVELS:
            compare(LABEL[level], "dw_config.c", tables[level],
                    "README.md", readme[level])
    check_items(tables, items, code_defaults())
    check_resources(code_resources(), pod)
    check_types(pod)
    check_example(tables)
    check_rendering()
    if problems:
        for p in problems:
            print("FAIL: " + p)
        sys.exit(1)
    print("ok: %d plugin, %d account and %d smartmeter options agree (code, "
          "man page%s, conf.d/digiwatt.conf)"
          % (len(tables["plugin"]), len(tables["account"]), len(tables["meter"]),
             "" if readme is None else ", README.md"))


if __name__ == "__main__":
    main()
