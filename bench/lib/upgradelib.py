"""Helpers for bench/upgrade: version 2 of the stdlib copy, the check of
what a configure left in a dpkg root, and the report.  The copy itself is
benchlib.py's "mktree", timing its "run".

    upgradelib.py change TREE PERCENT         append a line to PERCENT% of
                                              TREE's .py files
    upgradelib.py check ROOT PACKAGE CACHE    the package's pycs in ROOT
    upgradelib.py report RESULTS NPY NCHANGED T_UP T_RE T_WHOLE

Runs under /usr/bin/python3 -B with the standard library only.
"""

import hashlib
import importlib.util
import math
import multiprocessing
import os
import py_compile
import statistics
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import fmt_s, print_summary, stats  # noqa: E402
from postinstlib import load  # noqa: E402

CHANGE = b"\n# pyprime bench: changed in version 2.0\n"


def die(msg):
    sys.stderr.write("upgradelib: %s\n" % msg)
    sys.exit(2)


# --- change ----------------------------------------------------------------

def change(tree, percent):
    """Append CHANGE to every k-th .py file under TREE in sorted order, so
    that PERCENT% of them (rounded up) change, spread over the tree; the
    same files every time.  Prints how many changed, then their paths."""
    paths = sorted(os.path.relpath(os.path.join(d, f), tree)
                   for d, _dirs, files in os.walk(tree)
                   for f in files if f.endswith(".py"))
    if not paths:
        die("no .py files in %s" % tree)
    want = max(1, math.ceil(len(paths) * float(percent) / 100))
    step = len(paths) / want
    chosen = [paths[int(i * step)] for i in range(want)]
    for rel in chosen:
        with open(os.path.join(tree, rel), "ab") as f:
            f.write(CHANGE)
    print(len(chosen))
    for rel in chosen:
        print(rel)


# --- check -----------------------------------------------------------------

