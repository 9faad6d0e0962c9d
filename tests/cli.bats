#!/usr/bin/env bats
# The command line: help and usage errors, the man page's SYNOPSIS, the
# file selection options, the summary, the progress line.

setup() {
	load test_helper
	MAN_PAGE="${MAN_PAGE:-$BATS_TEST_DIRNAME/../src/pyprime.1}"
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app" "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
}

# Squeeze runs of blanks so that layouts compare.
squeeze() {
	tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}

# The usage block of a --help in $output, without "usage: ".
usage_block() {
	sed -n '1,/^$/p' <<<"$output" | sed 's/^usage: //' | squeeze
}

# The commands of main.c's table, which "pyprime --help" lists, into the
# array COMMANDS.
read_commands() {
	run -0 "$PYPRIME" --help
	mapfile -t COMMANDS < <(sed -n '/^commands:$/,/^$/s/^  \([a-z0-9-]*\) .*/\1/p' <<<"$output")
	[ "${#COMMANDS[@]}" -ge 8 ]
}

@test "--help lists the command table, and every command answers --help" {
	read_commands
	assert_equal "${COMMANDS[0]}" compile
	assert_equal "${COMMANDS[-1]}" report
	for cmd in "${COMMANDS[@]}"; do
		run --separate-stderr pyprime "$cmd" --help
		assert_success
		assert_line --index 0 --regexp "^usage: pyprime $cmd( |\$)"
		assert_equal "$stderr" ""
	done
}

@test "the man page's SYNOPSIS says what --help says" {
	command -v man >/dev/null || skip "man is not installed"
	synopsis=$(MANWIDTH=1000 man -l "$MAN_PAGE" 2>/dev/null |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | sed 's/^ *//')
	read_commands
	# "pyprime [--help]...", "pyprime --version", then one per command.
	assert_equal "$(grep -c '^pyprime' <<<"$synopsis")" "$((${#COMMANDS[@]} + 2))"
	run -0 "$PYPRIME" --help
	assert_equal "$(grep '^pyprime \[' <<<"$synopsis" | squeeze)" "$(head -1 <<<"$output" | sed 's/^usage: //' | squeeze)"
	for cmd in "${COMMANDS[@]}"; do
		run -0 "$PYPRIME" "$cmd" --help
		assert_equal "$(grep "^pyprime $cmd\b" <<<"$synopsis" | squeeze)" "$(usage_block)"
	done
}

@test "the man page documents every option --help lists and every exit status" {
	command -v man >/dev/null || skip "man is not installed"
	page=$(MANWIDTH=1000 man -l "$MAN_PAGE" 2>/dev/null)
	read_commands
	for cmd in "${COMMANDS[@]}"; do
		grep -q "^ *pyprime $cmd\b" <<<"$page" || fail "$cmd is not in the man page"
		run -0 "$PYPRIME" "$cmd" --help
		assert_line --index 0 --partial "usage: pyprime $cmd "
		while read -r opt; do
			grep -q -- "$opt" <<<"$page" || fail "$opt of $cmd is not in the man page"
		done < <(grep -o -- '--[a-z-]*' <<<"$output" | sort -u)
	done
	grep -q '^EXIT STATUS' <<<"$page"
	for status in 0 1 2 127 130; do
		grep -q "^ *$status\b" <<<"$page" || fail "exit status $status is not documented"
	done
}

@test "--help goes to stdout and exits 0" {
	for args in --help -h "clean -h" "report --help"; do
		run --separate-stderr pyprime $args
		assert_success
		assert_line --index 0 --regexp '^usage: pyprime'
		assert_equal "$stderr" ""
	done
	run pyprime --version
	assert_success
	assert_output --regexp '^pyprime [0-9.]+ \(Python 3\.11\.[0-9]+, cpython-311\)$'
}

