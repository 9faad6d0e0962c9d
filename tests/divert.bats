#!/usr/bin/env bats
# pyprime-py3compile: its preinst diverts python3-minimal's py3compile and
# py3clean and its wrapper takes their place, its postrm puts them back;
# with real dpkg and the package as dpkg-buildpackage builds it, in a
# scratch root.  And the wrapper itself: pyprime when it runs, else the
# original with the same arguments.

setup_file() {
	load test_helper
	export HOOKS="$BATS_TEST_DIRNAME/../hooks" DEBS="$BATS_FILE_TMPDIR/debs"
	local top="$BATS_TEST_DIRNAME/.." copy="$BATS_FILE_TMPDIR/src/pyprime" version
	mkdir -p "$DEBS" "$copy"

	# Only the architecture-independent packages: pyprime-py3compile is
	# one; the binary's own package is built and checked in package.bats.
	# dpkg-buildpackage cleans the copy first.
	(cd "$top" && tar --exclude=./.git --exclude=./build -cf - .) | tar -C "$copy" -xf -
	if ! (cd "$copy" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -A) \
		>"$BATS_FILE_TMPDIR/build.log" 2>&1; then
		tail -n 40 "$BATS_FILE_TMPDIR/build.log" >&2
		return 1
	fi
	version=$(dpkg-parsechangelog -l "$copy/debian/changelog" -SVersion)
	mv "$BATS_FILE_TMPDIR/src/pyprime-py3compile_${version}_all.deb" "$DEBS/py3.deb"
	export VERSION="$version"

	# The same package, a later version; and one that cannot be unpacked
	# for a file another package has.
	repack py3 py3-v2 "$version.1" ""
	repack py3 py3-bad "$version.2" /usr/share/squatter/file

	# python3-minimal, with py3compile and py3clean that say who they are,
	# log their arguments to $ORIG_LOG and exit with $ORIG_STATUS.
	stub python3-minimal 3.11.2-6 /usr/bin/py3compile /usr/bin/py3clean
	stub python3-minimal 3.11.2-7 /usr/bin/py3compile /usr/bin/py3clean
	stub pyprime "$version"
	stub squatter 1.0 /usr/share/squatter/file
}

# Package DEB again as NEW with VERSION, and the file EXTRA if not empty.
repack() {
	local dir="$BATS_FILE_TMPDIR/repack-$2"
	dpkg-deb -R "$DEBS/$1.deb" "$dir"
	sed -i "s/^Version: .*/Version: $3/" "$dir/DEBIAN/control"
	if [ -n "$4" ]; then
		mkdir -p "$dir${4%/*}"
		echo "$2" >"$dir$4"
	fi
	dpkg-deb --root-owner-group -b "$dir" "$DEBS/$2.deb" >/dev/null
}

# A package NAME VERSION with the executables PATH...: $DEBS/NAME_VERSION.deb.
stub() {
	local name=$1 version=$2 dir="$BATS_FILE_TMPDIR/stub-$1-$2" path
	shift 2
	mkdir -p "$dir/DEBIAN"
	for path; do
		mkdir -p "$dir${path%/*}"
		cat >"$dir$path" <<-EOF
		#!/bin/sh
		# ${path##*/} of $name $version
		{ printf '%s' "${path##*/}"; printf ' <%s>' "\$@"; echo; } >>"\${ORIG_LOG:-/dev/null}"
		exit "\${ORIG_STATUS:-0}"
		EOF
		chmod 755 "$dir$path"
	done
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@pyprime.invalid>\nDescription: stands for %s\n' \
		"$name" "$version" "$name" >"$dir/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$dir" "$DEBS/${name}_$version.deb" >/dev/null
}

setup() {
	load test_helper
	new_dpkg_root
	cd "$BATS_TEST_TMPDIR"
	MINIMAL1="$BATS_FILE_TMPDIR/stub-python3-minimal-3.11.2-6"
	MINIMAL2="$BATS_FILE_TMPDIR/stub-python3-minimal-3.11.2-7"
	export ORIG_LOG="$BATS_TEST_TMPDIR/orig.log" LOG="$BATS_TEST_TMPDIR/pyprime.log"
	dpkg_root -i "$DEBS/python3-minimal_3.11.2-6.deb" "$DEBS/pyprime_$VERSION.deb" >/dev/null
}

