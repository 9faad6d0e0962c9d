#!/usr/bin/env bats
# "pyprime py3compile" and "pyprime py3clean" against Debian's own
# py3compile and py3clean, given the same arguments: a package installed
# with real dpkg in a scratch root, the real tools run in a mount namespace
# where that root's /usr/share, dist-packages and dpkg database stand in
# for the system's, pyprime with --root on a copy of the same state.

setup_file() {
	load test_helper
	local pkg="$BATS_FILE_TMPDIR/pkg" f
	mkdir -p "$pkg/DEBIAN"
	for f in usr/lib/python3/dist-packages/demo/__init__.py \
		usr/lib/python3/dist-packages/demo/core.py \
		usr/lib/python3/dist-packages/demo/foo.bar.py \
		usr/lib/python3/dist-packages/demo/skipme.py \
		usr/lib/python3/dist-packages/demo/sub/__init__.py \
		usr/lib/python3/dist-packages/demo/sub/deep.py \
		usr/lib/python3.9/dist-packages/old39.py \
		usr/share/demo/app/main.py usr/share/demo/app/solo.py \
		usr/share/demo/app/tests/test_x.py \
		usr/share/demo/app/vendored/v.py \
		usr/share/demoextra/z.py \
		usr/share/bad-demo/a.py usr/share/bad-demo/c.py; do
		mkdir -p "$pkg/${f%/*}"
		printf '"""%s"""\nimport os\n\ndef f(x):\n    assert x, "%s"\n    return {x: os.sep}\n' \
			"$f" "$f" >"$pkg/$f"
	done
	printf 'def broken(:\n    pass\n' >"$pkg/usr/share/bad-demo/b.py"
	printf 'Package: python3-demo\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@pyprime.invalid>\nDescription: modules for the py3compile tests\n' \
		>"$pkg/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$pkg" "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
}

setup() {
	load test_helper
	can_mount || skip "needs root and mount namespaces"
	new_dpkg_root
	# The system's debpython (for the real tools) and its defaults; a
	# bcep file with one rule of each kind.
	mkdir -p "$R/usr/share" "$R/usr/bin" "$R/usr/lib/python3/dist-packages"
	cp -a /usr/share/python3 "$R/usr/share/"
	mkdir -p "$R/usr/share/python3/bcep"
	cat >"$R/usr/share/python3/bcep/python3-demo" <<-'EOF'
	# one rule of each kind
	re|-|/usr/lib/python3/dist-packages/demo/|.*skipme.*
	dir|3.11|/usr/share/demo/app/vendored
	file|-|/usr/share/demo/app/solo.py
	EOF
	ln -s /usr/bin/python3.11 "$R/usr/bin/python3.11"
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
}

# Debian's tool "$@" (py3compile ARGS or py3clean ARGS) on the root, in a
# mount namespace where the root's files are where the tool looks.  The
# tool's own modules (the root's debpython) must not get pycs of their
# own there: PYTHONDONTWRITEBYTECODE, for its imports only (its compiles
# run py_compile, which writes regardless).
real() {
	PYTHONDONTWRITEBYTECODE=1 unshare -m sh -c '
		r=$1; shift
		mount --make-rprivate / &&
		mount --bind "$r/usr/share" /usr/share &&
		mount --bind "$r/usr/lib/python3/dist-packages" /usr/lib/python3/dist-packages &&
		mount --bind "$r/var/lib/dpkg" /var/lib/dpkg &&
		exec "$@"' sh "$R" "/usr/bin/$1" "${@:2}"
}

# Every pyc (and pyo) under the root, with a hash of its bytes, sorted.
pycs() {
	(cd "$R" && find usr \( -name '*.py[co]' -o -name '*.py[co]x' \) -type f |
		sort | while read -r f; do
			printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-16)"
		done)
}

# Everything under the root's /usr, files and directories.
tree_of() {
	(cd "$R" && find usr | sort)
}

remove_pycs() {
	find "$R/usr" -name __pycache__ -prune -exec rm -rf {} +
}

# Compile with Debian's py3compile, then with pyprime's from scratch, both
# given ARGS; the same pycs, byte for byte, and the same status.
same_as_py3compile() {
	remove_pycs
	run real py3compile "$@"
	local real_status=$status
	pycs >"$BATS_TEST_TMPDIR/real.list"
	remove_pycs
	run pyprime py3compile --root "$R" "$@"
	assert_equal "$status" "$real_status"
	pycs >"$BATS_TEST_TMPDIR/ours.list"
	run diff -u "$BATS_TEST_TMPDIR/real.list" "$BATS_TEST_TMPDIR/ours.list"
	assert_success
	[ -s "$BATS_TEST_TMPDIR/real.list" ] || fail "nothing was compiled: $*"
}

