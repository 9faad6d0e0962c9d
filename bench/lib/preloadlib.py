"""Helpers for bench/preload: one application timed as python3 runs it
with its pycs (warm) and as "pyprime launch" runs it, from a server that
"pyprime preload" started for it.

    preloadlib.py app PYPRIME TREE MODULE SOCKET RUNS [--import MOD ...]

From TREE (its pycs written, the page cache warm): starts two servers,
"pyprime preload --foreground --socket SOCKET -C TREE [--learn | --import
MOD,...] MODULE" and the same with --no-spare on SOCKET.nospare, then,
RUNS rounds, python3 and the launches going first in turn:

    python3 -m MODULE                     (/usr/bin/python3)
    pyprime launch --no-fallback --socket SOCKET -m MODULE
    pyprime launch ... trivial.py         (a script that does nothing)
    the same again at once, before the server has its next spare
    the first two from the --no-spare server
    the fork itself: a child the server's size forked and reaped (by
    a python3 that imported what the server did)

Each must give python3's output and status.  Then 20 launches at once of a
probe that prints its argument, each checked.  The memory of each server
while idle after the rounds: its RSS and PSS, its spare's PSS and USS,
the sum of the PSS.
Prints "key value" lines, times in milliseconds (medians), sizes in KiB.

Runs under /usr/bin/python3 -B with the standard library only.
"""

import os
import signal
import statistics
import subprocess
import sys
import time

PY = "/usr/bin/python3"

TRIVIAL = "pass\n"
# Seconds between runs (but for "again"): the previous run's process
# torn down, as when launches are spaced in use; a launch's client exits
# before its child's teardown, which would otherwise overlap the next run.
SETTLE = 0.1
PROBE = "import sys\nprint('probe', sys.argv[1])\n"
# The fork itself, in a process that imported what the server did: for
# each line read, a fork, the child exiting at once and reaped; its time
# in ms.  Timed once a round, as the launches are: after the same pause
# (forks back to back run faster, their memory still in the caches).
FORK = '''\
import contextlib, importlib, io, os, sys, time
with contextlib.redirect_stdout(io.StringIO()):
    for name in sys.argv[1:]:
        importlib.import_module(name)
print("ready", flush=True)
for _ in sys.stdin:
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print("%.4f" % ((time.perf_counter() - t) * 1000), flush=True)
'''


def die(msg):
    sys.stderr.write("preloadlib: %s\n" % msg)
    sys.exit(1)


def run(argv, cwd):
    """ARGV's wall time in seconds, from spawning to reaping, its output
    and its status."""
    r, w = os.pipe()
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1),
                                       (os.POSIX_SPAWN_CLOSE, r)])
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - t
    os.close(r)
    return elapsed, out, os.waitstatus_to_exitcode(status)


def wait_ready(pyprime, sock, tree, server, deadline=120):
    """Until a launch is served, or the server is gone."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            die("the server exited with status %d" % server.returncode)
        if os.path.exists(sock):
            _, _, status = run([pyprime, "launch", "--no-fallback",
                                "--socket", sock, "trivial.py"], tree)
            if status == 0:
                return
        time.sleep(0.1)
    die("no launch served within %d s" % deadline)


def memory(pid):
    """RSS, PSS and USS of PID in KiB, from smaps_rollup."""
    got = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                got[key] = int(rest.split()[0])
    return (got.get("Rss", 0), got.get("Pss", 0),
            got.get("Private_Clean", 0) + got.get("Private_Dirty", 0))


def children(pid):
    """The pids of PID's children."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def idle_memory(server, prefix):
    """The idle server's memory, and its spare's (if it has one), as
    "key value" lines."""
    rss, pss, _ = memory(server.pid)
    print("%s_rss_kib %d" % (prefix, rss))
    print("%s_pss_kib %d" % (prefix, pss))
    spare_pss = spare_uss = 0
    for pid in children(server.pid):
        _, p, u = memory(pid)
        spare_pss += p
        spare_uss += u
    print("%s_spare_pss_kib %d" % (prefix, spare_pss))
    print("%s_spare_uss_kib %d" % (prefix, spare_uss))
    print("%s_total_pss_kib %d" % (prefix, pss + spare_pss))


