#!/usr/bin/env bats
# python3 loads what pyprime writes: from __pycache__ at every level, and
# from legacy pycs with no source at all, without writing a single pyc.

setup() {
	load test_helper
	cp -a "$BATS_TEST_DIRNAME/fixtures/sample-app" "$BATS_TEST_TMPDIR/app"
	cd "$BATS_TEST_TMPDIR/app"
	export PYTHONPATH="$PWD"
}

# The pyc files under the app with their inode and mtime.
snapshot() {
	find . -name '*.pyc' -printf '%p %i %T@\n' | sort
}

# python3 FLAGS runs the app; every module's code must come from a pyc.
check_loads() {
	local suffix=$1; shift
	local before modules
	before=$(snapshot)
	run --separate-stderr "$PYTHON" -v "$@" -m inventory data/items.csv
	assert_success
	assert_line --index 0 'category  quantity  value'
	modules=$(find inventory -name '*.py' | wc -l)
	[ "$(grep -c "^# code object from '.*/inventory/.*$suffix'$" <<<"$stderr")" -eq "$modules" ]
	run ! grep -q "^# wrote" <<<"$stderr"
	run ! grep -q "^# bytecode is stale" <<<"$stderr"
	[ "$(snapshot)" = "$before" ]
}

@test "python3 imports the compiled app from its pycs and writes none" {
	run pyprime compile -q .
	assert_success
	check_loads ".$TAG.pyc"
}

@test "python3 -O and -OO import the .opt-1 and .opt-2 pycs" {
	run pyprime compile -q -O1 -O2 .
	assert_success
	check_loads ".$TAG.opt-1.pyc" -O
	check_loads ".$TAG.opt-2.pyc" -OO
}

@test "hash-based pycs are used as they are" {
	run pyprime compile -q --invalidation-mode checked-hash .
	assert_success
	check_loads ".$TAG.pyc"
}

@test "a sourceless legacy tree imports and runs" {
	want=$("$PYTHON" -B -m inventory data/items.csv)
	run pyprime compile -q -b .
	assert_success
	find inventory -name '*.py' -delete
	[ -z "$(find . -name __pycache__)" ]
	check_loads "inventory/cli.pyc"
	run -0 "$PYTHON" -m inventory data/items.csv
	assert_output "$want"
}

@test "a sourceless tree compiled at -OO runs under a plain python3" {
	run pyprime compile -q -b -O2 .
	assert_success
	find inventory -name '*.py' -delete
	run "$PYTHON" -m inventory --json data/items.csv
	assert_success
	assert_line '  "reorder": ['
}

@test "python3 uses the compiled copy of the standard library and writes nothing" {
	stdlib_copy "$BATS_TEST_TMPDIR/lib"
	cd "$BATS_TEST_TMPDIR/lib"
	run pyprime compile -q .
	assert_failure 1
	before=$(snapshot)
	run --separate-stderr "$PYTHON" -I -S -v -c '
import sys
sys.path.insert(0, sys.argv[1])
import argparse, ast, calendar, csv, dataclasses, difflib, email.parser
import fractions, ftplib, gettext, glob, gzip, html.parser, http.client
import json, logging.handlers, mailbox, optparse, pathlib, pickletools
import pprint, shlex, statistics, string, tarfile, textwrap, tomllib
import unittest, urllib.request, uuid, xml.dom.minidom, zipfile
' "$PWD"
	assert_success
	n=$(grep -cE "^# code object from '$PWD/(.*/)?__pycache__/[^/]*\.$TAG\.pyc'$" <<<"$stderr")
	[ "$n" -ge 100 ]
	run ! grep -q "^# wrote" <<<"$stderr"
	[ "$(snapshot)" = "$before" ]
}