# The diversions in the root, one a line.
diversions() {
	dpkg-divert --root="$R" --list | sort
}

DIVERTED="diversion of /usr/bin/py3clean to /usr/bin/py3clean.distrib by pyprime-py3compile
diversion of /usr/bin/py3compile to /usr/bin/py3compile.distrib by pyprime-py3compile"

# Every file and directory in the root, but dpkg's own, with the checksum
# of each regular file.
listing() {
	(cd "$R" && find . -path ./var/lib/dpkg -prune -o -path ./var/log -prune -o \
		-type f -exec sha256sum {} + -o -print | sort)
}

# The wrapper is in place of both, the originals of python3-minimal STUB
# at their .distrib names.
check_diverted() {
	local stub=$1 name
	assert_equal "$(diversions)" "$DIVERTED"
	for name in py3compile py3clean; do
		cmp "$R/usr/bin/$name" "$HOOKS/py3-divert"
		[ -x "$R/usr/bin/$name" ]
		cmp "$R/usr/bin/$name.distrib" "$stub/usr/bin/$name"
		[ -x "$R/usr/bin/$name.distrib" ]
	done
}

# Nothing diverted, the originals of STUB back at their names.
check_restored() {
	local stub=$1 name
	assert_equal "$(diversions)" ""
	for name in py3compile py3clean; do
		cmp "$R/usr/bin/$name" "$stub/usr/bin/$name"
		[ ! -e "$R/usr/bin/$name.distrib" ]
	done
}

@test "install diverts py3compile and py3clean to .distrib and puts the wrapper in their place, in the root only" {
	host_before=$(dpkg-divert --list '/usr/bin/py3c*'; sha256sum /usr/bin/py3c*)
	run dpkg_root -i "$DEBS/py3.deb"
	assert_success
	check_diverted "$MINIMAL1"
	assert_equal "$(readlink "$R/usr/bin/py3compile")" ../libexec/pyprime/py3-divert
	assert_equal "$(readlink "$R/usr/bin/py3clean")" ../libexec/pyprime/py3-divert
	assert_equal "$(dpkg-divert --list '/usr/bin/py3c*'; sha256sum /usr/bin/py3c*)" "$host_before"
}

@test "reinstall and upgrade keep exactly one diversion of each" {
	dpkg_root -i "$DEBS/py3.deb" >/dev/null
	run dpkg_root -i "$DEBS/py3.deb"
	assert_success
	check_diverted "$MINIMAL1"
	run dpkg_root -i "$DEBS/py3-v2.deb"
	assert_success
	run -0 dpkg-query --root="$R" -W -f '${Version}' pyprime-py3compile
	assert_output "$VERSION.1"
	check_diverted "$MINIMAL1"
	# Three lines a diversion.
	assert_equal "$(wc -l <"$R/var/lib/dpkg/diversions")" 6
}

@test "remove takes the diversions away and the originals back, byte for byte; purge leaves them so" {
	before=$(listing)
	dpkg_root -i "$DEBS/py3.deb" >/dev/null
	run dpkg_root -r pyprime-py3compile
	assert_success
	check_restored "$MINIMAL1"
	assert_equal "$(listing)" "$before"
	dpkg_root -i "$DEBS/py3-v2.deb" >/dev/null
	run dpkg_root -P pyprime-py3compile
	assert_success
	check_restored "$MINIMAL1"
	assert_equal "$(listing)" "$before"
	run -0 dpkg-query --root="$R" -W -f '${db:Status-Status}' python3-minimal
	assert_output installed
}

