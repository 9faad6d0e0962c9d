#!/usr/bin/env bats
# Debian integration end to end: a sample package built with
# "dh --with pyprime" from the in-tree add-on, installed, upgraded, removed
# and purged with real dpkg and its real maintainer scripts in a scratch
# root (DPKG_ROOT), compiling immediately and deferred to the trigger.

setup_file() {
	load test_helper
	export HOOKS="$BATS_TEST_DIRNAME/../hooks" DEBS="$BATS_FILE_TMPDIR/debs"
	export LOG="$BATS_FILE_TMPDIR/calls.log"
	mkdir -p "$DEBS"

	# "pyprime" as dpkg runs it: this pyprime, each call logged; the
	# pyprime and python3 packages it is installed against.
	logged_pyprime "$BATS_FILE_TMPDIR/bin" "$LOG"
	stub_debs "$DEBS"

	build v1 ""
	build v2 ""
	build deferred --deferred
	build broken ""
	build depends ""
}

# Build the sample package variant NAME with dh_pyprime options ARGS into
# $DEBS/NAME.deb.
build() {
	local name=$1 args=$2 src="$BATS_FILE_TMPDIR/src-$1"
	cp -a "$BATS_TEST_DIRNAME/fixtures/pkg" "$src"
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app/inventory" "$src/"
	echo 'EXTRA = 1' >"$src/inventory/extra.py"
	# Stray bytecode in the source tree must not reach the package.
	"$PYTHON" -m compileall -q "$src/inventory" >/dev/null
	case $name in
	v2)
		rm "$src/inventory/extra.py"
		echo 'NEW = 2' >"$src/inventory/newmod.py"
		sed -i '1s/(1\.0)/(2.0)/' "$src/debian/changelog" ;;
	broken)
		printf 'def broken(:\n    pass\n' >"$src/inventory/broken.py" ;;
	depends)
		sed -i 's/^Build-Depends: .*/&, dh-sequence-pyprime/' "$src/debian/control"
		sed -i 's/ --with pyprime//' "$src/debian/rules" ;;
	esac
	(cd "$src" && env -u MAKEFLAGS PYPRIME_DH_ARGS="$args" PERL5LIB="$HOOKS" \
		PATH="$HOOKS:$PATH" DH_DATAFILES="$HOOKS" \
		dpkg-buildpackage -us -uc -b -d >"$BATS_FILE_TMPDIR/build-$name.log" 2>&1)
	mv "$BATS_FILE_TMPDIR"/python3-inventory_*_all.deb "$DEBS/$name.deb"
	rm -f "$BATS_FILE_TMPDIR"/pyprime-sample_*
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	PATH="$BATS_FILE_TMPDIR/bin:$PATH"
	: >"$LOG"
	new_stub_root "$DEBS"
	SITE=/usr/lib/python3/dist-packages
}

# Every .py the package installed has a pyc that is py_compile's, with the
# installed path recorded.
check_compiled() {
	local f n=0
	while read -r f; do
		ref_pyc "$R$f" ref.pyc 0 timestamp "$f" || fail "py_compile failed on $f"
		cmp "$(cache_of "$R$f")" ref.pyc || fail "wrong pyc for $f"
		n=$((n + 1))
	done < <(dpkg-query --root="$R" -L python3-inventory | grep '\.py$')
	[ "$n" -ge 10 ]
}

@test "after install every module has py_compile's pyc and python3 imports them, writing none" {
	run dpkg_root -i "$DEBS/v1.deb"
	assert_success
	check_compiled
	before=$(find "$R" -name '*.pyc' -printf '%p %i %T@\n' | sort)
	run --separate-stderr env PYTHONPATH="$R$SITE" "$PYTHON" -v -c \
		'import inventory.cli, inventory.report, inventory.extra'
	assert_success
	n=$(grep -c "^# code object from '$R$SITE/inventory/.*__pycache__/.*\.$TAG\.pyc'$" <<<"$stderr")
	[ "$n" -eq 9 ]
	run ! grep -q '^# wrote' <<<"$stderr"
	[ "$(find "$R" -name '*.pyc' -printf '%p %i %T@\n' | sort)" = "$before" ]
	# Nothing outside the root.
	[ ! -e "$SITE/inventory" ]
	grep -q "^arg /usr/share/inventory-tools$" "$R/var/lib/pyprime/packages/python3-inventory"
}