# Check a usage error: exit 2, nothing on stdout, MESSAGE on stderr's first
# line and the usage of CMD after it.
assert_usage_error() {
	local cmd=$1 message=$2
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${stderr%%$'\n'*}" "pyprime: $message"
	[[ "$stderr" == *$'\n'"usage: pyprime $cmd"* ]] || fail "no usage of $cmd: $stderr"
}

@test "every command of the table says the same of a bad option, and exits 2" {
	read_commands
	for cmd in "${COMMANDS[@]}"; do
		run --separate-stderr pyprime "$cmd" --bogus
		assert_usage_error "$cmd" "unknown option '--bogus'"
		run --separate-stderr pyprime "$cmd" --bogus=1 .
		assert_usage_error "$cmd" "unknown option '--bogus'"
		run --separate-stderr pyprime "$cmd" -Z .
		assert_usage_error "$cmd" "unknown option '-Z'"
		run --separate-stderr pyprime "$cmd" --help=yes
		assert_usage_error "$cmd" "option '--help' takes no value"
		# The first option --help lists with a value, given without one.
		run -0 "$PYPRIME" "$cmd" --help
		opt=$(sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\) [a-z].*/\2/p' <<<"$output" | head -1)
		[ -n "$opt" ] || fail "$cmd has no option that takes a value"
		run --separate-stderr pyprime "$cmd" "$opt"
		assert_usage_error "$cmd" "option '$opt' needs a value"
	done
	run --separate-stderr pyprime compile -O
	assert_usage_error compile "option '-O' needs a value"
	[ -z "$(find . -name __pycache__)" ]
}

