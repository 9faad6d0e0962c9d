#!/usr/bin/env bats
# The Debian packages of pyprime itself: dpkg-buildpackage builds pyprime,
# dh-pyprime and pyprime-py3compile from a copy of the tree, each holds what
# it should, the binary is hardened, lintian is clean, and a second build,
# elsewhere and in another environment, gives the same bytes.

# A copy of the source tree in DIR/pyprime: what git tracks or would track
# (so also uncommitted work, never build products), or, outside a git
# checkout (autopkgtest's unpacked source, a tarball), everything but what
# .gitignore names: the suite itself builds src/pyprime and the fuzzer there.
copy_tree() {
	local top="$BATS_TEST_DIRNAME/.." dest="$1/pyprime" pat exclude=()
	mkdir -p "$dest"
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ ! -e "$f" ] || printf '%s\0' "$f"
			done | tar --null -T - -cf -) | tar -C "$dest" -xf -
	else
		[ ! -f "$top/.gitignore" ] || while read -r pat; do
			pat=${pat%/}
			case $pat in
			""|"#"*) ;;
			/*) exclude+=("--exclude=.$pat") ;;
			*) exclude+=("--exclude=$pat") ;;
			esac
		done <"$top/.gitignore"
		tar -C "$top" --exclude=.git "${exclude[@]}" -cf - . | tar -C "$dest" -xf -
	fi
}

# Build the binary packages from the copy in DIR; the .debs land in DIR.
# Not with the variables of a "make check WERROR=1 SANITIZE=1" around us.
build() {
	local dir=$1
	if ! (cd "$dir/pyprime" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -b) >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		return 1
	fi
}

# The paths of the regular files and symlinks in deb FILE, one a line.
files_of() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' | sort
}

setup_file() {
	export FIRST="$BATS_FILE_TMPDIR/first"
	copy_tree "$FIRST"
	build "$FIRST"
	local version arch
	version=$(dpkg-parsechangelog -l "$FIRST/pyprime/debian/changelog" -SVersion)
	arch=$(dpkg --print-architecture)
	export VERSION="$version"
	export PYPRIME_DEB="$FIRST/pyprime_${version}_$arch.deb"
	export DH_DEB="$FIRST/dh-pyprime_${version}_all.deb"
	export PY3_DEB="$FIRST/pyprime-py3compile_${version}_all.deb"
	export CHANGES="$FIRST/pyprime_${version}_$arch.changes"
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR" || return 1
}

@test "pyprime's package holds the binary, its man page and its maintainer scripts" {
	assert_file_exists "$PYPRIME_DEB"
	run files_of "$PYPRIME_DEB"
	assert_success
	assert_line /usr/bin/pyprime
	assert_line "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pyprime/pyprime-python.so"
	assert_line /usr/share/man/man1/pyprime.1.gz
	assert_line /usr/share/doc/pyprime/copyright
	refute_line --regexp '\.pyc$|/__pycache__/'
	dpkg-deb -x "$PYPRIME_DEB" root
	assert_file_executable root/usr/bin/pyprime
	# Not installed: the interpreter module goes beside it, where it
	# looks first.
	cp root/usr/lib/*/pyprime/pyprime-python.so root/usr/bin/
	run root/usr/bin/pyprime --version
	assert_success
	assert_output --regexp "^pyprime $VERSION "
	rm root/usr/bin/pyprime-python.so
	zcat root/usr/share/man/man1/pyprime.1.gz | cmp - "$FIRST/pyprime/src/pyprime.1"
	assert_equal "$(dpkg-deb -f "$PYPRIME_DEB" Architecture)" "$(dpkg --print-architecture)"
	assert_regex "$(dpkg-deb -f "$PYPRIME_DEB" Depends)" 'libpython3\.11'
	dpkg-deb -e "$PYPRIME_DEB" control
	for script in postinst postrm triggers; do
		assert_file_exists "control/$script"
	done
	# dh_installdeb filled in #DEBHELPER#.
	run ! grep -q '#DEBHELPER#' control/postinst control/postrm
}

@test "dh-pyprime's package holds the add-on as hooks/ has it, and its man page" {
	assert_file_exists "$DH_DEB"
	dpkg-deb -x "$DH_DEB" root
	local hooks="$FIRST/pyprime/hooks"
	cmp root/usr/bin/dh_pyprime "$hooks/dh_pyprime"
	assert_file_executable root/usr/bin/dh_pyprime
	cmp root/usr/share/perl5/Debian/Debhelper/Sequence/pyprime.pm \
		"$hooks/Debian/Debhelper/Sequence/pyprime.pm"
	# Every snippet of hooks/autoscripts, and nothing else.
	run -0 ls root/usr/share/debhelper/autoscripts
	assert_output "$(ls "$hooks/autoscripts")"
	assert_line postinst-pyprime-py3compile
	for snippet in "$hooks"/autoscripts/*; do
		cmp "root/usr/share/debhelper/autoscripts/${snippet##*/}" "$snippet"
	done
	assert_file_exists root/usr/share/doc/dh-pyprime/copyright
	run env MANWIDTH=200 man -l root/usr/share/man/man1/dh_pyprime.1.gz
	assert_success
	assert_line --regexp '^ +dh_pyprime - byte-compile a package.s Python modules with pyprime'
	assert_line --regexp '^ +dh_pyprime .*--deferred'
	assert_equal "$(dpkg-deb -f "$DH_DEB" Architecture)" all
	assert_equal "$(dpkg-deb -f "$DH_DEB" Multi-Arch)" foreign
	assert_regex "$(dpkg-deb -f "$DH_DEB" Depends)" '(^|, )debhelper \(>= 13\)(,|$)'
}

