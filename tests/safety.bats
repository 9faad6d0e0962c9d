#!/usr/bin/env bats
# Never a broken or partial pyc, never a temporary file left behind, never
# a write through a symlink: killed workers, SIGKILL and SIGINT at random
# moments, read-only and full filesystems.

setup_file() {
	load test_helper
	# A tree that compiles cleanly, and py_compile's pycs for it.
	export GOOD="$BATS_FILE_TMPDIR/good" REF="$BATS_FILE_TMPDIR/ref"
	stdlib_copy "$GOOD"
	"$PYTHON" "$PYREF" errors "$GOOD" >"$BATS_FILE_TMPDIR/errors"
	cut -d: -f1 "$BATS_FILE_TMPDIR/errors" | (cd "$GOOD" && xargs -r rm -f --)
	"$PYTHON" "$PYREF" tree "$GOOD" "$REF" 0 timestamp >/dev/null
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# Every pyc under DIR is py_compile's, byte for byte; MISSING=1 allows
# some to be missing (a run that was stopped).
check_pycs() {
	run "$PYTHON" "$PYREF" compare "$1" "$REF" 0
	if [ "${MISSING:-0}" = 1 ]; then
		refute_output --partial "differs"
	else
		assert_success
	fi
}

# Start pyprime in its own process group; sets PID.  A shell starts
# background commands with SIGINT ignored; a terminal's Ctrl-C finds it at
# its default.
start() {
	setsid env --default-signal=INT "$PYPRIME" "$@" >"$BATS_TEST_TMPDIR/out" \
		2>"$BATS_TEST_TMPDIR/err" &
	PID=$!
}

# Wait for it; sets STATUS.
finish() {
	STATUS=0
	wait "$PID" || STATUS=$?
}

@test "a worker killed mid-run is reported with its file, the rest still compiles" {
	mkdir -p t
	for n in 1 2; do
		"$PYTHON" -c "
for i in range(16000):
    print(f'def f{i}(x, y=({i}, \"s{i}\")):\n    return x + y[0] * {i}')" >t/big$n.py
	done
	for n in $(seq 20); do echo "x$n = $n" >t/small$n.py; done
	start compile -j2 t
	# Both workers start on the big files (largest first).
	for _ in $(seq 100); do
		workers=$(pgrep -P "$PID" | head -1)
		[ -n "$workers" ] && break
		sleep 0.05
	done
	[ -n "$workers" ]
	sleep 0.3
	kill -9 "$workers"
	finish
	assert_equal "$STATUS" 1
	run -0 cat err
	assert_output --regexp "^pyprime: cannot compile 't/big[12].py': worker $workers killed by signal 9 \(Killed\)$"
	killed=$(sed -n "s/.*'\(t\/big[12].py\)'.*/\1/p" err)
	[ ! -e "$(cache_of "$killed")" ]
	for f in t/*.py; do
		[ "$f" = "$killed" ] && continue
		[ -f "$(cache_of "$f")" ]
	done
	[ -z "$(leftover_temps t)" ]
	# The next run finishes the job.
	run pyprime compile -v t
	assert_success
	assert_output "1 compiled, 21 fresh, 0 failed"
}

@test "after kill -9 at random moments every pyc is valid and the next run finishes" {
	for delay in 0.05 0.15 0.3 0.5; do
		rm -rf t && cp -a "$GOOD" t
		start compile -q -d . t
		sleep "$delay"
		kill -9 -- "-$PID"
		finish
		MISSING=1 check_pycs t
		run pyprime compile -q -d . t
		assert_success
		check_pycs t
		[ -z "$(leftover_temps t)" ]
	done
}

@test "after SIGINT at random moments no temporary file is left" {
	for delay in 0.05 0.2 0.4; do
		rm -rf t && cp -a "$GOOD" t
		start compile -q -d . t
		sleep "$delay"
		kill -INT "$PID"
		finish
		assert_equal "$STATUS" 130
		[ -z "$(leftover_temps t)" ]
		MISSING=1 check_pycs t
		[ -z "$(pgrep -g "$PID")" ]
	done
}

@test "a SIGINT ignored when it started (nohup) stays ignored, in the workers too" {
	rm -rf t && cp -a "$GOOD" t
	# Ignored by the command that runs pyprime: under qemu-user, what a
	# shell's background job ignores is lost across a second exec.
	setsid env --ignore-signal=INT "$PYPRIME" compile -q -d . t >out 2>err &
	PID=$!
	sleep 0.3
	kill -INT -- "-$PID"
	finish
	assert_equal "$STATUS" 0
	check_pycs t
}

@test "SIGTERM to the whole group and to the parent alone leave nothing behind" {
	for target in group parent; do
		rm -rf t && cp -a "$GOOD" t
		start compile -q -d . t
		sleep 0.2
		if [ $target = group ]; then kill -TERM -- "-$PID"; else kill -TERM "$PID"; fi
		finish
		assert_equal "$STATUS" 143
		sleep 0.1
		[ -z "$(pgrep -g "$PID")" ]
		[ -z "$(leftover_temps t)" ]
		MISSING=1 check_pycs t
	done
}

@test "a single file in-process is interrupted cleanly too" {
	"$PYTHON" -c "
for i in range(30000):
    print(f'def f{i}(x):\n    return x * {i}')" >big.py
	start compile -j1 big.py
	sleep 0.3
	kill -INT "$PID"
	finish
	assert_equal "$STATUS" 130
	[ -z "$(leftover_temps .)" ]
	[ ! -e "$(cache_of big.py)" ]
}

@test "leftovers of a killed run are removed by the next run" {
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app/inventory" app
	pyprime compile -q app
	# A worker that was killed: a pid that can't be running.
	echo partial >app/__pycache__/.pyprime-999999999.tmp
	# A writer that is alive holds a lock on its file.
	echo live >app/__pycache__/.pyprime-12345.tmp
	flock -o app/__pycache__/.pyprime-12345.tmp sleep 30 &
	holder=$!
	sleep 0.2
	run pyprime compile -q -f app
	assert_success
	[ ! -e app/__pycache__/.pyprime-999999999.tmp ]
	[ -e app/__pycache__/.pyprime-12345.tmp ]
	kill "$holder"
	wait "$holder" || true
	run -0 pyprime compile -q -f app
	[ ! -e app/__pycache__/.pyprime-12345.tmp ]
}

@test "a __pycache__ that is a symlink is refused and nothing is written through it" {
	mkdir -p t/pkg outside
	echo 'x = 1' >t/pkg/a.py
	echo 'y = 2' >t/pkg/b.py
	echo 'z = 3' >t/c.py
	ln -s ../../outside t/pkg/__pycache__
	run --separate-stderr pyprime compile t
	assert_failure 1
	assert_equal "$stderr" "pyprime: refusing to write through symlink 't/pkg/__pycache__'
pyprime: refusing to write through symlink 't/pkg/__pycache__'"
	[ -z "$(ls -A outside)" ]
	[ -f "$(cache_of t/c.py)" ]
}

@test "a pyc that is a symlink, a directory or a FIFO is refused, even with -f" {
	mkdir -p t/__pycache__
	for m in a b c d; do echo "$m = 1" >t/$m.py; done
	echo precious >target
	ln -s ../../target "$(cache_of t/a.py)"
	mkdir "$(cache_of t/b.py)"
	mkfifo "$(cache_of t/c.py)"
	run --separate-stderr timeout 20 "$PYPRIME" compile -f t
	assert_failure 1
	grep -q "refusing to write through symlink 't/__pycache__/a.$TAG.pyc'" <<<"$stderr"
	grep -q "refusing to replace 't/__pycache__/b.$TAG.pyc': not a regular file" <<<"$stderr"
	grep -q "refusing to replace 't/__pycache__/c.$TAG.pyc': not a regular file" <<<"$stderr"
	[ "$(cat target)" = precious ]
	[ -L "$(cache_of t/a.py)" ]
	[ -f "$(cache_of t/d.py)" ]
}

@test "symlinked directories are not followed, symlinked files are compiled" {
	mkdir -p t outside
	echo 'x = 1' >outside/o.py
	echo 'y = 1' >real.py
	ln -s ../outside t/linkdir
	ln -s ../real.py t/link.py
	run pyprime compile -v t
	assert_success
	assert_output "1 compiled, 0 fresh, 0 failed"
	[ -f "$(cache_of t/link.py)" ]
	[ ! -e outside/__pycache__ ]
}

@test "pyc modes follow the source as importlib's do" {
	mkdir t
	for m in 600 644 444 755; do
		echo "x = 1" >t/m$m.py
		chmod $m t/m$m.py
	done
	(umask 022 && pyprime compile t)
	[ "$(stat -c %a "$(cache_of t/m600.py)")" = 600 ]
	[ "$(stat -c %a "$(cache_of t/m644.py)")" = 644 ]
	[ "$(stat -c %a "$(cache_of t/m444.py)")" = 644 ]
	[ "$(stat -c %a "$(cache_of t/m755.py)")" = 644 ]
	rm -r t/__pycache__
	(umask 077 && pyprime compile t)
	[ "$(stat -c %a "$(cache_of t/m444.py)")" = 600 ]
}

@test "a read-only filesystem gives one clear error per file and no partial file" {
	can_mount || skip "needs root and mount namespaces"
	mkdir ro
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app/inventory" src
	run --separate-stderr -0 unshare -m sh -c '
		mount -t tmpfs tmpfs ro && cp -a src/. ro/ && mkdir ro/util/__pycache__ &&
		mount -o remount,ro ro && "$PYPRIME" compile ro; echo "status $?"
		find ro -name "*.pyc" -o -name ".pyprime-*"'
	assert_line --index 0 "status 1"
	assert_equal "${#lines[@]}" 1
	n=$(find src -name '*.py' | wc -l)
	assert_equal "$(grep -c "Read-only file system" <<<"$stderr")" "$n"
	grep -q "^pyprime: cannot create directory 'ro/__pycache__': Read-only file system$" <<<"$stderr"
	grep -q "^pyprime: cannot create a file in 'ro/util/__pycache__': Read-only file system$" <<<"$stderr"
}

@test "a full filesystem fails the files that don't fit and leaves no partial file" {
	can_mount || skip "needs root and mount namespaces"
	mkdir full
	run --separate-stderr -0 unshare -m sh -c '
		mount -t tmpfs -o size=1m tmpfs full &&
		cp -a "$GOOD/email" full/ && "$PYPRIME" compile -O0 -O1 -O2 -d . full
		echo "status $?"
		"$PYTHON" "$PYREF" compare full "$REF" 0 | tail -1
		find full -name ".pyprime-*"'
	assert_line --index 0 "status 1"
	assert_line --index 1 --regexp "^[0-9]+ identical, [0-9]+ wrong$"
	assert_equal "${#lines[@]}" 2
	grep -q "No space left on device" <<<"$stderr"
	# Whatever exists is complete: the wrong ones above are all missing.
	refute_output --partial differs
}

@test "--fsync syncs each pyc and its directory" {
	need_strace
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app/inventory" app
	run trace -f -e trace=fsync,fdatasync -o trace "$PYPRIME" compile --fsync app
	assert_success
	n=$(find app -name '*.py' | wc -l)
	assert_equal "$(grep -c 'fsync(' trace)" $((2 * n))
	rm -r app/__pycache__ app/util/__pycache__
	run -0 trace -f -e trace=fsync,fdatasync -o trace "$PYPRIME" compile app
	assert_equal "$(grep -c 'fsync(' trace)" 0
}

@test "a strip worker killed mid-file is reported with its file, leaves no temporary file, the rest is stripped" {
	need_strace
	mkdir t
	for n in 1 2 3 4 5 6; do
		printf '"""Module %s."""\n# a comment\nx = %s\n' "$n" "$n" >"t/m$n.py"
	done
	# Every rename waits a second: a worker is caught with its temporary
	# file written and not yet in place, and its pid is in the name.
	trace -f -o /dev/null -e trace=rename,renameat,renameat2 \
		-e inject=rename,renameat,renameat2:delay_enter=1s \
		"$PYPRIME" strip -j2 -o out t >out.txt 2>err &
	PID=$!
	temp=
	for _ in $(seq 200); do
		temp=$(leftover_temps out 2>/dev/null | head -1)
		[ -n "$temp" ] && break
		sleep 0.05
	done
	[ -n "$temp" ]
	worker=${temp##*/.pyprime-}
	worker=${worker%.tmp}
	kill -9 "$worker"
	finish
	assert_equal "$STATUS" 1
	# (strace has its say on the same stderr)
	run grep -v '^strace: ' err
	assert_output --regexp "^pyprime: cannot strip 't/m[1-6].py': worker $worker killed by signal 9 \(Killed\)$"
	killed=$(sed -n "s/.*'t\/\(m[1-6].py\)'.*/\1/p" err)
	[ -n "$killed" ]
	[ -z "$(leftover_temps out)" ]
	[ ! -e "out/$killed" ]
	for n in 1 2 3 4 5 6; do
		[ "m$n.py" = "$killed" ] && continue
		assert_equal "$(cat "out/m$n.py")" "x = $n"
	done
	run cut -f1 out/pyprime.linemap
	assert_equal "${#lines[@]}" 7
	refute_line "$killed"
}

