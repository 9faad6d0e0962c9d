"""Helpers for bench/postinst: check what a configure compiled, and the
report.  Timing is benchlib.py's "run".

    postinstlib.py check ROOT PACKAGE          the package's pycs in ROOT
    postinstlib.py report RESULTS TARGET NONE NSTDLIB CPUS

Runs under /usr/bin/python3 -B with the standard library only.
"""

import importlib.util
import marshal
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import fmt_s, print_summary, stats, verdict  # noqa: E402


def die(msg):
    sys.stderr.write("postinstlib: %s\n" % msg)
    sys.exit(2)


# --- check -----------------------------------------------------------------

def pyc_ok(src, pyc):
    """Whether PYC is a timestamp pyc of this interpreter for SRC, as
    py_compile writes it: magic, flags 0, the source's mtime and size, and
    a code object that unmarshals."""
    try:
        st = os.stat(src)
        with open(pyc, "rb") as f:
            data = f.read()
    except OSError:
        return False
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(data[4:8], "little")
    mtime = int.from_bytes(data[8:12], "little")
    size = int.from_bytes(data[12:16], "little")
    if flags != 0 or mtime != int(st.st_mtime) & 0xFFFFFFFF or \
            size != st.st_size & 0xFFFFFFFF:
        return False
    try:
        code = marshal.loads(data[16:])
    except (EOFError, ValueError, TypeError):
        return False
    return type(code).__name__ == "code"


def check(root, package):
    """Print "SOURCES PRESENT VALID ALL": the .py files dpkg lists for
    PACKAGE in the dpkg root ROOT, how many have their pyc in __pycache__,
    how many of those are right, and how many pycs there are under ROOT in
    all (anything else is a pyc written where it should not be)."""
    out = subprocess.run(["dpkg-query", "--root=" + root, "-L", package],
                         stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    tag = sys.implementation.cache_tag
    sources = present = valid = 0
    for line in out.splitlines():
        if not line.endswith(".py"):
            continue
        src = root + line
        if not os.path.isfile(src):
            continue
        sources += 1
        d, base = os.path.split(src)
        pyc = os.path.join(d, "__pycache__", "%s.%s.pyc" % (base[:-3], tag))
        if os.path.isfile(pyc) and not os.path.islink(pyc):
            present += 1
            if pyc_ok(src, pyc):
                valid += 1
    every = 0
    for _dir, _dirs, files in os.walk(root):
        every += sum(1 for f in files if f.endswith(".pyc"))
    print(sources, present, valid, every)


# --- report ----------------------------------------------------------------

PACKAGES = [("one", "one file"), ("stdlib", "stdlib copy")]
TOOLS = [("pyprime", "pyprime    (dh --with pyprime)"),
         ("py3compile", "py3compile (dh --with python3)")]


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            tree, pkg, tool, _run, wall, user, sys_, npyc = line.split()
            rec = data.setdefault((tree, pkg, tool),
                                  {"wall": [], "cpu": [], "pycs": []})
            rec["wall"].append(float(wall))
            rec["cpu"].append(float(user) + float(sys_))
            rec["pycs"].append(int(npyc))
    return data


def report(path, target, n_one, n_stdlib, cpus):
    target = float(target)
    cpus = int(cpus)
    nfiles = {"one": int(n_one), "stdlib": int(n_stdlib)}
    data = load(path)
    trees = [t for t in ("tmpfs", "disk") if any(k[0] == t for k in data)]
    summary = []
    for tree in trees:
        print()
        print("== dpkg roots on %s: dpkg --configure PACKAGE" % tree)
        print("%-44s %4s %9s %9s %9s  %9s  %s" % (
            "", "runs", "median", "min", "max", "cpu med", "pycs checked"))
        med = {}
        for pkg, plabel in PACKAGES:
            for tool, tlabel in TOOLS:
                rec = data.get((tree, pkg, tool))
                if not rec:
                    continue
                m, lo, hi = stats(rec["wall"])
                cpu = statistics.median(rec["cpu"])
                med[pkg, tool] = (m, cpu)
                pycs = rec["pycs"]
                got = "%d/%d each run" % (min(pycs), nfiles[pkg]) \
                    if min(pycs) == max(pycs) else \
                    "%d-%d/%d" % (min(pycs), max(pycs), nfiles[pkg])
                print("%-44s %4d %s %s %s  %s  %s" % (
                    "%-12s %s" % (plabel, tlabel), len(rec["wall"]),
                    fmt_s(m), fmt_s(lo), fmt_s(hi), fmt_s(cpu), got))
        print("  (wall: monotonic clock around dpkg; cpu: user+sys of dpkg"
              " and every process it waited for)")

        print()
        print("ratios of medians, pyprime / py3compile")
        rows = []
        for pkg, plabel in PACKAGES:
            a, b = med.get((pkg, "pyprime")), med.get((pkg, "py3compile"))
            if not a or not b:
                continue
            r = a[0] / b[0]
            print("  %-46s %6.2fx   (cpu %.2fx)" % (
                "%s (%d .py): wall" % (plabel, nfiles[pkg]), r,
                a[1] / b[1] if b[1] else float("nan")))
            rows.append((r <= target, "%s (%d .py): configure <= %.2fx"
                         " py3compile's" % (plabel, nfiles[pkg], target), r))
        # What the CPU time pyprime needed allows at best on these CPUs.
        for pkg, plabel in PACKAGES:
            a, b = med.get((pkg, "pyprime")), med.get((pkg, "py3compile"))
            if a and b:
                print("  %-46s %6.2fx" % (
                    "%s: floor, pyprime cpu / %d CPUs" % (plabel, cpus),
                    a[1] / cpus / b[0]))
        print("  (floor: pyprime's median CPU time spread over every CPU, over"
              " py3compile's\n   median wall time: the best ratio that CPU"
              " time allows)")
        print()
        print("targets")
        for ok, what, r in rows:
            print("  %s  %-60s %6.2fx" % (verdict(ok), what, r))
            summary.append((tree, ok, what, r))

    print_summary(summary)


def main(argv):
    if len(argv) < 2:
        die("usage: postinstlib.py check|report ARGS")
    cmd, args = argv[1], argv[2:]
    if cmd == "check" and len(args) == 2:
        check(*args)
    elif cmd == "report" and len(args) == 5:
        report(*args)
    else:
        die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    main(sys.argv)