@test "dh-pyprime provides dh-sequence-pyprime, and that Build-Depends runs dh_pyprime before dh_installdeb" {
	assert_equal "$(dpkg-deb -f "$DH_DEB" Provides)" dh-sequence-pyprime
	dpkg-deb -x "$DH_DEB" addon
	mkdir -p demo/debian
	cat >demo/debian/control <<-CONTROL
	Source: demo
	Maintainer: pyprime tests <tests@localhost>
	Build-Depends: debhelper-compat (= 13), dh-sequence-pyprime

	Package: demo
	Architecture: all
	Description: a package for pyprime's tests
	 A package for pyprime's tests.
	CONTROL
	cat >demo/debian/changelog <<-CHANGELOG
	demo (1.0) unstable; urgency=medium

	  * Tests.

	 -- pyprime tests <tests@localhost>  Sun, 22 Nov 2026 00:00:00 +0000
	CHANGELOG
	cd demo
	run env PERL5LIB="$BATS_TEST_TMPDIR/addon/usr/share/perl5" \
		PATH="$BATS_TEST_TMPDIR/addon/usr/bin:$PATH" dh binary --no-act
	assert_success
	commands=$(sed 's/^ *//; s/ .*//' <<<"$output")
	assert_equal "$(grep -A1 -x dh_pyprime <<<"$commands" | tail -n 1)" dh_installdeb
}

@test "pyprime-py3compile's package holds the wrapper under both names and the scripts that divert the originals" {
	assert_file_exists "$PY3_DEB"
	run files_of "$PY3_DEB"
	assert_success
	assert_output "/usr/bin/py3clean
/usr/bin/py3compile
/usr/libexec/pyprime/py3-divert
/usr/share/doc/pyprime-py3compile/changelog.gz
/usr/share/doc/pyprime-py3compile/copyright
/usr/share/lintian/overrides/pyprime-py3compile"
	dpkg-deb -x "$PY3_DEB" root
	cmp root/usr/libexec/pyprime/py3-divert "$FIRST/pyprime/hooks/py3-divert"
	assert_file_executable root/usr/libexec/pyprime/py3-divert
	assert_equal "$(readlink root/usr/bin/py3compile)" ../libexec/pyprime/py3-divert
	assert_equal "$(readlink root/usr/bin/py3clean)" ../libexec/pyprime/py3-divert
	assert_equal "$(dpkg-deb -f "$PY3_DEB" Architecture)" all
	assert_equal "$(dpkg-deb -f "$PY3_DEB" Multi-Arch)" foreign
	# Any binNMU of this version of pyprime, and only those.
	assert_equal "$(dpkg-deb -f "$PY3_DEB" Depends)" \
		"pyprime (>= $VERSION), pyprime (<< $VERSION.1~)"
	dpkg-deb -e "$PY3_DEB" control
	assert_equal "$(cd control && ls)" "control
md5sums
postrm
preinst"
	run ! grep -q '#DEBHELPER#' control/preinst control/postrm
	run -0 grep -c 'dpkg-divert --package pyprime-py3compile --rename' control/preinst control/postrm
	assert_output "control/preinst:2
control/postrm:2"
}

@test "the binary is built with dpkg-buildflags' hardening" {
	dpkg-deb -x "$PYPRIME_DEB" root
	# Debian 12's dpkg-buildflags has no control-flow protection to ask for.
	run hardening-check --nocfprotection root/usr/bin/pyprime
	assert_success
	assert_line --regexp 'Position Independent Executable: yes'
	assert_line --regexp 'Stack protected: yes'
	assert_line --regexp 'Fortify Source functions: yes'
	assert_line --regexp 'Read-only relocations: yes'
	assert_line --regexp 'Immediate binding: yes'
	# And the interpreter module it loads.
	run hardening-check --nocfprotection root/usr/lib/*/pyprime/pyprime-python.so
	assert_success
	assert_line --regexp 'Stack protected: yes'
	assert_line --regexp 'Read-only relocations: yes'
	assert_line --regexp 'Immediate binding: yes'
}

@test "lintian finds no error and no warning in the packages or the source" {
	run lintian --tag-display-limit 0 "$CHANGES"
	assert_success
	refute_line --regexp '^[EW]: '
	copy_tree source
	(cd source && dpkg-source -b pyprime) >/dev/null
	run lintian --tag-display-limit 0 "source/pyprime_$VERSION.dsc"
	assert_success
	refute_line --regexp '^[EW]: '
}

@test "a second build, elsewhere and in another environment, gives identical .debs" {
	local second="$BATS_TEST_TMPDIR/a/longer/path"
	copy_tree "$second"
	(
		umask 0002
		export TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 LANG=C.UTF-8
		export DEB_BUILD_OPTIONS=parallel=1
		build "$second"
	)
	first_debs=$(cd "$FIRST" && ls ./*.deb)
	assert_equal "$(cd "$second" && ls ./*.deb)" "$first_debs"
	for deb in $first_debs; do
		cmp "$FIRST/$deb" "$second/$deb"
	done
}