def reference(args):
    """py_compile's pyc body (after the 16-byte header) for the source
    bytes at SRC, compiled as the installed file DFILE."""
    src, dfile = args
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        cfile = os.path.join(tmp, "ref.pyc")
        py_compile.compile(
            src, cfile=cfile, dfile=dfile, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
        with open(cfile, "rb") as f:
            return f.read()[16:]


def check(root, package, cache):
    """Print "SOURCES PRESENT IDENTICAL ALL": the .py files dpkg lists for
    PACKAGE in the dpkg root ROOT, how many have a pyc of this interpreter
    in __pycache__, how many of those are byte for byte what py_compile
    writes for the installed path (timestamp pyc, the source's mtime and
    size), and how many pycs there are under ROOT in all.  py_compile's
    bodies are kept in the directory CACHE, by installed path and source,
    so that each is compiled once a run."""
    out = subprocess.run(["dpkg-query", "--root=" + root, "-L", package],
                         stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    tag = sys.implementation.cache_tag
    magic = importlib.util.MAGIC_NUMBER
    os.makedirs(cache, exist_ok=True)
    items = []
    for path in out.splitlines():
        src = root + path
        if not path.endswith(".py") or not os.path.isfile(src):
            continue
        with open(src, "rb") as f:
            key = hashlib.sha256(path.encode() + b"\0" + f.read()).hexdigest()
        items.append((path, src, os.path.join(cache, key)))
    missing = [(src, path, ref) for path, src, ref in items
               if not os.path.exists(ref)]
    if missing:
        with multiprocessing.Pool(len(os.sched_getaffinity(0))) as pool:
            bodies = pool.map(reference, [m[:2] for m in missing],
                              chunksize=16)
        for (_src, _path, ref), body in zip(missing, bodies):
            with open(ref, "wb") as f:
                f.write(body)
    present = identical = 0
    for path, src, ref in items:
        d, base = os.path.split(src)
        pyc = os.path.join(d, "__pycache__", "%s.%s.pyc" % (base[:-3], tag))
        if not os.path.isfile(pyc) or os.path.islink(pyc):
            continue
        present += 1
        st = os.stat(src)
        with open(ref, "rb") as f:
            want = magic + bytes(4) + \
                (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + \
                (st.st_size & 0xFFFFFFFF).to_bytes(4, "little") + f.read()
        with open(pyc, "rb") as f:
            if f.read() == want:
                identical += 1
    every = 0
    for _dir, _dirs, files in os.walk(root):
        every += sum(1 for f in files if f.endswith(".pyc"))
    print(len(items), present, identical, every)


# --- report ----------------------------------------------------------------

SCENARIOS = [
    # (key, label, what the target is on, target's index in the arguments)
    ("up-unpack", "upgrade  dpkg --unpack", None, None),
    ("up-conf", "upgrade  dpkg --configure", "configure after the upgrade", 0),
    ("up-whole", "upgrade  dpkg -i (whole)", "dpkg -i of the upgrade", 2),
    ("re-unpack", "reinstall dpkg --unpack", None, None),
    ("re-conf", "reinstall dpkg --configure", "configure after a reinstall", 1),
    ("re-whole", "reinstall dpkg -i (whole)", "dpkg -i of a reinstall", 2),
]
TOOLS = [("pyprime", "pyprime"), ("py3compile", "py3compile")]


def report(path, npy, nchanged, *targets):
    npy, nchanged = int(npy), int(nchanged)
    targets = [float(t) for t in targets]
    data = load(path)
    trees = [t for t in ("tmpfs", "disk") if any(k[0] == t for k in data)]
    summary = []
    for tree in trees:
        print()
        print("== dpkg roots on %s: %d .py files, %d of them changed in 2.0"
              % (tree, npy, nchanged))
        print("%-40s %4s %9s %9s %9s  %9s  %s" % (
            "", "runs", "median", "min", "max", "cpu med", "pycs kept"))
        med = {}
        for scen, slabel, _what, _t in SCENARIOS:
            for tool, tlabel in TOOLS:
                rec = data.get((tree, scen, tool))
                if not rec:
                    continue
                m, lo, hi = stats(rec["wall"])
                cpu = statistics.median(rec["cpu"])
                med[scen, tool] = (m, cpu)
                kept = [n for n in rec["pycs"] if n >= 0]
                kept = "" if not kept else "%d" % kept[0] \
                    if min(kept) == max(kept) else \
                    "%d-%d" % (min(kept), max(kept))
                print("%-40s %4d %s %s %s  %s  %s" % (
                    "%-27s %s" % (slabel, tlabel), len(rec["wall"]),
                    fmt_s(m), fmt_s(lo), fmt_s(hi), fmt_s(cpu), kept))
        print("  (wall: monotonic clock around dpkg; cpu: user+sys of dpkg"
              " and every process it waited for;\n   pycs kept: of the %d,"
              " those the unpack left, for the configure to reuse)"
              % npy)
        print()
        print("ratios of medians, pyprime / py3compile")
        rows = []
        for scen, slabel, what, t in SCENARIOS:
            a, b = med.get((scen, "pyprime")), med.get((scen, "py3compile"))
            if not a or not b:
                continue
            r = a[0] / b[0]
            print("  %-46s %6.2fx   (cpu %.2fx)" % (
                slabel, r, a[1] / b[1] if b[1] else float("nan")))
            if what:
                rows.append((r <= targets[t], "%s <= %.2fx py3compile's"
                             % (what, targets[t]), r))
        floor = data.get((tree, "up-conf", "dpkg"))
        if floor:
            m = statistics.median(floor["wall"])
            print()
            print("floor, dpkg's own share: dpkg --configure with the postinst"
                  " doing nothing,\n  %s median, over py3compile's"
                  % fmt_s(m).strip())
            for scen, slabel, _what, _t in SCENARIOS:
                b = med.get((scen, "py3compile"))
                if scen.endswith("-conf") and b:
                    print("  %-46s %6.2fx" % (slabel, m / b[0]))
        summary += [(tree, ok, what, r) for ok, what, r in rows]
    print_summary(summary)


COMMANDS = {"change": (change, 2), "check": (check, 3), "report": (report, 6)}


def main(argv):
    cmd = COMMANDS.get(argv[1]) if len(argv) > 1 else None
    if not cmd or len(argv) - 2 != cmd[1]:
        die("usage: upgradelib.py change|check|report ARGS (see its top)")
    cmd[0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
