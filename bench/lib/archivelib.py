"""Helpers for bench/archive: which of the packages apt would install go in
first, and listings of a chroot to compare.

    archivelib.py split ARCHIVES INSTALLED CLOSURE SET
    archivelib.py pycs ROOT
    archivelib.py files ROOT EXCLUDE
    archivelib.py median SECONDS...
    archivelib.py mirror SUITE


Runs under /usr/bin/python3 -B with the standard library only.
"""

import hashlib
import os
import re
import statistics
import subprocess
import sys


def die(msg):
    sys.stderr.write("archivelib: %s\n" % msg)
    sys.exit(2)


def words(path):
    with open(path) as f:
        return f.read().split()


# --- split -------------------------------------------------------------------

def control(deb):
    """The fields of DEB's control file that the split needs."""
    out = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Depends",
                          "Pre-Depends", "Provides"],
                         stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    fields, key = {}, None
    for line in out.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def names(field):
    """Dependency groups of a Depends-like field, each a list of package
    names (versions and architecture qualifiers dropped)."""
    groups = []
    for group in field.split(","):
        alts = []
        for alt in group.split("|"):
            alt = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip()
            if alt:
                alts.append(alt.split(":")[0])
        if alts:
            groups.append(alts)
    return groups


def split(archives, installed_file, closure_file, set_file):
    """Of the packages apt would install for the set (CLOSURE, "name
    version" lines) print, one a line, "first NAME" for those that can be
    installed and configured before any package of the set: every
    dependency of theirs is met by an installed package (INSTALLED) or by
    another package that goes first; "with NAME" for the others of the
    closure outside the set, which need a package of the set; and
    "deb NAME FILE" for every package of the closure, FILE its .deb in
    ARCHIVES."""
    installed = set(words(installed_file))
    the_set = set(words(set_file))
    closure = {}
    with open(closure_file) as f:
        for line in f:
            name, version = line.split()
            closure[name] = version
    missing = the_set - set(closure)
    if missing:
        die("apt would not install %s" % " ".join(sorted(missing)))

    debs = {}
    for fname in os.listdir(archives):
        if fname.endswith(".deb"):
            debs.setdefault(fname.split("_")[0], []).append(fname)
    files, deps, provides = {}, {}, {}
    for name, version in closure.items():
        # File names quote the epoch's colon as %3a.
        want = "%s_%s_" % (name, version.replace(":", "%3a"))
        found = [f for f in debs.get(name, []) if f.startswith(want)]
        if len(found) != 1:
            die("no single .deb for %s %s in %s" % (name, version, archives))
        files[name] = found[0]
        fields = control(os.path.join(archives, found[0]))
        deps[name] = names(fields.get("Pre-Depends", "")) + \
            names(fields.get("Depends", ""))
        for group in names(fields.get("Provides", "")):
            for p in group:
                provides.setdefault(p, set()).add(name)

    def satisfiers(alt):
        return ({alt} & set(closure)) | provides.get(alt, set())

    rest = set(closure) - the_set
    needs_set = set()
    changed = True
    while changed:
        changed = False
        for name in sorted(rest - needs_set):
            for group in deps[name]:
                if any(a in installed for a in group):
                    continue
                sat = set()
                for a in group:
                    sat |= satisfiers(a)
                if sat and sat <= (the_set | needs_set):
                    needs_set.add(name)
                    changed = True
                    break
    for name in sorted(rest - needs_set):
        print("first", name)
    for name in sorted(needs_set):
        print("with", name)
    for name in sorted(closure):
        print("deb", name, files[name])


# --- listings ------------------------------------------------------------------

def pycs(root):
    """Every .pyc under ROOT/usr, "SHA256 PATH" a line, sorted by path."""
    out = []
    for d, _, fnames in os.walk(os.path.join(root, "usr")):
        for fname in fnames:
            if fname.endswith(".pyc"):
                p = os.path.join(d, fname)
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                out.append((p[len(root):], h))
    for p, h in sorted(out):
        print(h, p)


def files(root, exclude_file):
    """Everything under ROOT/usr and ROOT/var/lib/pyprime but the paths in
    EXCLUDE: "TYPE PATH" a line (f file, d directory, l symlink, ...),
    sorted."""
    exclude = set()
    with open(exclude_file) as f:
        exclude = {line.rstrip("\n") for line in f if line.strip()}
    out = []
    for top in ("usr", "var/lib/pyprime"):
        start = os.path.join(root, top)
        if not os.path.isdir(start):
            continue
        out.append(("d", "/" + top))
        for d, dnames, fnames in os.walk(start):
            for n in dnames + fnames:
                p = os.path.join(d, n)
                rel = p[len(root):]
                if rel in exclude:
                    continue
                if os.path.islink(p):
                    t = "l"
                elif os.path.isdir(p):
                    t = "d"
                elif os.path.isfile(p):
                    t = "f"
                else:
                    t = "o"
                out.append((t, rel))
    for t, p in sorted(out, key=lambda x: x[1]):
        print(t, p)


def mirror(suite):
    """The first URI of the host's apt sources (one-line or deb822) that
    serves SUITE's binary packages, or nothing."""
    paths = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        paths += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".list"):
            for line in text.splitlines():
                line = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
                if len(line) >= 3 and line[0] == "deb" and line[2] == suite:
                    print(line[1].rstrip("/"))
                    return
        elif path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields, key = {}, None
                for line in stanza.splitlines():
                    if line.startswith("#"):
                        continue
                    if line[:1] in (" ", "\t") and key:
                        fields[key] += " " + line.strip()
                    elif ":" in line:
                        key, _, value = line.partition(":")
                        key = key.strip().lower()
                        fields[key] = value.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                if "deb" in fields.get("types", "").split() and \
                        suite in fields.get("suites", "").split():
                    print(fields.get("uris", "").split()[0].rstrip("/"))
                    return


def median(values):
    print("%.3f" % statistics.median(float(v) for v in values))


def main(argv):
    if len(argv) == 6 and argv[1] == "split":
        split(*argv[2:])
    elif len(argv) == 3 and argv[1] == "pycs":
        pycs(argv[2])
    elif len(argv) == 4 and argv[1] == "files":
        files(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "mirror":
        mirror(argv[2])
    elif len(argv) >= 3 and argv[1] == "median":
        median(argv[2:])
    else:
        die("usage: see the top of %s" % argv[0])


if __name__ == "__main__":
    main(sys.argv)
