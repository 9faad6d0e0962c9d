#!/usr/bin/env bats
# Upgrades reuse the pyc bodies pyprime's record vouches for: a package
# installed, upgraded, reinstalled, removed and purged with real dpkg and
# the real maintainer-script snippets of hooks/autoscripts in a scratch
# root, every pyc held to /usr/bin/python3's py_compile for its installed
# path, and the record never trusted beyond what it proves.

setup_file() {
	load test_helper
	export HOOKS="$BATS_TEST_DIRNAME/../hooks" DEBS="$BATS_FILE_TMPDIR/debs"
	export LOG="$BATS_FILE_TMPDIR/calls.log" PKG=python3-upg
	export SITE=/usr/lib/python3/dist-packages
	MAGIC=$("$PYTHON" -c 'import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())')
	export MAGIC
	mkdir -p "$DEBS"
	logged_pyprime "$BATS_FILE_TMPDIR/bin" "$LOG"
	stub_debs "$DEBS"

	stage v1
	stage v2
	# v1's and v2's in parallel (each tree takes one DEBIAN at a time).
	build_debs v1 1.0 &
	build_debs v2 2.0
	wait $!
	build_legacy

	# Scratch roots to start from: the stand-ins installed, and v1 too.
	PATH="$BATS_FILE_TMPDIR/bin:$PATH"
	new_dpkg_root "$BATS_FILE_TMPDIR/root-base"
	dpkg_root -i "$DEBS/python3.deb" "$DEBS/pyprime.deb" >/dev/null
	cp -a "$R" "$BATS_FILE_TMPDIR/root-v1"
	R=$BATS_FILE_TMPDIR/root-v1
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
}

# A scratch root in $R: a copy of root-NAME (base or v1).
root_with() {
	R=$BATS_TEST_TMPDIR/root
	rm -rf "$R"
	cp -a "$BATS_FILE_TMPDIR/root-$1" "$R"
	export R
}

# Write module FILE: a docstring naming it NAME (gone at -O2), an assert
# (gone at -O1) and the number VALUE.
module() {
	mkdir -p "${1%/*}"
	printf '"""Module %s."""\n\n\ndef value():\n    """The value, %s."""\n    assert %s > 0\n    return %s\n' \
		"$2" "$3" "$3" "$3" >"$1"
}

# The installed tree of version V (v1 or v2) in $BATS_FILE_TMPDIR/tree-V.
# From v1 to v2 the package
#   keeps __init__.py, keep.py, sub/__init__.py (new mtimes: a new build),
#   keeps same.py with its very mtime,
#   changes changed.py (size too) and samesize.py (same size, same mtime:
#     its old pyc's header matches the new source),
#   moves moveme.py into sub/, adds new.py, drops extras/old.py (extras/
#     stays, for data.txt),
#   and ships usr/share/$PKG/tool.py, which its postinst does not compile.
stage() {
	local v=$1 t="$BATS_FILE_TMPDIR/tree-$1" u stamp
	u="$t$SITE/upg"
	module "$u/__init__.py" upg 1
	module "$u/same.py" same 2
	module "$u/keep.py" keep 3
	module "$u/sub/__init__.py" sub 4
	module "$t/usr/share/$PKG/tool.py" tool 5
	mkdir -p "$u/extras"
	echo data >"$u/extras/data.txt"
	if [ "$v" = v1 ]; then
		module "$u/changed.py" changed 1
		module "$u/samesize.py" samesize 1111
		module "$u/moveme.py" moveme 6
		module "$u/extras/old.py" old 7
		stamp=2024-01-01T00:00:00Z
	else
		module "$u/changed.py" changed 123456
		module "$u/samesize.py" samesize 2222
		module "$u/sub/moveme.py" moveme 6
		module "$u/new.py" new 8
		stamp=2025-01-01T00:00:00Z
	fi
	find "$t" -exec touch -h -d "$stamp" {} +
	touch -d 2024-01-01T00:00:00Z "$u/same.py" "$u/samesize.py"
}

# $DEBS/V.deb and its variants at every level and in each hash mode: $PKG
# at VERSION from tree-V.
build_debs() {
	local v=$1 version=$2
	build_deb "$v" "$version" "$SITE"
	build_deb "$v-opt" "$version" "-O0 -O1 -O2 $SITE"
	build_deb "$v-checked" "$version" "--invalidation-mode=checked-hash $SITE"
	build_deb "$v-unchecked" "$version" "--invalidation-mode=unchecked-hash $SITE"
}

