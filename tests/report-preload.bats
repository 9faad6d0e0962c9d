#!/usr/bin/env bats
# pyprime report --variants pyc,preloaded: the preloaded variant on a small
# app that says who started it, in every output format.  Apart from
# report.bats because a server cannot serve under qemu-user (see
# tests/cross.sh).

load test_helper

setup_file() {
	DISKDIR=$(mktemp -d /var/tmp/pyprime-test.XXXXXX)
	OUT=$BATS_FILE_TMPDIR
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
