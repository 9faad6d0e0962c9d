#!/usr/bin/env bats
# pyprime traceback: tracebacks of a stripped tree mapped back to the
# original, compared with what /usr/bin/python3 prints running the original.
# The stripped tree and its line map come from a small tokenize-based
# stripper here, so that this does not depend on pyprime strip.

# Remove comment-only lines, trailing comments and blank lines (keeping the
# columns of what stays) from the .py files of ORIG into OUT, and write
# OUT/pyprime.linemap with a source line.
write_stripper() {
	cat >"$1" <<'EOF'
import io, os, shutil, sys, tokenize

def strip(src):
    lines = src.splitlines(keepends=True)
    inside, comment_only, cut = set(), set(), {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
        elif tok.type == tokenize.COMMENT:
            row, col = tok.start
            if lines[row - 1][:col].strip():
                cut[row] = col
            else:
                comment_only.add(row)
    out, kept = [], []
    for n, line in enumerate(lines, 1):
        if n not in inside and (n in comment_only or not line.strip()):
            continue
        if n in cut:
            line = line[:cut[n]].rstrip() + "\n"
        out.append(line)
        kept.append(n)
    return "".join(out), kept

def escape(path):
    special = {"\\": "\\\\", "\t": "\\t", "\n": "\\n"}
    return "".join(special.get(c) or ("\\%03o" % ord(c)
                   if ord(c) < 0x20 or ord(c) == 0x7f else c) for c in path)

def runs(kept):
    out, i = [], 0
    while i < len(kept):
        j = i + 1
        while j < len(kept) and kept[j] == kept[j - 1] + 1:
            j += 1
        out.append(str(kept[i]) if j - i == 1 else "%d:%d" % (kept[i], j - i))
        i = j
    return " ".join(out)

orig, dest = sys.argv[1:3]
entries = []
for top, dirs, files in os.walk(orig):
    for name in files:
        path = os.path.join(top, name)
        rel = os.path.relpath(path, orig)
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        if not name.endswith(".py"):
            shutil.copy(path, os.path.join(dest, rel))
            continue
        with open(path, encoding="utf-8", newline="") as f:
            text, kept = strip(f.read())
        with open(os.path.join(dest, rel), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        entries.append((rel.encode(), escape(rel) + "\t" + runs(kept)))
with open(os.path.join(dest, "pyprime.linemap"), "w", encoding="utf-8") as f:
    f.write("pyprime-linemap 1\nsource %s\n" % escape(orig))
    for _, line in sorted(entries):
        f.write(line + "\n")
EOF
}

# What python3 prints for every failure of TREE: uncaught (the
# interpreter's printer), then logged (traceback.py's).
transcripts() {
	local tree=$1 name=$2 s
	for s in plain method attribute class-body comprehension lambda nested \
		multiline-raise multiline-call subscript chained during-handling \
		recursion decorated group syntax deep iterate assert; do
		"$PYTHON" -B -E -s "$tree/run.py" "$s" 2>>"$FIX/$name.uncaught" || true
	done
	"$PYTHON" -B -E -s "$tree/$ODD" 2>>"$FIX/$name.uncaught" || true
	"$PYTHON" -B -E -s "$tree/run.py" all 2>"$FIX/$name.logged"
}

setup_file() {
	load test_helper
	export FIX="$BATS_FILE_TMPDIR"
	export ORIG="$FIX/orig" STRIPPED="$FIX/stripped"
	# A script whose name needs escaping in the map.
	export ODD=$'odd\tname\\é.py'
	cp -a "$BATS_TEST_DIRNAME/fixtures/traceback/app" "$ORIG"
	printf '%s\n' '"""A script with an odd name."""' '' '' 'def main():' \
		'    # nothing but a failure' '    raise RuntimeError("odd")  # odd' \
		'' '' 'main()' >"$ORIG/$ODD"
	write_stripper "$FIX/strip.py"
	"$PYTHON" "$FIX/strip.py" "$ORIG" "$STRIPPED"
	transcripts "$ORIG" orig
	transcripts "$STRIPPED" stripped
}

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
}

# The stripped tree's paths as the original's.
as_orig() {
	sed "s|$STRIPPED|$ORIG|g"
}

# A copy of the stripped tree at DIR, its map without the source line, and
# both transcripts with their paths moved there.
copy_without_source() {
	local dir=$1 t
	cp -a "$STRIPPED" "$dir"
	sed -i 2d "$dir/pyprime.linemap"
	for t in uncaught logged; do
		sed "s|$STRIPPED|$dir|g" "$FIX/stripped.$t" >"$t"
	done
}

@test "the stripped tree's tracebacks differ from the original's" {
	grep -q '^source ' "$STRIPPED/pyprime.linemap"
	grep -qxF $'odd\\tname\\\\é.py\t1 4 6 9' "$STRIPPED/pyprime.linemap"
	for t in uncaught logged; do
		run diff <(as_orig <"$FIX/stripped.$t") "$FIX/orig.$t"
		assert_failure 1
	done
	grep -q 'Previous line repeated' "$FIX/orig.uncaught"
	grep -q '^SyntaxError' "$FIX/orig.uncaught"
	grep -q '^  | ' "$FIX/orig.uncaught"
	grep -q '^Stack (most recent call last):' "$FIX/orig.logged"
}

@test "each frame gets the original's line, source line and carets, the map found above the file" {
	for t in uncaught logged; do
		pyprime traceback <"$FIX/stripped.$t" | as_orig >out
		run diff -u "$FIX/orig.$t" out
		assert_success
	done
	pyprime traceback "$FIX/stripped.uncaught" | as_orig >out
	cmp out "$FIX/orig.uncaught"
	pyprime traceback - <"$FIX/stripped.logged" | as_orig >out
	cmp out "$FIX/orig.logged"
}

@test "lines ending in CRLF keep their ends" {
	sed 's/$/\r/' "$FIX/stripped.uncaught" >in
	pyprime traceback in | as_orig >out
	sed 's/$/\r/' "$FIX/orig.uncaught" >expected
	cmp out expected
}

@test "--map with a directory or a file maps a tree deployed elsewhere" {
	for t in uncaught logged; do
		sed "s|$STRIPPED|/srv/deployed/app|g" "$FIX/stripped.$t" >"$t"
	done
	for map in "$STRIPPED" "$STRIPPED/pyprime.linemap"; do
		for t in uncaught logged; do
			pyprime traceback --map "$map" "$t" |
				sed "s|/srv/deployed/app|$ORIG|g" >out
			run diff -u "$FIX/orig.$t" out
			assert_success
		done
	done
	# Without --map there is no map above /srv/deployed/app.
	run pyprime traceback uncaught
	assert_success
	assert_equal "$output" "$(cat uncaught)"
}

@test "--source names the original when the map has none" {
	copy_without_source "$PWD/copy"
	for t in uncaught logged; do
		run --separate-stderr -0 pyprime traceback --source "$ORIG" "$t"
		printf '%s\n' "$output" | sed "s|$PWD/copy|$ORIG|g" >out
		run diff -u "$FIX/orig.$t" out
		assert_success
	done
}

@test "without the original, line numbers are mapped and source lines kept" {
	copy_without_source "$PWD/copy"
	for t in uncaught logged; do
		run --separate-stderr pyprime traceback "$t"
		assert_success
		assert_equal "$stderr" ""
		printf '%s\n' "$output" | sed "s|$PWD/copy|$ORIG|g" >out
		# The frame lines are the original's, every other line the input's.
		assert_equal "$(grep '^ *|* *File "' out)" "$(grep '^ *|* *File "' "$FIX/orig.$t")"
		assert_equal "$(grep -v '^ *|* *File "' out)" \
			"$(grep -v '^ *|* *File "' "$t" | sed "s|$PWD/copy|$ORIG|g")"
	done
	# An original that is not there is worth a warning only when named.
	run --separate-stderr pyprime traceback --source "$PWD/nowhere" uncaught
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | LC_ALL=C sort -u)" \
		"pyprime: warning: cannot read '$PWD/nowhere/$ODD': No such file or directory
pyprime: warning: cannot read '$PWD/nowhere/run.py': No such file or directory
pyprime: warning: cannot read '$PWD/nowhere/shop/broken.py': No such file or directory
pyprime: warning: cannot read '$PWD/nowhere/shop/errors.py': No such file or directory
pyprime: warning: cannot read '$PWD/nowhere/shop/sub/deep.py': No such file or directory"
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 5 ]
}

