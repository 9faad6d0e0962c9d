#!/usr/bin/env bats
# The libpython3.11-testsuite files as a corpus, with broken files of every
# kind added: each bad file is reported with its path and line, every good
# one is compiled to py_compile's bytes, and the exit status is 1.

setup_file() {
	load test_helper
	export CORPUS="$BATS_FILE_TMPDIR/corpus"
	mkdir -p "$CORPUS"
	dpkg-query -L libpython3.11-testsuite | grep '\.py$' |
		sed 's|^/usr/lib/python3.11/||' |
		tar -C /usr/lib/python3.11 -T - -cf - | tar -C "$CORPUS" -xf -
	# Broken on purpose, beside the testsuite's own broken files.
	local bad="$CORPUS/test/zz_broken"
	mkdir -p "$bad"
	printf 'x = 1\ny = "caf\xe9"\n' >"$bad/bad_utf8.py"
	printf '# -*- coding: no-such-codec -*-\nx = 1\n' >"$bad/bad_cookie.py"
	printf 'x = 1\ny = 2\nz = "a\0b"\n' >"$bad/nul_byte.py"
	printf 'if True:\n\tx = 1\n        y = 2\n' >"$bad/tabs.py"
	printf 'def f(:\n    pass\n' >"$bad/syntax.py"
	printf 's = """never\nclosed\n' >"$bad/unterminated.py"
	printf 'x = 1\n  y = 2\n' >"$bad/indent.py"
	printf '\xef\xbb\xbf# coding: latin-1\nx = 1\n' >"$bad/bom_and_latin1.py"
	"$PYTHON" "$PYREF" tree "$CORPUS" "$BATS_FILE_TMPDIR/ref" 0 timestamp >/dev/null
	"$PYTHON" "$PYREF" errors "$CORPUS" >"$BATS_FILE_TMPDIR/errors"
}

setup() {
	load test_helper
	cd "$CORPUS"
}

@test "the corpus has good files and broken ones" {
	[ "$(find . -name '*.py' | wc -l)" -gt 900 ]
	[ "$(wc -l <"$BATS_FILE_TMPDIR/errors")" -ge 20 ]
}

@test "every broken file is reported with its path and line, the rest compile" {
	run --separate-stderr pyprime compile -q .
	assert_failure 1
	while IFS=: read -r file line; do
		if [ "$line" = 0 ]; then
			grep -q "^\./$file:\([0-9]*:\)*\? [A-Za-z]*Error: " <<<"$stderr" ||
				fail "no error reported for $file"
		else
			grep -q "^\./$file:$line:[0-9]*: [A-Za-z]*Error: " <<<"$stderr" ||
				fail "no error at line $line for $file"
		fi
	done <"$BATS_FILE_TMPDIR/errors"
	# Nothing else is reported as an error.
	[ "$(grep -c 'Error: ' <<<"$stderr")" -eq "$(wc -l <"$BATS_FILE_TMPDIR/errors")" ]
	run "$PYTHON" "$PYREF" compare . "$BATS_FILE_TMPDIR/ref" 0
	assert_success
}

@test "errors read like the compiler's own" {
	run --separate-stderr pyprime compile -q -f test/zz_broken
	assert_failure 1
	assert_equal "$(grep -c . <<<"$stderr")" 8
	grep -qx "test/zz_broken/nul_byte.py:3:7: SyntaxError: source code cannot contain null bytes" <<<"$stderr"
	grep -q "^test/zz_broken/bad_utf8.py:2:[0-9]*: SyntaxError: .*utf-8.* can't decode byte 0xe9" <<<"$stderr"
	grep -q "^test/zz_broken/bad_cookie.py:[0-9:]* SyntaxError: unknown encoding: no-such-codec" <<<"$stderr"
	grep -q "^test/zz_broken/tabs.py:3:[0-9]*: TabError: " <<<"$stderr"
	grep -q "^test/zz_broken/indent.py:2:[0-9]*: IndentationError: unexpected indent" <<<"$stderr"
	grep -q "^test/zz_broken/syntax.py:1:[0-9]*: SyntaxError: " <<<"$stderr"
	grep -q "^test/zz_broken/unterminated.py:1:[0-9]*: SyntaxError: unterminated triple-quoted string" <<<"$stderr"
	grep -q "^test/zz_broken/bom_and_latin1.py: SyntaxError: encoding problem: iso-8859-1 with BOM" <<<"$stderr"
	[ -z "$(find test/zz_broken -name '*.pyc')" ]
}

@test "an unreadable file is reported with the OS error and the rest compiles" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	mkdir -p "$BATS_TEST_TMPDIR/u"
	cp -r "$BATS_TEST_DIRNAME/fixtures/sample-app/inventory" "$BATS_TEST_TMPDIR/u/"
	chmod 000 "$BATS_TEST_TMPDIR/u/inventory/store.py"
	chmod -R a+rwX "$BATS_TEST_TMPDIR"
	chmod 000 "$BATS_TEST_TMPDIR/u/inventory/store.py"
	# A copy that nobody may run wherever the tree is; the leak checker
	# of a sanitized build would need the tree's suppressions file.
	cp "$PYPRIME" "$BATS_TEST_TMPDIR/pyprime"
	# With its interpreter module, if that is beside it (not installed).
	local mod=$(dirname "$PYPRIME")/pyprime-python.so
	[ ! -e "$mod" ] || cp "$mod" "$BATS_TEST_TMPDIR/"
	chmod 755 "$BATS_TEST_TMPDIR/pyprime"
	cd "$BATS_TEST_TMPDIR/u"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env ASAN_OPTIONS=detect_leaks=0 ../pyprime compile inventory
	assert_failure 1
	assert_equal "$stderr" "pyprime: cannot open 'inventory/store.py': Permission denied"
	[ -f "inventory/__pycache__/model.$TAG.pyc" ]
	[ ! -e "inventory/__pycache__/store.$TAG.pyc" ]
}

@test "compiler warnings are shown once with their line and don't fail the file" {
	mkdir w && cd w
	printf 'x = 1\nif x is 1:\n    pass\ns = "\\d"\n' >warn.py
	run --separate-stderr pyprime compile -O0 -O1 -O2 warn.py
	assert_success
	assert_equal "$stderr" "warn.py:4: DeprecationWarning: invalid escape sequence '\\d'
warn.py:2: SyntaxWarning: \"is\" with a literal. Did you mean \"==\"?"
	for level in 0 1 2; do
		ref_pyc warn.py ../ref.pyc "$level" timestamp 2>/dev/null
		cmp "$(cache_of warn.py "$level")" ../ref.pyc
	done
	run --separate-stderr pyprime compile -q -f warn.py
	assert_success
	assert_equal "$stderr" ""
}
