#!/usr/bin/env bats
# pyprime clean removes the pycs of sources, all levels and cache tags,
# legacy ones too, then the __pycache__ directories it emptied; it never
# removes anything else and never follows a symlink.

setup() {
	load test_helper
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app" "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
}

# Every file and directory under the app, for before/after comparisons.
listing() {
	find . | sort
}

@test "every level, every cache tag and legacy pycs go, then the empty __pycache__" {
	before=$(listing)
	pyprime compile -q -O0 -O1 -O2 .
	for tag in cpython-310 cpython-312 pypy39; do
		touch "inventory/__pycache__/cli.$tag.pyc" "inventory/__pycache__/cli.$tag.opt-1.pyc"
	done
	touch inventory/cli.pyc inventory/model.pyo
	run pyprime clean -v .
	assert_success
	assert_line "./inventory/__pycache__"
	assert_line "./inventory/cli.pyc"
	assert_line "35 removed, 2 directories removed, 0 failed"
	assert_equal "$(listing)" "$before"
}

@test "--this-version keeps other interpreters' pycs" {
	pyprime compile -q -O0 -O2 .
	touch inventory/__pycache__/cli.cpython-310.pyc
	printf 'xxxx' >inventory/cli.pyc
	cp "$(cache_of inventory/model.py)" inventory/model.pyc
	run pyprime clean -v --this-version .
	assert_success
	assert_line "19 removed, 1 directories removed, 0 failed"
	[ -f inventory/__pycache__/cli.cpython-310.pyc ]
	[ -f inventory/cli.pyc ]
	[ ! -e inventory/model.pyc ]
}

@test "pycs without a source stay unless --orphans" {
	pyprime compile -q .
	cp "$(cache_of inventory/cli.py)" inventory/__pycache__/gone.$TAG.pyc
	cp "$(cache_of inventory/cli.py)" inventory/gone.pyc
	run -0 pyprime clean -v .
	assert_line "9 removed, 1 directories removed, 0 failed"
	[ -f inventory/__pycache__/gone.$TAG.pyc ]
	[ -f inventory/gone.pyc ]
	run -0 pyprime clean -v --orphans .
	assert_line "2 removed, 1 directories removed, 0 failed"
	[ ! -e inventory/__pycache__ ]
}

@test "nothing but regular files named as pycs is removed, no symlink is followed" {
	pyprime compile -q .
	mkdir -p ../outside/__pycache__
	echo keep >../outside/x.py
	touch ../outside/__pycache__/x.$TAG.pyc ../precious
	echo notes >inventory/__pycache__/README
	ln -s ../../../precious inventory/__pycache__/store.$TAG.opt-1.pyc
	mkdir inventory/__pycache__/report.$TAG.opt-2.pyc
	ln -s ../../outside inventory/linked
	ln -s ../outside/__pycache__ inventory/util/__pycache__.real
	run pyprime clean -v .
	assert_success
	assert_line "9 removed, 1 directories removed, 0 failed"
	[ -f inventory/__pycache__/README ]
	[ -L inventory/__pycache__/store.$TAG.opt-1.pyc ]
	[ -d inventory/__pycache__/report.$TAG.opt-2.pyc ]
	[ -f ../precious ]
	[ -f ../outside/__pycache__/x.$TAG.pyc ]
}

@test "a __pycache__ that is a symlink is not followed" {
	mkdir -p ../outside
	touch ../outside/cli.$TAG.pyc
	ln -s ../../outside inventory/__pycache__
	run --separate-stderr pyprime clean .
	assert_success
	assert_equal "$stderr" "pyprime: warning: not following symlink './inventory/__pycache__'"
	[ -f ../outside/cli.$TAG.pyc ]
	[ -L inventory/__pycache__ ]
}

@test "a __pycache__ it did not empty is left, even an empty one" {
	mkdir -p inventory/__pycache__ inventory/util/__pycache__
	pyprime compile -q inventory/cli.py
	touch inventory/util/__pycache__/other.txt
	run -0 pyprime clean -v .
	assert_line "1 removed, 1 directories removed, 0 failed"
	mkdir inventory/__pycache__
	run -0 pyprime clean -v .
	assert_line "0 removed, 0 directories removed, 0 failed"
	[ -d inventory/__pycache__ ]
	[ -d inventory/util/__pycache__ ]
}

@test "a file path cleans that source only" {
	pyprime compile -q -O0 -O2 .
	pyprime compile -q -b inventory/model.py
	run pyprime clean -v inventory/model.py inventory/store.py
	assert_success
	assert_line "5 removed, 0 directories removed, 0 failed"
	[ -f "$(cache_of inventory/cli.py)" ]
	[ ! -e "$(cache_of inventory/store.py 2)" ]
	[ ! -e inventory/model.pyc ]
}

@test "-n lists what would go and removes nothing" {
	pyprime compile -q .
	before=$(find . | sort)
	run pyprime clean -n .
	assert_success
	assert_line "./inventory/__pycache__/cli.$TAG.pyc"
	assert_line "./inventory/__pycache__"
	assert_equal "${#lines[@]}" 11
	assert_equal "$(find . | sort)" "$before"
}

@test "stale temporary files of a killed compile are removed too" {
	pyprime compile -q .
	echo partial >inventory/__pycache__/.pyprime-999999999.tmp
	run -0 pyprime clean -v .
	assert_line "9 removed, 2 directories removed, 0 failed"
	[ ! -e inventory/__pycache__ ]
}

@test "one directory read per directory: 3000 sources in one directory" {
	need_strace
	mkdir big
	for i in $(seq 3000); do echo "x = $i" >big/m$i.py; done
	pyprime compile -q -O0 -O2 big
	run trace -c -f -o trace "$PYPRIME" clean big
	assert_success
	[ ! -e big/__pycache__ ]
	opens=$(awk '$NF == "openat" {print $4}' trace)
	unlinks=$(awk '$NF == "unlinkat" {print $4}' trace)
	assert_equal "$unlinks" 6001
	[ "$opens" -lt 30 ]
}

@test "a read-only tree reports what can't be removed" {
	can_mount || skip "needs root and mount namespaces"
	pyprime compile -q .
	run --separate-stderr -0 unshare -m sh -c 'mount --bind . . && mount -o remount,bind,ro . &&
		cd "$PWD" && "$PYPRIME" clean .; echo "status $?"'
	assert_output "status 1"
	grep -q "^pyprime: cannot remove './inventory/__pycache__/cli.$TAG.pyc': Read-only file system$" <<<"$stderr"
	[ -f "$(cache_of inventory/cli.py)" ]
}
