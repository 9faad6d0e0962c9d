#!/bin/sh
# The bats suite against a cross-built pyprime run under qemu-user:
#
#   sh tests/cross.sh deps ARCH          only install what is missing
#   sh tests/cross.sh ARCH [BATS ARGS]   build build/ARCH/pyprime, run tests
#
# When root, missing packages are installed (multiarch ARCH libraries, the
# cross compiler, qemu-user-static) and qemu's binfmt handler is enabled, so
# that the binary runs as it is; otherwise the commands are printed.
# Exits 3 when they could not be installed, so that CI can tell.
#
# armhf multiarch does not install from every mirror (an armhf security
# index out of step with the main one), so armhf gets a chroot instead: a
# debootstrap'd bookworm in ROOT (/var/tmp/pyprime-armhf-root), both the
# sysroot of the cross build and where the suite runs, against the chroot's
# own python3.  The chroot gets what tests/setup.sh installs on the host
# (its own "setup.sh deps" run in it), so that the whole suite runs there,
# packaging and fuzzing included.
set -eu

cd "$(dirname "$0")/.."

CHROOT_ARCHES=armhf
# What debootstrap includes; tests/setup.sh deps adds the rest in the chroot.
CHROOT_PACKAGES=python3,libpython3-dev,libpython3.11-testsuite,bats,bats-assert,bats-support,bats-file,strace,procps,util-linux,bsdutils

in_chroot() {
	case " $CHROOT_ARCHES " in *" $1 "*) return 0 ;; esac
	return 1
}

deps() {
	arch=$1
	triplet=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
	if in_chroot "$arch"; then
		need="crossbuild-essential-$arch qemu-user-static binfmt-support file
			debootstrap"
	else
		need="crossbuild-essential-$arch qemu-user-static binfmt-support file
			libpython3-dev:$arch pkgconf:$arch"
	fi
	missing=
	for pkg in $need; do
		status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null) || status=
		[ "$status" = installed ] || missing="$missing $pkg"
	done
	if [ -n "$missing" ]; then
		if [ "$(id -u)" != 0 ]; then
			echo "the $arch suite needs these Debian packages; as root, run:" >&2
			echo "  dpkg --add-architecture $arch && apt-get update &&" \
				"apt-get install -y --no-install-recommends$missing" >&2
			exit 3
		fi
		echo "installing:$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		in_chroot "$arch" || dpkg --add-architecture "$arch"
		apt-get update -q >/dev/null || true
		# shellcheck disable=SC2086
		if ! apt-get install -y -q --no-install-recommends $missing >/dev/null; then
			echo "cannot install the $arch packages:$missing" >&2
			exit 3
		fi
	fi
	binfmt "$arch"
	if in_chroot "$arch"; then
		root "$arch"
	elif ! command -v "$triplet-pkg-config" >/dev/null ||
		! "$triplet-pkg-config" --exists python3-embed; then
		echo "no python3-embed for $arch ($triplet-pkg-config)" >&2
		exit 3
	fi
}

# A bookworm chroot of ARCH in $ROOT with what the suite needs: debootstrap
# when there is none, then the chroot's own "setup.sh deps" (an existing
# chroot gets what is missing).
root() {
	if [ "$(id -u)" != 0 ]; then
		[ -x "$ROOT/usr/bin/python3" ] && [ -x "$ROOT/usr/bin/bats" ] && return 0
		echo "the $1 suite needs a chroot; as root, run:" >&2
		echo "  debootstrap --variant=minbase --arch=$1 --include=$CHROOT_PACKAGES bookworm $ROOT" >&2
		exit 3
	fi
	if [ ! -x "$ROOT/usr/bin/python3" ] || [ ! -x "$ROOT/usr/bin/bats" ]; then
		echo "debootstrap $1 into $ROOT" >&2
		if ! debootstrap --variant=minbase --arch="$1" \
			--include="$CHROOT_PACKAGES" bookworm "$ROOT" >"$ROOT.log" 2>&1; then
			tail -5 "$ROOT.log" >&2
			echo "cannot debootstrap $1 into $ROOT" >&2
			exit 3
		fi
	fi
	# shellcheck disable=SC2016
	if ! chroot_run sh -c 'cd "$1" && exec sh tests/setup.sh deps' sh "$PWD"; then
		echo "cannot install the test suite's packages in $ROOT" >&2
		exit 3
	fi
}

