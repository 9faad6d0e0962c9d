#!/usr/bin/env bats
# dh_pyprime with dh_python3: a real pybuild package (tests/fixtures/pybuild,
# public modules and a private application directory) built with
# "dh --buildsystem=pybuild" and dh-sequence-python3 plus dh-sequence-pyprime
# from the in-tree add-on, so that its maintainer scripts call
# "pyprime py3compile" where dh_python3 put py3compile, and never py3compile
# or py3clean; installed, upgraded, removed and purged with real dpkg in a
# scratch root (DPKG_ROOT), and compared with the same package built without
# pyprime.

setup_file() {
	local tool
	load test_helper
	export HOOKS="$BATS_TEST_DIRNAME/../hooks" DEBS="$BATS_FILE_TMPDIR/debs"
	export LOG="$BATS_FILE_TMPDIR/calls.log"
	mkdir -p "$DEBS"
	logged_pyprime "$BATS_FILE_TMPDIR/bin" "$LOG"
	# py3compile and py3clean as a stock script would find them: they
	# only log, and the tests look that nothing calls them.
	for tool in py3compile py3clean; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$LOG" >"$BATS_FILE_TMPDIR/bin/$tool"
		chmod +x "$BATS_FILE_TMPDIR/bin/$tool"
	done
	stub_debs "$DEBS"
	built_debs
}

# The packages of every variant in $DEBS, as VARIANT-PACKAGE.deb: built
# here, or copied from an earlier run's cache when hooks/, the fixture,
# build() and the build tools (and lintian, see lint()) are the same (the suite runs more than
# once in CI, and the pyprime binary plays no part in a build).
# DHPYTHON_CACHE is the cache's parent directory (/var/tmp); empty, none.
# CACHE is the cache used, if any.
built_debs() {
	local top="$BATS_TEST_DIRNAME/.." parent=${DHPYTHON_CACHE-/var/tmp} key cache variant
	key=$( (cd "$top" && find hooks tests/fixtures/pybuild -type f -print0 |
		sort -z | xargs -0 sha256sum
		declare -f build
		dpkg-query -W debhelper dh-python dpkg-dev pybuild-plugin-pyproject \
			python3-setuptools python3-all lintian 2>/dev/null || :
		dpkg --print-architecture) | sha256sum | cut -c1-16)
	cache="$parent/pyprime-dhpython-$key"
	export CACHE=
	if [ -n "$parent" ] && [ -f "$cache/done" ]; then
		cp "$cache"/*.deb "$DEBS/"
		CACHE=$cache
		return 0
	fi
	# Two at a time: a build is mostly waiting for processes to start.
	build v1 & build v2 & wait
	build stock & build split & wait
	for variant in v1 v2 stock split; do
		[ -f "$BATS_FILE_TMPDIR/build-$variant/ok" ] || {
			tail -n 40 "$BATS_FILE_TMPDIR/build-$variant/log" >&2
			return 1
		}
	done
	[ -n "$parent" ] && [ -w "$parent" ] || return 0
	# Those of a week ago are of trees long changed.
	find "$parent" -maxdepth 1 -name 'pyprime-dhpython-*' -mtime +7 \
		-exec rm -rf {} + 2>/dev/null || :
	rm -rf "$cache.$$"
	mkdir "$cache.$$"
	cp "$DEBS"/v1-* "$DEBS"/v2-* "$DEBS"/stock-* "$DEBS"/split-* "$cache.$$/"
	touch "$cache.$$/done"
	mv -T "$cache.$$" "$cache" 2>/dev/null || rm -rf "$cache.$$"
	CACHE=$cache
}

# Build VARIANT of the fixture: v1; v2 (a module changed, one added, one
# removed); stock (v1 without dh-sequence-pyprime); split (debhelper
# compat 14, the application in an arch:any package of its own, and
# dh_pyprime -N python3-pyprimedemo, so that only it is taken over).
# Marks success with build-VARIANT/ok.
build() {
	local variant=$1 dir="$BATS_FILE_TMPDIR/build-$1" deb base
	mkdir -p "$dir"
	cp -a "$BATS_TEST_DIRNAME/fixtures/pybuild" "$dir/src"
	cd "$dir/src" || return 1
	case $variant in
	v2)
		sed -i '1s/(1\.0)/(2.0)/' debian/changelog
		sed -i 's/version = "1.0"/version = "2.0"/' pyproject.toml
		rm pyprimedemo/old.py
		printf '"""Added in version 2."""\n\nNEW = 2\n' >pyprimedemo/newmod.py
		printf '\n\ndef farewell(name):\n    return shout("bye, %%s" %% name)\n' \
			>>pyprimedemo/core.py ;;
	stock)
		sed -i '/dh-sequence-pyprime/d' debian/control ;;
	split)
		sed -i 's/debhelper-compat (= 13)/debhelper-compat (= 14)/' debian/control
		cat >>debian/control <<-'EOF'

		Package: pyprimedemo-app
		Architecture: any
		Depends: ${misc:Depends}, ${python3:Depends}, python3-pyprimedemo
		Description: greeting application (pyprime test package)
		 The application of the greeting library, in a private directory.
		EOF
		mv debian/python3-pyprimedemo.install debian/pyprimedemo-app.install
		sed -i 's|dh_python3 /usr/share|dh_python3 -p pyprimedemo-app /usr/share|' debian/rules
		printf '\noverride_dh_pyprime:\n\tdh_pyprime -N python3-pyprimedemo\n' >>debian/rules ;;
	esac
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PERL5LIB="$HOOKS" DH_DATAFILES="$HOOKS" \
		PATH="$HOOKS:/usr/sbin:/usr/bin:/sbin:/bin" \
		dpkg-buildpackage -us -uc -b -d >"$dir/log" 2>&1 || return 1
	for deb in "$dir"/*.deb; do
		base=${deb##*/}
		mv "$deb" "$DEBS/$variant-${base%%_*}.deb"
	done
	touch "$dir/ok"
}

