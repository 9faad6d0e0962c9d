"""The reference the tests hold pyprime to: /usr/bin/python3's own py_compile.

  pyref.py one SRC CFILE LEVEL MODE [DFILE]
      write what py_compile writes for SRC to CFILE (exit 1 if it fails)
  pyref.py tree ROOT OUT LEVEL MODE [DPREFIX]
      compile every .py under ROOT (as ./rel/path.py, from ROOT) with
      py_compile into OUT/rel/path.pyc; with DPREFIX, record DPREFIX/rel/path.py;
      names of files py_compile can't compile go to OUT/.failed
  pyref.py errors ROOT
      print "rel/path.py:LINE" for each .py under ROOT that compile() rejects
      (LINE is 0 when the error has none)
  pyref.py compare ROOT OUT LEVEL [legacy]
      check that pyprime's pycs of level LEVEL under ROOT are byte-identical
      to the reference in OUT, and that there are no others; when $PYPRIME
      is built for another CPU than this Python (run under qemu-user), a NaN
      constant may differ in its sign bit, and only there
"""
import math
import multiprocessing
import os
import py_compile
import struct
import sys

TAG = sys.implementation.cache_tag


def mode(name):
    return py_compile.PycInvalidationMode[name.upper().replace('-', '_')]


def sources(root):
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        dirnames[:] = sorted(d for d in dirnames if d != b'__pycache__')
        for name in sorted(filenames):
            if name.endswith(b'.py'):
                path = os.path.join(dirpath, name)
                if os.path.isfile(path):
                    yield os.path.relpath(path, os.fsencode(root))


def one(src, cfile, level, mode_name, dfile=None):
    try:
        py_compile.compile(src, cfile=cfile, dfile=dfile, doraise=True,
                           optimize=int(level),
                           invalidation_mode=mode(mode_name))
    except py_compile.PyCompileError:
        return False
    return True


def _tree_job(args):
    rel, out, level, mode_name, dprefix = args
    src = os.fsdecode(os.path.join(b'.', rel))
    dfile = os.fsdecode(os.path.join(os.fsencode(dprefix), rel)) if dprefix else None
    cfile = os.path.join(out, rel) + b'c'
    os.makedirs(os.path.dirname(cfile), exist_ok=True)
    return None if one(src, os.fsdecode(cfile), level, mode_name, dfile) else rel


def tree(root, out, level, mode_name, dprefix=None):
    out = os.path.abspath(os.fsencode(out))
    os.chdir(root)
    jobs = [(rel, out, level, mode_name, dprefix) for rel in sources('.')]
    with multiprocessing.Pool(len(os.sched_getaffinity(0))) as pool:
        failed = [r for r in pool.map(_tree_job, jobs, chunksize=16) if r]
    with open(os.path.join(out, b'.failed'), 'wb') as f:
        f.write(b''.join(r + b'\n' for r in failed))
    print(f'{len(jobs) - len(failed)} compiled, {len(failed)} failed')


def pyc_path(root, rel, level, legacy):
    if legacy:
        return os.path.join(root, rel) + b'c'
    head, tail = os.path.split(rel)
    opt = f'.opt-{level}' if int(level) else ''
    name = tail[:-3] + f'.{TAG}{opt}.pyc'.encode()
    return os.path.join(root, head, b'__pycache__', name)


def elf_machine(path):
    with open(path, 'rb') as f:
        head = f.read(20)
    return head[18:20] if head[:4] == b'\x7fELF' else None


def other_cpu():
    pyprime = os.environ.get('PYPRIME')
    return bool(pyprime) and elf_machine(pyprime) != elf_machine(sys.executable)


def nan_signs_only(got, want):
    """Whether GOT and WANT differ only in the sign bits of NaN doubles:
    CPython folds inf * 0 and the like to the CPU's default NaN, negative
    on x86, positive on ARM."""
    if len(got) != len(want):
        return False
    for i, (a, b) in enumerate(zip(got, want)):
        if a == b:
            continue
        if a ^ b != 0x80 or i < 7:
            return False
        if not math.isnan(struct.unpack('<d', want[i - 7:i + 1])[0]):
            return False
    return True


def compare(root, out, level, legacy=False):
    root = os.fsencode(root)
    out = os.fsencode(out)
    with open(os.path.join(out, b'.failed'), 'rb') as f:
        failed = set(f.read().splitlines())
    same = bad = nan = 0
    cross = other_cpu()
    for rel in sources(root):
        mine = pyc_path(root, rel, level, legacy)
        if rel in failed:
            if os.path.lexists(mine):
                print(f'{os.fsdecode(mine)}: exists, py_compile failed')
                bad += 1
            continue
        with open(os.path.join(out, rel) + b'c', 'rb') as f:
            want = f.read()
        try:
            with open(mine, 'rb') as f:
                got = f.read()
        except OSError as e:
            print(f'{os.fsdecode(mine)}: {e.strerror}')
            bad += 1
            continue
        if got != want and cross and nan_signs_only(got, want):
            print(f'{os.fsdecode(mine)}: the sign of a NaN is this CPU\'s')
            nan += 1
        elif got != want:
            print(f'{os.fsdecode(mine)}: differs from py_compile')
            bad += 1
        else:
            same += 1
    if nan:
        print(f'{nan} identical but for the sign of a NaN')
    print(f'{same} identical, {bad} wrong')
    return bad == 0 and same + nan > 0


def errors(root):
    os.chdir(root)
    for rel in sources('.'):
        with open(rel, 'rb') as f:
            data = f.read()
        try:
            compile(data, os.fsdecode(rel), 'exec', dont_inherit=True)
        except SyntaxError as e:
            print(f'{os.fsdecode(rel)}:{e.lineno or 0}')
        except (ValueError, UnicodeError):
            print(f'{os.fsdecode(rel)}:0')
    return True


def main(argv):
    cmd = argv[1]
    if cmd == 'one':
        ok = one(*argv[2:])
    elif cmd == 'tree':
        ok = tree(*argv[2:]) or True
    elif cmd == 'errors':
        ok = errors(argv[2])
    elif cmd == 'compare':
        ok = compare(argv[2], argv[3], argv[4], len(argv) > 5)
    else:
        sys.exit(__doc__)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main(sys.argv)
