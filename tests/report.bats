#!/usr/bin/env bats
# pyprime report: the variants of a generated application of 300 modules,
# timed warm and cold, on disk and on a RAM disk, in every output format.
# The preloaded variant is in report-preload.bats.

load test_helper

setup_file() {
	DISKDIR=$(mktemp -d /var/tmp/pyprime-test.XXXXXX)
	"$PYTHON" "$BATS_TEST_DIRNAME/fixtures/genapp.py" "$DISKDIR/app" \
		--modules 300 >/dev/null
	OUT=$BATS_FILE_TMPDIR
	"$PYPRIME" report -q -r 3 -C "$DISKDIR/app" --scratch "$DISKDIR" \
		--json "$OUT/r.json" --csv "$OUT/r.csv" --svg "$OUT/r.svg" \
		-m app >"$OUT/r.txt" 2>"$OUT/r.err"
	echo $? >"$OUT/r.status"
	export DISKDIR OUT
}

teardown_file() {
	rm -rf "$DISKDIR"
}

json() {
	"$PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "the report ran cleanly and removed its scratch directory" {
	run -0 cat "$OUT/r.err"
	assert_output ""
	[ "$(cat "$OUT/r.status")" = 0 ]
	run -0 find "$DISKDIR" -mindepth 1 -maxdepth 1 -name 'pyprime-*'
	assert_output ""
	run ! grep -q pyprime-ram /proc/mounts
}

@test "the JSON holds every cell of the matrix, with positive figures" {
	local j=$OUT/r.json
	[ "$(json "$j" 'len(j["cells"])')" = 20 ]
	json "$j" 'sorted((c["variant"], c["state"], c["medium"]) for c in j["cells"]) == sorted((v, s, m) for v in ["source", "stripped", "pyc", "pyc-O2", "sourceless"] for s in ["warm", "cold"] for m in ["disk", "ram"]) or exit(1)'
	json "$j" 'all(c["failed"] is None and c["runs"] == 3 and len(c["samples_ms"]) == 3 for c in j["cells"]) or exit(1)'
	json "$j" 'all(0 < w["min"] <= w["median"] <= w["max"] and w["mad"] >= 0 and w["sd"] >= 0 for w in (c["wall_ms"] for c in j["cells"])) or exit(1)'
	json "$j" 'all(c["user_ms"]["median"] + c["sys_ms"]["median"] > 0 and c["maxrss_kb"]["median"] > 1000 for c in j["cells"]) or exit(1)'
	json "$j" 'all(c["speedup"] > 0 for c in j["cells"]) or exit(1)'
	json "$j" 'all(len(c["outliers_ms"]) == c["wall_ms"]["outliers"] and set(c["outliers_ms"]) <= set(c["samples_ms"]) for c in j["cells"]) or exit(1)'
	# the cold runs on disk were cold: the tree out of memory each time
	json "$j" 'all(c["not_cold"] == 0 and c["resident_max"] <= 0.01 for c in j["cells"] if c["state"] == "cold" and c["medium"] == "disk") or exit(1)'
	json "$j" 'j["environment"]["ramdisk"] in ("private tmpfs", "/dev/shm") or exit(1)'
	json "$j" 'all(j["environment"][k] for k in ("kernel", "cpu", "cpus", "filesystem", "device", "python", "pyprime")) or exit(1)'
}

@test "the variants are what they say" {
	local j=$OUT/r.json
	local py
	py=$(find "$DISKDIR/app" -name '*.py' | wc -l)
	v() { json "$j" "{x[\"name\"]: x for x in j[\"variants\"]}[\"$1\"][\"$2\"]"; }
	[ "$(v source files)" = "$py" ]
	# a pyc for every source, or an -OO pyc; the stripped tree has a line map
	[ "$(v pyc files)" = $((2 * py)) ]
	[ "$(v pyc-O2 files)" = $((2 * py)) ]
	[ "$(v sourceless files)" = "$py" ]
	[ "$(v stripped files)" = $((py + 1)) ]
	[ "$(v stripped bytes)" -lt "$(v source bytes)" ]
}