@test "python3-minimal upgraded while diverted puts its files at .distrib, and remove brings those back" {
	dpkg_root -i "$DEBS/py3.deb" >/dev/null
	run dpkg_root -i "$DEBS/python3-minimal_3.11.2-7.deb"
	assert_success
	check_diverted "$MINIMAL2"
	dpkg_root -r pyprime-py3compile >/dev/null
	check_restored "$MINIMAL2"
}

@test "without python3-minimal the diversions wait for it, and its install goes to .distrib" {
	dpkg_root -r python3-minimal >/dev/null
	run dpkg_root -i "$DEBS/py3.deb"
	assert_success
	[ ! -e "$R/usr/bin/py3compile.distrib" ]
	assert_equal "$(diversions)" "$DIVERTED"
	dpkg_root -i "$DEBS/python3-minimal_3.11.2-7.deb" >/dev/null
	check_diverted "$MINIMAL2"
	dpkg_root -P pyprime-py3compile >/dev/null
	check_restored "$MINIMAL2"
}

@test "an install that fails to unpack puts the originals back; a failed upgrade keeps the old version's diversions" {
	dpkg_root -i "$DEBS/squatter_1.0.deb" >/dev/null
	before=$(listing)
	run dpkg_root -i "$DEBS/py3-bad.deb"
	assert_failure
	assert_output --partial "trying to overwrite '/usr/share/squatter/file'"
	check_restored "$MINIMAL1"
	assert_equal "$(listing)" "$before"
	dpkg_root -i "$DEBS/py3.deb" >/dev/null
	run dpkg_root -i "$DEBS/py3-bad.deb"
	assert_failure
	run -0 dpkg-query --root="$R" -W -f '${Version} ${db:Status-Status}' pyprime-py3compile
	assert_output "$VERSION installed"
	check_diverted "$MINIMAL1"
}

@test "the maintainer scripts are shellcheck-clean and refuse an action they do not know" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	dpkg-deb -e "$DEBS/py3.deb" ctl
	run ! grep -q '#DEBHELPER#' ctl/preinst ctl/postrm
	run shellcheck -s sh ctl/preinst ctl/postrm "$HOOKS/py3-divert"
	assert_success
	for script in preinst postrm; do
		run env DPKG_ROOT="$R" sh "ctl/$script" frobnicate 1.0
		assert_failure 1
		assert_output "$script called with unknown argument 'frobnicate'"
	done
	assert_equal "$(diversions)" ""
}

# The installed wrapper, made to look for pyprime and the originals in the
# root's /usr/bin rather than the host's: that line, and only it, changed.
root_wrapper() {
	local w="$R/usr/libexec/pyprime/py3-divert"
	dpkg_root -i "$DEBS/py3.deb" >/dev/null
	sed "s|^bindir=/usr/bin\$|bindir=$R/usr/bin|" "$HOOKS/py3-divert" >"$w"
	[ "$(diff "$HOOKS/py3-divert" "$w" | grep -c '^[<>] ')" -eq 2 ]
}

# A pyprime in the root that logs its arguments and runs the shell code CODE.
root_pyprime() {
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\n%s\n' "$LOG" "$1" >"$R/usr/bin/pyprime"
	chmod 755 "$R/usr/bin/pyprime"
}

@test "the wrapper runs pyprime py3compile or py3clean with the same arguments, and --root first when DPKG_ROOT is set" {
	root_wrapper
	root_pyprime 'exit 0'
	run "$R/usr/bin/py3compile" -p python3-foo -V 3.11 'a b' ''
	assert_success
	run "$R/usr/bin/py3clean" -p python3-foo
	assert_success
	run env DPKG_ROOT=/some/root "$R/usr/bin/py3compile" -p python3-foo
	assert_success
	run env DPKG_ROOT= "$R/usr/bin/py3clean" /usr/lib/foo
	assert_success
	assert_equal "$(cat "$LOG")" "py3compile -p python3-foo -V 3.11 a b 
py3clean -p python3-foo
py3compile --root /some/root -p python3-foo
py3clean /usr/lib/foo"
	assert_file_not_exists "$ORIG_LOG"
}

