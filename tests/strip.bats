#!/usr/bin/env bats
# pyprime strip: what goes and what stays, the proof, line numbers, trees,
# and the whole standard library with its test suite checked by
# stripcheck.py, which uses nothing of pyprime's.

load test_helper

STRIPCHECK="$BATS_TEST_DIRNAME/stripcheck.py"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# The standard library and its test suite, as the package installs them.
full_stdlib_copy() {
	local dir=$1
	mkdir -p "$dir"
	(cd /usr/lib/python3.11 &&
		find . \( -name __pycache__ -o -name site-packages \
			-o -name dist-packages -o -name lib-dynload \
			-o -name 'config-3*' \) -prune -o -type f -print0 |
		tar --null -T - -cf -) | tar -C "$dir" -xf -
}

# Run module M's main() from tree DIR with /usr/bin/python3: its output.
run_in() {
	local dir=$1
	shift
	(cd "$dir" && "$PYTHON" -I -B "$@")
}

@test "the whole standard library and test suite strip, and every file CPython compiles is proven" {
	full_stdlib_copy lib
	[ -f lib/test/test_grammar.py ]
	run pyprime strip --stats -o out lib
	assert_success
	# Left unchanged: only files CPython itself refuses.
	"$PYTHON" - lib >expected <<-'EOF'
		import os, sys, warnings
		warnings.simplefilter('ignore')
		for root, dirs, files in os.walk(sys.argv[1]):
		    dirs.sort()
		    for f in sorted(files):
		        if not f.endswith('.py'):
		            continue
		        p = os.path.join(root, f)
		        try:
		            compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)
		        except (SyntaxError, ValueError):
		            print(p)
	EOF
	[ "$(grep -c . expected)" -ge 10 ]
	grep -E '^  files +[0-9]+ .py: [0-9]+ stripped, [0-9]+ unchanged, 0 failed' <<<"$output"
	grep "left unchanged" <<<"$output" | sed 's/^pyprime: warning: \([^:]*\):.*/\1/' | sort >unchanged
	[ -s unchanged ]
	# A file CPython refuses is only reported if stripping changed it.
	run -0 comm -23 unchanged <(sort expected)
	assert_output ""
	run "$PYTHON" "$STRIPCHECK" lib out
	assert_success
	# Other files came along; pycaches did not.
	cmp lib/test/cfgparser.1 out/test/cfgparser.1
	[ ! -e out/json/__pycache__ ]
}

@test "--keep-lines on the standard library: every token keeps its line and column" {
	full_stdlib_copy lib
	rm -rf lib/test lib/idlelib lib/lib2to3 lib/tkinter
	run pyprime strip -q --keep-lines -o out lib
	assert_success
	run "$PYTHON" "$STRIPCHECK" --keep-lines lib out
	assert_success
	[ ! -e out/pyprime.linemap ]
}

@test "each selector alone does only its part" {
	stdlib_copy lib
	rm -rf lib/idlelib lib/lib2to3 lib/tkinter lib/test
	for what in --docstrings --comments --blank-lines; do
		run pyprime strip -q "$what" -o "out$what" lib
		assert_success
		run "$PYTHON" "$STRIPCHECK" "$what" lib "out$what"
		assert_success
	done
	# Each kept what the others remove.
	local f=json/decoder.py
	run ! grep -q '"""' "out--docstrings/$f"
	grep -qE '^\s*#' "out--docstrings/$f"
	grep -qE '^\s*$' "out--docstrings/$f"
	grep -q '"""' "out--comments/$f"
	run ! grep -qE '^\s*#' "out--comments/$f"
	grep -qE '^\s*$' "out--comments/$f"
	grep -q '"""' "out--blank-lines/$f"
	grep -qE '^\s*#' "out--blank-lines/$f"
	[ "$(wc -l <"out--blank-lines/$f")" -lt "$(wc -l <"lib/$f")" ]
}