setup() {
	load test_helper
	PATH="$BATS_FILE_TMPDIR/bin:$PATH"
	new_stub_root "$DEBS"
	cd "$BATS_TEST_TMPDIR"
	: >"$LOG"
	SITE=/usr/lib/python3/dist-packages
	APP=/usr/share/pyprimedemo
}

# The .py files of installed PACKAGE are compiled as py_compile does,
# with their installed path, but for the excluded and the broken one;
# and there is no other pyc in the root.
check_compiled() {
	local package=$1 f n=0 want
	while read -r f; do
		case $f in
		*/skip_me.py|*/legacy.py)
			assert_file_not_exists "$(cache_of "$R$f")"
			continue ;;
		esac
		ref_pyc "$R$f" ref.pyc 0 timestamp "$f" || fail "py_compile failed on $f"
		cmp "$(cache_of "$R$f")" ref.pyc || fail "wrong pyc for $f"
		n=$((n + 1))
	done < <(dpkg-query --root="$R" -L "$package" | grep '\.py$')
	[ "$n" -ge 3 ]
	want=$(find "$R" -name '*.pyc' | wc -l)
	assert_equal "$want" "$n"
}

# lintian's findings on VARIANT-PACKAGE, every level, in
# ./VARIANT-PACKAGE.lintian (status 1 is findings, 2 a failed run); kept
# with the cached .debs, which are the same as long as the cache is.
lint() {
	local out="$1.lintian"
	if [ -n "$CACHE" ] && [ -f "$CACHE/$out" ]; then
		cp "$CACHE/$out" .
		return 0
	fi
	lintian --tag-display-limit 0 -L '>=pedantic' --display-experimental \
		"$DEBS/$1.deb" >"$out" 2>lintian.err || [ $? -eq 1 ] || {
		cat lintian.err >&2
		return 1
	}
	if [ -n "$CACHE" ] && [ -w "$CACHE" ]; then
		cp "$out" "$CACHE/$out.$$"
		mv "$CACHE/$out.$$" "$CACHE/$out"
	fi
}

# The lines of FILE... that name py3compile or py3clean but as
# "pyprime py3compile" (pypy3compile is neither); grep's status.
py3_mentions() {
	sed 's/pyprime py3compile//g' "$@" |
		grep -E '(^|[^-[:alnum:]_])py3(compile|clean)([^-[:alnum:]_]|$)'
}

# The control files of the package VARIANT-PACKAGE in ./ctl.
control() {
	rm -rf ctl
	dpkg-deb -e "$DEBS/$1.deb" ctl
}

@test "dh_python3's stock scripts call py3compile with the private directory, -V-less here, and -X" {
	control stock-python3-pyprimedemo
	run -0 grep -x '	py3compile -p python3-pyprimedemo *' ctl/postinst
	run -0 grep -xF "	py3compile -p python3-pyprimedemo $APP -X 'demoapp/skip_me('\\'')?\\.py\$'" ctl/postinst
	run -0 grep -c '^	py3clean -p python3-pyprimedemo' ctl/prerm
	assert_output 1
}