@test "a working pyprime costs no process but itself" {
	need_strace
	root_wrapper
	root_pyprime 'exit 0'
	run trace -f -qq -s 4096 -e trace=execve -e signal=none -o trace.out "$R/usr/bin/py3compile" -p foo
	assert_success
	run -0 grep -v ' = -1 ' trace.out
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --partial "execve(\"$R/usr/bin/py3compile\""
	assert_line --index 1 --partial "execve(\"$R/usr/bin/pyprime\", [\"$R/usr/bin/pyprime\", \"py3compile\", \"-p\", \"foo\"]"
}

@test "pyprime's statuses 0 to 4 are the wrapper's, its output its own, and the original does not run" {
	root_wrapper
	for status in 0 1 2 3 4; do
		root_pyprime "echo 'pyprime: said something' >&2; exit $status"
		run "-$status" --separate-stderr "$R/usr/bin/py3clean" -p foo
		assert_output ""
		assert_equal "$stderr" "pyprime: said something"
	done
	assert_file_not_exists "$ORIG_LOG"
	assert_equal "$(wc -l <"$LOG")" 5
}

# The wrapper fell back: the original ran once, with the arguments "-p",
# "foo", "a b" and without --root, and its status (6) is the wrapper's,
# after one warning that says why (WHY), and what pyprime itself said
# (SAID, if any).
check_fell_back() {
	local why=$1 said=${2:+$2$'\n'}
	: >"$ORIG_LOG"
	run -6 --separate-stderr env ORIG_STATUS=6 DPKG_ROOT="$R" "$R/usr/bin/py3compile" -p foo 'a b'
	assert_equal "$stderr" "${said}py3compile: warning: $why, running $R/usr/bin/py3compile.distrib"
	assert_equal "$(cat "$ORIG_LOG")" "py3compile <-p> <foo> <a b>"
}

@test "without an executable pyprime the original runs, with the same arguments and its status" {
	root_wrapper
	check_fell_back "$R/usr/bin/pyprime is not executable"
	root_pyprime 'exit 0'
	chmod 644 "$R/usr/bin/pyprime"
	check_fell_back "$R/usr/bin/pyprime is not executable"
	: >"$ORIG_LOG"
	run -0 "$R/usr/bin/py3clean" x
	assert_equal "$(cat "$ORIG_LOG")" "py3clean <x>"
	assert_file_not_exists "$LOG"
}

@test "a pyprime that cannot run, is killed or exits 5 or more makes the original run, with the same arguments and its status" {
	command -v cc >/dev/null || skip "no C compiler"
	root_wrapper
	# A library gone: the dynamic loader exits 127.
	echo 'int gone(void) { return 0; }' >gone.c
	cc -shared -fPIC -o libgone.so gone.c
	echo 'int gone(void); int main(void) { return gone(); }' >main.c
	cc -o "$R/usr/bin/pyprime" main.c -L. -lgone
	rm libgone.so
	check_fell_back "pyprime exited with status 127" \
		"$R/usr/bin/pyprime: error while loading shared libraries: libgone.so: cannot open shared object file: No such file or directory"
	for status in 5 126 127 255; do
		root_pyprime "exit $status"
		check_fell_back "pyprime exited with status $status"
	done
	root_pyprime 'kill -KILL $$'
	# The shell (dash) says how pyprime died.
	check_fell_back "pyprime exited with status 137" Killed
	root_pyprime 'kill -SEGV $$'
	check_fell_back "pyprime exited with status 139" "Segmentation fault"
	# pyprime ran each time, with --root.
	assert_equal "$(sort -u "$LOG")" "py3compile --root $R -p foo a b"
}

@test "called by any other name, the wrapper is a usage error and runs nothing" {
	root_wrapper
	root_pyprime 'exit 0'
	ln -s "$R/usr/bin/py3compile" py3compile3
	run -2 ./py3compile3 -p foo
	assert_output "py3-divert: called as 'py3compile3', not as py3compile or py3clean"
	assert_file_not_exists "$LOG"
	assert_file_not_exists "$ORIG_LOG"
}
