"""Helpers for bench/preload: one application timed as python3 runs it
with its pycs (warm) and as "pyprime launch" runs it, from a server that
"pyprime preload" started for it.

    preloadlib.py app PYPRIME TREE MODULE SOCKET RUNS [--import MOD ...]

From TREE (its pycs written, the page cache warm): starts
"pyprime preload --foreground --socket SOCKET -C TREE [--learn | --import
MOD,...] MODULE", then, RUNS rounds, the tool going first alternating:

    python3 -m MODULE                     (/usr/bin/python3)
    pyprime launch --no-fallback --socket SOCKET -m MODULE
    pyprime launch ... trivial.py         (a script that does nothing)
    the fork itself: a child the server's size forked and reaped

Each must give python3's output and status.  Then 20 launches at once of a
probe that prints its argument, each checked, and the server's RSS and PSS
while idle.  Prints "key value" lines, times in milliseconds (medians).

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
PROBE = "import sys\nprint('probe', sys.argv[1])\n"
# The fork itself, in a process that imported what the server did: fork,
# the child exits at once, the parent reaps it.
FORK = '''\
import contextlib, importlib, io, os, statistics, sys, time
with contextlib.redirect_stdout(io.StringIO()):
    for name in sys.argv[2:]:
        importlib.import_module(name)
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    times.append(time.perf_counter() - t)
print(statistics.median(times) * 1000)
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
    """RSS and PSS of PID in KiB, from smaps_rollup."""
    got = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                got[key] = int(rest.split()[0])
    return got.get("Rss", 0), got.get("Pss", 0)


def app(argv):
    pyprime, tree, module, sock, runs = argv[:5]
    runs = int(runs)
    imports = argv[6:] if argv[5:6] == ["--import"] else []
    os.chdir(tree)
    for name, text in (("trivial.py", TRIVIAL), ("probe.py", PROBE)):
        with open(name, "w") as f:
            f.write(text)
    cmd = [pyprime, "preload", "--foreground", "--socket", sock, "-C", tree]
    cmd += ["--import", ",".join(imports)] if imports else ["--learn"]
    cmd.append(module)
    log = open(sock + ".bench.log", "w")
    t = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=tree)
    try:
        wait_ready(pyprime, sock, tree, server)
        print("server_start_ms %.1f" % ((time.perf_counter() - t) * 1000))
        time.sleep(1)
        rss, pss = memory(server.pid)
        print("server_rss_kib %d" % rss)
        print("server_pss_kib %d" % pss)

        python = [PY, "-m", module]
        launch = [pyprime, "launch", "--no-fallback", "--socket", sock,
                  "-m", module]
        trivial = [pyprime, "launch", "--no-fallback", "--socket", sock,
                   "trivial.py"]
        _, want, wstatus = run(python, tree)
        if wstatus != 0:
            die("python3 -m %s: status %d" % (module, wstatus))
        times = {"python": [], "launch": [], "trivial": []}
        for i in range(runs + 1):
            order = ["python", "launch"] if i % 2 else ["launch", "python"]
            for which in order + ["trivial"]:
                argv_ = {"python": python, "launch": launch,
                         "trivial": trivial}[which]
                elapsed, out, status = run(argv_, tree)
                expect = b"" if which == "trivial" else want
                if status != 0 or out != expect:
                    die("%s: status %d, output %r, not %r" %
                        (" ".join(argv_), status, out[:200], expect[:200]))
                if i:	# run 0 warms up
                    times[which].append(elapsed * 1000)
        for which, xs in times.items():
            print("%s_ms %.2f" % (which, statistics.median(xs)))
            print("%s_min_ms %.2f" % (which, min(xs)))
            print("%s_max_ms %.2f" % (which, max(xs)))
        learned = imports or [module]
        _, out, status = run([PY, "-c", FORK, str(runs * 4)] + learned, tree)
        if status != 0:
            die("timing the fork failed")
        print("fork_ms %.2f" % float(out))

        # 20 launches at once, each checked.
        procs = [subprocess.Popen([pyprime, "launch", "--no-fallback",
                                   "--socket", sock, "probe.py", str(k)],
                                  stdout=subprocess.PIPE, cwd=tree)
                 for k in range(20)]
        good = 0
        for k, p in enumerate(procs):
            out, _ = p.communicate()
            if p.returncode == 0 and out == ("probe %d\n" % k).encode():
                good += 1
        print("concurrent_ok %d" % good)
        print("concurrent_of 20")
        rss, pss = memory(server.pid)
        print("server_pss_after_kib %d" % pss)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main(argv):
    if argv[1:2] == ["app"] and len(argv) >= 7:
        app(argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