@test "usage errors say why on one line, then the usage, and exit 2" {
	for args in "" "frobnicate" "--bogus" "compile" \
		"compile -O 3 ." "compile -b -O0 -O2 ." \
		"compile --invalidation-mode sometimes ." "compile -x ( ." \
		"compile -j many ." "clean" "register" \
		"register -O 5 pkg" "register pkg relative/dir" "rebuild" "rebuild --all pkg" \
		"traceback a b" "strip" \
		"strip x.py" "strip -o out --in-place x.py" \
		"strip --compare a.py" "strip -j x -o out ." "strip -x ( -o out ." \
		"time" "time -r 0 -m x" "time --purge some -m x" "report -m x" \
		"report -C . --variants fast -m x"; do
		run --separate-stderr pyprime $args
		assert_equal "$status" 2
		assert_equal "$output" ""
		if [ -n "$args" ]; then
			[[ "${stderr%%$'\n'*}" =~ ^pyprime:\ [a-z\'-] ]] || fail "'$args': $stderr"
		fi
		grep -q '^usage: pyprime' <<<"$stderr"
	done
	[ -z "$(find . -name __pycache__)" ]
}

@test "a missing path fails that path and the rest is compiled" {
	run --separate-stderr pyprime compile -v nowhere inventory/cli.py README.txt
	assert_failure 1
	assert_output "1 compiled, 0 fresh, 2 failed"
	assert_equal "$stderr" "pyprime: cannot access 'nowhere': No such file or directory
pyprime: cannot access 'README.txt': No such file or directory"
	echo text >notes.txt
	run --separate-stderr pyprime compile notes.txt
	assert_failure 1
	assert_equal "$stderr" "pyprime: 'notes.txt' is not a .py file or a directory"
}

@test "-vv lists each pyc written and the summary" {
	run pyprime compile -vv -O0 -O2 inventory/util
	assert_success
	assert_output "inventory/util/__pycache__/__init__.$TAG.pyc
inventory/util/__pycache__/__init__.$TAG.opt-2.pyc
inventory/util/__pycache__/numbers.$TAG.pyc
inventory/util/__pycache__/numbers.$TAG.opt-2.pyc
inventory/util/__pycache__/text.$TAG.pyc
inventory/util/__pycache__/text.$TAG.opt-2.pyc
3 compiled, 0 fresh, 0 failed"
}

@test "-x excludes paths matching a regex, on the path as given" {
	run pyprime compile -v -x '/util/' -x 'cli\.py$' .
	assert_success
	assert_output "5 compiled, 0 fresh, 0 failed"
	[ ! -e inventory/util/__pycache__ ]
	[ ! -e "$(cache_of inventory/cli.py)" ]
}

@test "-i reads paths one a line or NUL-separated, from a file or stdin" {
	printf 'inventory/cli.py\ninventory/util\n' >list
	run -0 pyprime compile -v -i list
	assert_output "4 compiled, 0 fresh, 0 failed"
	rm -r inventory/__pycache__ inventory/util/__pycache__
	printf 'inventory/model.py\0inventory/store.py\0' | pyprime compile -q -i - -0
	[ -f "$(cache_of inventory/model.py)" ]
	[ -f "$(cache_of inventory/store.py)" ]
	[ ! -e "$(cache_of inventory/cli.py)" ]
}

@test "a file given twice is compiled once" {
	run -0 pyprime compile -v inventory/cli.py inventory inventory/cli.py
	assert_output "9 compiled, 0 fresh, 0 failed"
}

@test "a progress line is shown on a terminal, and not with -q or into a pipe" {
	command -v script >/dev/null || skip "script is not installed"
	run script -qec "$PYPRIME compile -j1 ." /dev/null
	assert_success
	assert_output --partial "compiling: 9/9 (100%)"
	rm -r inventory/__pycache__ inventory/util/__pycache__
	run -0 script -qec "$PYPRIME compile -q ." /dev/null
	refute_output --partial "compiling:"
	run --separate-stderr -0 pyprime compile -f .
	assert_equal "$stderr" ""
}

@test "-j1 compiles in one process, -j2 forks two workers" {
	need_strace
	trace -ff -e trace=clone,clone3,fork,vfork -o "$BATS_TEST_TMPDIR/j1" \
		"$PYPRIME" compile -j1 .
	assert_equal "$(forks j1)" 0
	trace -ff -e trace=clone,clone3,fork,vfork -o "$BATS_TEST_TMPDIR/j2" \
		"$PYPRIME" compile -f -j2 .
	assert_equal "$(forks j2)" 2
}

# The processes forked in strace -ff's files NAME.*: under qemu-user the
# emulator starts a thread of its own in every process, which don't count.
# One file a process keeps each call on one line, never split in two.
forks() {
	cat "$BATS_TEST_TMPDIR/$1".* | grep -E '^(clone|clone3|fork|vfork)\(.* = [0-9]+$' |
		grep -vc CLONE_THREAD
}

# The libraries loaded by "pyprime ARGS", one a line, as the dynamic loader
# says (LD_DEBUG: stderr, which the sanitizers and qemu leave alone).
loaded_libs() {
	LD_DEBUG=files "$PYPRIME" "$@" 2>&1 >/dev/null |
		sed -n 's/.*file=\([^ ]*\) \[0\];  needed by.*/\1/p; s/.*file=\([^ ]*\) \[0\];  dynamically loaded by.*/\1/p' |
		sort -u
}

@test "libpython is loaded only by a run that needs it" {
	run -0 loaded_libs --version
	assert_line --partial libpython3.11
	run -0 loaded_libs clean .
	refute_line --partial libpython
	run -0 loaded_libs compile .
	assert_line --partial libpython3.11
	# Everything fresh: nothing to compile.
	run -0 loaded_libs compile .
	refute_line --partial libpython
	run -0 loaded_libs clean .
	refute_line --partial libpython
}

@test "an interpreter module that cannot be loaded is status 127, and nothing is written" {
	# A copy of pyprime with something else beside it as its module.
	mkdir bin
	cp "$PYPRIME" bin/pyprime
	head -c 1024 /dev/zero >bin/pyprime-python.so
	run -127 --separate-stderr bin/pyprime compile inventory
	assert_equal "$stderr" "pyprime: cannot load the embedded interpreter: $PWD/bin/pyprime-python.so: invalid ELF header"
	run -0 find . -name '*.pyc'
	assert_output ""
	# A command that needs no interpreter still works.
	run -0 bin/pyprime clean inventory
}
