"""Helpers for bench/report: the import-set tree, and the figures and
report of pyprime time against hyperfine.  Timing is benchlib.py's "run".

    reportlib.py mktree STDLIB TREE MAIN    the stdlib MAIN's imports load
    reportlib.py check JSON RUNS            pyprime report's cells, checked
    reportlib.py summary TOOL JSON          "median_ms mad/median n" of a run
    reportlib.py overhead DIR ROUNDS RUNS T_LO T_HI

Runs under /usr/bin/python3 -B with the standard library only.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

# What a largish service or command-line tool imports from the standard
# library before it does anything: networking, e-mail, data formats,
# concurrency, archives, testing.
IMPORTS = """
argparse asyncio base64 calendar concurrent.futures configparser
contextlib copy csv dataclasses datetime decimal difflib email.mime.application
email.mime.multipart email.mime.text email.parser email.policy email.utils
enum fractions functools getpass gettext glob gzip hashlib heapq hmac
http.client http.cookies http.server inspect ipaddress json locale logging
logging.handlers mimetypes multiprocessing pathlib pickle platform pprint
queue random secrets selectors shlex shutil smtplib socket sqlite3 ssl
statistics string subprocess tarfile tempfile textwrap threading tokenize
traceback typing unittest unittest.mock urllib.parse urllib.request uuid
xml.dom.minidom xml.etree.ElementTree xml.sax.saxutils zipfile
""".split()

# Never copied: what the interpreter imports itself before the main module
# (a copy would not be used), and test suites.
SKIP_DIRS = {"__pycache__", "test", "tests", "idle_test"}

MAIN_SOURCE = '''\
"""Import a realistic set of standard library modules, from copies that
shadow the standard library, and say how many were loaded from here."""

import os
import sys

%s

here = os.path.dirname(os.path.abspath(__file__))
own = [m for m in list(sys.modules.values())
       if (getattr(m, "__file__", None) or "").startswith(here + os.sep)]
print("%s: %%d modules, %%d from %%s" %% (len(sys.modules), len(own), here))
'''


def die(msg):
    sys.stderr.write("reportlib: %s\n" % msg)
    sys.exit(2)


# --- mktree ----------------------------------------------------------------

def child(code, env=None):
    """The lines CODE prints when run by this interpreter, with -B: no
    pyc may appear in the tree (not isolated: site runs as it will under
    the timed commands)."""
    return subprocess.run([sys.executable, "-B", "-c", code], env=env,
                          check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.split("\n")


# Each module and its file, "-" if none or frozen (its file is only shown).
LIST_MODULES = """import sys
%s
for n, m in sorted(sys.modules.items()):
    spec = getattr(m, "__spec__", None)
    frozen = spec is not None and spec.origin == "frozen"
    print(n, "-" if frozen else getattr(m, "__file__", None) or "-")
