#!/usr/bin/python3
"""contrib/demo.py runs long enough for the twelve history months into a
temporary directory and exits 0:

- its output is a few lines, each "demo: ...", the last one naming the
  directory of the pictures; every value goes to values.txt, which lists
  all ten resources of both meters with the values the simulator serves;
- the pictures are real PNGs of the demo's size, with bars drawn in the
  colours of their series (decoded here, pixel by pixel): per meter the
  months (consumption and costs), the appliance shares, the similar users
  and the budget, where the forecast's bar is green, orange or red as
  the simulator's forecast compares with threshold.conf's budget;
- the numbers behind each picture (<picture>.dat) are the simulator's:
  twelve months of consumption and costs, every appliance of last month,
  min / you / max of every period, costs so far and forecast."""

import collections
import math
import os
import re
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

DEMO = os.path.join(lib.TOP_SRCDIR, "contrib", "demo.py")
THRESHOLDS = os.path.join(lib.TOP_SRCDIR, "contrib", "alerting",
                          "threshold.conf")
INSTANCES = {"home": "125fd56", "flat": "9f00a1b"}
PICTURES = ["months", "appliances", "similar-users", "budget"]
SECONDS = 15  # twelve one-second cycles send the twelve months, and some
SIZE = (1000, 560)
MAX_LINES = 12
BAR_PIXELS = 3000  # a bar of the demo's pictures has more of its colour
COLOURS = {"consumption": "#1f77b4", "costs": "#ff7f0e", "share": "#2ca02c",
           "frugal": "#98df8a", "you": "#d62728", "consuming": "#7f7f7f",
           "ok": "#2ca02c", "warning": "#ff7f0e", "failure": "#d62728"}
WANT_COLOURS = {"months": ["consumption", "costs"], "appliances": ["share"],
                "similar-users": ["frugal", "you", "consuming"]}


def run_demo(out):
    env = dict(os.environ, DEMO_SECONDS=str(SECONDS), DEMO_OUT=out)
    try:
        run = subprocess.run([sys.executable, DEMO], env=env,
                             capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        lib.fail("the demo did not finish within 180 s")
    output = run.stdout + run.stderr
    if run.returncode != 0:
        lib.fail("the demo exited with %d:\n%s" % (run.returncode,
                                                   output[-4000:]))
    if "Traceback" in output:
        lib.fail("the demo printed a traceback:\n" + output[-4000:])
    return output


def check_output(output, out):
    lines = output.strip().splitlines()
    if len(lines) > MAX_LINES or not all(l.startswith("demo: ")
                                         for l in lines):
        lib.fail("the demo's output is not a few 'demo:' lines:\n" + output)
    where = os.path.join(out, "pictures")
    if where not in lines[-1] or "pictures" not in lines[-1]:
        lib.fail("the demo does not end saying where the pictures are: %r"
                 % lines[-1])
    if "12 of 12 history months" not in output:
        lib.fail("the demo did not get the twelve history months in %d s:\n"
                 "%s" % (SECONDS, output))


def check_table(table):
    for instance in INSTANCES:
        for resource in lib.RESOURCES:
            m = re.search(r"^== %s: %s \((\d+) identifiers?\)$" %
                          (instance, re.escape(resource)), table, re.M)
            if not m or int(m.group(1)) == 0:
                lib.fail("values.txt has no %s of %s" % (resource, instance))


def table_value(table, instance, type_, ti):
    for m in re.finditer(r"^== %s: \S+ \(\d+ identifiers?\)\n((?:   .*\n)+)" %
                         instance, table, re.M):
        for line in m.group(1).splitlines():
            words = line.split()
            if words[:2] == [type_, ti]:
                return float(words[2])
    lib.fail("values.txt has no %s %s for %s" % (type_, ti, instance))


# --- PNG, decoded ------------------------------------------------------------

def unfilter(kind, line, prev, bpp):
    """One scanline of PNG's filter types 0-4, undone."""
    n = len(line)
    if kind == 0:
        return line
    if kind == 2:  # Up: bytewise sums without carries, on whole lines
        x, y = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
        low = int.from_bytes(b"\x7f" * n, "big")
        total = ((x & low) + (y & low)) ^ ((x ^ y) & ~low)
        return bytearray(total.to_bytes(n, "big"))
    for i in range(n):
        a = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 255
        elif kind == 3:
            line[i] = (line[i] + ((a + prev[i]) >> 1)) & 255
        else:
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else
                                  b if pb <= pc else c)) & 255
    return line


