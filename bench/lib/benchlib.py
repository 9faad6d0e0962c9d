"""Helpers for bench/compile: build the tree, time commands, the in-process
limit, and the report.

    benchlib.py mktree SRC DST             copy SRC's compilable .py files
    benchlib.py run LOG CMD [ARG]...       time CMD; prints "wall user sys rc"
    benchlib.py limit TREE OUT             compile TREE in this process
    benchlib.py report RESULTS CPUS TARGETS...

Runs under /usr/bin/python3 with the standard library only.
"""

import os
import resource
import shutil
import statistics
import sys
import time
import warnings

# Top-level directories of the stdlib that are not part of the tree.
SKIP_TOP = {"test", "site-packages", "dist-packages", "__pycache__"}
SKIP_ANY = {"site-packages", "dist-packages", "__pycache__"}


def die(msg):
    sys.stderr.write("benchlib: %s\n" % msg)
    sys.exit(2)


# --- mktree ----------------------------------------------------------------

def mktree(src, dst):
    """Copy the regular .py files of SRC to DST (mtimes kept), leaving out
    the ones this interpreter cannot compile.  Prints the number of files
    and bytes copied, then one line per file left out."""
    warnings.simplefilter("ignore")
    copied = nbytes = 0
    dropped = []
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        skip = SKIP_TOP if rel == "." else SKIP_ANY
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            relpath = os.path.normpath(os.path.join(rel, name))
            with open(path, "rb") as f:
                data = f.read()
            try:
                compile(data, path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as e:
                dropped.append("%s (%s)" % (relpath, type(e).__name__))
                continue
            out = os.path.join(dst, relpath)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy2(path, out)
            copied += 1
            nbytes += len(data)
    print(copied, nbytes)
    for d in dropped:
        print(d)


# --- run -------------------------------------------------------------------

def run(log, argv):
    """Run ARGV with stdin from /dev/null and stdout and stderr to LOG.
    Prints wall time (monotonic clock) and the child's user and system CPU
    time (wait4: the child and the descendants it waited for), in seconds,
    and its exit status (128+N if killed by signal N)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
         0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    print("%.6f %.6f %.6f %d" % ((t1 - t0) / 1e9, ru.ru_utime, ru.ru_stime,
                                 rc))


# --- limit -----------------------------------------------------------------

def limit(tree, out):
    """What any tool has to do, in one process: walk TREE, read, compile,
    marshal and atomically write every .py file's level-0 pyc.  Writes the
    user and system CPU time of that work to OUT, and the number of pycs."""
    import importlib.util
    from importlib._bootstrap_external import _code_to_timestamp_pyc

    cache_from_source = importlib.util.cache_from_source
    made = set()
    n = 0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for root, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                src = f.read()
            code = compile(src, path, "exec", dont_inherit=True)
            data = _code_to_timestamp_pyc(code, st.st_mtime, st.st_size)
            pyc = cache_from_source(path)
            pdir = os.path.dirname(pyc)
            if pdir not in made:
                os.makedirs(pdir, exist_ok=True)
                made.add(pdir)
            tmp = "%s.%d" % (pyc, id(pyc))
            fd = os.open(tmp, os.O_EXCL | os.O_CREAT | os.O_WRONLY,
                         st.st_mode & 0o666)
            try:
                with open(fd, "wb", closefd=True) as f:
                    f.write(data)
                os.replace(tmp, pyc)
            except OSError:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            n += 1
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w") as f:
        f.write("%.6f %.6f %d\n" % (r1.ru_utime - r0.ru_utime,
                                    r1.ru_stime - r0.ru_stime, n))


# --- report ----------------------------------------------------------------

TREE_NAMES = {"tmpfs": "tmpfs", "disk": "disk"}

ROWS = [
    # (scenario, tool, label)
    ("cold", "pyprime", "cold        pyprime compile -q"),
    ("cold", "compileall", "cold        compileall -q (serial)"),
    ("cold", "compileall-j0", "cold        compileall -q -j0"),
    ("cold", "py3compile", "cold        py3compile"),
    ("fresh", "pyprime", "up to date  pyprime compile -q"),
    ("fresh", "compileall", "up to date  compileall -q (serial)"),
    ("fresh", "compileall-j0", "up to date  compileall -q -j0"),
    ("fresh", "py3compile", "up to date  py3compile"),
    ("three", "pyprime", "cold        pyprime -O0 -O1 -O2"),
    ("limit-py", "python3", "limit run   python3, in-process loop"),
    ("limit-so", "pyprime", "limit run   pyprime -q -f -j1"),
    ("small", "pyprime", "small file  pyprime compile -f"),
    ("small", "py_compile", "small file  python3 -m py_compile"),
]


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            tree, scen, tool, _run, wall, user, sys_ = line.split()
            rec = data.setdefault((tree, scen, tool), {"wall": [], "cpu": []})
            rec["wall"].append(float(wall))
            rec["cpu"].append(float(user) + float(sys_))
    return data


def fmt_s(x):
    if x < 0.1:
        return "%7.1fms" % (x * 1000)
    return "%8.3fs" % x


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def report(path, cpus, targets):
    cpus = int(cpus)
    t_limit, t_fresh, t_three, t_small = (float(t) for t in targets)
    data = load(path)
    trees = [t for t in ("tmpfs", "disk")
             if any(k[0] == t for k in data)]
    summary = []
    for tree in trees:
        def get(scen, tool, what="wall"):
            rec = data.get((tree, scen, tool))
            return rec[what] if rec else None

        def med(scen, tool, what="wall"):
            xs = get(scen, tool, what)
            return statistics.median(xs) if xs else None

        print()
        print("== %s tree" % tree)
        print("%-40s %4s %9s %9s %9s  %9s" % ("", "runs", "median", "min",
                                             "max", "cpu med"))
        for scen, tool, label in ROWS:
            xs = get(scen, tool)
            if not xs:
                continue
            m, lo, hi = stats(xs)
            print("%-40s %4d %s %s %s  %s" % (
                label, len(xs), fmt_s(m), fmt_s(lo), fmt_s(hi),
                fmt_s(med(scen, tool, "cpu"))))

        # The limits: CPU time of the one-process job over the CPUs.
        lim = {}
        for key, label in (("limit-py", "python3 (static)"),
                           ("limit-so", "libpython3.11.so")):
            tool = "python3" if key == "limit-py" else "pyprime"
            cpu = get(key, tool, "cpu")
            if not cpu:
                continue
            per = [c / cpus for c in cpu]
            m, lo, hi = stats(per)
            lim[key] = m
            print("%-40s %4d %s %s %s" % (
                "limit       %s" % label, len(per), fmt_s(m), fmt_s(lo),
                fmt_s(hi)))
        print("  (limit = user+sys CPU time of the limit run / %d CPUs;"
              " times are wall clock otherwise)" % cpus)

        cold = med("cold", "pyprime")
        print()
        print("ratios of medians")
        for tool, label in (("compileall", "compileall serial"),
                            ("compileall-j0", "compileall -j0"),
                            ("py3compile", "py3compile")):
            other = med("cold", tool)
            if cold and other:
                print("  %-46s %6.2fx" % ("pyprime cold / %s cold" % label,
                                         cold / other))
        if cold and "limit-py" in lim:
            print("  %-46s %6.2fx" % ("pyprime cold / limit (python3, static)",
                                     cold / lim["limit-py"]))
        if cold and "limit-so" in lim:
            print("  %-46s %6.2fx" % ("pyprime cold / limit (libpython3.11.so)",
                                     cold / lim["limit-so"]))
        if "limit-py" in lim and "limit-so" in lim:
            print("  %-46s %6.2fx" % ("limit libpython3.11.so / limit python3",
                                     lim["limit-so"] / lim["limit-py"]))
        fresh = med("fresh", "pyprime")
        ca_f = [(x, name) for x, name in (
            (med("fresh", "compileall"), "serial"),
            (med("fresh", "compileall-j0"), "-j0")) if x]
        best, best_name = min(ca_f) if ca_f else (None, "")
        if fresh and best:
            print("  %-46s %6.2fx" % (
                "pyprime up to date / compileall %s (best)" % best_name,
                fresh / best))
        three = med("three", "pyprime")
        if cold and three:
            print("  %-46s %6.2fx" % ("three levels / one level (pyprime cold)",
                                     three / cold))
        sp, sc = med("small", "pyprime"), med("small", "py_compile")
        if sp and sc:
            print("  %-46s %6.2fx" % ("small file: pyprime / py_compile",
                                     sp / sc))

        print()
        print("targets")
        rows = []
        if cold and "limit-so" in lim:
            r = cold / lim["limit-so"]
            rows.append((r <= t_limit, "cold pyprime <= %.2fx limit "
                         "(libpython3.11.so: pyprime -j1)" % t_limit, r))
        if fresh and best:
            r = fresh / best
            rows.append((r <= t_fresh, "up-to-date pyprime <= %.2fx "
                         "compileall's best (%s)" % (t_fresh, best_name), r))
        if cold and three:
            r = three / cold
            rows.append((r <= t_three, "three levels <= %.2fx one level"
                         % t_three, r))
        if sp and sc:
            r = sp / sc
            rows.append((r <= t_small, "small file <= %.2fx py_compile"
                         % t_small, r))
        for ok, what, r in rows:
            print("  %s  %-60s %6.2fx" % (verdict(ok), what, r))
            summary.append((tree, ok, what, r))
        if cold and "limit-py" in lim:
            r = cold / lim["limit-py"]
            print("  info  %-60s %6.2fx" % (
                "cold pyprime / limit (python3, static: not the target)",
                r))

    print_summary(summary)


def print_summary(summary):
    """The PASS/FAIL lines of every tree, (tree, ok, what, ratio) each."""
    if summary:
        print()
        print("summary")
        for tree, ok, what, r in summary:
            print("  %-5s %s  %-60s %6.2fx" % (tree, verdict(ok), what, r))


def main(argv):
    if len(argv) < 2:
        die("usage: benchlib.py mktree|run|limit|report ARGS")
    cmd, args = argv[1], argv[2:]
    if cmd == "mktree" and len(args) == 2:
        mktree(*args)
    elif cmd == "run" and len(args) >= 2:
        run(args[0], args[1:])
    elif cmd == "limit" and len(args) == 2:
        limit(*args)
    elif cmd == "report" and len(args) == 6:
        report(args[0], args[1], args[2:])
    else:
        die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    main(sys.argv)