@test "docstrings: every form, one-liners, empty bodies, and what is not one" {
	cat >m.py <<-'EOF'
		#!/usr/bin/python3
		# -*- coding: utf-8 -*-
		"""Module doc.""" "Concatenated."
		import sys  # noqa: F401

		def one(): "doc"
		def semi(): "doc"; return 1
		class C: "doc"; x = 1
		class D:
		    '''Only a docstring.'''
		async def co():
		    r"""Raw doc."""
		    return 2
		def paren():
		    ("doc"
		     "more")
		    return 3
		def twice():
		    """first"""
		    """second, would become the docstring"""
		def fdoc():
		    f"{1} not a docstring"
		    return 4
		def bdoc():
		    b"bytes are not docstrings"
		    return 5
		def later():
		    x = 6
		    "not a docstring"
		    return x
		def annotated(a: int = 1, *, b: "str" = "s") -> "int":  # type: ignore
		    """doc"""
		    return a
		class E(object,
		        metaclass=type):
		    """doc"""
		    def m(self):
		        """doc"""
		        return 7
		print(one(), semi(), C.x, type(D()).__name__, paren(), twice(),
		      fdoc(), bdoc(), later(), annotated(), E().m())
	EOF
	mkdir orig
	cp m.py orig/
	run pyprime strip -o out orig
	assert_success
	run -0 cat out/m.py
	assert_line --index 0 '#!/usr/bin/python3'
	assert_line --index 1 '# -*- coding: utf-8 -*-'
	assert_line --index 2 'import sys  # noqa: F401'
	assert_line 'def one(): pass'
	assert_line 'def semi():        return 1'
	assert_line 'class C:        x = 1'
	assert_line '    pass'
	assert_line '    f"{1} not a docstring"'
	assert_line '    b"bytes are not docstrings"'
	assert_line '    "not a docstring"'
	assert_line 'def annotated(a: int = 1, *, b: "str" = "s") -> "int":  # type: ignore'
	refute_output --partial 'doc"""'
	refute_output --partial 'second'
	refute_output --partial 'Module doc'
	refute_output --partial '"more"'
	# It behaves as the original under -OO.
	run_in orig -OO m.py >want
	run_in out m.py >got
	diff want got
	run pyprime strip --compare orig/m.py out/m.py
	assert_success
}

@test "nothing inside a string is touched; comments in brackets and after continuations go" {
	printf '%s\n' 'x = """a' '' '# not a comment' '' 'b"""  # comment' \
		"y = ('#', \"#\", '''" "'''" ')' \
		'z = [1,  # one' '' '     2]  # two' \
		'w = 1 + \' '    2' \
		"s = f'{x!r:>{10}}'  # f" "t = rb'\\'' b'u'" \
		'print(repr(x), y, z, w, s, t)' >s.py
	mkdir orig && cp s.py orig/
	run pyprime strip -o out orig
	assert_success
	cat >want <<-'EOF'
		x = """a

		# not a comment

		b"""
		y = ('#', "#", '''
		'''
		)
		z = [1,
		     2]
		w = 1 + \
		    2
		s = f'{x!r:>{10}}'
		t = rb'\'' b'u'
		print(repr(x), y, z, w, s, t)
	EOF
	diff want out/s.py
	diff <(run_in orig s.py) <(run_in out s.py)
}

@test "CRLF, a BOM, tabs, form feeds and a latin-1 cookie survive" {
	mkdir orig
	printf '\xef\xbb\xbf# comment\r\n"""doc"""\r\n\r\ndef f():\r\n\t"""d"""\r\n\r\n\tif 1:\r\n\t\treturn 1  # c\r\n\x0c\r\nprint(f())\r\n' >orig/crlf.py
	printf '# -*- coding: latin-1 -*-\n"""caf\xe9"""\ns = "caf\xe9"  # \xe9\nprint(len(s))\n' >orig/latin.py
	printf 'x = 1\r# cr only\r\ry = 2\rprint(x + y)\r' >orig/cr.py
	run pyprime strip -o out orig
	assert_success
	run -0 cat -A out/crlf.py
	assert_output 'M-oM-;M-?def f():^M$
^Iif 1:^M$
^I^Ireturn 1^M$
print(f())^M$'
	run -0 cat -A out/latin.py
	assert_output '# -*- coding: latin-1 -*-$
s = "cafM-i"$
print(len(s))$'
	for f in crlf latin cr; do
		diff <(run_in orig $f.py) <(run_in out $f.py)
	done
}

@test "a module that names __doc__ keeps its docstrings unless --force-docstrings" {
	mkdir orig
	printf '"""Usage: tool [-h]"""\nimport sys\ndef f():\n    """f doc"""\nprint(__doc__)\n' >orig/cli.py
	run pyprime strip --stats -o out orig
	assert_success
	assert_output --partial '__doc__    1 named __doc__ and kept their docstrings'
	grep -q 'Usage: tool' out/cli.py
	grep -q 'f doc' out/cli.py
	run pyprime strip --force-docstrings -o out2 orig
	assert_success
	run ! grep -q 'Usage' out2/cli.py
	[ "$(run_in out2 cli.py)" = None ]
}

