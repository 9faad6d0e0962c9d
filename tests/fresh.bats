#!/usr/bin/env bats
# A pyc is kept when it is fresh: magic, flags, mtime and size in timestamp
# mode, the source hash in the hash-based modes.  An up-to-date tree costs
# a stat and a 16-byte read per file and never starts the interpreter.

setup() {
	load test_helper
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app" "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
}

# Inode and mtime of every pyc.
snapshot() {
	find . -name '*.pyc' -printf '%p %i %T@\n' | sort
}

@test "an up-to-date tree is left alone" {
	run pyprime compile -v -O0 -O1 -O2 .
	assert_success
	assert_output "9 compiled, 0 fresh, 0 failed"
	before=$(snapshot)
	run pyprime compile -v -O0 -O1 -O2 .
	assert_success
	assert_output "0 compiled, 9 fresh, 0 failed"
	[ "$(snapshot)" = "$before" ]
}

@test "an up-to-date tree costs a stat and a header read per pyc, no interpreter" {
	need_strace
	pyprime compile -q -O0 -O2 .
	run trace -f -e trace=%file,read -o trace "$PYPRIME" compile -O0 -O2 .
	assert_success
	run ! grep -q 'python3\.11/encodings' trace
	run ! grep -q 'libpython.*\.py' trace
	n=$(find . -name '*.pyc' | wc -l)
	assert_equal "$(grep -c '^[0-9]* *read(.*, 17) = 17$' trace)" "$n"
	run ! grep -qE '^[0-9]* *(openat|open)\(.*\.py", ' trace
}

@test "a touched source is recompiled, and only that one" {
	pyprime compile -q .
	touch -d '+1 hour' inventory/model.py
	run pyprime compile -vv .
	assert_success
	assert_output "./inventory/__pycache__/model.$TAG.pyc
1 compiled, 8 fresh, 0 failed"
}

@test "a source whose size changed is recompiled even with the same mtime" {
	pyprime compile -q .
	stamp=$(stat -c %y inventory/model.py)
	echo "# more" >>inventory/model.py
	touch -d "$stamp" inventory/model.py
	run -0 pyprime compile -v .
	assert_output "1 compiled, 8 fresh, 0 failed"
	ref_pyc inventory/model.py ../ref.pyc 0 timestamp ./inventory/model.py
	cmp "$(cache_of inventory/model.py)" ../ref.pyc
}

@test "in checked-hash mode a change of content alone is noticed" {
	run -0 pyprime compile -v --invalidation-mode checked-hash .
	assert_output "9 compiled, 0 fresh, 0 failed"
	stamp=$(stat -c %y inventory/store.py)
	sed -i 's/FIELDS = /FIELDZ = /; s/in FIELDS/in FIELDZ/' inventory/store.py
	touch -d "$stamp" inventory/store.py
	# Same mtime and size: timestamp mode (as importlib) sees nothing ...
	pyprime compile -q .
	run -0 pyprime compile -v .
	assert_output "0 compiled, 9 fresh, 0 failed"
	# ... the source hash does.
	run -0 pyprime compile -v --invalidation-mode checked-hash .
	assert_output "9 compiled, 0 fresh, 0 failed"
	run -0 pyprime compile -v --invalidation-mode checked-hash .
	assert_output "0 compiled, 9 fresh, 0 failed"
	run -0 pyprime compile -v --invalidation-mode unchecked-hash .
	assert_output "9 compiled, 0 fresh, 0 failed"
	run -0 pyprime compile -v --invalidation-mode unchecked-hash .
	assert_output "0 compiled, 9 fresh, 0 failed"
}

@test "a pyc with another magic, flags or a cut body is rewritten" {
	pyprime compile -q .
	f=$(cache_of inventory/cli.py)
	printf '\x6f\x0d\x0d\x0a' | dd of="$f" conv=notrunc status=none
	g=$(cache_of inventory/model.py)
	printf '\x01' | dd of="$g" bs=1 seek=4 conv=notrunc status=none
	h=$(cache_of inventory/store.py)
	truncate -s 16 "$h"
	run -0 pyprime compile -v .
	assert_output "3 compiled, 6 fresh, 0 failed"
	for s in cli model store; do
		ref_pyc inventory/$s.py ../ref.pyc 0 timestamp ./inventory/$s.py
		cmp "$(cache_of inventory/$s.py)" ../ref.pyc
	done
}

