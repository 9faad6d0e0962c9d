#!/usr/bin/env bats
# Awkward sources and file names, each compiled to py_compile's bytes:
# names that are not UTF-8 or hold spaces and newlines, empty files, BOMs,
# coding cookies, CRLF, tabs, form feeds, a 10 MB file.

setup() {
	load test_helper
	mkdir "$BATS_TEST_TMPDIR/t"
	cd "$BATS_TEST_TMPDIR/t"
}

# Compile every .py here, in __pycache__ and at -O2, and compare each with
# py_compile (recorded as ./NAME).
check_all() {
	run pyprime compile -q -O0 -O2 -d . .
	assert_success
	local f level
	while IFS= read -r -d '' f; do
		for level in 0 2; do
			ref_pyc "$f" ../ref.pyc "$level" timestamp "$f" ||
				fail "py_compile failed on $f"
			cmp "$(cache_of "$f" "$level")" ../ref.pyc
		done
	done < <(find . -name '*.py' -print0)
}

@test "file names that are not UTF-8, or hold spaces, quotes or newlines" {
	printf 'x = 1\n' >"$(printf 'caf\xe9.py')"
	printf 'x = 2\n' >"with space.py"
	printf 'x = 3\n' >"$(printf 'new\nline.py')"
	printf 'x = 4\n' >"quote'd \"name\".py"
	printf 'x = 5\n' >"ünïcödé.py"
	mkdir "$(printf 'dir\xff')" && printf 'x = 6\n' >"$(printf 'dir\xff/m.py')"
	check_all
	[ "$(find . -name '*.pyc' -printf x | wc -c)" -eq 12 ]
}

@test "an empty file, a lone comment, a file without a final newline" {
	: >empty.py
	printf '# nothing\n' >comment.py
	printf 'x = 1' >nonl.py
	printf '\n\n\n' >blank.py
	check_all
}

@test "a BOM, coding cookies, CRLF, lone CR, tabs and form feeds" {
	printf '\xef\xbb\xbfs = "caf\xc3\xa9"\n' >bom.py
	printf '# -*- coding: latin-1 -*-\ns = "caf\xe9"\n' >latin1.py
	printf '#!/usr/bin/python3\n# vim: set fileencoding=cp1252 :\ns = "\x80"\n' >cookie2.py
	printf '# coding=utf-8\ns = "\xe2\x82\xac"\n' >utf8cookie.py
	printf 'def f():\r\n    return 1\r\n\r\nx = f()\r\n' >crlf.py
	printf 'def f():\r    return 1\rx = f()\r' >cr.py
	printf 'def f():\n\treturn 1\n\nclass C:\n\tdef m(self):\n\t\treturn 2\n' >tabs.py
	printf 'x = 1\n\x0c\ndef f():\n    return 2\n' >formfeed.py
	printf 's = """a\n\n   b\\\n c"""\nt = (1,\n     2)\nu = 1 + \\\n    2\n' >continued.py
	check_all
}

@test "f-strings, every string prefix, assert and __debug__ at every level" {
	cat >strings.py <<'PY'
"""Module docstring."""
import sys
a = f"{sys.argv!r:>10}" u'z' F'{1+1}' fR'{2}\n' r'\d' "plain"
bb = rb'\d' Rb"x" BR'y' b'\x00' B"""multi
line"""
b = "assert" 'assert' """__debug__""" # assert __debug__
c = f"{__debug__}"
def f(x):
    """Function docstring."""
    assert x, "x must be true"
    if __debug__:
        return 1
    return 2
class C:
    "Class docstring."
    def m(self): "doc"; return f'{self}'
lam = lambda: "not a docstring"
PY
	printf 'x = 1\ny = [i for i in "abc"]\n' >plain.py
	printf 'def g():\n    return "no docstring here", 1\n' >nodoc.py
	check_all
	for f in strings plain nodoc; do
		ref_pyc $f.py ../ref.pyc 1 timestamp ./$f.py
		pyprime compile -q -f -O1 -d . $f.py
		cmp "$(cache_of $f.py 1)" ../ref.pyc
	done
}

@test "a 10 MB source compiles to py_compile's bytes" {
	"$PYTHON" - <<'PY'
with open("big.py", "w") as f:
    f.write('"""' + "A long docstring line of text.\n" * 300000 + '"""\n')
    for i in range(20000):
        f.write(f"def f{i}(x):\n    return x + {i}  # comment {i}\n")
PY
	[ "$(stat -c %s big.py)" -gt 10000000 ]
	run pyprime compile -q big.py
	assert_success
	ref_pyc big.py ../ref.pyc 0 timestamp big.py
	cmp "$(cache_of big.py)" ../ref.pyc
}