@test "the scripts call pyprime py3compile where dh_python3 had py3compile, and never py3compile or py3clean" {
	control v1-python3-pyprimedemo
	run -1 py3_mentions ctl/postinst ctl/prerm ctl/postrm
	run -0 grep -F 'pyprime py3compile' ctl/postinst
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 '			pyprime py3compile ${DPKG_ROOT:+--root="$DPKG_ROOT"} -p python3-pyprimedemo'
	assert_line --index 1 "			pyprime py3compile \${DPKG_ROOT:+--root=\"\$DPKG_ROOT\"} -p python3-pyprimedemo $APP -X 'demoapp/skip_me('\\'')?\\.py\$'"
	# What those compile is not also registered.
	run -1 grep -F 'pyprime register' ctl/postinst
	run -0 grep -c 'pyprime clean -q $keep ${DPKG_ROOT:+--root="$DPKG_ROOT"} -p python3-pyprimedemo$' ctl/prerm
	assert_output 1
	run -0 grep -c '/var/lib/pyprime/packages/python3-pyprimedemo"' ctl/postrm
	assert_output 1
	# dh_python3 still did the rest.
	run -0 dpkg-deb -f "$DEBS/v1-python3-pyprimedemo.deb" Depends
	assert_output --regexp '(^|, )pyprime(,|$)'
	assert_output --regexp '(^|, )python3:any'
	run -0 dpkg-deb -c "$DEBS/v1-python3-pyprimedemo.deb"
	assert_output --partial ./usr/share/python3/runtime.d/python3-pyprimedemo.rtupdate
}

@test "the arguments reach pyprime py3compile as the words py3compile got" {
	control v1-python3-pyprimedemo
	mkdir bin
	printf '#!/bin/sh\nfor a; do printf "<%%s>" "$a"; done; echo\n' >bin/pyprime
	chmod +x bin/pyprime
	run -0 env PATH="$PWD/bin:/usr/bin:/bin" DPKG_ROOT=/x sh ctl/postinst configure
	assert_line --index 0 '<py3compile><--root=/x><-p><python3-pyprimedemo>'
	assert_line --index 1 "<py3compile><--root=/x><-p><python3-pyprimedemo><$APP><-X><demoapp/skip_me(')?\\.py\$>"
	assert_equal "${#lines[@]}" 2
}

@test "installed: pycs are py_compile's, the -X file and the bad one get none, configure warns and succeeds" {
	run --separate-stderr dpkg_root -i "$DEBS/v1-python3-pyprimedemo.deb"
	assert_success
	check_compiled python3-pyprimedemo
	[ -f "$(cache_of "$R$APP/demoapp/main.py")" ]
	[ -f "$(cache_of "$R$SITE/pyprimedemo/sub/helpers.py")" ]
	grep -q "^$R$APP/demoapp/legacy.py:2:[0-9]*: SyntaxError: " <<<"$stderr"
	grep -qx "pyprime: warning: 1 file could not be compiled" <<<"$stderr"
	run -0 dpkg-query --root="$R" -W -f '${db:Status-Status}' python3-pyprimedemo
	assert_output installed
	run -0 grep -c '^pyprime py3compile --root=' "$LOG"
	assert_output 2
	run -1 grep -e '^pyprime register' -e '^py3c' "$LOG"
	# Nothing outside the root.
	[ ! -e "$SITE/pyprimedemo" ]
}

@test "an upgrade removes the pycs of the dropped module and compiles the new and the changed one" {
	dpkg_root -i "$DEBS/v1-python3-pyprimedemo.deb" >/dev/null 2>&1
	[ -f "$(cache_of "$R$SITE/pyprimedemo/old.py")" ]
	run dpkg_root -i "$DEBS/v2-python3-pyprimedemo.deb"
	assert_success
	[ ! -e "$R$SITE/pyprimedemo/old.py" ]
	[ -z "$(find "$R" -name 'old.*')" ]
	[ -f "$(cache_of "$R$SITE/pyprimedemo/newmod.py")" ]
	grep -q farewell "$R$SITE/pyprimedemo/core.py"
	check_compiled python3-pyprimedemo
}

