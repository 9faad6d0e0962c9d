#!/usr/bin/env bats
# strip_source() and its tokenizer under libFuzzer (tests/fuzz/strip.c):
# random sources grown from tests/fuzz/corpus, with ASan, UBSan and the
# harness's invariants.  30 s here; CI runs the suite twice, 60 s in all.

setup() {
	load test_helper
	local cc=${FUZZ_CC:-clang} err
	command -v "$cc" >/dev/null || skip "clang is not installed"
	# Under qemu-user, ASan and LSan cannot run at all: LSan needs ptrace,
	# and on 32-bit ARM, qemu maps memory above 3 GiB, outside ASan's
	# shadow, and clang 14's runtime dies before main (llvm-project#59826).
	printf 'int main(void) { return 0; }\n' >"$BATS_TEST_TMPDIR/san.c"
	"$cc" -fsanitize=address,undefined -o "$BATS_TEST_TMPDIR/san" "$BATS_TEST_TMPDIR/san.c"
	err=$(ASAN_OPTIONS=detect_leaks=1 "$BATS_TEST_TMPDIR/san" 2>&1) ||
		skip "a program built with clang's sanitizers does not run here: $(head -n 1 <<<"$err")"
}

@test "30 s of fuzzing find no crash, leak, undefined behaviour or broken invariant" {
	run make -s -C "$BATS_TEST_DIRNAME/.." fuzz FUZZ_TIME=30
	assert_success
	assert_output --regexp 'Done [0-9]+ runs in'
	refute_output --partial 'strip invariant violated'
	refute_output --partial 'runtime error:'
	refute_output --partial 'ERROR: '
}