@test "a file that doesn't tokenize or compile is reported with its line and copied unchanged" {
	mkdir orig
	printf 'x = 1\n# c\ns = """never closed\n' >orig/open.py
	printf 'def f():\n    """doc"""\n    return = 1\n' >orig/bad.py
	printf '# c\nx = 1\n' >orig/good.py
	run pyprime strip -o out orig
	assert_success
	assert_output --partial 'orig/open.py:3: cannot strip: unterminated triple-quoted string literal; left unchanged'
	assert_output --partial "warning: orig/bad.py:3:12: SyntaxError: invalid syntax; left unchanged"
	cmp orig/open.py out/open.py
	cmp orig/bad.py out/bad.py
	[ "$(cat out/good.py)" = "x = 1" ]
	run pyprime strip --strict -o out3 orig
	assert_failure 1
	cmp orig/bad.py out3/bad.py
	run pyprime strip -q -o out4 orig
	assert_success
	assert_output ""
}

@test "--compare proves equivalence and catches every kind of difference" {
	printf 'def f(a, b):\n    """doc"""\n    try:\n        x = a < b  # c\n    except ValueError:\n        x = 0\n    except Exception:\n        x = 1\n    return x\n' >a.py
	printf 'def f(a, b):\n    try:\n        x = a < b\n    except ValueError:\n        x = 0\n    except Exception:\n        x = 1\n    return x\n' >same.py
	run pyprime strip --compare a.py same.py
	assert_success
	# Kept docstrings are compared too.
	run pyprime strip --compare --comments a.py same.py
	assert_failure 1
	local change
	for change in 's/a < b/a <= b/' 's/x = 0/x = 2/' 's/return x/return a/' \
		's/ValueError/TypeError/' 's/def f(a, b)/def f(b, a)/' \
		'/x = 0/d' 's/    try:/    global x\n    try:/'; do
		sed "$change" same.py >b.py
		run ! cmp -s same.py b.py
		run pyprime strip --compare a.py b.py
		assert_failure 1
		assert_output --partial 'differ: '
	done
	# The except clauses swapped.
	printf 'def f(a, b):\n    try:\n        x = a < b\n    except Exception:\n        x = 1\n    except ValueError:\n        x = 0\n    return x\n' >b.py
	run pyprime strip --compare a.py b.py
	assert_failure 1
	printf 'def f(a, b):\n  return (\n' >b.py
	run pyprime strip --compare a.py b.py
	assert_failure 1
}

@test "trees: other files copied, modes and times kept, symlinks recreated, the output never entered" {
	mkdir -p orig/pkg/sub orig/pkg/__pycache__ elsewhere
	printf '# c\nx = 1\n' >orig/pkg/a.py
	printf 'data\n' >orig/pkg/data.txt
	printf '#!/bin/sh\n' >orig/pkg/run.sh
	chmod 751 orig/pkg/run.sh
	chmod 640 orig/pkg/a.py
	touch -d '2001-02-03 04:05:06' orig/pkg/a.py orig/pkg/data.txt
	printf 'y = 2\n' >orig/pkg/sub/b.py
	chmod 750 orig/pkg/sub
	touch -d '2002-01-01' orig/pkg/sub
	printf 'junk' >orig/pkg/__pycache__/a.cpython-311.pyc
	ln -s a.py orig/pkg/link.py
	ln -s ../../elsewhere orig/pkg/dirlink
	printf 'z = 3\n' >elsewhere/e.py
	run pyprime strip -o orig/out orig
	assert_success
	[ "$(cat orig/out/pkg/a.py)" = "x = 1" ]
	cmp orig/pkg/data.txt orig/out/pkg/data.txt
	[ "$(stat -c %a orig/out/pkg/run.sh)" = 751 ]
	[ "$(stat -c %a orig/out/pkg/a.py)" = 640 ]
	[ "$(stat -c %Y orig/out/pkg/a.py)" = "$(stat -c %Y orig/pkg/a.py)" ]
	[ "$(stat -c %Y orig/out/pkg/data.txt)" = "$(stat -c %Y orig/pkg/data.txt)" ]
	[ "$(stat -c %a orig/out/pkg/sub)" = 750 ]
	[ "$(stat -c %Y orig/out/pkg/sub)" = "$(stat -c %Y orig/pkg/sub)" ]
	[ "$(readlink orig/out/pkg/link.py)" = a.py ]
	[ "$(readlink orig/out/pkg/dirlink)" = ../../elsewhere ]
	[ ! -e orig/out/pkg/__pycache__ ]
	[ ! -e orig/out/out ]
	[ "$(cat elsewhere/e.py)" = "z = 3" ]
	# The output itself as input is refused.
	run pyprime strip -o orig orig
	assert_failure 1
	assert_output --partial 'is the output directory: use --in-place'
}

@test "the output tree is never written through a symlink" {
	mkdir -p orig/pkg out victim
	printf '# c\nx = 1\n' >orig/pkg/a.py
	printf '# c\ny = 1\n' >orig/top.py
	ln -s ../victim out/pkg
	ln -s ../victim/top.py out/top.py
	run pyprime strip -o out orig
	assert_failure 1
	assert_output --partial "refusing to write below 'out/pkg'"
	assert_output --partial "refusing to write through symlink 'out/top.py'"
	[ -z "$(ls victim)" ]
	[ -z "$(leftover_temps out)" ]
}