@test "an upgrade removes the pycs of a dropped module and compiles the new one" {
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
	[ -f "$(cache_of "$R$SITE/inventory/extra.py")" ]
	run dpkg_root -i "$DEBS/v2.deb"
	assert_success
	[ ! -e "$R$SITE/inventory/extra.py" ]
	[ -z "$(find "$R" -name 'extra.*')" ]
	[ -f "$(cache_of "$R$SITE/inventory/newmod.py")" ]
	check_compiled
}

@test "remove, then purge, leave nothing that pyprime created" {
	before=$(root_listing)
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
	[ -n "$(find "$R" -name '*.pyc')" ]
	run dpkg_root -r python3-inventory
	assert_success
	[ -z "$(find "$R" -name '*.pyc' -o -name __pycache__)" ]
	[ -f "$R/var/lib/pyprime/packages/python3-inventory" ]
	run dpkg_root -P python3-inventory
	assert_success
	assert_equal "$(root_listing)" "$before"
}

@test "deferred: postinst only registers, the trigger compiles in one pyprime run" {
	run dpkg_root -i "$DEBS/deferred.deb"
	assert_success
	assert_output --partial "Processing triggers for pyprime"
	check_compiled
	[ -z "$(ls -A "$R/var/lib/pyprime/pending")" ]
	run -0 grep -c '^pyprime register .*--deferred' "$LOG"
	assert_output 1
	run -0 grep -c '^pyprime rebuild .*--pending' "$LOG"
	assert_output 1
	# And back out again.
	before=$(find "$R" -name '*.pyc')
	dpkg_root -P python3-inventory >/dev/null
	[ -z "$(find "$R" -name '*.pyc' -o -name __pycache__)" ]
	[ -n "$before" ]
}

@test "a module with a syntax error is a warning naming it, not a failed configure" {
	run --separate-stderr dpkg_root -i "$DEBS/broken.deb"
	assert_success
	grep -q "^$R$SITE/inventory/broken.py:1:[0-9]*: SyntaxError: " <<<"$stderr"
	grep -q "^pyprime: warning: 1 file of package 'python3-inventory' could not be compiled$" <<<"$stderr"
	run -0 dpkg-query --root="$R" -W -f '${db:Status-Status}' python3-inventory
	assert_output installed
	[ -f "$(cache_of "$R$SITE/inventory/cli.py")" ]
}

@test "a module dpkg's path-exclude removed does not fail the install" {
	run --separate-stderr dpkg_root --path-exclude="$SITE/inventory/store.py" -i "$DEBS/v1.deb"
	assert_success
	[ ! -e "$R$SITE/inventory/store.py" ]
	[ -f "$(cache_of "$R$SITE/inventory/model.py")" ]
	run -0 dpkg-query --root="$R" -W -f '${db:Status-Status}' python3-inventory
	assert_output installed
}

@test "rebuild --all compiles registered packages again and drops other interpreters' pycs" {
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
	cp "$(cache_of "$R$SITE/inventory/cli.py")" "$R$SITE/inventory/__pycache__/cli.cpython-310.pyc"
	cp "$(cache_of "$R$SITE/inventory/cli.py")" "$R$SITE/inventory/__pycache__/cli.cpython-312.opt-1.pyc"
	rm "$(cache_of "$R$SITE/inventory/model.py")"
	keep=$(stat -c %i "$(cache_of "$R$SITE/inventory/store.py")")
	run pyprime rebuild --root "$R" --all
	assert_success
	[ -z "$(find "$R" -name '*.cpython-31[02]*')" ]
	[ -f "$(cache_of "$R$SITE/inventory/model.py")" ]
	assert_equal "$(stat -c %i "$(cache_of "$R$SITE/inventory/store.py")")" "$keep"
	check_compiled
	run pyprime rebuild --root "$R" no-such-package
	assert_failure 1
}