def png_pixels(path):
    """(width, height, Counter of (r, g, b)) of an 8-bit RGB or RGBA PNG
    (what gnuplot's pngcairo terminal writes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        lib.fail("%s is not a PNG (starts with %r)" % (path, data[:8]))
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace:
        lib.fail("%s: a PNG this test cannot read (%s)" % (path, head))
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    counts, prev = collections.Counter(), bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        prev = unfilter(raw[start], bytearray(raw[start + 1:start + 1 +
                                                  stride]), prev, bpp)
        counts.update(zip(prev[0::bpp], prev[1::bpp], prev[2::bpp]))
    return width, height, counts


def rgb(hex_colour, alpha=0.85):
    """A colour as gnuplot fills it ("fill solid 0.85" on white)."""
    c = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(int(round(v * alpha + 255 * (1 - alpha))) for v in c)


def pixels_of(counts, hex_colour):
    """Pixels within 2 of the colour in each channel (rounding)."""
    want = rgb(hex_colour)
    return sum(n for px, n in counts.items()
               if all(abs(p - w) <= 2 for p, w in zip(px, want)))


# --- the numbers behind the pictures -----------------------------------------

def number(text):
    try:
        return float(text)
    except ValueError:
        return text


def read_dat(path):
    """The rows of a picture's data file: tab-separated, numbers as
    floats, "#" comments left out."""
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("#") and line.strip():
                rows.append([number(v)
                             for v in line.rstrip("\n").split("\t")])
    return rows


def close(a, b):
    return not math.isnan(a) and abs(a - b) <= 1e-4 * max(1.0, abs(b))


def budget_limits():
    text = re.sub(r"#.*", "", open(THRESHOLDS).read())
    block = re.search(r'<Type "digiwatt_cost">((?:(?!</Type>).)*Instance '
                      r'"costs-this-month"(?:(?!</Type>).)*)</Type>', text,
                      re.S).group(1)
    return [float(re.search(k + r"\s+(\S+)", block).group(1))
            for k in ("WarningMax", "FailureMax")]


def expected(sim, meter, limits):
    """{picture: rows} as the simulator's bodies say."""
    kwh = {e["month"]: e["value"] for e in sim.get(meter,
                                                   "consumption-history")}
    history = sim.get(meter, "costs-history")
    cost = {e["month"]: e["value"] for e in history["costs"]}
    want = {"months": [[m, kwh[m], cost[m]] for m in sorted(kwh)]}
    shares = [[lib.safe_name(e["appliance"]), e["percentage"], e["value"]]
              for e in sim.get(meter, "consumption-distribution",
                               "last-month")]
    want["appliances"] = sorted(shares, key=lambda r: -r[1])
    want["similar-users"] = []
    for period in lib.PERIODS:
        p = sim.get(meter, "performance", period)
        want["similar-users"].append([period, p["minConsumption"],
                                      p["userConsumption"],
                                      p["maxConsumption"]])
    want["budget"] = []
    for label, value in (("so far", sim.get(meter, "costs",
                                            "this-month")["value"]),
                         ("forecast", history["forecast"]["value"])):
        state = "ok" if value < limits[0] else \
            "warning" if value < limits[1] else "failure"
        want["budget"].append([label, value, state])
    return want


def same_rows(got, want):
    return len(got) == len(want) and all(
        len(g) == len(w) and all(close(a, b) if isinstance(b, (int, float))
                                 else a == b for a, b in zip(g, w))
        for g, w in zip(got, want))


def check_pictures(output, out, sim):
    limits = budget_limits()
    where = os.path.join(out, "pictures")
    pngs = sorted(n for n in os.listdir(where) if n.endswith(".png"))
    want = sorted("%s-%s.png" % (i, p) for i in INSTANCES for p in PICTURES)
    if pngs != want:
        lib.fail("%s holds %s, want %s" % (where, pngs, want))
    for instance, meter in INSTANCES.items():
        rows = expected(sim, meter, limits)
        if len(rows["months"]) != 12 or len(rows["appliances"]) < 3:
            lib.fail("the simulator serves %d months, %d appliances" %
                     (len(rows["months"]), len(rows["appliances"])))
        for picture in PICTURES:
            base = os.path.join(where, "%s-%s" % (instance, picture))
            got = read_dat(base + ".dat")
            if not same_rows(got, rows[picture]):
                lib.fail("%s.dat holds %s, the simulator says %s" %
                         (base, got, rows[picture]))
            width, height, counts = png_pixels(base + ".png")
            if (width, height) != SIZE:
                lib.fail("%s.png is %dx%d, want %dx%d" %
                         ((base, width, height) + SIZE))
            colours = WANT_COLOURS.get(picture) or \
                [state for _, _, state in rows["budget"]]
            for name in colours:
                n = pixels_of(counts, COLOURS[name])
                if n < BAR_PIXELS * (2 if picture == "budget" and
                                     colours.count(name) == 2 else 1):
                    lib.fail("%s.png: %d pixels of the %s bars' colour %s" %
                             (base, n, name, COLOURS[name]))
            if picture == "budget":
                for name in ("ok", "warning", "failure"):
                    if name not in colours and \
                            pixels_of(counts, COLOURS[name]) >= BAR_PIXELS:
                        lib.fail("%s.png: a %s bar, but no value is %s" %
                                 (base, name, name))
    return len(pngs)


def main():
    with lib.Workdir() as workdir:
        out = os.path.join(workdir, "demo-out")
        output = run_demo(out)
        check_output(output, out)
        with open(os.path.join(out, "values.txt")) as f:
            table = f.read()
        check_table(table)
        sim = lib.Simulator(workdir)
        try:
            for instance, meter in INSTANCES.items():
                want = sim.get(meter, "consumption", "yesterday")["value"]
                got = table_value(table, instance, "digiwatt_energy_kwh",
                                  "consumption-yesterday")
                if abs(got - want) > 1e-5 * max(1.0, abs(want)):
                    lib.fail("%s consumption-yesterday: values.txt %s, "
                             "simulator %s" % (instance, got, want))
            pictures = check_pictures(output, out, sim)
        finally:
            sim.stop()
        for name in ("collectd.log", "csv", "rrd"):
            if not os.path.exists(os.path.join(out, name)):
                lib.fail("the demo left no %s in %s" % (name, out))
        print("ok: the demo ran %d s; values.txt lists the ten resources of "
              "%d meters; %d pictures with the simulator's months, "
              "appliances, similar users and budget" %
              (SECONDS, len(INSTANCES), pictures))


if __name__ == "__main__":
    main()
