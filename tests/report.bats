#!/usr/bin/env bats
# pyprime report: the variants of a generated application of 300 modules,
# timed warm and cold, on disk and on a RAM disk, in every output format;
# the preloaded variant on a small app that says who started it.

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

	# Each run appends its parent's command: "preload -C" for a child of
	# the server, "report -q" for python3 run by report itself.
	mkdir "$DISKDIR/small"
	cat >"$DISKDIR/small/small.py" <<'PY'
import decimal, json, os
if __name__ == "__main__":
    parent = open("/proc/%d/cmdline" % os.getppid(), "rb").read().split(b"\0")
    with open(os.environ["SMALL_LOG"], "a") as f:
        f.write(" ".join(a.decode() for a in parent[1:3]) + "\n")
PY
	SMALL_LOG=$OUT/small.log "$PYPRIME" report -q -r 2 -w 1 \
		--variants pyc,preloaded --top 0 -C "$DISKDIR/small" \
		--scratch "$DISKDIR" --json "$OUT/p.json" --csv "$OUT/p.csv" \
		--svg "$OUT/p.svg" -m small >"$OUT/p.txt" 2>"$OUT/p.err"
	echo $? >"$OUT/p.status"
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

@test "preloaded: every run went through a server, which is gone with its socket" {
	run -0 cat "$OUT/p.err"
	assert_output ""
	[ "$(cat "$OUT/p.status")" = 0 ]
	# 4 cells of 1 warm-up and 2 counted runs, each a child of a server
	assert_equal "$(grep -c '^preload -C$' "$OUT/small.log")" 12
	# and the pyc variant's by python3, run by report (and its -v runs)
	[ "$(grep -c '^report -q$' "$OUT/small.log")" -ge 12 ]
	assert_equal "$(grep -cv '^preload -C$\|^report -q$' "$OUT/small.log")" 0
	json "$OUT/p.json" 'sorted((c["variant"], c["state"], c["medium"]) for c in j["cells"] if c["variant"] == "preloaded") == sorted(("preloaded", s, m) for s in ("warm", "cold") for m in ("disk", "ram")) or exit(1)'
	json "$OUT/p.json" 'all(c["failed"] is None and c["runs"] == 2 for c in j["cells"]) or exit(1)'
	# the launches' own command, not python3
	json "$OUT/p.json" '[c for c in j["cells"] if c["variant"] == "preloaded"][0]["wall_ms"]["median"] > 0 or exit(1)'
	run -0 find "$DISKDIR" -mindepth 1 -maxdepth 1 -name 'pyprime-*'
	assert_output ""
	run ! pgrep -f "preload -C $DISKDIR"
}

@test "preloaded: the server's idle RSS and PSS and the children's USS in the JSON, CSV and text" {
	"$PYTHON" - "$OUT/p.json" "$OUT/p.csv" <<'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(j["cells"]) == 8, len(rows)
sizes = {v["name"]: v for v in j["variants"]}
assert sizes["preloaded"]["files"] == sizes["pyc"]["files"] == 2, sizes
for c, r in zip(j["cells"], rows):
    assert (r["variant"], r["state"], r["medium"]) == (c["variant"], c["state"], c["medium"])
    if c["variant"] != "preloaded":
        assert "server_rss_kb" not in c and "child_uss_kb" not in c, c
        assert r["server_rss_kb"] == r["server_pss_kb"] == r["child_uss_kb"] == "", r
        continue
    rss, pss, uss = c["server_rss_kb"], c["server_pss_kb"], c["child_uss_kb"]
    # a whole interpreter with decimal and json imported, of which the
    # child shares most
    assert 4000 < rss < 500000 and 0 < pss <= rss, (rss, pss)
    assert 0 < uss < rss, (uss, rss)
    assert int(r["server_rss_kb"]) == rss and int(r["server_pss_kb"]) == pss
    assert float(r["child_uss_kb"]) == uss
PY
	run -0 cat "$OUT/p.txt"
	assert_line --regexp '^  preloaded +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ [kM]?B +2$'
	assert_line 'memory of the preloaded variant (kB)'
	assert_line --regexp '^  medium +state +server RSS +server PSS +child USS$'
	local m s rss pss uss
	for m in disk ram; do
		for s in warm cold; do
			rss=$(json "$OUT/p.json" "[c for c in j['cells'] if c['variant'] == 'preloaded' and c['medium'] == '$m' and c['state'] == '$s'][0]['server_rss_kb']")
			pss=$(json "$OUT/p.json" "[c for c in j['cells'] if c['variant'] == 'preloaded' and c['medium'] == '$m' and c['state'] == '$s'][0]['server_pss_kb']")
			uss=$(json "$OUT/p.json" "'%.0f' % [c for c in j['cells'] if c['variant'] == 'preloaded' and c['medium'] == '$m' and c['state'] == '$s'][0]['child_uss_kb']")
			assert_line --regexp "^  $m +$s +$rss +$pss +$uss\$"
		done
	done
}

