#!/usr/bin/env bats
# Byte-identity with /usr/bin/python3's py_compile on a copy of the whole
# standard library: every level, every invalidation mode, both layouts,
# with and without -d.

setup_file() {
	load test_helper
	export TREE="$BATS_FILE_TMPDIR/stdlib" REF="$BATS_FILE_TMPDIR/ref"
	stdlib_copy "$TREE"
	local mode level
	for mode in timestamp checked-hash unchecked-hash; do
		for level in 0 1 2; do
			"$PYTHON" "$PYREF" tree "$TREE" "$REF/$mode-$level" "$level" "$mode" >/dev/null
			"$PYTHON" "$PYREF" tree "$TREE" "$REF/$mode-$level-d" "$level" "$mode" /opt/stdlib >/dev/null
		done
	done
}

setup() {
	load test_helper
	cp -a "$TREE" "$BATS_TEST_TMPDIR/t"
	cd "$BATS_TEST_TMPDIR/t"
}

# All three levels in __pycache__ in one run, then compare each level.
check_cache() {
	local mode=$1 d=$2 level
	run pyprime compile -q -O0 -O1 -O2 --invalidation-mode "$mode" \
		${d:+-d /opt/stdlib} .
	# The standard library holds a few deliberately broken files.
	assert_failure 1
	for level in 0 1 2; do
		run "$PYTHON" "$PYREF" compare . "$REF/$mode-$level${d:+-d}" "$level"
		assert_success
		assert_output --regexp '^[0-9]{3,} identical, 0 wrong$'
	done
}

# One level at a time beside the sources (-b takes one level).
check_legacy() {
	local mode=$1 d=$2 level
	for level in 0 1 2; do
		find . -name '*.pyc' -delete
		run pyprime compile -q -b -O "$level" --invalidation-mode "$mode" \
			${d:+-d /opt/stdlib} .
		assert_failure 1
		run "$PYTHON" "$PYREF" compare . "$REF/$mode-$level${d:+-d}" "$level" legacy
		assert_success
		assert_output --regexp '^[0-9]{3,} identical, 0 wrong$'
	done
	[ -z "$(find . -name __pycache__)" ]
}

@test "timestamp pycs of every level match py_compile" {
	check_cache timestamp ""
}

@test "checked-hash pycs of every level match py_compile" {
	check_cache checked-hash ""
}

@test "unchecked-hash pycs of every level match py_compile" {
	check_cache unchecked-hash ""
}

@test "with -d, timestamp pycs of every level match py_compile's dfile" {
	check_cache timestamp yes
}

@test "with -d, checked-hash pycs of every level match py_compile's dfile" {
	check_cache checked-hash yes
}

@test "with -d, unchecked-hash pycs of every level match py_compile's dfile" {
	check_cache unchecked-hash yes
}

@test "legacy timestamp pycs of every level match py_compile" {
	check_legacy timestamp ""
}

@test "legacy checked-hash pycs of every level match py_compile" {
	check_legacy checked-hash ""
}

@test "legacy unchecked-hash pycs of every level match py_compile" {
	check_legacy unchecked-hash ""
}

@test "legacy pycs with -d match py_compile's dfile in every mode" {
	check_legacy timestamp yes
	check_legacy checked-hash yes
	check_legacy unchecked-hash yes
}

@test "one worker and many workers write the same bytes" {
	run pyprime compile -q -j1 -O0 -O2 .
	assert_failure 1
	mkdir ../t2 && cp -a "$TREE/." ../t2
	run -1 env -C ../t2 "$PYPRIME" compile -q -j4 -O0 -O2 .
	run diff -r . ../t2
	assert_success
}
