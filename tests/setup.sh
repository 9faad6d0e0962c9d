#!/bin/sh
# Set up a Debian 12 machine for pyprime, build it, and run something:
#
#   sh tests/setup.sh demo        compile, strip and time the bundled sample app
#   sh tests/setup.sh check [MAKE ARGS...]   run the test suite
#   sh tests/setup.sh deps        only install what is missing
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the exact apt-get command is printed and nothing else is done.
set -eu

cd "$(dirname "$0")/.."

BUILD_DEPS="gcc make pkgconf libpython3-dev python3"
TEST_DEPS="bats bats-assert bats-support bats-file libpython3.11-testsuite
	strace man-db util-linux bsdutils procps shellcheck clang libclang-rt-14-dev
	build-essential debhelper dpkg-dev devscripts lintian git
	util-linux-extra vmtouch libxml2-utils librsvg2-bin file
	dh-python pybuild-plugin-pyproject python3-all python3-setuptools
	systemd"

# The packages of "$@" not installed for this architecture (a multiarch
# one of another architecture, such as libpython3-dev:arm64, doesn't count).
missing() {
	native=$(dpkg --print-architecture)
	for pkg in "$@"; do
		dpkg-query -W -f '${Architecture} ${db:Status-Status}\n' "$pkg" 2>/dev/null |
			grep -qE "^($native|all) installed$" || printf '%s ' "$pkg"
	done
}

deps() {
	# shellcheck disable=SC2086
	need=$(missing $BUILD_DEPS $TEST_DEPS)
	[ -n "$need" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "pyprime needs these Debian packages; as root, run:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends $need" >&2
		exit 1
	fi
	echo "installing: $need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >/dev/null
}

demo() {
	app=$(mktemp -d "${TMPDIR:-/tmp}/pyprime-demo.XXXXXX")
	trap 'rm -rf "$app"' EXIT
	cp -R tests/fixtures/sample-app/. "$app"
	cd "$app"
	run() {
		printf '\n$ %s\n' "$*"
		"$@"
	}
	pyprime=$OLDPWD/src/pyprime
	echo "The sample app, a copy in $app:"
	run sh -c "find inventory -name '*.py' | sort"
	echo
	echo "Compile it at the three optimisation levels, listing each pyc:"
	run "$pyprime" compile -vv -O0 -O1 -O2 inventory
	echo
	echo "Run again: everything is fresh, nothing is written:"
	run "$pyprime" compile -v -O0 -O1 -O2 inventory
	echo
	echo "python3 runs the app from those pycs:"
	run /usr/bin/python3 -m inventory data/items.csv
	echo
	echo "Remove them again:"
	run "$pyprime" clean -v inventory
	echo
	echo "Strip docstrings, comments and blank lines, each file proven:"
	run "$pyprime" strip --stats -o stripped/inventory inventory
	echo
	echo "The stripped app runs the same:"
	run sh -c "cd stripped && /usr/bin/python3 -B -m inventory ../data/items.csv"
	echo
	echo "Time its start as source, stripped, pycs, -OO pycs and sourceless,"
	echo "warm and cold (page cache purged), from disk and from a RAM disk:"
	mkdir timed && cp -R inventory timed/
	run "$pyprime" report -r 5 --top 5 -C timed --scratch "$app" \
		-m inventory -- "$app/data/items.csv"
}

action=${1:-}
[ $# -eq 0 ] || shift
case $action in
deps)
	deps ;;
demo)
	deps
	make -s
	demo ;;
check)
	deps
	make -s "$@"
	make check "$@" ;;
*)
	echo "usage: sh tests/setup.sh demo | check [make args] | deps" >&2
	exit 2 ;;
esac
