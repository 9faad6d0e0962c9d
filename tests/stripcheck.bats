#!/usr/bin/env bats
# tests/stripcheck.py itself, on hand-made trees and without pyprime: a
# right result passes, and each kind of wrong one is caught and said.

setup() {
	load test_helper
	STRIPCHECK="$BATS_TEST_DIRNAME/stripcheck.py"
	cd "$BATS_TEST_TMPDIR"
	mkdir orig out keep
	cat >orig/a.py <<-'EOF'
		#!/usr/bin/python3
		# -*- coding: utf-8 -*-
		"""Module docstring."""
		import os  # noqa: F401


		def f(x):
		    """Docstring."""
		    # a comment
		    return x + 1  # type: int


		class A:
		    """Only a docstring."""
	EOF
	cat >out/a.py <<-'EOF'
		#!/usr/bin/python3
		# -*- coding: utf-8 -*-
		import os  # noqa: F401
		def f(x):
		    return x + 1  # type: int
		class A:
		    pass
	EOF
	printf 'pyprime-linemap 1\na.py\t1:2 4 7 10 13:2\n' >out/pyprime.linemap
	cat >keep/a.py <<-'EOF'
		#!/usr/bin/python3
		# -*- coding: utf-8 -*-

		import os  # noqa: F401


		def f(x):


		    return x + 1  # type: int


		class A:
		    pass
	EOF
}

check() {
	run "$PYTHON" "$STRIPCHECK" "$@"
}

@test "a right result passes, with and without --keep-lines" {
	check orig out
	assert_success
	assert_output "1 good, 0 bad, 0 not compilable in the original"
	check --keep-lines orig keep
	assert_success
}

@test "different code is caught, whatever the lines" {
	sed -i 's/x + 1/x + 2/' out/a.py
	check orig out
	assert_failure 1
	assert_line "a.py: f: constant 1 differs: 1 vs 2"
	assert_line "0 good, 1 bad, 0 not compilable in the original"
}

@test "a comment left, a pragma or the cookie lost, a blank line left" {
	cp out/a.py a.py
	sed 's/^def f(x):/def f(x):  # left/' a.py >out/a.py
	check orig out
	assert_failure 1
	assert_line "a.py: line 4: comment left: # left"
	sed 's/  # noqa: F401//' a.py >out/a.py
	check --no-linemap orig out
	assert_line "a.py: comment lost: # noqa: F401"
	sed '2d' a.py >out/a.py
	check --no-linemap orig out
	assert_line "a.py: comment lost: # -*- coding: utf-8 -*-"
	sed 's/^class A:/\nclass A:/' a.py >out/a.py
	check --no-linemap orig out
	assert_line "a.py: line 6 is blank"
}

@test "a docstring left is caught, and docstrings gone from a module that reads __doc__" {
	sed -i 's/^    pass$/    "doc"/' out/a.py
	check orig out
	assert_failure 1
	assert_line "a.py: A: docstring left"
	printf 'print(__doc__)\n' >>orig/a.py
	printf 'print(__doc__)\n' >>out/a.py
	check --no-linemap orig out
	assert_line "a.py: the code reads __doc__ but docstrings were stripped"
	printf '"""Doc."""\nprint(f"{__doc__}")\n' >orig/b.py
	printf 'print(f"{__doc__}")\n' >out/b.py
	check --no-linemap orig out
	assert_line "b.py: the code reads __doc__ but docstrings were stripped"
}

@test "--keep-lines: a line lost or a token moved is caught" {
	cp keep/a.py a.py
	sed '3d' a.py >keep/a.py
	check --keep-lines orig keep
	assert_failure 1
	assert_line "a.py: 13 lines, the original has 14"
	sed 's/return x/return  x/' a.py >keep/a.py
	check --keep-lines orig keep
	assert_failure 1
	assert_line "a.py: line 10 column 12: 'x' was not there"
}

@test "a file missing, one the tokenize module rejects, a wrong line map" {
	mv out/a.py a.py
	check orig out
	assert_failure 1
	assert_line "a.py: No such file or directory"
	printf 'def f():\n    """a""" \\\n\n    return 1\n' >orig/c.py
	printf 'def f():\n     \\\n\n    return 1\n' >out/c.py
	cp a.py out/a.py
	check --no-linemap orig out
	assert_line --partial "c.py: the result does not tokenize (tokenize module): "
	rm orig/c.py out/c.py
	printf 'pyprime-linemap 1\na.py\t1:2 4 7 10 12:2\n' >out/pyprime.linemap
	check orig out
	assert_line "a.py: line 6: 'class' is not on line 12 that pyprime.linemap gives"
	printf 'pyprime-linemap 1\na.py\t1:2 4 7 10 13\n' >out/pyprime.linemap
	check orig out
	assert_line "a.py: pyprime.linemap has 6 lines, the file 7"
}

@test "a file that does not compile is left out; usage errors exit 2" {
	printf 'def f(:\n' >orig/bad.py
	check orig out
	assert_success
	assert_output "1 good, 0 bad, 1 not compilable in the original"
	check orig
	assert_failure 2
	check orig nowhere
	assert_failure 2
}
