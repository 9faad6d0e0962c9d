# shellcheck shell=bash
# Shared by every tests/*.bats: which pyprime to test, the reference Python,
# and small helpers.  PYPRIME may point at an installed binary (autopkgtest).

PYPRIME="${PYPRIME:-$BATS_TEST_DIRNAME/../src/pyprime}"
PYTHON=/usr/bin/python3
PYREF="$BATS_TEST_DIRNAME/pyref.py"
TAG=cpython-311
export PYPRIME PYTHON PYREF TAG

bats_require_minimum_version 1.5.0

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

pyprime() {
	"$PYPRIME" "$@"
}

# A copy of the standard library's sources (no tests, no pycs) in DIR.
stdlib_copy() {
	local dir=$1
	mkdir -p "$dir"
	(cd /usr/lib/python3.11 &&
		find . \( -name test -o -name __pycache__ -o -name site-packages \
			-o -name dist-packages -o -name lib-dynload \
			-o -name 'config-3*' \) -prune -o -name '*.py' -print0 |
		tar --null -T - -cf -) | tar -C "$dir" -xf -
}

# Write py_compile's pyc for SRC to CFILE: LEVEL MODE [DFILE].
ref_pyc() {
	"$PYTHON" "$PYREF" one "$@"
}

# The pycache path of source SRC at LEVEL.
cache_of() {
	local src=$1 level=${2:-0} dir base opt=
	dir=$(dirname -- "$src")
	base=$(basename -- "$src" .py)
	[ "$level" = 0 ] || opt=".opt-$level"
	printf '%s/__pycache__/%s.%s%s.pyc\n' "$dir" "$base" "$TAG" "$opt"
}

# Whether we may mount filesystems here (tests of read-only and full disks).
can_mount() {
	[ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null
}

# The temporary files pyprime writes, left anywhere under DIR.
leftover_temps() {
	find "$1" -name '.pyprime-*.tmp'
}

# Skip unless strace can trace here: an ARM strace run by qemu-user in a
# foreign chroot cannot (qemu does not emulate ptrace).
need_strace() {
	command -v strace >/dev/null || skip "strace is not installed"
	strace -o /dev/null true 2>/dev/null ||
		skip "strace cannot trace here: no ptrace (an emulated strace under qemu-user)"
}

# strace, with the leak checker of a sanitized build off: it can't work
# under ptrace.
trace() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"
}

# A scratch dpkg database under $R (real dpkg, scripts run chrootless).
new_dpkg_root() {
	R=${1:-$BATS_TEST_TMPDIR/root}
	mkdir -p "$R"/var/lib/dpkg/{info,updates,triggers} "$R/var/log"
	touch "$R"/var/lib/dpkg/{status,available}
	export R
}

dpkg_root() {
	dpkg --root="$R" --log="$R/var/log/dpkg.log" --force-script-chrootless \
		--force-not-root "$@"
}

# Stand-ins to install packages against in a scratch dpkg root, into DIR:
# pyprime.deb, the pyprime package's own maintainer scripts, triggers and
# directories (its binary is whatever "pyprime" PATH finds), and
# python3.deb for the host's python3: its debian_defaults and a link to
# its interpreter, which py3compile reads, and Multi-Arch: allowed, so
# that it satisfies python3:any too.
stub_debs() {
	local dir=$1 debian="$BATS_TEST_DIRNAME/../debian" stub version python
	stub="$dir/stub-pyprime"
	mkdir -p "$stub/DEBIAN"
	sed '/^#DEBHELPER#$/d' "$debian/pyprime.postinst" >"$stub/DEBIAN/postinst"
	sed '/^#DEBHELPER#$/d' "$debian/pyprime.postrm" >"$stub/DEBIAN/postrm"
	chmod 755 "$stub/DEBIAN/postinst" "$stub/DEBIAN/postrm"
	cp "$debian/pyprime.triggers" "$stub/DEBIAN/triggers"
	while read -r version; do mkdir -p "$stub/$version"; done <"$debian/pyprime.dirs"
	version=$(dpkg-parsechangelog -l "$debian/changelog" -SVersion)
	printf 'Package: pyprime\nVersion: %s\nArchitecture: all\nMaintainer: t <t@pyprime.invalid>\nDescription: pyprime (its maintainer scripts)\n' \
		"$version" >"$stub/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$stub" "$dir/pyprime.deb" >/dev/null
	stub="$dir/stub-python3"
	python=$(readlink -f "$PYTHON")
	mkdir -p "$stub/DEBIAN" "$stub/usr/bin" "$stub/usr/share/python3"
	ln -s "$python" "$stub/usr/bin/${python##*/}"
	cp /usr/share/python3/debian_defaults "$stub/usr/share/python3/"
	printf 'Package: python3\nVersion: 3.11.2-1\nArchitecture: all\nMulti-Arch: allowed\nMaintainer: t <t@pyprime.invalid>\nDescription: stands for the host python3\n' \
		>"$stub/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$stub" "$dir/python3.deb" >/dev/null
	rm -rf "$dir/stub-pyprime" "$dir/stub-python3"
}

# A "pyprime" in directory BIN that logs each call to file LOG and runs
# $PYPRIME.
logged_pyprime() {
	local bin=$1 log=$2
	mkdir -p "$bin"
	cat >"$bin/pyprime" <<-EOF
	#!/bin/sh
	echo "pyprime \$*" >>"$log"
	exec "$PYPRIME" "\$@"
	EOF
	chmod +x "$bin/pyprime"
}

# A scratch dpkg root (new_dpkg_root) with the packages of stub_debs DIR
# installed.
new_stub_root() {
	new_dpkg_root "$BATS_TEST_TMPDIR/root"
	dpkg_root -i "$1/python3.deb" "$1/pyprime.deb" >/dev/null
}

# Every file and directory in the scratch root $R, but dpkg's own.
root_listing() {
	(cd "$R" && find . -path ./var/lib/dpkg -prune -o -path ./var/log -prune -o -print | sort)
}
