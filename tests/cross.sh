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
set -eu

cd "$(dirname "$0")/.."

deps() {
	arch=$1
	triplet=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
	need="crossbuild-essential-$arch qemu-user-static binfmt-support file
		libpython3-dev:$arch pkgconf:$arch"
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
		dpkg --add-architecture "$arch"
		apt-get update -q >/dev/null || true
		# shellcheck disable=SC2086
		if ! apt-get install -y -q --no-install-recommends $missing >/dev/null; then
			echo "cannot install the $arch packages:$missing" >&2
			exit 3
		fi
	fi
	binfmt "$arch"
	if ! command -v "$triplet-pkg-config" >/dev/null ||
		! "$triplet-pkg-config" --exists python3-embed; then
		echo "no python3-embed for $arch ($triplet-pkg-config)" >&2
		exit 3
	fi
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
	deps "$2"
	exit 0 ;;
""|-*)
	echo "usage: sh tests/cross.sh [deps] ARCH [bats args]" >&2
	exit 2 ;;
esac

arch=$1
shift
sh tests/setup.sh deps
deps "$arch"
make -s ARCH="$arch"
bin=$PWD/build/$arch/pyprime
want=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_CPU 2>/dev/null)
case $want in
arm) want=ARM, ;;
esac
if ! file -L "$bin" | grep -q "$want"; then
	echo "$bin is not an $arch binary: $(file -L "$bin")" >&2
	exit 1
fi
echo "== PYPRIME=$bin bats ${*:-tests}" >&2
[ $# -gt 0 ] || set -- tests
PYPRIME=$bin exec bats "$@"
