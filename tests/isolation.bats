#!/usr/bin/env bats
# The embedded interpreter is isolated: PYTHON* variables, site,
# sitecustomize and usercustomize change nothing, and no code that is being
# compiled (or lies about) is ever run.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	MARK="$BATS_TEST_TMPDIR/ran"
	mkdir -p "$MARK" poison/encodings poison/user/lib/python3.11/site-packages tree
	# Each of these leaves a mark if it is ever executed.
	for m in sitecustomize usercustomize warnings codecs io abc startup; do
		printf 'open(%s, "w").close()\n' "'$MARK/$m'" >"poison/$m.py"
	done
	cp poison/usercustomize.py poison/user/lib/python3.11/site-packages/
	printf 'open(%s, "w").close()\n' "'$MARK/encodings'" >poison/encodings/__init__.py
	# The tree being compiled holds the same traps, and warns.
	cp poison/*.py tree/
	printf 'import os\nos.system("touch %s/tree")\nif 1 is 1: pass\n' "$MARK" >tree/app.py
	cp -r poison/encodings tree/
}

poisoned() {
	env PYTHONPATH="$PWD/poison" PYTHONHOME=/nonexistent \
		PYTHONSTARTUP="$PWD/poison/startup.py" PYTHONOPTIMIZE=2 \
		PYTHONDONTWRITEBYTECODE=1 PYTHONWARNINGS=error PYTHONHASHSEED=7 \
		PYTHONUTF8=0 LC_ALL=C PYTHONINSPECT=1 PYTHONVERBOSE=1 \
		PYTHONDEVMODE=1 PYTHONUSERBASE="$PWD/poison/user" HOME="$PWD/poison" \
		PYTHONPYCACHEPREFIX="$PWD/elsewhere" PYTHONNOUSERSITE= \
		PYTHONMALLOC=debug PYTHONFAULTHANDLER=1 PYTHONTRACEMALLOC=5 \
		PYTHONSAFEPATH= PYTHONPLATLIBDIR=nowhere "$@"
}

@test "a poisoned environment changes nothing and runs nothing" {
	cd poison
	run --separate-stderr poisoned "$PYPRIME" compile -O0 -O1 -d . ../tree
	assert_success
	assert_equal "$stderr" '../tree/app.py:3: SyntaxWarning: "is" with a literal. Did you mean "=="?'
	cd ..
	[ -z "$(ls -A "$MARK")" ]
	[ ! -e elsewhere ]
	for f in tree/*.py tree/encodings/__init__.py; do
		for level in 0 1; do
			env -i PATH="$PATH" "$PYTHON" "$PYREF" one "$f" ref.pyc "$level" \
				timestamp "./${f#tree/}" 2>/dev/null
			cmp "$(cache_of "$f" "$level")" ref.pyc
		done
	done
	[ -z "$(ls -A "$MARK")" ]
}

@test "compiling from inside a poisoned directory runs nothing there" {
	cd tree
	run poisoned "$PYPRIME" compile -q -f .
	assert_success
	run poisoned "$PYPRIME" clean -q .
	assert_success
	[ -z "$(ls -A "$MARK")" ]
}