@test "Build-Depends on dh-sequence-pyprime enables the add-on without --with" {
	dpkg-deb -e "$DEBS/depends.deb" ctl
	grep -q '^# Automatically added by dh_pyprime' ctl/postinst
	grep -q 'pyprime register' ctl/postinst
	grep -q 'pyprime clean' ctl/prerm
}

@test "the built package ships no bytecode and depends on pyprime" {
	run -0 dpkg-deb -c "$DEBS/v1.deb"
	refute_output --partial ".pyc"
	refute_output --partial "__pycache__"
	run -0 dpkg-deb -f "$DEBS/v1.deb" Depends
	assert_output --partial "pyprime"
	dpkg-deb -e "$DEBS/deferred.deb" ctl
	grep -qx 'activate-noawait pyprime-rebuild' ctl/triggers
}

@test "lintian finds no error or warning in the built packages" {
	command -v lintian >/dev/null || skip "lintian is not installed"
	run -0 lintian --tag-display-limit 0 "$DEBS/v1.deb" "$DEBS/deferred.deb"
	refute_line --regexp '^[EW]: '
}

@test "the maintainer scripts are shellcheck-clean, handle every dpkg action and leave others alone" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	dpkg-deb -e "$DEBS/v1.deb" ctl
	run shellcheck -s sh ctl/postinst ctl/prerm ctl/postrm
	assert_success
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
	export DPKG_ROOT="$R"
	# An action a snippet doesn't know is left to the package's own
	# script: nothing done, nothing said, no failure.
	find "$R" \( -name '*.pyc' -o -path "$R/var/lib/pyprime/*" \) -type f \
		-exec sha256sum {} + >before
	grep -q '\.pyc$' before
	grep -q '/var/lib/pyprime/packages/' before
	for script in postinst prerm postrm; do
		run sh "ctl/$script" frobnicate 1.0
		assert_success
		assert_output ""
	done
	find "$R" \( -name '*.pyc' -o -path "$R/var/lib/pyprime/*" \) -type f \
		-exec sha256sum {} + >after
	assert_equal "$(sort after)" "$(sort before)"
	for action in configure abort-upgrade abort-remove abort-deconfigure; do
		run sh ctl/postinst "$action" 1.0
		assert_success
	done
	for action in remove upgrade deconfigure failed-upgrade; do
		run sh ctl/prerm "$action" 1.0
		assert_success
	done
	for action in remove purge upgrade failed-upgrade abort-install abort-upgrade disappear; do
		run sh ctl/postrm "$action" 1.0
		assert_success
	done
}

@test "without pyprime, prerm still removes the pycs it made" {
	dpkg_root -i "$DEBS/v1.deb" >/dev/null
	dpkg-deb -e "$DEBS/v1.deb" ctl
	run env PATH=/usr/sbin:/usr/bin:/sbin:/bin DPKG_ROOT="$R" sh ctl/prerm remove
	assert_success
	[ -z "$(find "$R" -name '*.pyc' -o -name __pycache__)" ]
}

@test "the hooks and the test helpers are shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	run shellcheck -s sh "$HOOKS"/autoscripts/*-pyprime "$BATS_TEST_DIRNAME/setup.sh"
	assert_success
	run shellcheck -s bash "$BATS_TEST_DIRNAME/test_helper.bash"
	assert_success
	run perl -c "$HOOKS/dh_pyprime"
	assert_success
	run podchecker "$HOOKS/dh_pyprime"
	assert_success
}