@test "the longest path a map lists wins, and the nearest map decides" {
	mkdir -p t/a/b
	printf 'pyprime-linemap 1\na/mod.py\t5\nb/a/mod.py\t7\nmod.py\t9\n' >map
	printf '  File "%s", line 1, in f\n' /x/b/a/mod.py /x/c/a/mod.py /y/mod.py \
		/y/xmod.py b/a/mod.py mod.py /x/b/a/mod.py/ >in
	run pyprime traceback --map map in
	assert_success
	assert_output '  File "/x/b/a/mod.py", line 7, in f
  File "/x/c/a/mod.py", line 5, in f
  File "/y/mod.py", line 9, in f
  File "/y/xmod.py", line 1, in f
  File "b/a/mod.py", line 7, in f
  File "mod.py", line 9, in f
  File "/x/b/a/mod.py/", line 1, in f'
	printf 'pyprime-linemap 1\na/b/m.py\t3:2\n' >t/pyprime.linemap
	printf 'pyprime-linemap 1\nx.py\t10\n' >t/a/pyprime.linemap
	printf '  File "%s", line 2, in f\n' "$PWD/t/a/b/m.py" t/a/b/m.py >in
	printf '  File "%s", line 1, in f\n' "$PWD/t/a/x.py" >>in
	run pyprime traceback in
	assert_success
	assert_output "  File \"$PWD/t/a/b/m.py\", line 2, in f
  File \"t/a/b/m.py\", line 2, in f
  File \"$PWD/t/a/x.py\", line 10, in f"
	rm t/a/pyprime.linemap
	run -0 pyprime traceback in
	assert_output "  File \"$PWD/t/a/b/m.py\", line 4, in f
  File \"t/a/b/m.py\", line 4, in f
  File \"$PWD/t/a/x.py\", line 1, in f"
}