# Run COMMAND... in $ROOT with the tree at the same path, then unmount.
# A git directory outside the tree (a worktree's) is there read-only, so
# that git in the chroot sees the checkout as the host does.
chroot_run() {
	# The root a mount point of its own, for unshare -m (mount tests).
	mountpoint -q "$ROOT" || mount --bind "$ROOT" "$ROOT"
	for d in /proc /sys /dev /dev/pts "$PWD"; do
		mkdir -p "$ROOT$d"
		mountpoint -q "$ROOT$d" || mount --bind "$d" "$ROOT$d"
	done
	git=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || git=
	case $git in
	""|"$PWD"/*) git= ;;
	*)
		mkdir -p "$ROOT$git"
		if ! mountpoint -q "$ROOT$git"; then
			mount --bind "$git" "$ROOT$git"
			mount -o remount,bind,ro "$ROOT$git"
		fi ;;
	esac
	ret=0
	chroot "$ROOT" "$@" || ret=$?
	[ -z "$git" ] || umount "$ROOT$git"
	for d in "$PWD" /dev/pts /dev /sys /proc; do
		umount "$ROOT$d"
	done
	umount "$ROOT"
	return $ret
}

# qemu's handler for ARCH, so that the kernel runs its binaries through it.
binfmt() {
	case $1 in
	arm64) qemu="qemu-aarch64" ;;
	armhf|armel) qemu="qemu-arm" ;;
	*) qemu="qemu-$1" ;;
	esac
	f=/proc/sys/fs/binfmt_misc
	[ -e "$f/status" ] || mount -t binfmt_misc binfmt_misc "$f" 2>/dev/null || true
	if ! grep -qx enabled "$f/$qemu" 2>/dev/null; then
		update-binfmts --enable "$qemu" 2>/dev/null || true
	fi
	if ! grep -qx enabled "$f/$qemu" 2>/dev/null; then
		echo "cannot enable binfmt_misc for $qemu" >&2
		exit 3
	fi
}

case ${1:-} in
deps)
	[ $# -eq 2 ] || { echo "usage: sh tests/cross.sh deps ARCH" >&2; exit 2; }
	ROOT=${ROOT:-/var/tmp/pyprime-$2-root}
	deps "$2"
	exit 0 ;;
""|-*)
	echo "usage: sh tests/cross.sh [deps] ARCH [bats args]" >&2
	exit 2 ;;
esac

arch=$1
shift
ROOT=${ROOT:-/var/tmp/pyprime-$arch-root}
sh tests/setup.sh deps
deps "$arch"
if in_chroot "$arch"; then
	make -s ARCH="$arch" SYSROOT="$ROOT"
else
	make -s ARCH="$arch"
fi
# Without arguments: every test file that runs the binary.  package.bats
# (the Debian build, native), fuzz.bats (a native fuzzer build) and
# lint.bats (the scripts) test nothing of it: they run once, natively.
# Nor preload.bats and report-preload.bats: qemu-user runs a thread of its
# own in every process, and the preloader's server refuses to fork while
# another thread runs, as it must (a lock that thread holds would be
# copied held).
if [ $# -eq 0 ]; then
	for f in tests/*.bats; do
		case ${f##*/} in
		package.bats|fuzz.bats|lint.bats|preload.bats|report-preload.bats) ;;
		*) set -- "$@" "$f" ;;
		esac
	done
fi
bin=$PWD/build/$arch/pyprime
want=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_CPU 2>/dev/null)
case $want in
arm) want=ARM, ;;
esac
if ! file -L "$bin" | grep -q "$want"; then
	echo "$bin is not an $arch binary: $(file -L "$bin")" >&2
	exit 1
fi
if in_chroot "$arch"; then
	echo "== chroot $ROOT: PYPRIME=$bin bats $*" >&2
	# shellcheck disable=SC2016
	chroot_run env PYPRIME="$bin" sh -c 'cd "$1" && shift && exec bats "$@"' \
		sh "$PWD" "$@"
	exit
fi
echo "== PYPRIME=$bin bats $*" >&2
PYPRIME=$bin exec bats "$@"