# $DEBS/NAME.deb: $PKG at VERSION from tree-vN (N from NAME), or from the
# tree DIR, with the pyprime snippets as maintainer scripts, #ARGS# being
# ARGS.
build_deb() {
	local name=$1 version=$2 args=$3 dir=${4:-"$BATS_FILE_TMPDIR/tree-${1%%-*}"} script
	mkdir "$dir/DEBIAN"
	control "$version" >"$dir/DEBIAN/control"
	for script in postinst prerm postrm; do
		{
			printf '#!/bin/sh\nset -e\n'
			sed -e "s|#PACKAGE#|$PKG|g" -e "s|#ARGS#|$args|g" \
				"$HOOKS/autoscripts/$script-pyprime"
		} >"$dir/DEBIAN/$script"
		chmod 755 "$dir/DEBIAN/$script"
	done
	pack "$dir" "$name"
}

control() {
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nDepends: pyprime, python3\nMaintainer: t <t@pyprime.invalid>\nDescription: upgrade test package\n' \
		"$PKG" "$1"
}

pack() {
	env -u SOURCE_DATE_EPOCH dpkg-deb --root-owner-group -Znone \
		-b "$1" "$DEBS/$2.deb" >/dev/null
	rm -r "$1/DEBIAN"
}

# $DEBS/v1-legacy.deb: v1 of a package from before pyprime, whose postinst
# writes py_compile's pycs itself (no record) and whose prerm leaves them.
build_legacy() {
	local dir="$BATS_FILE_TMPDIR/tree-v1"
	mkdir "$dir/DEBIAN"
	control 0.9 >"$dir/DEBIAN/control"
	cat >"$dir/DEBIAN/postinst" <<-EOF
	#!/bin/sh
	set -e
	[ "\$1" = configure ] || exit 0
	cd "\${DPKG_ROOT:-}/"
	find .$SITE/upg -name '*.py' | while read -r f; do
		$PYTHON -c 'import py_compile, sys; py_compile.compile(sys.argv[1], dfile=sys.argv[2], doraise=True)' "\$f" "\${f#.}"
	done
	EOF
	chmod 755 "$dir/DEBIAN/postinst"
	pack "$dir" v1-legacy
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	PATH="$BATS_FILE_TMPDIR/bin:$PATH"
	: >"$LOG"
	RECORD="$BATS_TEST_TMPDIR/root/var/lib/pyprime/records/$PKG"
}

# Every source under $R$SITE has, at each of LEVELS, the pyc that
# py_compile writes in MODE for its installed path: pyref.py's one for
# each, then its compare, all in one process.
check_pycs() {
	local mode=$1
	shift
	run "$PYTHON" - "${PYREF%/*}" "$R$SITE" "$SITE" "$mode" "$@" <<-'EOF'
	import os, sys, tempfile
	sys.path.insert(0, sys.argv[1])
	import pyref
	root, site, mode = sys.argv[2:5]
	ok = True
	with tempfile.TemporaryDirectory() as tmp:
	    for level in sys.argv[5:]:
	        out, failed = f'{tmp}/{level}', b''
	        for rel in map(os.fsdecode, pyref.sources(root)):
	            os.makedirs(os.path.dirname(f'{out}/{rel}'), exist_ok=True)
	            if not pyref.one(f'{root}/{rel}', f'{out}/{rel}c', level, mode,
	                             f'{site}/{rel}'):
	                failed += os.fsencode(rel) + b'\n'
	        with open(f'{out}/.failed', 'wb') as f:
	            f.write(failed)
	        ok = pyref.compare(root, out, level) and ok
	sys.exit(0 if ok else 1)
	EOF
	assert_success
	assert_line --regexp '^[1-9][0-9]* identical, 0 wrong$'
}