@test "a malformed map is reported with its file and line, and fails" {
	printf '  File "%s", line 1, in f\n    x\n' "$PWD/m.py" "$PWD/n.py" >in
	check() {
		printf "$1" >pyprime.linemap
		run --separate-stderr pyprime traceback --map . in
		assert_failure 1
		assert_equal "$stderr" "pyprime: ./pyprime.linemap:$2"
		assert_output ""
		# Found on the way up: the text still goes through, once.
		run --separate-stderr pyprime traceback in
		assert_failure 1
		assert_equal "$stderr" "pyprime: $PWD/pyprime.linemap:$2"
		assert_output "$(cat in)"
	}
	check '' '1: not a pyprime line map'
	check 'pyprime-linemap 2\n' "1: unsupported line map version '2'"
	check 'pyprime-linemap 1\nm.py\t1:2 0:2\n' "2: bad run '0:2'"
	check 'pyprime-linemap 1\nm.py\t1:2 2\n' "2: bad run '2'"
	check 'pyprime-linemap 1\nm.py\t1:0\n' "2: bad run '1:0'"
	check 'pyprime-linemap 1\nm.py\t1 \n' "2: bad run ''"
	check 'pyprime-linemap 1\nm.py\t2147483647:2\n' "2: bad run '2147483647:2'"
	check 'pyprime-linemap 1\nm.py\t1:99999999999\n' "2: bad run '1:99999999999'"
	check 'pyprime-linemap 1\nsource /o\nn.py\t1\nm.py\t1\n' "4: path 'm.py' out of order"
	check 'pyprime-linemap 1\nm.py\t1\nm.py\t1\n' "3: path 'm.py' given twice"
	check 'pyprime-linemap 1\nm.py 1\n' '2: no tab after the path'
	check 'pyprime-linemap 1\nm.py\t1\nsource /o\n' "3: 'source' must be line 2"
	check 'pyprime-linemap 1\nsource o\n' "2: bad source 'o'"
	check 'pyprime-linemap 1\n../m.py\t1\n' "2: bad path '../m.py'"
	check 'pyprime-linemap 1\n/m.py\t1\n' "2: bad path '/m.py'"
	check 'pyprime-linemap 1\na//m.py\t1\n' "2: bad path 'a//m.py'"
	check 'pyprime-linemap 1\nm\\x.py\t1\n' "2: bad path 'm\\x.py'"
	check 'pyprime-linemap 1\nm\\000.py\t1\n' "2: bad path 'm\\000.py'"
	check 'pyprime-linemap 1\nm.py\t1' '2: no newline at the end'
}