@test "remove, then purge, leave nothing that was compiled or recorded" {
	before=$(root_listing)
	dpkg_root -i "$DEBS/v1-python3-pyprimedemo.deb" >/dev/null 2>&1
	[ -n "$(find "$R" -name '*.pyc')" ]
	run dpkg_root -r python3-pyprimedemo
	assert_success
	[ -z "$(find "$R" -name '*.pyc' -o -name __pycache__)" ]
	run dpkg_root -P python3-pyprimedemo
	assert_success
	# But the records' key, pyprime's own (its purge removes it).
	[ -z "$(find "$R/var/lib/pyprime" -type f ! -path "$R/var/lib/pyprime/key")" ]
	assert_equal "$(root_listing)" "$before"
	run -1 grep '^py3c' "$LOG"
}

@test "compat 14, arch:any and -N: the selected package's scripts are pyprime's with pkg:arch, the other keeps dh_python3's" {
	local arch
	arch=$(dpkg --print-architecture)
	control "split-pyprimedemo-app"
	run -0 grep -F 'pyprime py3compile' ctl/postinst
	assert_output "			pyprime py3compile \${DPKG_ROOT:+--root=\"\$DPKG_ROOT\"} -p pyprimedemo-app:$arch $APP -X 'demoapp/skip_me('\\'')?\\.py\$'"
	run -1 py3_mentions ctl/postinst ctl/prerm
	run -0 grep -c 'pyprime clean -q .* -p pyprimedemo-app$' ctl/prerm
	assert_output 1
	run -0 dpkg-deb -f "$DEBS/split-pyprimedemo-app.deb" Depends
	assert_output --regexp '(^|, )pyprime(,|$)'
	control "split-python3-pyprimedemo"
	run -0 grep -x '	py3compile -p python3-pyprimedemo *' ctl/postinst
	run -0 grep -x '	py3clean -p python3-pyprimedemo *' ctl/prerm
	run -1 grep -E 'pyprime (py3compile|register|clean)' ctl/postinst ctl/prerm
	run -0 dpkg-deb -f "$DEBS/split-python3-pyprimedemo.deb" Depends
	refute_output --regexp '(^|, )pyprime(,|$)'
	# Installed (py3compile is not in the root: its snippet does nothing).
	run --separate-stderr dpkg_root -i "$DEBS/split-python3-pyprimedemo.deb" "$DEBS/split-pyprimedemo-app.deb"
	assert_success
	check_compiled pyprimedemo-app
	run -0 grep -c "^pyprime py3compile --root=$R -p pyprimedemo-app:$arch $APP " "$LOG"
	assert_output 1
	run -0 grep '^py3c' "$LOG"
	assert_output 'py3compile -p python3-pyprimedemo'
	run dpkg_root -P pyprimedemo-app python3-pyprimedemo
	assert_success
	[ -z "$(find "$R" -name '*.pyc' -o -name __pycache__)" ]
	run -0 grep -c '^py3clean -p python3-pyprimedemo' "$LOG"
	assert_output 1
}

@test "lintian has no tag for the pyprime-built package that it has not for the stock one" {
	command -v lintian >/dev/null || skip "lintian is not installed"
	lint stock-python3-pyprimedemo
	lint v1-python3-pyprimedemo
	tags() {
		sed -nE 's/^[A-Z]: [^:]+: ([^ ]+).*/\1/p' "$1" | sort -u
	}
	run -0 comm -13 <(tags stock-python3-pyprimedemo.lintian) \
		<(tags v1-python3-pyprimedemo.lintian)
	assert_output ""
	run -1 grep -E '^[EW]: ' v1-python3-pyprimedemo.lintian
}

@test "the new snippet and the generated scripts are shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	run shellcheck -s sh "$HOOKS/autoscripts/postinst-pyprime-py3compile"
	assert_success
	for deb in v1-python3-pyprimedemo split-pyprimedemo-app; do
		control "$deb"
		run shellcheck -s sh ctl/postinst ctl/prerm ctl/postrm
		assert_success
	done
}

