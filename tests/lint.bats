#!/usr/bin/env bats
# The test suite itself: no check in it that cannot fail.  tests/bangcheck.py
# finds a "! cmd" that set -e ignores; it is tried on a bad sample first, so
# that it cannot pass by seeing nothing.

setup() {
	load test_helper
	BANGCHECK="$BATS_TEST_DIRNAME/bangcheck.py"
	FIXTURES="$BATS_TEST_DIRNAME/fixtures/lint"
	cd "$BATS_TEST_TMPDIR"
}

@test "bangcheck.py finds every ! that set -e ignores, with its file and line" {
	cd "$FIXTURES"
	run -1 "$PYTHON" "$BANGCHECK" bad.sample
	local line
	for line in 3 6 7 8 9 10 11 15 17 19 21 22 23 24 27 30; do
		assert_line --regexp "^bad\.sample:$line: a command negated with ! that is not the test's last"
	done
	assert_equal "${#lines[@]}" 16
}

@test "bangcheck.py leaves alone what does fail: conditions, run !, [ ! ], a test's last command, strings" {
	run -0 "$PYTHON" "$BANGCHECK" "$FIXTURES/good.sample"
	assert_output ""
}

@test "bangcheck.py says so when it cannot follow a file, rather than pass it" {
	printf '@test "x" {\n\techo "never closed\n}\n' >open.bats
	run -1 "$PYTHON" "$BANGCHECK" open.bats
	assert_output --regexp '^open\.bats:[0-9]+: cannot follow the shell here'
}

@test "no test or helper negates a command where set -e ignores it" {
	run -0 "$PYTHON" "$BANGCHECK" "$BATS_TEST_DIRNAME"/*.bats \
		"$BATS_TEST_DIRNAME/test_helper.bash"
	assert_output ""
}