@test "--in-place replaces the sources; a second run keeps the map leading to the first lines" {
	mkdir -p tree/pkg
	printf '"""doc"""\n\n# c\ndef f():\n\n    # c\n    raise ValueError(1)\n' >tree/pkg/m.py
	printf 'import pkg.m\npkg.m.f()\n' >tree/run.py
	cp -r tree orig
	run pyprime strip --in-place --comments tree
	assert_success
	run pyprime strip --in-place tree
	assert_success
	[ "$(cat tree/pkg/m.py)" = "$(printf 'def f():\n    raise ValueError(1)')" ]
	run_in orig run.py 2>want || true
	run_in tree run.py 2>got || true
	run pyprime traceback --source "$BATS_TEST_TMPDIR/orig" got
	assert_success
	assert_output "$(sed "s|$BATS_TEST_TMPDIR/orig|$BATS_TEST_TMPDIR/tree|" want)"
	# Nothing to strip: nothing written.
	local before
	before=$(stat -c %Y.%i tree/pkg/m.py)
	run pyprime strip --in-place tree/pkg/m.py
	assert_success
	[ "$(stat -c %Y.%i tree/pkg/m.py)" = "$before" ]
}

@test "a traceback from stripped code maps back to the original, line for line" {
	cp -r "$BATS_TEST_DIRNAME/fixtures/traceback/app" orig
	run pyprime strip -o out orig
	assert_success
	grep -q "^source $BATS_TEST_TMPDIR/orig\$" out/pyprime.linemap
	local n=0 how
	for how in all $(sed -n 's/^    "\([a-z-]*\)": .*/\1/p' orig/run.py); do
		run_in orig run.py "$how" >/dev/null 2>want || true
		run_in out run.py "$how" >/dev/null 2>got || true
		grep -q Traceback want
		run pyprime traceback got
		assert_success
		assert_output "$(sed "s|$BATS_TEST_TMPDIR/orig/|$BATS_TEST_TMPDIR/out/|" want)"
		n=$((n + 1))
	done
	[ "$n" -ge 10 ]
}

@test "--stats counts files, bytes and lines; -v per file" {
	mkdir orig
	printf '# one\n\nx = 1\n' >orig/a.py
	printf '"""doc"""\ny = 2\n' >orig/b.py
	printf 'data' >orig/c.txt
	run pyprime strip --stats -v -o out orig
	assert_success
	assert_line 'orig/a.py: 13 -> 6 bytes, 3 -> 1 lines'
	assert_line 'orig/b.py: 16 -> 6 bytes, 2 -> 1 lines'
	assert_line '  files      2 .py: 2 stripped, 0 unchanged, 0 failed; 1 other copied'
	assert_line '  bytes      29 -> 12 (-58.6%)'
	assert_line '  lines      5 -> 2 (-60.0%)'
	assert_line '  removed    1 docstrings, 1 comments'
}

@test "interrupted or killed, strip leaves no temporary file and no partial output" {
	stdlib_copy lib
	local i
	for i in 1 2 3; do
		rm -rf out
		env --default-signal=INT "$PYPRIME" strip -q -o out lib &
		sleep "0.$((i * 2))"
		kill -INT $!
		local status=0
		wait $! || status=$?
		[ "$status" = 130 ] || [ "$status" = 0 ]
		[ -z "$(leftover_temps out)" ]
		# Whatever was written is whole: proven equal to its original.
		find out -type f -name '*.py' -print | head -50 | while read -r f; do
			pyprime strip --compare -q "lib/${f#out/}" "$f" >/dev/null
		done
	done
}

@test "usage errors" {
	run pyprime strip x.py
	assert_failure 2
	assert_output --partial 'give one of -o and --in-place'
	run pyprime strip -o out --in-place x.py
	assert_failure 2
	run pyprime strip -o out
	assert_failure 2
	assert_output --partial 'nothing to strip'
	run pyprime strip --compare a.py
	assert_failure 2
	run pyprime strip -o out missing.py
	assert_failure 1
	assert_output --partial "cannot access 'missing.py'"
}

@test "the line map lists every stripped file, one stripped to nothing too, and not the unchanged" {
	mkdir orig
	printf '"""Only a docstring."""\n' >orig/doc.py
	printf '# c\n\nx = 1\n' >orig/x.py
	printf 'y = 2\n' >orig/same.py
	run pyprime strip -o out orig
	assert_success
	[ ! -s out/doc.py ]
	run -0 cat out/pyprime.linemap
	assert_output "pyprime-linemap 1
source $BATS_TEST_TMPDIR/orig
doc.py	
x.py	3"
}
