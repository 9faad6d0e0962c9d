#!/usr/bin/env bats
# strip_source() and its tokenizer under libFuzzer (tests/fuzz/strip.c):
# random sources grown from tests/fuzz/corpus, with ASan, UBSan and the
# harness's invariants.  30 s here; CI runs the suite twice, 60 s in all.

setup() {
	load test_helper
	command -v "${FUZZ_CC:-clang}" >/dev/null || skip "clang is not installed"
}

@test "30 s of fuzzing find no crash, leak, undefined behaviour or broken invariant" {
	run make -s -C "$BATS_TEST_DIRNAME/.." fuzz FUZZ_TIME=30
	assert_success
	assert_output --regexp 'Done [0-9]+ runs in'
	refute_output --partial 'strip invariant violated'
	refute_output --partial 'runtime error:'
	refute_output --partial 'ERROR: '
}
