#!/usr/bin/env bats
# pyprime time: runs measured on the real clock, the page cache purged and
# checked against vmtouch and fincore, a RAM disk, -X importtime, failures.

load test_helper

setup_file() {
	# a tree on a disk: tmpfs pages can't be evicted
	DISKDIR=$(mktemp -d /var/tmp/pyprime-test.XXXXXX)
	"$PYTHON" "$BATS_TEST_DIRNAME/fixtures/genapp.py" "$DISKDIR/app" \
		--modules 60 >/dev/null
	export DISKDIR
}

teardown_file() {
	rm -rf "$DISKDIR"
}

# The value at a path in a JSON file: json FILE EXPR (on the object "j").
json() {
	"$PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# The copies of trees in /dev/shm, where --ramdisk puts them without a
# mount namespace.
shm_copies() {
	find /dev/shm -maxdepth 1 -name 'pyprime-ram.*' | sort
}

# Resident pages of the tree's files, as vmtouch counts them: "N M".
vmtouch_pages() {
	vmtouch -f "$1" | awk '/Resident Pages:/ { split($3, a, "/"); print a[1], a[2] }'
}

@test "the wall clock, user time and peak RSS are the program's own" {
	run -0 pyprime time -q -r 3 -w 0 --json "$BATS_TEST_TMPDIR/j" \
		-c 'import time; b = bytearray(64 << 20); t = time.process_time()
while time.process_time() - t < 0.15: pass
time.sleep(0.2)'
	j=$BATS_TEST_TMPDIR/j
	[ "$(json "$j" 'j["runs"]')" = 3 ]
	[ "$(json "$j" 'len(j["samples"])')" = 3 ]
	# 0.2 s asleep + 0.15 s of CPU: at least 350 ms, less than 5 s
	json "$j" 'all(350 <= s["wall_ms"] < 5000 for s in j["samples"]) or exit(1)'
	json "$j" 'all(140 <= s["user_ms"] + s["sys_ms"] for s in j["samples"]) or exit(1)'
	json "$j" 'all(s["maxrss_kb"] >= 64 * 1024 for s in j["samples"]) or exit(1)'
	json "$j" 'j["wall_ms"]["min"] <= j["wall_ms"]["median"] <= j["wall_ms"]["max"] or exit(1)'
	json "$j" 'sum(s["outlier"] for s in j["samples"]) == j["wall_ms"]["outliers"] or exit(1)'
}

@test "the table shows every statistic of wall, user, sys and RSS" {
	run -0 pyprime time -q -r 4 -c pass
	assert_line --partial "4 runs after 1 warm-up"
	assert_line --regexp '^ +median +min +max +mean +sd +MAD +outliers'
	assert_line --regexp '^  wall +[0-9.]+ +[0-9.]+ '
	assert_line --regexp '^  user '
	assert_line --regexp '^  sys '
	assert_line --regexp '^  max RSS .* MB$'
}

@test "--purge tree evicts the tree: vmtouch and fincore agree with pyprime" {
	local tree=$DISKDIR/app n m
	find "$tree" -type f -exec cat {} + >/dev/null
	read -r n m < <(vmtouch_pages "$tree")
	[ "$n" = "$m" ]
	[ "$m" -gt 60 ]
	# -c pass does not read the tree, so what it leaves is the purge's
	run -0 pyprime time -q -r 1 -w 0 -C "$tree" --cold --json "$BATS_TEST_TMPDIR/j" -c pass
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["samples"][0]["resident_before"]')" = 1.0 ]
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["samples"][0]["resident"]')" = 0.0 ]
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["not_cold"]')" = 0 ]
	read -r n m < <(vmtouch_pages "$tree")
	[ "$n" = 0 ]
	# fincore too, where it works: under 32-bit qemu-user its mincore()
	# fails (ENOMEM) on any file, where vmtouch's and pyprime's succeed
	if fincore "$BATS_TEST_FILENAME" >/dev/null 2>&1; then
		run -0 fincore --noheadings --output RES --bytes $(find "$tree" -type f)
		refute_output --regexp '[1-9]'
	fi
}

@test "a cold run that wasn't cold is flagged, not hidden" {
	local tree=$BATS_TEST_TMPDIR/held
	cp -a "$DISKDIR/app" "$tree"
	head -c 4M /dev/urandom >"$tree/blob.bin"
	# a mapping keeps pages in memory whatever fadvise says
	"$PYTHON" -c 'import mmap, sys, time
f = open(sys.argv[1], "rb"); m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sum(m[i] for i in range(0, len(m), 4096)); open(sys.argv[2], "w").close(); time.sleep(60)' \
		"$tree/blob.bin" "$BATS_TEST_TMPDIR/ready" 3>&- &
	local holder=$!
	while [ ! -e "$BATS_TEST_TMPDIR/ready" ]; do sleep 0.1; done
	run pyprime time -r 2 -w 0 -C "$tree" --cold --json "$BATS_TEST_TMPDIR/j" -c pass
	kill "$holder"
	assert_success
	assert_output --partial "NOT COLD: 2 of 2 runs"
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["not_cold"]')" = 2 ]
	json "$BATS_TEST_TMPDIR/j" 'all(s["not_cold"] and s["resident"] > 0.5 for s in j["samples"]) or exit(1)'
}

@test "--purge all also evicts the interpreter's modules it learned" {
	run -0 pyprime time -r 2 -w 0 -C "$DISKDIR/app" --cold --purge all \
		--json "$BATS_TEST_TMPDIR/j" -m app
	assert_output --regexp 'interpreter, libraries and modules resident: [0-9.]+% at most \([0-9]+ files'
	json "$BATS_TEST_TMPDIR/j" 'all(0 <= s["resident_other"] < 1 for s in j["samples"]) or exit(1)'
}

@test "--ramdisk runs a copy on a private tmpfs, or in /dev/shm without one, and leaves nothing" {
	local out=$BATS_TEST_TMPDIR/where medium=/dev/shm parent=/dev/shm
	# A mount namespace of its own needs CAP_SYS_ADMIN, which a default
	# container does not give: then the copy goes to /dev/shm.
	if can_mount; then
		medium="private tmpfs" parent=$BATS_TEST_TMPDIR
	fi
	TMPDIR=$BATS_TEST_TMPDIR run -0 pyprime time -q -r 2 -C "$DISKDIR/app" --ramdisk \
		--json "$BATS_TEST_TMPDIR/j" \
		-c 'import app.main, os, sys; open(sys.argv[1], "a").write(app.main.__file__ + "\n")' "$out"
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["medium"]')" = "$medium" ]
	run -0 sort -u "$out"
	assert_output --regexp "^$parent/pyprime-ram\.[^/]+/app/app/main\.py$"
	assert_dir_not_exists "${output%/app/app/main.py}"
	run -0 find "$BATS_TEST_TMPDIR" -name 'pyprime-ram*'
	assert_output ""
	run ! grep -q pyprime-ram /proc/mounts
}

@test "--ramdisk-dir puts the copy in that directory and removes it" {
	local dir=/dev/shm/pyprime-test.$$
	mkdir "$dir"
	run -0 pyprime time -q -r 1 -C "$DISKDIR/app" --ramdisk-dir "$dir" \
		--json "$BATS_TEST_TMPDIR/j" -c 'import app.main, sys; assert app.main.__file__.startswith(sys.argv[1]), app.main.__file__' "$dir/"
	[ "$(json "$BATS_TEST_TMPDIR/j" 'j["medium"]')" = "tmpfs" ]
	run -0 ls -A "$dir"
	rmdir "$dir"
	assert_output ""
}

@test "--importtime gathers every module of every run" {
	run -0 pyprime time -r 3 -C "$DISKDIR/app" --importtime --top 5 \
		--json "$BATS_TEST_TMPDIR/j" -m app
	assert_line --partial "slowest imports (medians of 3 runs"
	# the same modules as one run of python -X importtime itself
	# (in pyprime's environment: no PYTHON* variable)
	env $(env | sed -n 's/^\(PYTHON[^=]*\)=.*/-u \1/p') PYTHONPATH="$DISKDIR/app" \
		"$PYTHON" -X importtime -m app 2>"$BATS_TEST_TMPDIR/importtime" >/dev/null
	sed -n 's/^import time: *[0-9]* | *[0-9]* | *//p' "$BATS_TEST_TMPDIR/importtime" |
		sort -u >"$BATS_TEST_TMPDIR/want"
	json "$BATS_TEST_TMPDIR/j" '"\n".join(sorted(r["module"] for r in j["imports"]))' >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	json "$BATS_TEST_TMPDIR/j" 'all(r["runs"] == 3 and 0 <= r["self_us"] <= r["cumulative_us"] for r in j["imports"]) or exit(1)'
	# largest first, and app.main holds all of the tree
	json "$BATS_TEST_TMPDIR/j" '[r["cumulative_us"] for r in j["imports"]] == sorted((r["cumulative_us"] for r in j["imports"]), reverse=True) or exit(1)'
	[ "$(grep -c '  app\.' <<<"$output")" -le 5 ]
}

@test "a failing program: its exit status and stderr, and no figures" {
	run --separate-stderr -1 pyprime time -r 3 --json "$BATS_TEST_TMPDIR/j" \
		-c 'import sys; sys.stderr.write("no config found\n"); sys.exit(3)'
	assert_output ""
	[[ $stderr == *"exit status 3"* ]]
	[[ $stderr == *"no config found"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/j" ]
}

@test "a program that raises shows its traceback" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
	printf 'import pkg.bad\n' >"$BATS_TEST_TMPDIR/t/pkg/__init__.py"
	printf 'x = 1\nraise RuntimeError("broken module")\n' >"$BATS_TEST_TMPDIR/t/pkg/bad.py"
	run --separate-stderr -1 pyprime time -r 2 -C "$BATS_TEST_TMPDIR/t" --importtime -m pkg
	[[ $stderr == *"exit status 1"* ]]
	[[ $stderr == *"pkg/bad.py\", line 2"* ]]
	[[ $stderr == *"RuntimeError: broken module"* ]]
	[[ $stderr != *"import time:"* ]]
}

@test "--timeout kills a hung program and all it started" {
	run --separate-stderr -1 pyprime time -r 2 -w 0 --timeout 0.5 \
		-c 'import subprocess, time; subprocess.Popen(["sleep", "417"]); time.sleep(30)'
	[[ $stderr == *"timed out after 0.5 s"* ]]
	run ! pgrep -f 'sleep 417'
}

@test "Ctrl-C stops it: no program left running, no RAM disk, no copy" {
	local shm
	shm=$(shm_copies)
	setsid env --default-signal=INT TMPDIR="$BATS_TEST_TMPDIR" "$PYPRIME" time -r 100 \
		-C "$DISKDIR/app" --ramdisk -c 'import time; time.sleep(0.31)' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	sleep 1.5
	kill -INT "$pid"
	local status=0
	wait "$pid" || status=$?
	[ "$status" = 130 ]
	run ! pgrep -f 'time.sleep\(0.31\)'
	run -0 find "$BATS_TEST_TMPDIR" -name 'pyprime-ram*'
	assert_output ""
	run ! grep -q pyprime-ram /proc/mounts
	# nor in /dev/shm, where the copy goes without a private tmpfs
	assert_equal "$(shm_copies)" "$shm"
}

@test "PYTHON* variables don't reach the program; PYTHONPATH keeps the tree first" {
	PYTHONOPTIMIZE=2 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/nonexistent \
		run -0 pyprime time -q -r 1 -C "$DISKDIR/app" -c 'import os, sys
assert sys.flags.optimize == 0 and not sys.flags.dont_write_bytecode, sys.flags
assert os.environ["PYTHONPATH"] == sys.argv[1] + ":/nonexistent", os.environ["PYTHONPATH"]' "$DISKDIR/app"
}

@test "a script, its arguments, and usage errors" {
	printf 'import sys\nassert sys.argv[1:] == ["-x", "y"], sys.argv\n' >"$BATS_TEST_TMPDIR/s.py"
	run -0 pyprime time -q -r 1 "$BATS_TEST_TMPDIR/s.py" -x y
	run -2 pyprime time -r 1
	assert_output --partial "no module, code or script"
	run -2 pyprime time --purge some -c pass
	assert_output --partial "--purge is tree, all or system"
	run -2 pyprime time -r 0 -c pass
}

@test "-m imports from the tree, never from the current directory" {
	mkdir -p "$BATS_TEST_TMPDIR/cwd/app"
	printf 'raise SystemExit("the copy in the current directory")\n' >"$BATS_TEST_TMPDIR/cwd/app/__init__.py"
	cd "$BATS_TEST_TMPDIR/cwd"
	run -0 pyprime time -q -r 1 -C "$DISKDIR/app" -m app
	run -1 pyprime time -q -r 1 -C "$BATS_TEST_TMPDIR/cwd" -m app
	assert_output --partial "the copy in the current directory"
}