def start(cmd, tree, log, pyprime, sock):
    """The server CMD, once it serves."""
    server = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=tree)
    wait_ready(pyprime, sock, tree, server)
    return server


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def app(argv):
    pyprime, tree, module, sock, runs = argv[:5]
    runs = int(runs)
    imports = argv[6:] if argv[5:6] == ["--import"] else []
    os.chdir(tree)
    for name, text in (("trivial.py", TRIVIAL), ("probe.py", PROBE)):
        with open(name, "w") as f:
            f.write(text)
    cmd = [pyprime, "preload", "--foreground", "-C", tree]
    cmd += ["--import", ",".join(imports)] if imports else ["--learn"]
    cmd.append(module)
    nosock = sock + ".nospare"
    log = open(sock + ".bench.log", "w")
    t = time.perf_counter()
    server = start(cmd[:3] + ["--socket", sock] + cmd[3:], tree, log,
                   pyprime, sock)
    nospare = None
    try:
        print("server_start_ms %.1f" % ((time.perf_counter() - t) * 1000))
        nospare = start(cmd[:3] + ["--socket", nosock, "--no-spare"] +
                        cmd[3:], tree, log, pyprime, nosock)

        def launcher(s, *what):
            return [pyprime, "launch", "--no-fallback", "--socket", s] + \
                list(what)
        runs_of = {
            "python": [PY, "-m", module],
            "launch": launcher(sock, "-m", module),
            "trivial": launcher(sock, "trivial.py"),
            "again": launcher(sock, "trivial.py"),
            "nospare_launch": launcher(nosock, "-m", module),
            "nospare_trivial": launcher(nosock, "trivial.py"),
        }
        _, want, wstatus = run(runs_of["python"], tree)
        if wstatus != 0:
            die("python3 -m %s: status %d" % (module, wstatus))
        learned = imports or [module]
        forker = subprocess.Popen([PY, "-c", FORK] + learned,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, cwd=tree,
                                  text=True)
        if forker.stdout.readline() != "ready\n":
            die("timing the fork failed")
        times = {k: [] for k in runs_of}
        forks = []
        for i in range(runs + 1):
            # python3 and the launches take turns going first.  A
            # launch follows a run from elsewhere, as launches of one
            # app are spaced in use, but for "again": a trivial launch
            # right after another, before the next spare is ready.
            if i % 2:
                order = ["python", "launch", "nospare_launch", "trivial",
                         "again", "nospare_trivial"]
            else:
                order = ["nospare_launch", "launch", "python",
                         "nospare_trivial", "trivial", "again"]
            for which in order:
                argv_ = runs_of[which]
                if which != "again":
                    time.sleep(SETTLE)
                elapsed, out, status = run(argv_, tree)
                expect = want if which.endswith("launch") or \
                    which == "python" else b""
                if status != 0 or out != expect:
                    die("%s: status %d, output %r, not %r" %
                        (" ".join(argv_), status, out[:200], expect[:200]))
                if i:	# run 0 warms up
                    times[which].append(elapsed * 1000)
            time.sleep(SETTLE)
            forker.stdin.write("\n")
            forker.stdin.flush()
            line = forker.stdout.readline().split()
            if len(line) != 1:
                die("timing the fork failed")
            if i:
                forks.append(float(line[0]))
        for which, xs in times.items():
            print("%s_ms %.2f" % (which, statistics.median(xs)))
            print("%s_min_ms %.2f" % (which, min(xs)))
            print("%s_max_ms %.2f" % (which, max(xs)))
        # Once the spares have learned what a launch writes.
        time.sleep(1)
        idle_memory(server, "server")
        idle_memory(nospare, "nospare")
        forker.stdin.close()
        forker.wait()
        print("fork_ms %.2f" % statistics.median(forks))

        # 20 launches at once, each checked.
        procs = [subprocess.Popen(launcher(sock, "probe.py", str(k)),
                                  stdout=subprocess.PIPE, cwd=tree)
                 for k in range(20)]
        good = 0
        for k, p in enumerate(procs):
            out, _ = p.communicate()
            if p.returncode == 0 and out == ("probe %d\n" % k).encode():
                good += 1
        print("concurrent_ok %d" % good)
        print("concurrent_of 20")
        time.sleep(1)
        print("server_pss_after_kib %d" % memory(server.pid)[1])
    finally:
        stop(server)
        if nospare:
            stop(nospare)
        log.close()


def main(argv):
    if argv[1:2] == ["app"] and len(argv) >= 7:
        app(argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