@test "pyc imports faster than source, warm, from disk and from RAM" {
	# A loaded machine only adds time: the fastest run, and the CPU time
	# (not waiting for a CPU), say what the tree costs.
	"$PYTHON" - "$OUT/r.json" <<'EOF'
import json, sys
cells = {(c["variant"], c["state"], c["medium"]): c for c in json.load(open(sys.argv[1]))["cells"]}
def cpu(c):
    return c["user_ms"]["median"] + c["sys_ms"]["median"]
for m in ("disk", "ram"):
    pyc, src = cells["pyc", "warm", m], cells["source", "warm", m]
    assert pyc["wall_ms"]["min"] < src["wall_ms"]["min"], (m, pyc["wall_ms"], src["wall_ms"])
    assert cpu(pyc) < cpu(src), (m, cpu(pyc), cpu(src))
EOF
}

@test "the CSV holds the same numbers as the JSON" {
	"$PYTHON" - "$OUT/r.json" "$OUT/r.csv" <<'EOF'
import csv, json, sys
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(j["cells"]) == 20, len(rows)
sizes = {v["name"]: v["disk_bytes"] for v in j["variants"]}
for c, r in zip(j["cells"], rows):
    assert (r["variant"], r["state"], r["medium"]) == (c["variant"], c["state"], c["medium"])
    w = c["wall_ms"]
    for k in ("median", "min", "max", "mean", "sd", "mad"):
        assert float(r[k + "_ms"]) == w[k], (k, r[k + "_ms"], w[k])
    assert int(r["runs"]) == c["runs"] and int(r["outliers"]) == w["outliers"]
    assert int(r["not_cold"]) == c["not_cold"]
    assert float(r["speedup"]) == c["speedup"]
    assert float(r["user_ms"]) == c["user_ms"]["median"]
    assert float(r["sys_ms"]) == c["sys_ms"]["median"]
    assert float(r["maxrss_kb"]) == c["maxrss_kb"]["median"]
    assert int(r["disk_bytes"]) == sizes[c["variant"]]
EOF
}

@test "the SVG chart is valid XML and renders" {
	run -0 xmllint --noout "$OUT/r.svg"
	"$PYTHON" - "$OUT/r.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
for label in ("source", "stripped", "pyc", "pyc-O2", "sourceless",
              "disk warm", "disk cold", "RAM warm", "RAM cold", "ms"):
    assert label in text, label
bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")]
assert len(bars) >= 20, len(bars)
EOF
	rsvg-convert -o "$BATS_TEST_TMPDIR/r.png" "$OUT/r.svg"
	run -0 file "$BATS_TEST_TMPDIR/r.png"
	assert_output --regexp 'PNG image data, [0-9]{3,} x [0-9]{3,}'
}

@test "the text report: environment, medians, sizes, speed-ups, statistics, imports" {
	run -0 cat "$OUT/r.txt"
	assert_line --regexp '^  kernel: Linux '
	assert_line --regexp '^  CPU: .*, [0-9]+ online, governor '
	assert_line --regexp '^  scratch: .* on .* \(.*, rotational: '
	assert_line --regexp '^  Python: 3\.11'
	assert_line --regexp '^  variant +disk warm +disk cold +RAM warm +RAM cold +size +files$'
	for v in source stripped pyc pyc-O2 sourceless; do
		assert_line --regexp "^  $v +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ [kM]B +[0-9]+$"
		assert_line --regexp "^  $v +[0-9.]+x +[0-9.]+x +[0-9.]+x +[0-9.]+x$"
	done
	assert_line --regexp '^  source +1\.00x +1\.00x +1\.00x +1\.00x$'
	assert_line --regexp '^  variant +state +medium +runs +median +min +max +mean +sd +MAD +out +resident$'
	assert_equal "$(grep -cE '^  (source|stripped|pyc|pyc-O2|sourceless) +(warm|cold) +(disk|ram) +3 ' "$OUT/r.txt")" 20
	assert_line --partial 'slowest imports (cumulative ms, median of 3 warm runs'
	assert_line --regexp '^  app\.main +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$'
}