@test "text that is not a traceback of stripped code goes through byte for byte" {
	mkdir -p t
	printf 'pyprime-linemap 1\nm.py\t3:2\n' >t/pyprime.linemap
	{
		printf 'log line\r\nbinary \001\377\000 bytes\n\n'
		printf '  File "%s", line %s, in f\n' "$PWD/t/m.py" 3 "$PWD/t/m.py" 0 \
			"$PWD/t/m.py" 99999999999 "$PWD/t/other.py" 1 "$PWD/u/m.py" 1 \
			'<string>' 1
		printf '  File "%s", line 1 in f\n' "$PWD/t/other.py"
		printf '  File "%s", line one, in f\n' "$PWD/t/m.py"
		printf 'Traceback (most recent call last):\n  File "x.py", line 2, in <module>\n'
		printf '    raise ValueError  # c\n    ^^^^\nValueError\n'
		printf '  File "%s", line 2, in f' "$PWD/t/m.py.bak"
	} >in
	run pyprime traceback in
	assert_success
	pyprime traceback in >out
	cmp in out
	: >empty
	pyprime traceback empty >out
	cmp empty out
}

@test "faulthandler's frames are mapped too" {
	mkdir -p t
	printf 'pyprime-linemap 1\nm.py\t3:2\n' >t/pyprime.linemap
	printf 'Current thread 0x00007f (most recent call first):\n  File "%s", line 2 in f\n' \
		"$PWD/t/m.py" >in
	run -0 pyprime traceback in
	assert_output "Current thread 0x00007f (most recent call first):
  File \"$PWD/t/m.py\", line 4 in f"
}

@test "an unreadable input or --map fails, a bad command line is a usage error" {
	run --separate-stderr pyprime traceback nowhere
	assert_failure 1
	assert_equal "$stderr" "pyprime: cannot open 'nowhere': No such file or directory"
	run --separate-stderr pyprime traceback --map nowhere /dev/null
	assert_failure 1
	assert_equal "$stderr" "pyprime: cannot open 'nowhere': No such file or directory"
	mkdir d
	run --separate-stderr pyprime traceback d
	assert_failure 1
	assert_equal "$stderr" "pyprime: cannot read 'd': Is a directory"
	for args in "a b" "--bogus" "--map" "--source" "-x"; do
		run --separate-stderr pyprime traceback $args
		assert_failure 2
		assert_output ""
		[[ "${stderr%%$'\n'*}" =~ ^pyprime:\ [a-z\'-] ]] || fail "'$args': $stderr"
		assert_equal "$(sed -n 2p <<<"$stderr")" \
			'usage: pyprime traceback [--map path] [--source dir] [file]'
	done
	run --separate-stderr pyprime traceback --help
	assert_success
	assert_line --index 0 'usage: pyprime traceback [--map path] [--source dir] [file]'
	assert_equal "$stderr" ""
}