@test "dh_pyprime rewrites dh_python3's sections in place, --compile-all ones too, and registers only what they leave" {
	local p
	mkdir -p src/debian
	cd src
	cat >debian/control <<-'EOF'
	Source: fake
	Maintainer: t <t@pyprime.invalid>
	Build-Depends: debhelper-compat (= 13)

	Package: python3-fake
	Architecture: all
	Depends: ${python3:Depends}
	Description: fake
	 fake

	Package: python3-other
	Architecture: all
	Depends: ${python3:Depends}
	Description: other
	 other
	EOF
	printf 'fake (1) unstable; urgency=medium\n\n  * x\n\n -- t <t@pyprime.invalid>  Sat, 28 Nov 2026 12:00:00 +0000\n' \
		>debian/changelog
	for p in fake other; do
		mkdir -p "debian/python3-$p$SITE/$p" "debian/python3-$p/usr/share/${p}app/app" \
			"debian/python3-$p/usr/share/${p}app-extra"
		touch "debian/python3-$p$SITE/$p/__init__.py" \
			"debian/python3-$p/usr/share/${p}app/app/main.py" \
			"debian/python3-$p/usr/share/${p}app-extra/tool.py"
		printf '# Automatically added by dh_before/1\n: before\n# End automatically added section\n' |
			tee "debian/python3-$p.postinst.debhelper" >"debian/python3-$p.prerm.debhelper"
	done
	dh_python3
	dh_python3 -p python3-fake --compile-all /usr/share/fakeapp -V 3.11
	dh_python3 -p python3-other /usr/share/otherapp
	for p in fake other; do
		printf '# Automatically added by dh_after/1\n: after\n# End automatically added section\n' \
			>>"debian/python3-$p.postinst.debhelper"
	done
	grep -q '^	py3compile  */usr/share/fakeapp -V 3.11$' debian/python3-fake.postinst.debhelper
	[ "$(grep -c '^# Automatically added by dh_python3' debian/python3-fake.prerm.debhelper)" -eq 2 ]
	cp debian/python3-other.postinst.debhelper debian/python3-other.prerm.debhelper .

	run env PERL5LIB="$HOOKS" DH_DATAFILES="$HOOKS" "$HOOKS/dh_pyprime" -N python3-other \
		/usr/share/fakeapp /usr/share/fakeapp-extra /usr/share
	assert_success

	# Not selected: as dh_python3 left it.
	cmp python3-other.postinst.debhelper debian/python3-other.postinst.debhelper
	cmp python3-other.prerm.debhelper debian/python3-other.prerm.debhelper
	[ ! -e debian/python3-other.postrm.debhelper ]
	cd debian
	run -1 py3_mentions python3-fake.postinst.debhelper python3-fake.prerm.debhelper
	run -0 py3_mentions ../python3-other.postinst.debhelper
	run -0 sed -n 's/^# Automatically added by \([a-z_0-9]*\).*/\1/p' python3-fake.postinst.debhelper
	assert_equal "$(echo $output)" "dh_before dh_pyprime dh_python3 dh_pyprime dh_python3 dh_after dh_pyprime"
	run -0 sed -n 's/^# Automatically added by \([a-z_0-9]*\).*/\1/p' python3-fake.prerm.debhelper
	assert_equal "$(echo $output)" "dh_before dh_pyprime"
	run -0 grep -c 'pyprime clean' python3-fake.prerm.debhelper
	assert_output 1
	run -0 grep -c 'pyprime/packages/python3-fake"' python3-fake.postrm.debhelper
	assert_output 1
	run -0 grep -c '^misc:Depends=pyprime$' python3-fake.substvars
	assert_output 1
	run -0 grep -cx '	pypy3compile -p python3-fake  || true' python3-fake.postinst.debhelper
	assert_output 1

	# What pyprime gets: py3compile's words, and a register of the rest.
	mkdir bin
	printf '#!/bin/sh\nfor a; do printf "<%%s>" "$a"; done; echo\n' >bin/pyprime
	chmod +x bin/pyprime
	run -0 env PATH="$PWD/bin:/usr/bin:/bin" DPKG_ROOT= sh -e python3-fake.postinst.debhelper configure
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 '<py3compile><-p><python3-fake>'
	assert_line --index 1 '<py3compile></usr/share/fakeapp><-V><3.11>'
	assert_line --index 2 '<register><-q><python3-fake><-x><^/usr/share/fakeapp/></usr/share/fakeapp-extra></usr/share>'
	run -0 env PATH="$PWD/bin:/usr/bin:/bin" DPKG_ROOT= sh -e python3-fake.postinst.debhelper triggered
	assert_output ""

	# A second run finds its work done: nothing registered, nothing twice.
	cp python3-fake.postinst.debhelper python3-fake.prerm.debhelper \
		python3-fake.postrm.debhelper ..
	cd ..
	run env PERL5LIB="$HOOKS" DH_DATAFILES="$HOOKS" "$HOOKS/dh_pyprime" -p python3-fake
	assert_success
	for p in postinst prerm postrm; do
		cmp "python3-fake.$p.debhelper" "debian/python3-fake.$p.debhelper"
	done
}