@test "-f rewrites fresh pycs" {
	pyprime compile -q .
	run -0 pyprime compile -v -f .
	assert_output "9 compiled, 0 fresh, 0 failed"
}

@test "SOURCE_DATE_EPOCH means checked-hash, as in py_compile" {
	SOURCE_DATE_EPOCH=1700000000 pyprime compile -q .
	f=$(cache_of inventory/cli.py)
	assert_equal "$(od -An -tx1 -j4 -N4 "$f" | tr -d ' ')" 03000000
	SOURCE_DATE_EPOCH=1700000000 ref_pyc inventory/cli.py ../ref.pyc 0 checked-hash ./inventory/cli.py
	cmp "$f" ../ref.pyc
	# An explicit mode wins.
	SOURCE_DATE_EPOCH=1700000000 pyprime compile -q -f --invalidation-mode timestamp .
	assert_equal "$(od -An -tx1 -j4 -N4 "$f" | tr -d ' ')" 00000000
}

@test "source mtimes past 2038, past 2^32 and before 1970 are stored as CPython stores them" {
	mkdir t
	i=0
	for stamp in @2147483648 @4294967301.25 @5000000000.999999999 \
		@-1.5 @1700000000.999999999 @0; do
		i=$((i + 1))
		echo "x = $i" >t/m$i.py
		touch -d "$stamp" t/m$i.py
	done
	pyprime compile -q t
	for f in t/m*.py; do
		if ref_pyc "$f" ../ref.pyc 0 timestamp "$f" 2>../err; then
			cmp "$(cache_of "$f")" ../ref.pyc
			continue
		fi
		# A CPython with a 32-bit time_t (Debian 12's armhf) cannot stat a
		# source past 2038, so never caches it: the field must be what a
		# 64-bit one stores, int(st_mtime) mod 2^32 (st_mtime a double),
		# the rest the same.
		grep -q 'Value too large' ../err
		cp "$f" ../same.py
		touch -d @0 ../same.py
		ref_pyc ../same.py ../ref.pyc 0 timestamp "$f"
		assert_equal "$(od -An -tu4 -j8 -N4 "$(cache_of "$f")" | tr -d ' ')" \
			"$("$PYTHON" -c 'import sys; s, n = map(int, sys.argv[1:])
print(int(s + n * 1e-9) & 0xffffffff)' $(stat -c '%Y %.9Y' "$f" | sed 's/ .*\./ /'))"
		cmp <(head -c 8 "$(cache_of "$f")") <(head -c 8 ../ref.pyc)
		cmp <(tail -c +13 "$(cache_of "$f")") <(tail -c +13 ../ref.pyc)
	done
	run -0 pyprime compile -v t
	assert_output "0 compiled, 6 fresh, 0 failed"
}

@test "sources over 2^31 and 2^32 bytes are fresh by their size mod 2^32, as CPython checks it" {
	mkdir big
	for size in 2147483653 4294967301; do
		printf 'x = 1\n' >big/m.py
		truncate -s "$size" big/m.py
		# The pyc CPython's importlib writes for it, and accepts.
		"$PYTHON" - big/m.py <<-'EOF'
			import importlib.util, os, sys
			from importlib import _bootstrap_external as b
			src = sys.argv[1]
			st = os.stat(src)
			data = b._code_to_timestamp_pyc(compile('x = 1', src, 'exec'),
			                                int(st.st_mtime), st.st_size)
			b._validate_timestamp_pyc(data, int(st.st_mtime), st.st_size, 'm', {})
			cfile = importlib.util.cache_from_source(src)
			os.makedirs(os.path.dirname(cfile), exist_ok=True)
			with open(cfile, 'wb') as f:
			    f.write(data)
		EOF
		run pyprime compile -v big
		assert_success
		assert_output "0 compiled, 1 fresh, 0 failed"
	done
}