@test "leftovers of a killed strip are removed by the next strip into that directory" {
	mkdir -p t/sub out/sub
	printf '# c\nx = 1\n' >t/a.py
	printf '# c\ny = 2\n' >t/sub/b.py
	# Workers that were killed: pids that can't be running.
	echo partial >out/.pyprime-999999999.tmp
	echo partial >out/sub/.pyprime-999999998.tmp
	# A writer that is alive holds a lock on its file.
	echo live >out/sub/.pyprime-12345.tmp
	flock -o out/sub/.pyprime-12345.tmp sleep 30 &
	holder=$!
	sleep 0.2
	run pyprime strip -o out t
	assert_success
	[ ! -e out/.pyprime-999999999.tmp ]
	[ ! -e out/sub/.pyprime-999999998.tmp ]
	[ -e out/sub/.pyprime-12345.tmp ]
	kill "$holder"
	wait "$holder" || true
	assert_equal "$(cat out/a.py)" "x = 1"
	assert_equal "$(cat out/sub/b.py)" "y = 2"
	# In place, the trees are where the output goes.
	echo partial >t/sub/.pyprime-999999999.tmp
	run pyprime strip --in-place t
	assert_success
	[ ! -e t/sub/.pyprime-999999999.tmp ]
	assert_equal "$(cat t/sub/b.py)" "y = 2"
}