@test "preloaded: the SVG chart has its bars and a line with its memory figures" {
	run -0 xmllint --noout "$OUT/p.svg"
	"$PYTHON" - "$OUT/p.svg" "$OUT/p.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
text = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
assert "preloaded" in text, text
note = [t for t in text if t.startswith("preloaded, server idle RSS/PSS (kB):")]
assert len(note) == 1, text
cells = {(c["state"], c["medium"]): c for c in json.load(open(sys.argv[2]))["cells"] if c["variant"] == "preloaded"}
for m, label in (("disk", "disk"), ("ram", "RAM")):
    c = cells["warm", m]
    assert " %s %d/%d" % (label, c["server_rss_kb"], c["server_pss_kb"]) in note[0], note
    for s in ("warm", "cold"):
        assert " %s %s %.0f" % (label, s, cells[s, m]["child_uss_kb"]) in note[0], note
PY
	rsvg-convert -o "$BATS_TEST_TMPDIR/p.png" "$OUT/p.svg"
}

@test "preloaded, --markdown: its memory table" {
	run -0 env SMALL_LOG=/dev/null "$PYPRIME" report -q -r 1 -w 0 --variants preloaded \
		--states warm --media disk --top 0 -C "$DISKDIR/small" --scratch "$DISKDIR" \
		--markdown -m small
	assert_line --regexp '^\| preloaded +\| +[0-9.]+ \| +[0-9.]+ [kM]?B \| +2 \|$'
	assert_line '## Memory of the preloaded variant (kB)'
	assert_line '| medium | state | server RSS | server PSS | child USS |'
	assert_line --regexp '^\| disk \| warm \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$'
}

@test "preloaded: a module the server cannot import fails the variant with its message" {
	local tree=$BATS_TEST_TMPDIR/bad
	mkdir "$tree"
	printf 'raise ValueError("not today")\n' >"$tree/bad.py"
	run --separate-stderr -1 pyprime report -q -r 1 -w 0 --variants preloaded \
		--media disk --top 0 -C "$tree" --scratch "$BATS_TEST_TMPDIR" \
		--json "$BATS_TEST_TMPDIR/j" -m bad
	[[ $stderr == *"preloaded, warm, disk: the program failed: the server ended before serving:"*"ValueError: not today"* ]]
	[[ $stderr == *"preloaded, cold, disk: the program failed: the server did not start"* ]]
	json "$BATS_TEST_TMPDIR/j" 'all(c["failed"] and c["server_pss_kb"] is None and c["child_uss_kb"] is None for c in j["cells"]) or exit(1)'
	run -0 find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'pyprime-report*'
	assert_output ""
}

@test "preloaded, Ctrl-C: the servers are stopped and their sockets gone" {
	local scratch=$BATS_TEST_TMPDIR/scratch
	mkdir "$scratch"
	setsid env --default-signal=INT SMALL_LOG=/dev/null "$PYPRIME" report -q -r 500 \
		--variants preloaded --top 0 -C "$DISKDIR/small" --scratch "$scratch" \
		-m small >/dev/null 2>&1 &
	local pid=$! status=0 _
	# until both servers serve, the runs going on
	for _ in $(seq 200); do
		[ "$(pgrep -fc "preload -C $scratch")" -ge 2 ] && [ "$(find "$scratch" -name 'preload-*' -type s | wc -l)" = 2 ] && break
		sleep 0.05
	done
	run -0 find "$scratch" -name 'preload-*' -type s
	assert_equal "${#lines[@]}" 2
	local sockets=("${lines[@]}")
	sleep 0.5
	kill -INT "$pid"
	wait "$pid" || status=$?
	[ "$status" = 130 ]
	assert_not_exists "${sockets[0]}"
	assert_not_exists "${sockets[1]}"
	run -0 ls -A "$scratch"
	assert_output ""
	run ! pgrep -f "preload -C $scratch"
	run ! pgrep -f "$scratch"
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