"""


def loaded(imports, env=None):
    out = child(LIST_MODULES % "\n".join("import " + m for m in imports), env)
    return dict(line.split(" ", 1) for line in out if line)


def copy_py(src, dst):
    """Copy SRC (a .py file, or a package directory's .py files without
    its tests) to DST; returns (files, bytes)."""
    if os.path.isfile(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        return 1, os.path.getsize(src)
    n = nbytes = 0
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(".py") and os.path.isfile(path) and \
                    not os.path.islink(path):
                n1, b1 = copy_py(path, os.path.join(
                    dst, os.path.relpath(path, src)))
                n, nbytes = n + n1, nbytes + b1
    return n, nbytes


def mktree(stdlib, tree, main):
    """Copy to TREE the pure-Python modules of STDLIB that IMPORTS load
    and the interpreter does not load by itself at start (whole top-level
    packages, without their tests), and write TREE/MAIN.py importing
    IMPORTS.  Checks that each of those modules then loads from TREE.
    Prints "FILES BYTES MODULES", then the top-level names copied."""
    stdlib, tree = os.path.realpath(stdlib), os.path.realpath(tree)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    base = set(loaded([], env))
    tops = {}
    for name, path in loaded(IMPORTS, env).items():
        top = name.split(".")[0]
        if top in base or not path.endswith(".py"):
            continue
        rel = os.path.relpath(os.path.realpath(path), stdlib)
        if rel.startswith("..") or os.sep not in rel and top + ".py" != rel:
            continue
        tops[top] = rel.split(os.sep)[0]
    files = nbytes = 0
    for top in sorted(tops):
        n, b = copy_py(os.path.join(stdlib, tops[top]),
                       os.path.join(tree, tops[top]))
        files, nbytes = files + n, nbytes + b
    source = MAIN_SOURCE % ("\n".join("import " + m for m in IMPORTS), main)
    with open(os.path.join(tree, main + ".py"), "w") as f:
        f.write(source)
    env["PYTHONPATH"] = tree
    after = loaded(IMPORTS, env)
    wrong = [n for n, p in after.items() if n.split(".")[0] in tops and
             not p.startswith(tree + os.sep) and
             p.endswith(".py")]
    if wrong:
        die("not loaded from %s: %s" % (tree, " ".join(sorted(wrong))))
    mods = sum(1 for p in after.values() if p.startswith(tree + os.sep))
    print(files + 1, nbytes + len(source), mods)
    print(" ".join(sorted(tops)))


# --- check ---------------------------------------------------------------------

def check(path, runs):
    """Check pyprime report's JSON: a cell for every variant, state and
    medium, none failed, RUNS samples each, every cold run cold.  Prints
    one line saying so, or one line per problem; exit status 1 then."""
    runs = int(runs)
    with open(path) as f:
        data = json.load(f)
    cells = data["cells"]
    problems = []
    keys = {(c["variant"], c["state"], c["medium"]) for c in cells}
    variants = [v["name"] for v in data["variants"]]
    want = len(variants) * len({k[1] for k in keys}) * \
        len({k[2] for k in keys})
    if len(keys) != len(cells) or len(cells) != want:
        problems.append("%d cells, %d different, for %d variants"
                        % (len(cells), len(keys), len(variants)))
    for c in cells:
        what = "%s %s %s" % (c["variant"], c["state"], c["medium"])
        if c.get("failed"):
            problems.append("%s failed: %s" % (what, c["failed"]))
        elif c["wall_ms"]["n"] != runs or len(c["samples_ms"]) != runs:
            problems.append("%s: %d runs, not %d" % (what, c["wall_ms"]["n"],
                                                    runs))
        if c.get("not_cold"):
            problems.append("%s: %d runs were not cold" % (what,
                                                          c["not_cold"]))
    for p in problems:
        print("  problem: " + p)
    if problems:
        sys.exit(1)
    print("  checked: %d cells (%s), %d runs each, none failed, no cold run"
          " found warm" % (len(cells), ", ".join(variants), runs))


# --- summary, overhead -------------------------------------------------------

def mad(xs, m):
    return statistics.median(abs(x - m) for x in xs)


def samples(tool, path):
    """The wall times, in ms, of one tool's JSON export, and what the file
    says of them itself (pyprime: its median and MAD; hyperfine: nothing
    more than its times)."""
    with open(path) as f:
        data = json.load(f)
    if tool == "hyperfine":
        return [t * 1000 for t in data["results"][0]["times"]], None
    wall = data["wall_ms"]
    return [s["wall_ms"] for s in data["samples"]], wall


def figures(tool, path):
    xs, own = samples(tool, path)
    if not xs:
        die("%s: no samples" % path)
    m = statistics.median(xs)
    return m, mad(xs, m), len(xs), own


def summary(tool, path):
    m, d, n, _ = figures(tool, path)
    print("%.3f %.4f %d" % (m, d / m, n))


def verdict(ok):
    return "PASS" if ok else "MISS"


def overhead(dirname, rounds, runs, t_lo, t_hi):
    """The report of ROUNDS rounds, DIR/{hyperfine,pyprime}.R.json each,
    and DIR/whole.tsv (tool, round, wall, user, sys of the whole tool)."""
    rounds, runs = int(rounds), int(runs)
    t_lo, t_hi = float(t_lo), float(t_hi)
    whole = {}
    with open(os.path.join(dirname, "whole.tsv")) as f:
        for line in f:
            tool, _r, wall, user, sys_ = line.split()
            whole.setdefault(tool, []).append(
                (float(wall), float(user) + float(sys_)))
    print()
    print("== /usr/bin/python3 -c pass: hyperfine -N against pyprime time,"
          " %d rounds of %d runs" % (rounds, runs))
    print("%-6s %10s %10s %10s %10s %8s" % (
        "round", "hyperfine", "MAD/med", "pyprime", "MAD/med", "ratio"))
    per = {"hyperfine": [], "pyprime": []}
    notes = []
    for r in range(1, rounds + 1):
        row = {}
        for tool in per:
            path = os.path.join(dirname, "%s.%d.json" % (tool, r))
            m, d, n, own = figures(tool, path)
            if n != runs:
                notes.append("round %d: %s has %d samples, not %d"
                             % (r, tool, n, runs))
            if own is not None and (
                    abs(own["median"] - m) > 1e-3 * m or
                    abs(own["mad"] - d) > 1e-3 * m or own["n"] != n):
                notes.append("round %d: pyprime says median %.3f MAD %.3f"
                             " n %s, its samples give %.3f %.3f %d" % (
                                 r, own["median"], own["mad"], own["n"],
                                 m, d, n))
            row[tool] = (m, d / m)
            per[tool].append(row[tool])
        print("%-6d %8.3fms %9.2f%% %8.3fms %9.2f%% %7.3fx" % (
            r, row["hyperfine"][0], 100 * row["hyperfine"][1],
            row["pyprime"][0], 100 * row["pyprime"][1],
            row["pyprime"][0] / row["hyperfine"][0]))
    med = {t: (statistics.median(x[0] for x in v),
               statistics.median(x[1] for x in v)) for t, v in per.items()}
    print("%-6s %8.3fms %9.2f%% %8.3fms %9.2f%% %7.3fx" % (
        "median", med["hyperfine"][0], 100 * med["hyperfine"][1],
        med["pyprime"][0], 100 * med["pyprime"][1],
        med["pyprime"][0] / med["hyperfine"][0]))
    print("  (median and MAD of each round's wall times, from each tool's"
          " JSON samples;\n   median row: the median over rounds of each"
          " column, and the ratio of those)")
    for note in notes:
        print("  note: " + note)

    print()
    print("whole tool: wall and CPU time of its whole run (warm-up"
          " included) / %d timed runs" % runs)
    for tool in ("hyperfine", "pyprime"):
        if tool in whole:
            w = statistics.median(x[0] for x in whole[tool]) / runs
            c = statistics.median(x[1] for x in whole[tool]) / runs
            print("  %-10s wall %8.3fms   cpu %8.3fms" % (tool, w * 1000,
                                                        c * 1000))

    ratio = med["pyprime"][0] / med["hyperfine"][0]
    spread = med["pyprime"][1] / med["hyperfine"][1] \
        if med["hyperfine"][1] else float("inf")
    rows = [(t_lo <= ratio <= t_hi, "median: pyprime / hyperfine within"
             " %.2f-%.2fx" % (t_lo, t_hi), ratio),
            (med["pyprime"][1] <= med["hyperfine"][1],
             "spread: pyprime MAD/median <= hyperfine's", spread)]
    print()
    print("targets")
    for ok, what, r in rows:
        print("  %s  %-60s %6.3fx" % (verdict(ok), what, r))


def main(argv):
    if len(argv) < 2:
        die("usage: reportlib.py mktree|check|summary|overhead ARGS")
    cmd, args = argv[1], argv[2:]
    if cmd == "mktree" and len(args) == 3:
        mktree(*args)
    elif cmd == "check" and len(args) == 2:
        check(*args)
    elif cmd == "summary" and len(args) == 2:
        summary(*args)
    elif cmd == "overhead" and len(args) == 5:
        overhead(*args)
    else:
        die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    main(sys.argv)