@test "py3compile -p: the package's public modules, bcep rules applied, as py3compile" {
	same_as_py3compile -p python3-demo
	run grep -c pyc "$BATS_TEST_TMPDIR/ours.list"
	assert_output 5
	run grep -e skipme -e old39 -e /share/ "$BATS_TEST_TMPDIR/ours.list"
	assert_failure
	same_as_py3compile -O -p python3-demo
	grep -q 'core.cpython-311.opt-1.pyc' "$BATS_TEST_TMPDIR/ours.list"
}

@test "py3compile -p PKG DIR -V -X: private modules, as py3compile" {
	same_as_py3compile -p python3-demo /usr/share/demo -V 3.11- -X 'app/tests/.*'
	run cut -d' ' -f1 "$BATS_TEST_TMPDIR/ours.list"
	# A plain prefix: /usr/share/demoextra too; tests, vendored (bcep
	# dir) and solo.py (bcep file) left out.
	assert_output - <<-EOF
	usr/share/demo/app/__pycache__/main.$TAG.pyc
	usr/share/demoextra/__pycache__/z.$TAG.pyc
	EOF
	same_as_py3compile -p python3-demo /usr/share/demo -X '.*main'
	same_as_py3compile -f -p python3-demo /usr/share/demo/app -V 3.11
}

@test "py3compile DIR: trees and files, the runtime.d hook's call, as py3compile" {
	same_as_py3compile -V 3.11 /usr/lib/python3/dist-packages
	same_as_py3compile /usr/share/demo /usr/share/demoextra/z.py
	same_as_py3compile -O -V 3.11-4.0 /usr/share/demo/app -X '.*/tests/'
}

@test "py3compile pycs are py_compile's, recorded with the installed paths" {
	run -0 pyprime py3compile --root "$R" -p python3-demo
	local src=/usr/lib/python3/dist-packages/demo/sub/deep.py
	ref_pyc "$R$src" "$BATS_TEST_TMPDIR/ref.pyc" 0 timestamp "$src"
	cmp "$BATS_TEST_TMPDIR/ref.pyc" "$(cache_of "$R$src")"
}

@test "py3compile: a fresh pyc is left alone, -f rewrites it" {
	run -0 pyprime py3compile --root "$R" -p python3-demo
	local pyc
	pyc=$(cache_of "$R/usr/lib/python3/dist-packages/demo/core.py")
	local before
	before=$(stat -c %i "$pyc")
	run -0 pyprime py3compile -v --root "$R" -p python3-demo
	assert_output "0 compiled, 5 fresh, 0 failed"
	assert_equal "$(stat -c %i "$pyc")" "$before"
	run -0 pyprime py3compile -v -f --root "$R" -p python3-demo
	assert_output "5 compiled, 0 fresh, 0 failed"
}

@test "py3compile: a file that does not compile is a warning, the rest is compiled" {
	run real py3compile -p python3-demo /usr/share/bad-demo
	assert_failure 1
	remove_pycs
	run --separate-stderr pyprime py3compile --root "$R" -p python3-demo /usr/share/bad-demo
	assert_success
	[[ "$stderr" == *"$R/usr/share/bad-demo/b.py:1:"*"SyntaxError"* ]] || fail "$stderr"
	[[ "$stderr" == *"warning: 1 file could not be compiled"* ]] || fail "$stderr"
	assert_file_exists "$(cache_of "$R/usr/share/bad-demo/a.py")"
	assert_file_exists "$(cache_of "$R/usr/share/bad-demo/c.py")"
	assert_file_not_exists "$(cache_of "$R/usr/share/bad-demo/b.py")"
}

@test "py3compile: a listed file dpkg's path-exclude removed is skipped" {
	rm "$R/usr/lib/python3/dist-packages/demo/core.py"
	run real py3compile -p python3-demo
	assert_failure
	remove_pycs
	run -0 pyprime py3compile --root "$R" -p python3-demo
	assert_file_exists "$(cache_of "$R/usr/lib/python3/dist-packages/demo/sub/deep.py")"
	run -0 pyprime py3compile -v --root "$R" -p python3-demo
	assert_output --partial "core.py' does not exist, skipped"
}

@test "py3compile: versions not installed exit 3, bad arguments 2, nothing to do 1, as py3compile" {
	for args in "-V 3.99 /usr/share/demo" "-V 2.7-3.0 -p python3-demo"; do
		run real py3compile $args
		assert_failure 3
		run pyprime py3compile --root "$R" $args
		assert_failure 3
	done
	for args in "-V nonsense /usr/share/demo" "-p python3-demo -X foo" "-X ( /usr/share/demo"; do
		run real py3compile $args
		assert_failure 2
		run pyprime py3compile --root "$R" $args
		assert_failure 2
	done
	run real py3compile
	assert_failure 1
	run pyprime py3compile --root "$R"
	assert_failure 1
	run -0 pyprime py3compile --version
	assert_output --regexp '^py3compile \(pyprime [0-9.]+, Python 3\.11\.[0-9]+\)$'
}

