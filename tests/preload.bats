#!/usr/bin/env bats
# pyprime preload and pyprime launch: a child of the server runs a module
# or script as /usr/bin/python3 does (output and status compared with
# python3's own), signals, refusals, stale code, falling back to python3.

load test_helper

setup() {
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	APP=$BATS_TEST_TMPDIR/app
	mkdir -p "$APP/sub"
	# Preloaded by the server; the probe imports it.
	cat >"$APP/lib.py" <<'PY'
import decimal
VERSION = 1
PY
	cat >"$APP/probe.py" <<'PY'
import atexit, os, signal, sys
import lib
atexit.register(lambda: print("atexit", flush=True))
print("argv", sys.argv)
print("orig_argv", sys.orig_argv[1:])
print("cwd", os.getcwd())
print("env", os.environ.get("PROBE"), "HOME" in os.environ)
mask = os.umask(0)
print("umask", oct(mask))
print("path", sys.path)
print("main", __name__, __file__, __spec__ and __spec__.name)
print("lib", lib.VERSION)
print("blocked", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
print("handlers", [str(signal.getsignal(s)) for s in
      (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD,
       signal.SIGPIPE, signal.SIGQUIT)])
print("streams", sys.stdout.line_buffering, sys.stdout.encoding,
      sys.stderr.errors)
print("modules", sorted(sys.modules))  # lib imported: no more than python3 has
print("importlib.util", hasattr(sys.modules.get("importlib"), "util"))
what = sys.argv[1] if len(sys.argv) > 1 else ""
if what == "exit3":
    sys.exit(3)
if what == "exitmsg":
    sys.exit("a message")
if what == "raise":
    raise ValueError("from the probe")
if what == "input":
    print("read", input())
if what == "tty":
    print("isatty", sys.stdin.isatty(), sys.stdout.isatty())
PY
	# Without the preloaded module, which python3 would not find there.
	sed '/lib/d' "$APP/probe.py" >"$APP/sub/script.py"
	# Waits for signals; says which came.
	cat >"$APP/waiter.py" <<'PY'
import os, signal, sys, time
def said(name, status=None):
    def handler(*a):
        print("got", name, flush=True)
        if status is not None:
            sys.exit(status)
    return handler
signal.signal(signal.SIGTERM, said("TERM", 5))
signal.signal(signal.SIGWINCH, said("WINCH"))
signal.signal(signal.SIGUSR1, said("USR1"))
with open(sys.argv[1] if len(sys.argv) > 1 else os.devnull, "w") as f:
    f.write(str(os.getpid()))
print("ready", flush=True)
try:
    for _ in range(100):
        time.sleep(0.1)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
    raise
print("done", flush=True)
PY
	cd "$APP"
}

teardown() {
	local log pid
	for log in "$XDG_RUNTIME_DIR"/pyprime/*.log "$BATS_TEST_TMPDIR"/*.log \
		${OPEN_DIR:+"$OPEN_DIR"/*.log}; do
		[ -f "$log" ] || continue
		for pid in $(sed -n 's/.*(pid \([0-9]*\))$/\1/p' "$log"); do
			kill "$pid" 2>/dev/null || true
		done
	done
	[ -z "${OPEN_DIR:-}" ] || rm -rf "$OPEN_DIR"
	[ -z "${ACTIVATOR:-}" ] || kill "$ACTIVATOR" 2>/dev/null || true
}

# The pid of server NAME, from its log.
server_pid() {
	sed -n 's/.*(pid \([0-9]*\))$/\1/p' "$XDG_RUNTIME_DIR/pyprime/$1.log" | tail -1
}

start_server() {
	pyprime preload -C "$APP" --import lib "$@"
}

# Run "launch NAME ARGS" and "/usr/bin/python3 ARGS" alike; both outputs
# and statuses must be equal.
same_as_python() {
	local name=$1
	shift
	run --separate-stderr "$PYPRIME" launch --no-fallback "$name" "$@"
	local out=$output err=$stderr st=$status
	run --separate-stderr "$PYTHON" "$@"
	[ "$st" = "$status" ] || fail "status $st, python3's $status"
	[ "$out" = "$output" ] || fail "$(printf 'stdout:\n%s\npython3:\n%s' "$out" "$output")"
	[ "$err" = "$stderr" ] || fail "$(printf 'stderr:\n%s\npython3:\n%s' "$err" "$stderr")"
}

@test "a module runs as python3 -m runs it: argv, environment, directory, umask, sys.path, __main__, sys.modules" {
	start_server t
	umask 027
	PROBE="a value" same_as_python t -m probe "an arg" "-x"
	assert_line "argv ['$APP/probe.py', 'an arg', '-x']"
	assert_line "umask 0o27"
	assert_line "env a value True"
	assert_line "main __main__ $APP/probe.py probe"
	assert_line atexit
}

@test "a script runs as python3 runs it, from another directory" {
	start_server t
	mkdir elsewhere
	cd elsewhere
	PROBE=x same_as_python t ../sub/script.py one
	assert_line "argv ['../sub/script.py', 'one']"
	assert_line "main __main__ $APP/elsewhere/../sub/script.py None"
}

@test "an uncaught exception is printed as python3 prints it, with its status" {
	start_server t
	same_as_python t -m probe raise
	[ "$status" = 1 ]
	[[ "$stderr" == *"ValueError: from the probe" ]]
	same_as_python t sub/script.py raise
	same_as_python t -m no_such_module
	same_as_python t no_such_script.py
	[ "$status" = 2 ]
}

@test "sys.exit(3) is the status, and sys.exit(message) says it, after the atexit handlers" {
	start_server t
	same_as_python t -m probe exit3
	[ "$status" = 3 ]
	assert_line atexit
	same_as_python t -m probe exitmsg
	[ "$status" = 1 ]
	assert_equal "$stderr" "a message"
}

@test "an app killed by a signal: the client ends by the same signal, as python3 does" {
	start_server t
	cat >killed.py <<'PY'
import os, signal
print("before", flush=True)
os.kill(os.getpid(), signal.SIGTERM)
PY
	same_as_python t killed.py
	[ "$status" = 143 ]
	assert_output before
}

@test "input() reads the client's standard input from a pipe" {
	start_server t
	run -0 bash -c 'echo "piped line" | "$PYPRIME" launch --no-fallback t -m probe input'
	assert_line "read piped line"
}

@test "on a pty the app sees a terminal, as under python3" {
	start_server t
	run -0 script -qec "$PYPRIME launch --no-fallback t -m probe tty" /dev/null </dev/null
	assert_line --partial "isatty True True"
	local launched=$output
	run -0 script -qec "$PYTHON -m probe tty" /dev/null </dev/null
	assert_equal "$launched" "$output"
}

@test "the child handles signals as python3 does: none blocked, its own handlers" {
	start_server t
	same_as_python t -m probe
	assert_line "blocked []"
}

@test "SIGTERM and SIGWINCH sent to the client reach the app" {
	start_server t
	"$PYPRIME" launch --no-fallback t waiter.py >out 2>&1 &
	local client=$!
	for _ in $(seq 50); do grep -q ready out && break; sleep 0.1; done
	kill -WINCH "$client"
	sleep 0.3
	kill -TERM "$client"
	local st=0
	wait "$client" || st=$?
	assert_equal "$st" 5
	run cat out
	assert_line "got WINCH"
	assert_line "got TERM"
}

@test "Ctrl-C reaches the app as KeyboardInterrupt and the client ends by SIGINT" {
	start_server t
	run script -qec "$PYPRIME launch --no-fallback t waiter.py" /dev/null \
		< <(sleep 1.5; printf '\003'; sleep 2)
	assert_line --partial "KeyboardInterrupt caught"
	assert_line --partial "KeyboardInterrupt"
	# The client died by SIGINT (script says 128 + 2), as python3 does.
	[ "$status" = 130 ]
	run script -qec "$PYTHON waiter.py" /dev/null \
		< <(sleep 1; printf '\003'; sleep 2)
	[ "$status" = 130 ]
}

@test "stopping the client stops the app, and continuing it continues both" {
	start_server t
	"$PYPRIME" launch --no-fallback t waiter.py pid >out 2>&1 &
	local client=$! child
	for _ in $(seq 50); do grep -q ready out && break; sleep 0.1; done
	child=$(cat pid)
	kill -TSTP "$client"
	sleep 0.3
	run -0 ps -o stat= -p "$client" -p "$child"
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -c1 | sort -u)" T
	kill -CONT "$client"
	sleep 0.3
	run -0 ps -o stat= -p "$client" -p "$child"
	refute_line --regexp '^T'
	wait "$client"
	run cat out
	assert_line done
}

@test "a client of another uid is refused and logged" {
	local dir
	# Outside the test's directory, which nobody cannot enter.
	dir=$(mktemp -d /tmp/pyprime-test.XXXXXX)
	OPEN_DIR=$dir
	chmod 755 "$dir"
	cp "$APP/sub/script.py" "$APP/lib.py" "$dir/"
	pyprime preload -C "$APP" --import lib --socket "$dir/s" t
	chmod 777 "$dir/s"
	run -1 --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PYPRIME" launch --no-fallback --socket "$dir/s" "$dir/script.py"
	assert_equal "$stderr" "pyprime: the server on '$dir/s' is not this user's"
	sleep 0.2
	run -0 cat "$dir/s.log"
	assert_line --partial "refused a launch by uid 65534"
	# Without --no-fallback, python3 runs it.
	run -0 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PYPRIME" launch --socket "$dir/s" "$dir/script.py"
	assert_line "argv ['$dir/script.py']"
}

@test "a preloaded module changed on disk: the launch is refused as stale, and the server loads the new code" {
	start_server t
	local pid
	pid=$(server_pid t)
	run -0 "$PYPRIME" launch --no-fallback t -m probe
	assert_line "lib 1"
	sed -i 's/VERSION = 1/VERSION = 22/' lib.py
	run -1 --separate-stderr "$PYPRIME" launch --no-fallback t -m probe
	assert_equal "$stderr" "pyprime: the server's code is stale"
	# Without --no-fallback: python3, with the new code.
	run -0 --separate-stderr "$PYPRIME" launch t -m probe
	assert_line "lib 22"
	for _ in $(seq 50); do
		"$PYPRIME" launch --no-fallback t -m probe >out 2>/dev/null && break
		sleep 0.1
	done
	run cat out
	assert_line "lib 22"
	# The same server (pid), run again on the same socket.
	assert_equal "$(server_pid t)" "$pid"
	kill -0 "$pid"
}

@test "the server killed during a launch: the client says so and runs python3, and no zombie is left" {
	start_server t
	local pid client
	pid=$(server_pid t)
	kill -STOP "$pid"
	"$PYPRIME" launch t -m probe >out 2>err &
	client=$!
	sleep 0.5
	kill -KILL "$pid"
	wait "$client"
	run cat err
	assert_output "pyprime: warning: the server ended during the launch: running /usr/bin/python3"
	run cat out
	assert_line "argv ['$APP/probe.py']"
	# Nothing the client started is left unreaped (the server itself is
	# its parent's to reap).
	run ps -e -o stat=,ppid=
	refute_line --regexp "^Z.* $client\$"
}

@test "the server killed while the app runs: the client says so and ends with the app" {
	start_server t
	local pid client child st=0
	pid=$(server_pid t)
	"$PYPRIME" launch --no-fallback t waiter.py pidfile >out 2>err &
	client=$!
	for _ in $(seq 50); do grep -q ready out && break; sleep 0.1; done
	child=$(cat pidfile)
	kill -KILL "$pid"
	sleep 0.3
	# The app goes on; the client waits for it.
	kill -0 "$child"
	kill -0 "$client"
	kill -TERM "$child"
	wait "$client" || st=$?
	assert_equal "$st" 1
	run cat err
	assert_output "pyprime: the server went away while running the app (pid $child): its exit status is unknown"
}

@test "without a server launch runs /usr/bin/python3 in its own process; --no-fallback makes that an error" {
	cat >pid.py <<'PY'
import os, sys
print("pid", os.getpid(), sys.executable)
PY
	run -0 sh -c 'echo "pid $$ /usr/bin/python3"; exec "$PYPRIME" launch nothing_here pid.py'
	assert_equal "${lines[0]}" "${lines[1]}"
	run -1 --separate-stderr "$PYPRIME" launch --no-fallback nothing_here pid.py
	assert_equal "$stderr" "pyprime: no server on '$XDG_RUNTIME_DIR/pyprime/nothing_here'"
	assert_output ""
	# Nor a runtime directory: python3 all the same, and nothing said.
	run -0 --separate-stderr env -u XDG_RUNTIME_DIR "$PYPRIME" launch nothing_here pid.py
	assert_output --partial "/usr/bin/python3"
	assert_equal "$stderr" ""
}

@test "20 launches at once are all served, each with its own arguments" {
	start_server t
	local n
	for n in $(seq 20); do
		"$PYPRIME" launch --no-fallback t -m probe "n$n" >"out$n" 2>&1 &
	done
	wait
	for n in $(seq 20); do
		run -0 cat "out$n"
		assert_line "argv ['$APP/probe.py', 'n$n']"
		assert_line atexit
	done
}

@test "the child holds only descriptors 0-2 and what the app opened" {
	start_server t
	cat >fds.py <<'PY'
import os
f = open(__file__)
print(sorted(os.listdir("/proc/self/fd"), key=int))
PY
	# 3 is the file, 4 the directory listdir reads.
	run -0 "$PYPRIME" launch --no-fallback t fds.py
	assert_output "['0', '1', '2', '3', '4']"
}

@test "the socket's directory is made 0700, and one that others can enter is refused" {
	start_server t
	run -0 stat -c %a "$XDG_RUNTIME_DIR/pyprime"
	assert_output 700
	chmod 755 "$XDG_RUNTIME_DIR/pyprime"
	run -1 pyprime preload -C "$APP" other
	assert_output "pyprime: '$XDG_RUNTIME_DIR/pyprime' is not a private directory of this user (0700)"
	run -1 pyprime preload -C "$APP" t
}

@test "a second server on the same socket is refused" {
	start_server t
	run -1 pyprime preload -C "$APP" t
	assert_output "pyprime: a server is already listening on '$XDG_RUNTIME_DIR/pyprime/t'"
}

@test "a thread running in the server: launches are refused, naming it" {
	cat >threaded.py <<'PY'
import threading, time
threading.Thread(target=time.sleep, args=(1000,), name="sleeper",
                 daemon=True).start()
PY
	start_server t --import threaded
	run -1 --separate-stderr "$PYPRIME" launch --no-fallback t -m probe
	assert_equal "$stderr" "pyprime: the server refused the launch: thread 'sleeper' is running"
	run -0 cat "$XDG_RUNTIME_DIR/pyprime/t.log"
	assert_line --partial "refused a launch: thread 'sleeper' is running"
}

@test "--idle-exit: the server ends after that long without a launch and removes its socket" {
	start_server t --idle-exit 1
	local pid
	pid=$(server_pid t)
	run -0 "$PYPRIME" launch --no-fallback t -m probe
	sleep 2.5
	assert_not_exist "$XDG_RUNTIME_DIR/pyprime/t"
	run ps -o stat= -p "$pid"
	refute_output --regexp '^[^Z]'
}

@test "a start-up variable that differs from the server's runs python3 instead" {
	start_server t
	run -1 --separate-stderr env PYTHONOPTIMIZE=1 "$PYPRIME" launch --no-fallback t -m probe
	assert_equal "$stderr" "pyprime: the server refused the launch: PYTHONOPTIMIZE differs from the server's"
	run -0 env PYTHONOPTIMIZE=1 "$PYPRIME" launch t -m probe
	assert_line "lib 1"
}

@test "--learn imports what the app's module imports, not the module itself" {
	cat >tool.py <<'PY'
import sys
print("preloaded", "decimal" in sys.modules, __name__)
import decimal
PY
	pyprime preload -C "$APP" --learn tool
	run -0 "$PYPRIME" launch --no-fallback tool -m tool
	assert_output "preloaded True __main__"
	run -0 "$PYTHON" -m tool
	assert_output "preloaded False __main__"
}

@test "socket activation: systemd's socket is served" {
	command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
	# It passes no environment but what it is told to: the variables
	# python3 starts by must be the clients'.
	local name flags=()
	for name in $(env | sed -n 's/^\(PYTHON[^=]*\|LC_ALL\|LC_CTYPE\|LANG\)=.*/\1/p'); do
		flags+=(-E "$name")
	done
	systemd-socket-activate "${flags[@]}" -l "$BATS_TEST_TMPDIR/act" \
		"$PYPRIME" preload --foreground -C "$APP" --import lib act \
		2>"$BATS_TEST_TMPDIR/act.log" 3>&- &
	ACTIVATOR=$!
	for _ in $(seq 50); do [ -S "$BATS_TEST_TMPDIR/act" ] && break; sleep 0.1; done
	run -0 "$PYPRIME" launch --no-fallback --socket "$BATS_TEST_TMPDIR/act" -m probe
	assert_line "lib 1"
}

@test "the unit's command, with a profile, serves the socket the socket unit makes" {
	command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
	local unit=$BATS_TEST_DIRNAME/../debian/pyprime-preload@.service
	local sock=$BATS_TEST_DIRNAME/../debian/pyprime-preload@.socket
	[ -f "$unit" ] || skip "no unit files here (an installed suite)"
	run -0 grep -x 'ListenStream=%t/pyprime/%i' "$sock"
	cat >profile <<PROFILE
DIR=$APP
IMPORTS=lib,json
FLAGS="-O -X dev"
OPTIONS="--idle-exit 5"
PROFILE
	# ExecStart as systemd expands it: \${X} one word, \$X split.
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' "$unit")
	cmd=${cmd//%i/unit}
	cmd=${cmd//\$\{/\"\$\{}
	cmd=${cmd//\}/\}\"}
	cmd=${cmd/\/usr\/bin\/pyprime/\"\$PYPRIME\"}
	local name flags=()
	for name in $(env | sed -n 's/^\(PYTHON[^=]*\|LC_ALL\|LC_CTYPE\|LANG\)=.*/\1/p'); do
		flags+=(-E "$name")
	done
	# shellcheck disable=SC1091
	(set -a; . ./profile; set +a
	 eval "exec systemd-socket-activate ${flags[*]} -l \"\$XDG_RUNTIME_DIR/unit\" $cmd") \
		2>unit.log 3>&- &
	ACTIVATOR=$!
	for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/unit" ] && break; sleep 0.1; done
	run -0 "$PYPRIME" launch --no-fallback --socket "$XDG_RUNTIME_DIR/unit" \
		--python-flags "-O -X dev" -m probe
	assert_line "lib 1"
	assert_line "orig_argv ['-O', '-X', 'dev', '-m', 'probe']"
	run -0 cat unit.log
	assert_line --partial "serving 'unit'"
}

@test "launch does not load libpython" {
	start_server t
	run -0 bash -c 'LD_DEBUG=files "$PYPRIME" launch --no-fallback t -m probe 2>&1 >/dev/null'
	assert_output --partial "file=libc.so"
	refute_output --partial libpython
}

@test "the environment is python3's to the entry: a name given twice keeps its first value, an entry without '=' is skipped" {
	start_server t
	cat >env.py <<'PY'
import ctypes, os
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
print("environ", [(k, v) for k, v in os.environ.items() if k.startswith("DUP")])
print("environb", os.environb.get(b"DUP"))
print("getenv", libc.getenv(b"DUP"), libc.getenv(b"DUPNEW"))
os.environ["DUPNEW"] = "set"
print("set", libc.getenv(b"DUPNEW"), os.environ["DUPNEW"])
del os.environ["DUP"]
print("unset", libc.getenv(b"DUP"), "DUP" in os.environ)
PY
	# execve(2) with an environment no shell would make.
	cat >exec.py <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def strings(v):
    a = (ctypes.c_char_p * (len(v) + 1))(*[s.encode() for s in v])
    a[len(v)] = None
    return a
env = ["DUP=first", "NOEQUALS", "DUPX=1", "DUP=second", "PATH=" + os.environ["PATH"],
       "XDG_RUNTIME_DIR=" + os.environ["XDG_RUNTIME_DIR"]]
# What the server must agree on, as it has it.
env += ["%s=%s" % kv for kv in os.environ.items()
        if kv[0].startswith("PYTHON") or kv[0] in ("LC_ALL", "LC_CTYPE", "LANG")]
libc.execve(sys.argv[1].encode(), strings(sys.argv[1:]), strings(env))
sys.exit("execve: %s" % os.strerror(ctypes.get_errno()))
PY
	run --separate-stderr "$PYTHON" exec.py "$PYPRIME" launch --no-fallback t env.py
	local out=$output st=$status
	run --separate-stderr "$PYTHON" exec.py "$PYTHON" env.py
	[ "$st" = "$status" ] || fail "status $st, python3's $status"
	[ "$out" = "$output" ] || fail "$(printf 'launch:\n%s\npython3:\n%s' "$out" "$output")"
	assert_line "environ [('DUP', 'first'), ('DUPX', '1')]"
	assert_line "getenv b'first' None"
	assert_line "set b'set' set"
	assert_line "unset None False"
}

@test "a script reached through a symbolic link: sys.path[0] is its real directory, as under python3" {
	start_server t
	mkdir -p real links
	printf 'import sys\nprint(sys.path[0], __file__, sys.argv[0])\n' >real/where.py
	ln -s ../real/where.py links/where.py
	same_as_python t links/where.py
	assert_output "$APP/real $APP/links/where.py links/where.py"
	same_as_python t "$APP/links/where.py"
}

# The children of PID, one per line.
children() {
	ps -o pid= --ppid "$1" | tr -d ' '
}

@test "a spare child waits for the next launch, which it serves; --no-spare forks at each launch instead" {
	start_server t
	local pid spare
	pid=$(server_pid t)
	run children "$pid"
	[ "${#lines[@]}" = 1 ] || fail "children of the server: ${lines[*]}"
	spare=${lines[0]}
	printf 'import os\nprint(os.getpid())\n' >pid.py
	run "$PYPRIME" launch --no-fallback t pid.py
	assert_success
	assert_output "$spare"
	# Another one is forked once the launch ended.
	sleep 0.5
	run children "$pid"
	[ "${#lines[@]}" = 1 ] || fail "children of the server: ${lines[*]}"
	[ "${lines[0]}" != "$spare" ]

	start_server u --no-spare
	pid=$(server_pid u)
	sleep 0.5
	run children "$pid"
	assert_output ""
	run "$PYPRIME" launch --no-fallback u pid.py
	assert_success
	same_as_python u -m probe
}

@test "the server killed: its spare child ends with it" {
	start_server t
	local pid spare
	pid=$(server_pid t)
	spare=$(children "$pid")
	[ -n "$spare" ]
	kill -KILL "$pid"
	local i
	for i in $(seq 50); do
		kill -0 "$spare" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$spare"
	assert_failure
}

@test "--python-flags: the app runs as python3 with those options runs it; a launch asking for others runs python3" {
	start_server t --python-flags "-O -X dev" --python-flags -u
	printf 'import sys\nprint(sys.flags.optimize, sys.flags.dev_mode, sys.stdout.write_through)\nassert False\nprint("asserts off")\n' >flags.py
	run --separate-stderr "$PYPRIME" launch --no-fallback --python-flags "-O -X dev -u" t flags.py
	local out=$output st=$status
	run --separate-stderr "$PYTHON" -O -X dev -u flags.py
	[ "$st" = "$status" ] || fail "status $st, python3's $status"
	[ "$out" = "$output" ] || fail "$(printf 'launch:\n%s\npython3:\n%s' "$out" "$output")"
	assert_output "$(printf '1 True True\nasserts off')"
	run -0 "$PYPRIME" launch --no-fallback --python-flags "-O -X dev -u" t -m probe
	assert_line "orig_argv ['-O', '-X', 'dev', '-u', '-m', 'probe']"
	# Other options (or none): refused, and python3 runs with the launch's.
	run --separate-stderr "$PYPRIME" launch --no-fallback t flags.py
	assert_failure
	assert_equal "$stderr" "pyprime: the server refused the launch: python3's options (--python-flags) differ from the server's"
	run --separate-stderr "$PYPRIME" launch --python-flags -OO t flags.py
	assert_success
	out=$output
	run -0 "$PYTHON" -OO flags.py
	assert_equal "$out" "$output"
	assert_line --partial "2 False"
}

@test "--python-flags -I: nothing first on sys.path, as under python3 -I" {
	start_server t --python-flags -I
	run --separate-stderr "$PYPRIME" launch --no-fallback --python-flags -I t sub/script.py
	local out=$output st=$status
	run --separate-stderr "$PYTHON" -I sub/script.py
	[ "$st" = "$status" ] || fail "status $st, python3's $status"
	[ "$out" = "$output" ] || fail "$(printf 'launch:\n%s\npython3:\n%s' "$out" "$output")"
	refute_output --partial "'$APP"
}

@test "--python-flags that python3 refuses, or that name what to run, stop the server with a message" {
	run pyprime preload --python-flags "-m lib" t
	assert_failure 1
	assert_output --partial "--python-flags: only python3's options, not what to run"
	run pyprime preload --python-flags "-Z" t
	assert_failure 1
	assert_output --partial "--python-flags: python3 refuses them"
	run pyprime preload --python-flags "other.py" t
	assert_failure 1
	run ls "$XDG_RUNTIME_DIR/pyprime"
	refute_output --partial "t"
}

@test "while a launched app runs on, the next spare is forked and serves the next launch" {
	start_server t
	local pid first spare
	pid=$(server_pid t)
	# Runs until SIGTERM, however slow the machine.
	cat >sleeper.py <<'PY'
import os, signal, sys, time
def term(*args):
    print("got TERM", flush=True)
    sys.exit(5)
signal.signal(signal.SIGTERM, term)
with open("app.pid.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("app.pid.tmp", "app.pid")
while True:
    time.sleep(0.1)
PY
	"$PYPRIME" launch --no-fallback t sleeper.py >waiter.out &
	for _ in $(seq 100); do [ -s app.pid ] && break; sleep 0.1; done
	first=$(cat app.pid)
	sleep 0.5
	run children "$pid"
	[ "${#lines[@]}" = 2 ] || fail "children of the server: ${lines[*]}"
	spare=$(children "$pid" | grep -vx "$first")
	printf 'import os\nprint(os.getpid())\n' >pid.py
	run -0 "$PYPRIME" launch --no-fallback t pid.py
	assert_output "$spare"
	kill -TERM "$first"
	wait
	run cat waiter.out
	assert_line "got TERM"
}

@test "the first launch records the pages it wrote; each later spare copies them ahead; the record goes with the server" {
	start_server t
	local pid pages=$XDG_RUNTIME_DIR/pyprime/t.pages spare listed kib
	pid=$(server_pid t)
	[ ! -e "$pages" ]
	run -0 "$PYPRIME" launch --no-fallback t -m probe
	[ -s "$pages" ]
	# Page-aligned ranges of this process's memory.
	run awk '$1 !~ /^[0-9a-f]+$/ || $2 !~ /^[1-9][0-9]*$/ || $1 !~ /000$/' "$pages"
	assert_output ""
	listed=$(awk '{ n += $2 } END { print n * 4 }' "$pages")
	sleep 0.5
	spare=$(children "$pid")
	[ -n "$spare" ]
	kib=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$spare/smaps_rollup")
	[ "$kib" -ge $((listed / 2)) ] || fail "the spare has $kib KiB of its own, the record lists $listed"
	run -0 "$PYPRIME" launch --no-fallback t -m probe
	assert_line "lib 1"
	kill -TERM "$pid"
	for _ in $(seq 50); do [ -e "$pages" ] || break; sleep 0.1; done
	[ ! -e "$pages" ]
}

@test "launch --memory: the child writes its smaps_rollup as it ends, after its atexit handlers" {
	start_server t
	# 64 MiB made and touched by an atexit handler: only a reading taken
	# after the handlers counts it.
	cat >big.py <<'PY'
import atexit
keep = []
atexit.register(lambda: keep.append(bytearray(64 << 20)))
print("ran")
PY
	run -0 --separate-stderr "$PYPRIME" launch --no-fallback --memory mem t big.py
	assert_output ran
	run -0 cat mem
	assert_line --regexp '^Rss: +[0-9]+ kB$'
	assert_line --regexp '^Pss: +[0-9]+ kB$'
	local uss
	uss=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' mem)
	[ "$uss" -gt 65536 ] || fail "USS $uss kB, without the atexit handler's 64 MiB"
	# Without a server python3 runs it: the file is made, and left empty.
	run -0 "$PYPRIME" launch --memory mem2 nothing_here big.py
	assert_output ran
	assert_file_exists mem2
	assert_file_empty mem2
	run -1 --separate-stderr "$PYPRIME" launch --no-fallback --memory "$BATS_TEST_TMPDIR/no/such/dir" t big.py
	assert_equal "$stderr" "pyprime: cannot open '$BATS_TEST_TMPDIR/no/such/dir': No such file or directory"
}

@test "a launch refused once its spare has the request runs the app once, by python3" {
	start_server t
	local pid tracer
	pid=$(server_pid t)
	printf 'with open("ran", "a") as f:\n    f.write("ran\\n")\n' >count.py
	# Refused for its environment: the spare given the request is killed.
	run -0 env PYTHONOPTIMIZE=1 "$PYPRIME" launch t count.py
	# Refused as stale, with the server's first stat of the check held
	# up for a second: long enough for a spare that did not wait for the
	# server's word to run the script.
	sleep 0.5
	strace -qq -o /dev/null -p "$pid" -e trace=newfstatat \
		-e inject=newfstatat:delay_enter=1000000:when=1 &
	tracer=$!
	for _ in $(seq 100); do
		grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$pid/status" && break
		sleep 0.05
	done
	grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$pid/status"
	sed -i 's/VERSION = 1/VERSION = 2/' lib.py
	run -0 "$PYPRIME" launch t count.py
	kill "$tracer"
	wait "$tracer" || true
	run -0 cat ran
	assert_equal "${#lines[@]}" 2
}

@test "an app that gives up root before it ends: the client still ends with its status" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	start_server t
	printf 'import os, sys\nos.setgid(65534)\nos.setuid(65534)\nprint("dropped")\nsys.exit(4)\n' >drop.py
	same_as_python t drop.py
	assert_equal "$status" 4
	assert_output dropped
}

@test "a preloaded package's directory replaced by a copy of itself: the launch is refused as stale" {
	mkdir pkg
	printf 'VERSION = 1\n' >pkg/__init__.py
	printf 'import pkg\nprint("pkg", pkg.VERSION)\n' >v.py
	pyprime preload -C "$APP" --import pkg t
	run -0 "$PYPRIME" launch --no-fallback t v.py
	assert_output "pkg 1"
	# The same names, sizes and times, in another directory.
	mv pkg pkg.old
	cp -a pkg.old pkg
	run -1 --separate-stderr "$PYPRIME" launch --no-fallback t v.py
	assert_equal "$stderr" "pyprime: the server's code is stale"
}

@test "the app runs on the client's CPUs, as under python3" {
	start_server t
	printf 'import os\nprint(sorted(os.sched_getaffinity(0)))\n' >cpus.py
	run -0 taskset -c 0 "$PYPRIME" launch --no-fallback t cpus.py
	assert_output "[0]"
	run -0 "$PYPRIME" launch --no-fallback t cpus.py
	assert_output "$("$PYTHON" cpus.py)"
}

@test "a launch that still takes many page faults records its pages again, for the spares after it" {
	start_server t
	local pages=$XDG_RUNTIME_DIR/pyprime/t.pages before after
	printf 'pass\n' >trivial.py
	run -0 "$PYPRIME" launch --no-fallback t trivial.py
	before=$(awk '{ n += $2 } END { print n }' "$pages")
	# Writes 8 MiB: thousands of faults, however ready its spare was.
	printf 'keep = bytearray(8 << 20)\nprint("wrote")\n' >writer.py
	sleep 0.3
	run -0 "$PYPRIME" launch --no-fallback t writer.py
	assert_output wrote
	after=$(awk '{ n += $2 } END { print n }' "$pages")
	[ "$after" -gt $((before + 1024)) ] || fail "$before pages recorded, then $after"
}