@test "--markdown prints the tables as Markdown" {
	run -0 pyprime report -q -r 1 -w 0 --variants source,pyc --states warm --media disk \
		--top 3 -C "$DISKDIR/app" --scratch "$DISKDIR" --markdown -m app
	assert_line --regexp '^# pyprime report: `/usr/bin/python3 -m app`$'
	assert_line --regexp '^\| variant +\| +disk warm \| +size \| +files \|$'
	assert_line --regexp '^\|:-+\|-+:\|-+:\|-+:\|$'
	assert_line --regexp '^\| pyc +\| +[0-9.]+ \| +[0-9.]+ [kM]B \| +[0-9]+ \|$'
	assert_line --regexp '^\| app\.main \| [0-9.]+ \| [0-9.]+ \|$'
}

@test "a failing module: the variant, its traceback, exit status 1" {
	local tree=$BATS_TEST_TMPDIR/t
	mkdir -p "$tree/pkg"
	printf 'import pkg.bad\n' >"$tree/pkg/__main__.py"
	: >"$tree/pkg/__init__.py"
	printf 'import os\n\n# the file is gone once only pycs are left\nopen(__file__.removesuffix("c"))\n' >"$tree/pkg/bad.py"
	run --separate-stderr -1 pyprime report -q -r 2 --media disk --states warm \
		--variants source,sourceless --top 0 -C "$tree" --scratch "$BATS_TEST_TMPDIR" \
		--json "$BATS_TEST_TMPDIR/j" -m pkg
	[[ $stderr == *"sourceless, warm, disk: the program failed: "*"exit status 1"* ]]
	[[ $stderr == *"pkg/bad.py\", line 4"* || $stderr == *"FileNotFoundError"* ]]
	[[ $stderr == *"FileNotFoundError"* ]]
	[[ $stderr != *"pyprime: source, warm"* ]]
	json "$BATS_TEST_TMPDIR/j" '[c["failed"] is None for c in j["cells"]] == [True, False] or exit(1)'
	json "$BATS_TEST_TMPDIR/j" 'j["cells"][1]["runs"] == 0 and j["cells"][1]["wall_ms"]["n"] == 0 or exit(1)'
	assert_line --regexp '^  sourceless +- +[0-9.]+ k?B +3$'
	run -0 find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'pyprime-report*'
	assert_output ""
}

@test "Ctrl-C: scratch removed, RAM disk unmounted, nothing left running" {
	local scratch=$BATS_TEST_TMPDIR/scratch
	mkdir "$scratch"
	for delay in 0.5 2.5; do
		setsid env --default-signal=INT "$PYPRIME" report -q -r 50 -C "$DISKDIR/app" \
			--scratch "$scratch" -m app >/dev/null 2>&1 &
		local pid=$! status=0
		sleep "$delay"
		kill -INT "$pid"
		wait "$pid" || status=$?
		[ "$status" = 130 ]
		run -0 ls -A "$scratch"
		assert_output ""
		run ! grep -q pyprime-ram /proc/mounts
		run ! pgrep -f "$scratch"
	done
}

@test "usage errors" {
	run -2 pyprime report -m app
	assert_output --partial "no tree (-C dir)"
	run -2 pyprime report -C "$DISKDIR/app" --variants source,bytecode -m app
	assert_output --partial "--variants takes"
	run -2 pyprime report -C "$DISKDIR/app" --media disk,floppy -m app
	run -2 pyprime report -C "$DISKDIR/app"
	assert_output --partial "no module, code or script"
	run -2 pyprime report -C "$DISKDIR/app" --variants pyc,preloaded "$DISKDIR/app/app/main.py"
	assert_output --partial "the preloaded variant needs -m module, not a script or -c"
}
