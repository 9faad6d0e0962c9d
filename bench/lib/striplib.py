"""The report of bench/strip.  Timing is benchlib.py's "run", the tree
benchlib.py's "mktree".

    striplib.py report RESULTS FILES BYTES T_REF T_COMPILE

RESULTS has one line per timed command: tool, run, wall, user and sys
seconds.  Runs under /usr/bin/python3 -B with the standard library only.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import fmt_s, print_summary, stats, verdict  # noqa: E402

TOOLS = [
    ("strip-n", "pyprime strip --no-verify -o OUT"),
    ("strip", "pyprime strip -o OUT (verified)"),
    ("refstrip", "refstrip.py (ast, one process)"),
    ("compile", "pyprime compile -q (cold)"),
]


def die(msg):
    sys.stderr.write("striplib: %s\n" % msg)
    sys.exit(2)


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            tool, _run, wall, user, sys_ = line.split()
            rec = data.setdefault(tool, {"wall": [], "cpu": []})
            rec["wall"].append(float(wall))
            rec["cpu"].append(float(user) + float(sys_))
    return data


def report(path, nfiles, nbytes, t_ref, t_compile):
    nfiles, nbytes = int(nfiles), int(nbytes)
    t_ref, t_compile = float(t_ref), float(t_compile)
    data = load(path)
    mb = nbytes / 1e6
    print()
    print("== stdlib copy on tmpfs: %d .py files, %.1f MB of source"
          % (nfiles, mb))
    print("%-40s %4s %9s %9s %9s  %9s %9s" % (
        "", "runs", "median", "min", "max", "cpu med", "MB/s"))
    med = {}
    for tool, label in TOOLS:
        rec = data.get(tool)
        if not rec:
            continue
        m, lo, hi = stats(rec["wall"])
        med[tool] = m
        print("%-40s %4d %s %s %s  %s %9.1f" % (
            label, len(rec["wall"]), fmt_s(m), fmt_s(lo), fmt_s(hi),
            fmt_s(statistics.median(rec["cpu"])), mb / m))
    print("  (wall clock; MB/s: source bytes of the tree over the median)")

    print()
    print("ratios of medians")
    rows = []
    if "strip-n" in med and "refstrip" in med:
        r = med["refstrip"] / med["strip-n"]
        print("  %-56s %7.2fx" % (
            "throughput: strip --no-verify / refstrip.py", r))
        rows.append((r >= t_ref, "strip --no-verify throughput >= %gx"
                     " refstrip.py's" % t_ref, r))
    if "strip" in med and "refstrip" in med:
        print("  %-56s %7.2fx" % ("throughput: strip (verified) / refstrip.py",
                                  med["refstrip"] / med["strip"]))
    if "strip" in med and "strip-n" in med:
        print("  %-56s %7.2fx" % ("time: strip (verified) / strip --no-verify",
                                  med["strip"] / med["strip-n"]))
    if "strip" in med and "compile" in med:
        r = med["strip"] / med["compile"]
        print("  %-56s %7.2fx" % ("time: strip (verified) / compile", r))
        rows.append((r <= t_compile, "strip (verified) <= %gx the time of"
                     " compile" % t_compile, r))

    print()
    print("targets")
    summary = []
    for ok, what, r in rows:
        print("  %s  %-60s %6.2fx" % (verdict(ok), what, r))
        summary.append(("tmpfs", ok, what, r))
    print_summary(summary)


def main(argv):
    if len(argv) < 2:
        die("usage: striplib.py report ARGS")
    cmd, args = argv[1], argv[2:]
    if cmd == "report" and len(args) == 5:
        report(*args)
    else:
        die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    main(sys.argv)