@test "py3compile: another installed version is compiled by its own interpreter" {
	# A python3.12 that is python3.11 underneath, logging its calls.
	cat >"$R/usr/bin/python3.12" <<-EOF
	#!/bin/sh
	echo "python3.12 \$*" >>"$BATS_TEST_TMPDIR/calls"
	exec /usr/bin/python3.11 "\$@"
	EOF
	chmod +x "$R/usr/bin/python3.12"
	DEBPYTHON3_SUPPORTED="python3.11, python3.12" run -0 pyprime py3compile --root "$R" \
		-V 3.12 -p python3-demo /usr/share/demo/app
	run grep -c '^python3.12 -I -c ' "$BATS_TEST_TMPDIR/calls"
	assert_output 1
	local src=/usr/share/demo/app/main.py
	ref_pyc "$R$src" "$BATS_TEST_TMPDIR/ref.pyc" 0 timestamp "$src"
	cmp "$BATS_TEST_TMPDIR/ref.pyc" "$(cache_of "$R$src")"
	assert_file_not_exists "$(cache_of "$R/usr/share/demo/app/solo.py")"
	# py3clean -V 3.12: its tag is 3.11's too, so nothing goes.
	DEBPYTHON3_SUPPORTED="python3.11, python3.12" run -0 pyprime py3clean --root "$R" \
		-V 3.12 -p python3-demo
	assert_file_exists "$(cache_of "$R$src")"
}

# Fill the root with pycs and look-alikes: every tag, levels, legacy
# files, and names py3clean's globs catch.
litter() {
	remove_pycs
	run -0 pyprime py3compile --root "$R" -f -V 3.11 /usr/lib/python3/dist-packages /usr/share
	run -0 pyprime py3compile --root "$R" -O -V 3.11 /usr/share/demo
	local d
	for d in "$R/usr/lib/python3/dist-packages/demo" "$R/usr/share/demo/app"; do
		mkdir -p "$d/__pycache__"
		touch "$d/__pycache__/foo.cpython-39.pyc" "$d/__pycache__/foo.pyc.old" \
			"$d/__pycache__/main.cpython-39.opt-2.pyc" \
			"$d/__pycache__/.hidden" "$d/core.pyc" "$d/main.pyo"
	done
}

# Clean with Debian's py3clean, then with pyprime's on the same litter,
# given ARGS; the same files left and the same status.
same_as_py3clean() {
	litter
	run real py3clean "$@"
	local real_status=$status
	tree_of >"$BATS_TEST_TMPDIR/real.tree"
	litter
	run pyprime py3clean --root "$R" "$@"
	assert_equal "$status" "$real_status"
	tree_of >"$BATS_TEST_TMPDIR/ours.tree"
	run diff -u "$BATS_TEST_TMPDIR/real.tree" "$BATS_TEST_TMPDIR/ours.tree"
	assert_success
}

@test "py3clean removes what py3clean removes: packages, trees, versions" {
	same_as_py3clean -p python3-demo
	run grep -c '\.pyc$' "$BATS_TEST_TMPDIR/ours.tree"
	[ "$output" -gt 0 ] || fail "py3clean -p left no pyc of other trees: $output"
	same_as_py3clean /usr/lib/python3/dist-packages/demo
	same_as_py3clean -V 3.11 /usr/share/demo
	same_as_py3clean -V 3.1 /usr/share/demo
	same_as_py3clean -p python3-demo /usr/share/demo/app
	same_as_py3clean /usr/lib/python3/dist-packages/demo/foo.bar.py
	same_as_py3clean -V 3.99 -p python3-demo
	same_as_py3clean
}

@test "py3clean does not follow a __pycache__ that is a symlink" {
	local outside="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$outside"
	touch "$outside/core.$TAG.pyc"
	ln -s "$outside" "$R/usr/lib/python3/dist-packages/demo/__pycache__"
	run -0 pyprime py3clean --root "$R" -p python3-demo
	assert_file_exists "$outside/core.$TAG.pyc"
	assert_link_exists "$R/usr/lib/python3/dist-packages/demo/__pycache__"
}

@test "py3compile shows the compiler warnings py_compile shows, no DeprecationWarning" {
	mkdir -p "$BATS_TEST_TMPDIR/w"
	printf 'import re\nx = re.compile("\\.")\ny = 1 is 1\n' >"$BATS_TEST_TMPDIR/w/m.py"
	run -0 --separate-stderr /usr/bin/py3compile "$BATS_TEST_TMPDIR/w"
	[[ "$stderr" == *SyntaxWarning* ]] || fail "py3compile: $stderr"
	[[ "$stderr" != *DeprecationWarning* ]] || fail "py3compile: $stderr"
	run -0 --separate-stderr pyprime py3compile -f "$BATS_TEST_TMPDIR/w"
	assert_equal "$stderr" "$BATS_TEST_TMPDIR/w/m.py:3: SyntaxWarning: \"is\" with a literal. Did you mean \"==\"?"
	run -0 --separate-stderr pyprime compile -f "$BATS_TEST_TMPDIR/w"
	[[ "$stderr" == *DeprecationWarning* ]] || fail "compile: $stderr"
}