# No pyc in $R but those of the sources under $R$SITE at LEVELS, no
# empty __pycache__.
check_pyc_set() {
	local want level opt
	want=$(cd "$R$SITE" && for level in "$@"; do
		opt=.opt-$level
		[ "$level" = 0 ] && opt=
		find . -name '*.py' |
			sed "s|/\([^/]*\)\.py\$|/__pycache__/\1.$TAG$opt.pyc|"
	done | sort)
	assert_equal "$(cd "$R$SITE" && find . -name '*.pyc' | sort)" "$want"
	assert_equal "$(find "$R" -name '*.pyc' -not -path "$R$SITE/*")" ""
	assert_equal "$(find "$R" -type d -name __pycache__ -empty)" ""
}

# Nothing is left over in $R: check_pyc_set LEVELS, and no temporary file.
check_clean() {
	check_pyc_set "$@"
	assert_equal "$(leftover_temps "$R")" ""
}

# "pyprime register -v" on the unpacked $PKG, as its postinst runs it (with
# its ARGS): the summary line matches the regex WANT.
summary() {
	local want=$1
	shift
	run --separate-stderr pyprime register -v --root "$R" "$PKG" "$@"
	assert_success
	assert_line --regexp "^$want\$"
}

# Every pyc file under $R with its inode and mtime: what a run rewrote.
pyc_stat() {
	find "$R" -name '*.pyc' -printf '%p %i %T@\n' | sort
}

# Replace the bytes FROM by TO (same length) in FILE, in place.
patch_bytes() {
	"$PYTHON" - "$@" <<-'EOF'
	import sys
	path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
	with open(path, 'rb') as f:
	    data = f.read()
	assert old in data and len(old) == len(new)
	with open(path, 'wb') as f:
	    f.write(data.replace(old, new, 1))
	EOF
}

# The root as it is now, kept in $BATS_TEST_TMPDIR/snap for restore().
snapshot() {
	rm -rf snap
	cp -a "$R" snap
}

restore() {
	rm -rf "$R"
	cp -a snap "$R"
}

@test "an upgrade compiles what changed or moved, reuses the rest and removes the dropped module's pycs" {
	root_with v1
	check_pycs timestamp 0
	[ -f "$RECORD" ]
	assert_equal "$(sed -n 2p "$RECORD")" "magic $MAGIC"
	before=$(find "$R" -name '*.pyc' -exec sha256sum {} + | sort)
	run dpkg_root --unpack "$DEBS/v2.deb"
	assert_success
	# prerm upgrade kept them all, as they were.
	assert_equal "$(find "$R" -name '*.pyc' -exec sha256sum {} + | sort)" "$before"
	[ -f "$R$SITE/upg/extras/__pycache__/old.$TAG.pyc" ]
	# changed, samesize, sub/moveme and new compiled; __init__, keep and
	# sub/__init__ reused (new mtimes); same.py's pyc left as it is.
	summary '4 compiled, 3 reused, 1 fresh, 0 failed, 2 removed' "$SITE"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	check_clean 0
	[ -f "$R$SITE/upg/extras/data.txt" ]
	[ ! -e "$R$SITE/upg/extras/__pycache__" ]
	[ -z "$(find "$R" -name 'moveme.*.pyc' -not -path '*/sub/*')" ]
	run -0 pyprime register -v --root "$R" "$PKG" "$SITE"
	assert_line '0 compiled, 0 reused, 8 fresh, 0 failed, 0 removed'
	run -0 grep -c "^pyprime register -q --root=$R $PKG $SITE\$" "$LOG"
	assert_output 1
	# The record was written again, with what changed.
	run -0 grep -c ' /usr/lib/python3/dist-packages/upg/new\.py$' "$RECORD"
	assert_output 1
}

@test "a reinstall of the same version compiles nothing and writes no pyc, nor its record" {
	root_with v1
	before=$(pyc_stat)
	record=$(stat -c '%i %y' "$RECORD")
	run dpkg_root --unpack "$DEBS/v1.deb"
	assert_success
	summary '0 compiled, 0 reused, 8 fresh, 0 failed, 0 removed' "$SITE"
	run dpkg_root --configure "$PKG"
	assert_success
	assert_equal "$(pyc_stat)" "$before"
	assert_equal "$(stat -c '%i %y' "$RECORD")" "$record"
	check_pycs timestamp 0
	check_clean 0
	run -0 --separate-stderr pyprime rebuild -v --root "$R" "$PKG"
	assert_line '0 compiled, 0 reused, 8 fresh, 0 failed, 0 removed'
	assert_equal "$(pyc_stat)" "$before"
}

@test "old pycs damaged between prerm and configure are compiled again, byte-identical" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	pyc=$R$SITE/upg/__pycache__
	# A silent change in a body python would load, and in same.py's,
	# whose header is right: only the record's hash tells.
	patch_bytes "$pyc/keep.$TAG.pyc" 'Module keep' 'Module keeq'
	patch_bytes "$pyc/same.$TAG.pyc" 'Module same' 'Module sama'
	# Truncated in the header; sub/__init__'s is left alone.
	truncate -s 10 "$pyc/__init__.$TAG.pyc"
	summary '7 compiled, 1 reused, 0 fresh, 0 failed, 2 removed' "$SITE"
	check_pycs timestamp 0
	# The same from dpkg's own configure, from the damaged state again.
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	patch_bytes "$pyc/same.$TAG.pyc" 'Module same' 'Module sama'
	truncate -s 40 "$pyc/keep.$TAG.pyc"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	check_clean 0
}

@test "a worker that cannot load the interpreter ends the configure with status 127, and the next one completes" {
	root_with v1
	# A reinstall: every pyc reusable as it is, but keep.py's, damaged,
	# which only a worker finds, and must compile.
	dpkg_root --unpack "$DEBS/v1.deb" >/dev/null
	patch_bytes "$R$SITE/upg/__pycache__/keep.$TAG.pyc" 'Module keep' 'Module keeq'
	damaged=$(sha256sum <"$R$SITE/upg/__pycache__/keep.$TAG.pyc")
	mkdir bin
	cp "$PYPRIME" bin/pyprime
	head -c 1024 /dev/zero >bin/pyprime-python.so
	run -127 --separate-stderr bin/pyprime register -v --root "$R" "$PKG" "$SITE"
	assert_equal "$stderr" "pyprime: cannot load the embedded interpreter: $PWD/bin/pyprime-python.so: invalid ELF header"
	assert_equal "$(sha256sum <"$R$SITE/upg/__pycache__/keep.$TAG.pyc")" "$damaged"
	assert_equal "$(leftover_temps "$R")" ""
	summary '1 compiled, 0 reused, 7 fresh, 0 failed, 0 removed' "$SITE"
	check_pycs timestamp 0
	check_clean 0
}

@test "after a version compiled without a record every file is compiled, even a pyc whose header matches" {
	root_with base
	dpkg_root -i "$DEBS/v1-legacy.deb" >/dev/null
	[ ! -e "$RECORD" ]
	old=$(cache_of "$R$SITE/upg/samesize.py")
	[ -f "$old" ]
	run dpkg_root --unpack "$DEBS/v2.deb"
	assert_success
	# The worst case holds: samesize's old pyc has the header of the new
	# source (mtime and size), and the old source's body.
	ref_pyc "$R$SITE/upg/samesize.py" ref.pyc 0 timestamp "$SITE/upg/samesize.py"
	cmp -n 16 "$old" ref.pyc
	run ! cmp -s "$old" ref.pyc
	snapshot
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, 0 removed' "$SITE"
	restore
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	[ -f "$RECORD" ]
}

@test "after an interpreter change every file is compiled" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	# The interpreter change, simulated: the record and the pycs as a
	# Python 3.12 (magic cb0d0d0a) would have left them.  First the
	# record alone: it vouches for nothing, though the pycs are this
	# interpreter's.
	sed -i "s/^magic $MAGIC\$/magic cb0d0d0a/" "$RECORD"
	grep -qx 'magic cb0d0d0a' "$RECORD"
	snapshot
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, [0-9]+ removed' "$SITE"
	restore
	find "$R" -name '*.pyc' -exec sh -c \
		'printf "\313\r\r\n" | dd of="$1" bs=4 count=1 conv=notrunc status=none' sh {} \;
	run -0 od -An -tx1 -N4 "$(cache_of "$R$SITE/upg/keep.py")"
	assert_output ' cb 0d 0d 0a'
	snapshot
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, [0-9]+ removed' "$SITE"
	restore
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	grep -qx "magic $MAGIC" "$RECORD"
}

@test "every optimisation level is reused and byte-identical" {
	root_with base
	dpkg_root -i "$DEBS/v1-opt.deb" >/dev/null
	check_pycs timestamp 0 1 2
	check_clean 0 1 2
	run dpkg_root --unpack "$DEBS/v2-opt.deb"
	assert_success
	[ -f "$(cache_of "$R$SITE/upg/keep.py" 2)" ]
	summary '4 compiled, 3 reused, 1 fresh, 0 failed, 6 removed' -O0 -O1 -O2 "$SITE"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0 1 2
	check_clean 0 1 2
	# The levels differ: this is not one pyc thrice.
	run ! cmp -s "$(cache_of "$R$SITE/upg/keep.py" 1)" "$(cache_of "$R$SITE/upg/keep.py" 2)"
}

@test "prerm on upgrade keeps timestamp and checked-hash pycs the record lists, and removes the rest" {
	for deb in v1 v1-checked; do
		if [ $deb = v1 ]; then
			root_with v1
		else
			root_with base
			dpkg_root -i "$DEBS/$deb.deb" >/dev/null
		fi
		keep=$(cache_of "$R$SITE/upg/keep.py")
		# Another interpreter's pyc, and one of a source the record
		# does not list (tool.py is the package's, not compiled by it).
		cp "$keep" "$R$SITE/upg/__pycache__/keep.cpython-310.pyc"
		tool=$(cache_of "$R/usr/share/$PKG/tool.py")
		mkdir -p "${tool%/*}"
		ref_pyc "$R/usr/share/$PKG/tool.py" "$tool" 0 timestamp "/usr/share/$PKG/tool.py"
		before=$(pyc_stat | grep -v -e cpython-310 -e /usr/share/)
		run dpkg_root --unpack "$DEBS/${deb/1/2}.deb"
		assert_success
		assert_equal "$(pyc_stat)" "$before"
		[ ! -e "${tool%/*}" ]
		if [ $deb = v1 ]; then
			mode=timestamp
			summary '4 compiled, 3 reused, 1 fresh, 0 failed, 2 removed' "$SITE"
		else
			# The headers hold the source's hash, not its mtime: those
			# of unchanged sources are right already.
			mode=checked-hash
			summary '4 compiled, 0 reused, 4 fresh, 0 failed, 2 removed' \
				--invalidation-mode=checked-hash "$SITE"
		fi
		run dpkg_root --configure "$PKG"
		assert_success
		check_pycs "$mode" 0
		check_clean 0
	done
}

@test "prerm on upgrade removes unchecked-hash pycs" {
	root_with base
	dpkg_root -i "$DEBS/v1-unchecked.deb" >/dev/null
	check_pycs unchecked-hash 0
	run dpkg_root --unpack "$DEBS/v2-unchecked.deb"
	assert_success
	assert_equal "$(find "$R" -name '*.pyc' -o -name __pycache__)" ""
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, 0 removed' \
		--invalidation-mode=unchecked-hash "$SITE"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs unchecked-hash 0
	check_clean 0
}

@test "prerm on remove removes every pyc, purge the record" {
	root_with v1
	[ -f "$RECORD" ]
	run dpkg_root -r "$PKG"
	assert_success
	assert_equal "$(find "$R" -name '*.pyc' -o -name __pycache__)" ""
	run dpkg_root -P "$PKG"
	assert_success
	[ ! -e "$RECORD" ]
	[ ! -e "$R/var/lib/pyprime/packages/$PKG" ]
	# And with the record still there but pycs gone, a new install
	# compiles everything.
	root_with v1
	dpkg_root -r "$PKG" >/dev/null
	dpkg_root --unpack "$DEBS/v1.deb" >/dev/null
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, 0 removed' "$SITE"
	check_pycs timestamp 0
	check_clean 0
}

# Each level 0 pyc under $R$SITE is the one the snapshot had (old) or
# py_compile's for its source (new): the output says how many are only old
# and how many only new.
old_or_new() {
	run "$PYTHON" - "${PYREF%/*}" "$R$SITE" "$BATS_TEST_TMPDIR/snap$SITE" "$SITE" <<-'EOF'
	import os, sys, tempfile
	sys.path.insert(0, sys.argv[1])
	import pyref
	root, snap, site = (os.fsencode(a) for a in sys.argv[2:5])
	def read(path):
	    try:
	        with open(path, 'rb') as f:
	            return f.read()
	    except FileNotFoundError:
	        return None
	counts = {'old': 0, 'new': 0}
	with tempfile.TemporaryDirectory() as tmp:
	    ref = os.path.join(tmp, 'ref.pyc')
	    for d, _, names in os.walk(root):
	        for name in names:
	            if not name.endswith(b'.pyc'):
	                continue
	            pyc = os.path.join(d, name)
	            rel = os.path.relpath(pyc, root)
	            got, old, new = read(pyc), read(os.path.join(snap, rel)), None
	            src = os.path.join(os.path.dirname(d), name.split(b'.')[0] + b'.py')
	            if os.path.isfile(src) and pyref.one(
	                    os.fsdecode(src), ref, 0, 'timestamp',
	                    os.fsdecode(os.path.join(site, os.path.relpath(src, root)))):
	                new = read(ref)
	            if got not in (old, new):
	                sys.exit(f'{os.fsdecode(pyc)}: neither the old pyc nor the new one')
	            if old != new:
	                counts['old' if got == old else 'new'] += 1
	print(counts['old'], 'old', counts['new'], 'new')
	EOF
	assert_success
	assert_output --regexp '^[0-9]+ old [0-9]+ new$'
}

@test "a register killed at any rename leaves each pyc old or new, and the next configure completes" {
	need_strace
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	snapshot
	kills=0 mixed=0
	: >left
	for n in $(seq 1 20); do
		restore
		# What postinst runs, killed at its Nth rename (each process's).
		trace -f -o trace.out -e trace=rename,renameat,renameat2 \
			-e inject=rename,renameat,renameat2:signal=SIGKILL:when="$n" \
			"$PYPRIME" register -q --root "$R" "$PKG" "$SITE" >/dev/null 2>&1 || true
		grep -q 'killed by SIGKILL' trace.out || break
		kills=$((kills + 1))
		old_or_new
		[[ $output =~ ^[1-9][0-9]*\ old\ [1-9] ]] && mixed=$((mixed + 1))
		run dpkg_root --configure "$PKG"
		assert_success
		check_pycs timestamp 0
		check_pyc_set 0
		leftover_temps "$R" | sed "s|^$R|n=$n: |" >>left
	done
	# It was killed, several times, and half-way through at least once.
	[ "$kills" -ge 3 ]
	[ "$mixed" -ge 1 ]
	assert_equal "$(cat left)" ""
}

# strace -f of "pyprime register" on the unpacked $PKG, in trace.out: the
# pid of the register and of its first child process (not a thread, as
# qemu-user makes), and the line numbers in trace.out of that child's
# creation and of the register's last stat of a source.
fork_trace() {
	need_strace
	trace -f -o trace.out -e trace=clone,clone3,fork,vfork,newfstatat,openat,rename,renameat,renameat2 \
		"$PYPRIME" register -q --root "$R" "$PKG" "$SITE"
	main=$(head -n 1 trace.out | cut -d' ' -f1)
	child=$(awk -v p="$main" '$1 == p && /clone/ && !/CLONE_THREAD/ { sub(/.*= /, ""); print; exit }' trace.out)
	forked=$(awk -v p="$main" '$1 == p && /clone/ && !/CLONE_THREAD/ { print NR; exit }' trace.out)
	listed=$(awk -v p="$main" '$1 == p && /newfstatat\(/ && /"[^"]*\.py"/ { n = NR } END { print n }' trace.out)
	[ -n "$child" ] && [ -n "$listed" ]
}

@test "with two CPUs, a worker starts the interpreter while the sources are listed, and compiles what changed" {
	[ "$(nproc)" -ge 2 ] || skip "one CPU: the workers are one process"
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	fork_trace
	[ "$forked" -lt "$listed" ]
	# It loads libpython and compiles: the heaviest source that changed
	# size first.
	run grep -c "^$child .*libpython3" trace.out
	[ "$output" -ge 1 ]
	run grep "^$child .*rename.*\.pyc\"" trace.out
	assert_line --index 0 --partial '"changed.'
	check_pycs timestamp 0
	check_clean 0
	# A reinstall, which compiles nothing, forks its workers once the
	# sources are listed, and none loads libpython.
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	fork_trace
	[ "$forked" -gt "$listed" ]
	run grep -c "libpython3" trace.out
	assert_output 0
	check_pycs timestamp 0
	check_clean 0
}

@test "a second worker does not start an interpreter of its own for a few small compiles" {
	[ "$(nproc)" -ge 2 ] || skip "one CPU: the workers are one process"
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	# samesize.py as v1 had it: then what compiles is only what the
	# record shows changed, three small sources in two jobs: the
	# spare compiles them all, then the other worker has reused the rest.
	cp "$BATS_FILE_TMPDIR/tree-v1$SITE/upg/samesize.py" "$R$SITE/upg/"
	fork_trace
	run sh -c "awk '/libpython3/ { print \$1 }' trace.out | sort -u"
	assert_output "$child"
	run grep -cE "^$child .*rename.*\"(changed|new|moveme)\." trace.out
	assert_output 3
	check_pycs timestamp 0
	check_clean 0
}

@test "a missing or corrupt record vouches for nothing: every file is compiled" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	cp "$RECORD" record
	snapshot
	for damage in missing garbage truncated short-hash bad-hex no-magic; do
		restore
		case $damage in
		missing)
			rm "$RECORD" ;;
		garbage)
			head -c 4096 /dev/urandom >"$RECORD" ;;
		truncated)
			# The last line cut in the middle of its source's hash.
			last=$(tail -n 1 record)
			{ head -n -1 record; printf '%s' "${last:0:40}"; } >"$RECORD" ;;
		short-hash)
			sed -i -E '3,$s/^([0-9]+ [tcu] )[0-9a-f]/\1/' "$RECORD" ;;
		bad-hex)
			sed -i -E '3,$s/^([0-9]+ [tcu] )[0-9a-f]/\1g/' "$RECORD" ;;
		no-magic)
			sed -i '/^magic /d' "$RECORD" ;;
		esac
		run ! cmp -s "$RECORD" record
		# Nothing to say which pycs are orphans but the record.
		summary '8 compiled, 0 reused, 0 fresh, 0 failed, [0-9]+ removed' "$SITE"
		check_pycs timestamp 0
	done
	restore
	rm "$RECORD"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	[ -f "$RECORD" ]
}

@test "a recorded hash that does not match compiles that file" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	grep -q " $SITE/upg/keep.py\$" "$RECORD"
	grep -q " $SITE/upg/same.py\$" "$RECORD"
	# Well-formed hashes, other values: keep.py's source hash, same.py's
	# level 0 body hash (its pyc's header is right).
	"$PYTHON" - "$RECORD" "$SITE" <<-'EOF'
	import sys
	path, site = sys.argv[1], sys.argv[2]
	lines = open(path).read().split('\n')
	for i, line in enumerate(lines):
	    f = line.split(' ', 6)
	    if len(f) == 7 and f[6] in (site + '/upg/keep.py', site + '/upg/same.py'):
	        n = 2 if f[6].endswith('keep.py') else 3
	        f[n] = ('0' if f[n][0] != '0' else '1') + f[n][1:]
	        lines[i] = ' '.join(f)
	open(path, 'w').write('\n'.join(lines))
	EOF
	summary '6 compiled, 2 reused, 0 fresh, 0 failed, 2 removed' "$SITE"
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	check_clean 0
}

@test "the records' key is the root's own secret: another key, or a damaged one, vouches for nothing" {
	local key damage
	root_with v1
	key=$R/var/lib/pyprime/key
	assert_equal "$(stat -c '%a %s' "$key")" "600 16"
	assert_equal "$(sed -n 3p "$RECORD" | grep -c '^key [0-9a-f]\{16\}$')" 1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	snapshot
	for damage in other short; do
		restore
		case $damage in
		other)
			head -c 16 /dev/urandom >"$key" ;;
		short)
			head -c 15 snap/var/lib/pyprime/key >"$key" ;;
		esac
		summary '8 compiled, 0 reused, 0 fresh, 0 failed, [0-9]+ removed' "$SITE"
		if [ "$damage" = short ]; then
			assert_equal "$stderr" "pyprime: warning: replacing '$key': not a key of 16 bytes"
		fi
		check_pycs timestamp 0
		check_clean 0
		# The key it made, and the record it wrote with it, are sound.
		assert_equal "$(stat -c '%a %s' "$key")" "600 16"
		run ! cmp -s "$key" snap/var/lib/pyprime/key
		summary '0 compiled, 0 reused, 8 fresh, 0 failed, 0 removed' "$SITE"
	done
}

@test "an older record of SHA-256 hashes vouches for nothing, and still names the pycs to remove" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	# As pyprime wrote it before its records were keyed.
	sed -i -e '/^key /d' -E -e '3,$s/ ([0-9a-f]{16})/ \1\1\1\1/g' "$RECORD"
	grep -qE '^[0-9]+ t [0-9a-f]{64} [0-9a-f]{64} - - /' "$RECORD"
	summary '8 compiled, 0 reused, 0 fresh, 0 failed, [1-9][0-9]* removed' "$SITE"
	check_pycs timestamp 0
	check_clean 0
}

@test "a directory the new version drops, kept by its pycs, is gone after the configure" {
	local t
	for t in d1 d2; do
		module "$t$SITE/upg/__init__.py" upg 1
		touch -d 2024-01-01T00:00:00Z "$t$SITE/upg/__init__.py"
	done
	module "d1$SITE/upg/gone/__init__.py" gone 2
	module "d1$SITE/upg/gone/deeper/mod.py" mod 3
	build_deb drop1 1.0 "$SITE" "$PWD/d1"
	build_deb drop2 2.0 "$SITE" "$PWD/d2"
	root_with base
	dpkg_root -i "$DEBS/drop1.deb" >/dev/null
	[ -f "$R$SITE/upg/gone/deeper/__pycache__/mod.$TAG.pyc" ]
	dpkg_root --unpack "$DEBS/drop2.deb" 2>/dev/null
	# dpkg could not remove them: the pycs kept for reuse were in them.
	[ -d "$R$SITE/upg/gone/deeper/__pycache__" ]
	run dpkg_root --configure "$PKG"
	assert_success
	assert_not_exist "$R$SITE/upg/gone"
	check_pycs timestamp 0
	check_clean 0
	# Not what a package still owns, even when empty.
	mkdir -p d3$SITE/upg/gone/deeper
	module "d3$SITE/upg/gone/deeper/mod.py" mod 3
	module "d3$SITE/upg/__init__.py" upg 1
	build_deb drop3 3.0 "$SITE" "$PWD/d3"
	mkdir -p d4$SITE/upg/gone/deeper
	module "d4$SITE/upg/__init__.py" upg 1
	build_deb drop4 4.0 "$SITE" "$PWD/d4"
	dpkg_root -i "$DEBS/drop3.deb" >/dev/null
	dpkg_root -i "$DEBS/drop4.deb" >/dev/null
	assert_dir_exist "$R$SITE/upg/gone/deeper"
	check_clean 0
}

@test "pyprime py3compile -p PKG:ARCH reuses and keeps the package's record too" {
	root_with v1
	dpkg_root --unpack "$DEBS/v2.deb" >/dev/null
	run pyprime py3compile -v --root "$R" -p "$PKG:all"
	assert_success
	# changed, samesize, sub/moveme and new; the rest kept (reused or fresh).
	assert_line '4 compiled, 4 fresh, 0 failed'
	grep -q " $SITE/upg/new.py\$" "$RECORD"
	run ! grep -q " $SITE/upg/moveme.py\$" "$RECORD"
	check_pycs timestamp 0
	check_clean 0
	run pyprime py3compile -v --root "$R" -p "$PKG:all"
	assert_line '0 compiled, 8 fresh, 0 failed'
}

# $DEBS/dhpy-V.deb: $PKG from tree-V with dh_python3's own snippets
# (py3compile -p in postinst, py3clean -p in prerm).
build_dhpy() {
	local v=$1 dir="$BATS_FILE_TMPDIR/tree-$1" script
	mkdir "$dir/DEBIAN"
	control "${v#v}.0" >"$dir/DEBIAN/control"
	for script in postinst-py3compile prerm-py3clean; do
		{
			printf '#!/bin/sh\nset -e\n'
			sed -e "s|#PACKAGE#|$PKG|g" -e "s|#ARGS#||g" \
				"/usr/share/debhelper/autoscripts/$script"
		} >"$dir/DEBIAN/${script%%-*}"
		chmod 755 "$dir/DEBIAN/${script%%-*}"
	done
	pack "$dir" "dhpy-$v"
}

@test "dh_python3's own scripts through pyprime-py3compile's wrapper keep the pycs on upgrade and reuse them" {
	local d=$BATS_TEST_TMPDIR/divert before
	# py3compile and py3clean as pyprime-py3compile puts them in place:
	# its wrapper, running the pyprime of $BATS_FILE_TMPDIR/bin.
	mkdir -p "$d"
	sed "s|^bindir=/usr/bin\$|bindir=$BATS_FILE_TMPDIR/bin|" "$HOOKS/py3-divert" >"$d/py3-divert"
	chmod 755 "$d/py3-divert"
	ln -s py3-divert "$d/py3compile"
	ln -s py3-divert "$d/py3clean"
	PATH="$d:$PATH"
	build_dhpy v1
	build_dhpy v2
	root_with base
	dpkg_root -i "$DEBS/dhpy-v1.deb" >/dev/null
	grep -q "^pyprime py3compile --root $R -p $PKG\$" "$LOG"
	check_pycs timestamp 0
	[ -f "$RECORD" ]
	before=$(find "$R" -name '*.pyc' -exec sha256sum {} + | sort)
	run dpkg_root --unpack "$DEBS/dhpy-v2.deb"
	assert_success
	# py3clean -p in the prerm of the upgrade kept them.
	grep -q "^pyprime py3clean --root $R -p $PKG\$" "$LOG"
	assert_equal "$(find "$R" -name '*.pyc' -exec sha256sum {} + | sort)" "$before"
	run pyprime py3compile -v --root "$R" -p "$PKG"
	assert_line '4 compiled, 4 fresh, 0 failed'
	run dpkg_root --configure "$PKG"
	assert_success
	check_pycs timestamp 0
	check_clean 0
	# Outside an upgrade py3clean removes them all, as Debian's, and the
	# record: no postrm of pyprime's would remove it on purge.
	run env DPKG_MAINTSCRIPT_NAME=prerm DPKG_MAINTSCRIPT_PACKAGE=$PKG \
		pyprime py3clean --root "$R" -p "$PKG"
	assert_success
	assert_equal "$(find "$R" -name '*.pyc')" ""
	assert_not_exist "$RECORD"
	run dpkg_root -i "$DEBS/dhpy-v2.deb"
	assert_success
	assert_exist "$RECORD"
	run dpkg_root -P "$PKG"
	assert_success
	assert_equal "$(find "$R" -name '*.pyc')" ""
	assert_equal "$(ls -A "$R/var/lib/pyprime/records")" ""
}
