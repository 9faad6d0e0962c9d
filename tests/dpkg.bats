#!/usr/bin/env bats
# Packages: -p takes the .py files dpkg lists, --root works on a dpkg root
# directory (DPKG_ROOT) and records installed paths, and a file dpkg's
# path-exclude removed is a warning, never an error.

setup_file() {
	load test_helper
	local pkg="$BATS_FILE_TMPDIR/pkg"
	mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/python3/dist-packages/demo/sub" \
		"$pkg/usr/share/demo-app"
	cat >"$pkg/DEBIAN/control" <<-CONTROL
	Package: pyprime-demo
	Version: 1.0
	Architecture: all
	Maintainer: pyprime tests <tests@localhost>
	Description: a package of Python modules for pyprime's tests
	CONTROL
	local d="$pkg/usr/lib/python3/dist-packages/demo"
	printf '"""demo"""\n' >"$d/__init__.py"
	printf 'def a():\n    assert True\n    return 1\n' >"$d/a.py"
	printf 'B = 2\n' >"$d/b.py"
	printf 'C = 3\n' >"$d/sub/c.py"
	: >"$d/sub/__init__.py"
	printf 'print("app")\n' >"$pkg/usr/share/demo-app/main.py"
	dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
}

setup() {
	load test_helper
	new_dpkg_root
	cd "$BATS_TEST_TMPDIR"
}

@test "-p with --root compiles a package's modules, recording installed paths" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	run pyprime compile -v -O0 -O1 --root "$R" -p pyprime-demo
	assert_success
	assert_output "6 compiled, 0 fresh, 0 failed"
	while read -r f; do
		for level in 0 1; do
			ref_pyc "$R$f" ref.pyc "$level" timestamp "$f"
			cmp "$(cache_of "$R$f" "$level")" ref.pyc
		done
	done < <(dpkg-query --root="$R" -L pyprime-demo | grep '\.py$')
	# Nothing outside the package's directories.
	[ "$(find "$R" -name '*.pyc' | wc -l)" -eq 12 ]
	run -0 pyprime compile -v --root "$R" -p pyprime-demo
	assert_output "0 compiled, 6 fresh, 0 failed"
}

@test "a file dpkg's path-exclude removed is skipped with a warning" {
	dpkg_root --path-exclude=/usr/lib/python3/dist-packages/demo/b.py \
		-i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	[ ! -e "$R/usr/lib/python3/dist-packages/demo/b.py" ]
	run --separate-stderr pyprime compile -v --root "$R" -p pyprime-demo
	assert_success
	assert_output "5 compiled, 0 fresh, 0 failed"
	assert_equal "$stderr" "pyprime: warning: '$R/usr/lib/python3/dist-packages/demo/b.py' of package 'pyprime-demo' does not exist, skipped"
	run --separate-stderr pyprime compile -q --root "$R" -p pyprime-demo
	assert_success
	assert_equal "$stderr" ""
}

@test "clean -p removes exactly what compile -p made" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	before=$(find "$R" | sort)
	echo 'x = 1' >"$R/usr/lib/python3/dist-packages/other.py"
	pyprime compile -q -O0 -O2 --root "$R" -p pyprime-demo
	pyprime compile -q "$R/usr/lib/python3/dist-packages/other.py"
	run pyprime clean -v --root "$R" -p pyprime-demo
	assert_success
	assert_line "12 removed, 3 directories removed, 0 failed"
	# Another package's pyc in the shared directory stays.
	[ -f "$(cache_of "$R/usr/lib/python3/dist-packages/other.py")" ]
	rm -r "$R/usr/lib/python3/dist-packages/other.py" "$R/usr/lib/python3/dist-packages/__pycache__"
	assert_equal "$(find "$R" | sort)" "$before"
}

@test "-x applies to a package's installed paths" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	run -0 pyprime compile -v --root "$R" -p pyprime-demo -x '^/usr/share/'
	assert_output "5 compiled, 0 fresh, 0 failed"
	[ ! -e "$R/usr/share/demo-app/__pycache__" ]
}

@test "a package dpkg doesn't know is an error, the rest is still done" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	run --separate-stderr pyprime compile -v --root "$R" -p no-such-package -p pyprime-demo
	assert_failure 1
	assert_output "6 compiled, 0 fresh, 1 failed"
	grep -q "^pyprime: cannot list the files of package 'no-such-package'$" <<<"$stderr"
	run --separate-stderr pyprime clean --root "$R" -p no-such-package
	assert_failure 1
}

@test "--root with paths: found under the root, recorded as installed" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	run pyprime compile -v --root "$R" /usr/share/demo-app /usr/lib/python3/dist-packages/demo/a.py
	assert_success
	assert_output "2 compiled, 0 fresh, 0 failed"
	ref_pyc "$R/usr/share/demo-app/main.py" ref.pyc 0 timestamp /usr/share/demo-app/main.py
	cmp "$(cache_of "$R/usr/share/demo-app/main.py")" ref.pyc
	ref_pyc "$R/usr/lib/python3/dist-packages/demo/a.py" ref.pyc 0 timestamp /usr/lib/python3/dist-packages/demo/a.py
	cmp "$(cache_of "$R/usr/lib/python3/dist-packages/demo/a.py")" ref.pyc
	run -0 pyprime clean -v --root "$R" /usr/share/demo-app
	assert_line "1 removed, 1 directories removed, 0 failed"
}

@test "a Multi-Arch: same package, whose list dpkg names PKG:ARCH, with or without the architecture" {
	local arch pkg=$BATS_TEST_TMPDIR/ma
	arch=$(dpkg --print-architecture)
	mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/python3/dist-packages/ma"
	printf 'Package: pyprime-ma\nVersion: 1.0\nArchitecture: %s\nMulti-Arch: same\nMaintainer: t <t@localhost>\nDescription: t\n' \
		"$arch" >"$pkg/DEBIAN/control"
	printf 'X = 1\n' >"$pkg/usr/lib/python3/dist-packages/ma/__init__.py"
	dpkg-deb --root-owner-group -b "$pkg" ma.deb >/dev/null
	dpkg_root -i ma.deb >/dev/null
	[ -f "$R/var/lib/dpkg/info/pyprime-ma:$arch.list" ]
	run -0 pyprime compile -v --root "$R" -p pyprime-ma
	assert_output "1 compiled, 0 fresh, 0 failed"
	run -0 pyprime compile -v --root "$R" -p "pyprime-ma:$arch"
	assert_output "0 compiled, 1 fresh, 0 failed"
}

@test "without --root, a package's list comes from DPKG_ADMINDIR, as dpkg-query takes it" {
	dpkg_root -i "$BATS_FILE_TMPDIR/demo.deb" >/dev/null
	# The root's database, the host's paths: every listed source is
	# missing here, and each warning names one.
	DPKG_ADMINDIR=$R/var/lib/dpkg run --separate-stderr pyprime compile -v -p pyprime-demo
	assert_success
	assert_output "0 compiled, 0 fresh, 0 failed"
	DPKG_ADMINDIR=$R/var/lib/dpkg dpkg-query -L pyprime-demo | grep '\.py$' | sort >want
	[ "$(wc -l <want)" -eq 6 ]
	sed -n "s/^pyprime: warning: '\(.*\)' of package 'pyprime-demo' does not exist, skipped$/\1/p" <<<"$stderr" |
		sort >got
	diff want got
}
