"""Check a tree that "pyprime strip" wrote against the tree it came from,
with nothing of pyprime's own: the standard library's compiler, tokenizer,
ast and dis only.

  stripcheck.py [--docstrings] [--comments] [--blank-lines] [--keep-lines]
                [--force-docstrings] [--no-linemap] [-j N] ORIG STRIPPED

The flags say what pyprime strip was asked to do (none of the first three:
all of them).  Every .py file under ORIG that this interpreter compiles
must be in STRIPPED at the same relative path, and:

  code        compiled with optimize=2 (0 when docstrings were kept), the
              code objects are the same but for line numbers: the same
              instructions with NOPs, EXTENDED_ARGs and jumps to the next
              instruction left out (jump targets and exception handlers
              as instruction indices),
              constants (code objects recursively), names, variables,
              flags, argument counts, stack size
  comments    no comment is left but a shebang, a coding comment alone on
              line 1 or 2, and pragmas (# type:, # noqa, # pragma:,
              # fmt:, # pylint:, # mypy:, # isort:, # pyright:, # nosec,
              # flake8:, # ruff:, in any case); the shebang, the PEP 263
              coding cookie and every pragma are still there
  blank lines no whitespace-only line outside a string or after a
              backslash continuation (not with --keep-lines)
  docstrings  none left (optimize=0), unless the original has __doc__ in it
              and --force-docstrings was not given; if its code reads
              __doc__, every docstring is kept
  keep lines  as many lines as the original, and every token on the line
              and column it had (an added "pass" where the docstring was;
              on the line where a docstring ended, what followed it moves
              left)
  tokens      the tokenize module reads the result, if it read the
              original
  line map    STRIPPED/pyprime.linemap (unless --no-linemap; with
              --keep-lines there need be none) gives each line of every
              file that changed and is not empty a source line, in order
              (1, 2, 3... with --keep-lines), and each token of a line is
              on its source line (its text is, as far as that line goes)

Prints one line per bad file, "rel/path.py: reason", then a summary line;
exits 1 if a file is bad, 2 on a usage error.  Runs under /usr/bin/python3.
"""
import argparse
import ast
import bisect
import collections
import dis
import io
import multiprocessing
import opcode
import os
import re
import sys
import tokenize
import warnings

NOP = opcode.opmap['NOP']
EXTENDED_ARG = opcode.opmap['EXTENDED_ARG']
JUMP_FORWARD = opcode.opmap['JUMP_FORWARD']
HASJREL = frozenset(opcode.hasjrel)
HASJABS = frozenset(opcode.hasjabs)
BACKWARD = frozenset(op for op in HASJREL if 'JUMP_BACKWARD' in opcode.opname[op])
NOT_DEFS = {'<lambda>', '<listcomp>', '<setcomp>', '<dictcomp>', '<genexpr>'}
CO_NEWLOCALS = 0x2

# PEP 263, as the tokenize module reads it.
COOKIE_RE = re.compile(rb'^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+')
BLANK_RE = re.compile(rb'^[ \t\f]*(?:[#\r\n]|$)')
CODING_RE = re.compile(r'coding[:=]')
# What tools read, in any case, right after the '#'.
PRAGMA = (rb'#[ \t\f]*(?:type:|noqa|pragma:|fmt:|pylint:|mypy:|isort:|'
          rb'pyright:|nosec|flake8:|ruff:)')
PRAGMA_RE = re.compile(PRAGMA.decode(), re.I)
PRAGMA_B = re.compile(PRAGMA, re.I)
NON_TOKENS = {tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE,
              tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}

opts = None


class Bad(Exception):
    pass


# --- code objects ----------------------------------------------------------

def instructions(code):
    """CODE's instructions as [opcode, arg] without NOPs and EXTENDED_ARGs,
    jump targets as indices into that list, and each one's exception
    handler as (index, depth, lasti) or None.  A JUMP_FORWARD to the next
    instruction goes too: the compiler drops one unless a NOP kept for its
    line sits in between."""
    insns = []
    offsets = []
    index_of = {}
    dropped = []
    jumps = []
    for off, op, arg in dis._unpack_opargs(code.co_code):
        if op == NOP or op == EXTENDED_ARG:
            dropped.append(off)
            continue
        i = len(insns)
        for d in dropped:
            index_of[d] = i
        dropped.clear()
        index_of[off] = i
        if op in HASJREL:
            arg = off + 2 + 2 * (-arg if op in BACKWARD else arg)
            jumps.append(i)
        elif op in HASJABS:
            arg = 2 * arg
            jumps.append(i)
        insns.append([op, arg])
        offsets.append(off)
    for d in dropped + [len(code.co_code)]:
        index_of[d] = len(insns)
    for i in jumps:
        t = insns[i][1]
        insns[i][1] = ('->', index_of[t]) if t in index_of else ('offset', t)
    handlers = [None] * len(insns)
    for e in dis._parse_exception_table(code):
        h = (index_of.get(e.target, ('offset', e.target)), e.depth, e.lasti)
        for i in range(bisect.bisect_left(offsets, e.start),
                       bisect.bisect_left(offsets, e.end)):
            handlers[i] = h
    while True:
        drop = {i for i, (op, arg) in enumerate(insns)
                if op == JUMP_FORWARD and arg == ('->', i + 1)}
        if not drop:
            return insns, handlers
        # new[i]: where instruction i goes, or the one after it if dropped.
        new, kept = [], 0
        for i in range(len(insns) + 1):
            new.append(kept)
            kept += i not in drop
        insns = [[op, ('->', new[arg[1]]) if isinstance(arg, tuple) and
                  arg[0] == '->' else arg]
                 for i, (op, arg) in enumerate(insns) if i not in drop]
        handlers = [h and ((new[h[0]],) + h[1:] if isinstance(h[0], int) else h)
                    for i, h in enumerate(handlers) if i not in drop]


def show(insn):
    op, arg = insn
    return f'{opcode.opname[op]} {arg}' if arg is not None else opcode.opname[op]


def const_key(c):
    """A comparable stand-in for a constant other than a code object."""
    if isinstance(c, tuple):
        return ('tuple', tuple(const_key(x) for x in c))
    if isinstance(c, frozenset):
        return ('frozenset', tuple(sorted(repr(const_key(x)) for x in c)))
    return (type(c).__name__, repr(c))


FIELDS = ('co_name', 'co_qualname', 'co_argcount', 'co_posonlyargcount',
          'co_kwonlyargcount', 'co_nlocals', 'co_stacksize', 'co_flags',
          'co_names', 'co_varnames', 'co_freevars', 'co_cellvars')


def compare_code(a, b):
    """Raise Bad where code objects A and B differ but for line numbers."""
    where = a.co_qualname
    for f in FIELDS:
        if getattr(a, f) != getattr(b, f):
            raise Bad(f'{where}: {f} differs: {getattr(a, f)!r} vs {getattr(b, f)!r}')
    if a.co_code != b.co_code or a.co_exceptiontable != b.co_exceptiontable:
        ia, ha = instructions(a)
        ib, hb = instructions(b)
        for n, (x, y) in enumerate(zip(ia, ib)):
            if x != y:
                raise Bad(f'{where}: instruction {n} differs: {show(x)} vs {show(y)}')
        if len(ia) != len(ib):
            raise Bad(f'{where}: {len(ia)} instructions vs {len(ib)}')
        for n, (x, y) in enumerate(zip(ha, hb)):
            if x != y:
                raise Bad(f'{where}: exception handler of instruction {n} differs: {x} vs {y}')
    if len(a.co_consts) != len(b.co_consts):
        raise Bad(f'{where}: {len(a.co_consts)} constants vs {len(b.co_consts)}')
    for n, (x, y) in enumerate(zip(a.co_consts, b.co_consts)):
        xcode, ycode = hasattr(x, 'co_code'), hasattr(y, 'co_code')
        if xcode and ycode:
            compare_code(x, y)
        elif xcode or ycode or const_key(x) != const_key(y):
            raise Bad(f'{where}: constant {n} differs: {x!r} vs {y!r}')


def code_objects(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, 'co_code'):
            yield from code_objects(c)


def docstrings_left(code):
    """The qualified names of the bodies in CODE that have a docstring: a
    module or class body that stores __doc__, a function whose first
    constant is a string (the compiler puts the docstring or None there)."""
    for c in code_objects(code):
        if not c.co_flags & CO_NEWLOCALS:
            if '__doc__' in c.co_names:
                yield c.co_qualname
        elif c.co_name not in NOT_DEFS and c.co_consts and \
                isinstance(c.co_consts[0], str):
            yield c.co_qualname


DOC_BODIES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def all_docstrings(data):
    return [ast.get_docstring(n, clean=False) for n in ast.walk(ast.parse(data))
            if isinstance(n, DOC_BODIES)]


# --- tokens ------------------------------------------------------------------

def tokens(data, which):
    try:
        return list(tokenize.tokenize(io.BytesIO(data).readline))
    except (tokenize.TokenError, SyntaxError) as e:
        raise Bad(f'the {which} does not tokenize (tokenize module): {e}')


def lines_of(data):
    lines = data.split(b'\n')
    if lines[-1] == b'':
        lines.pop()
    return lines


def kept_comments(toks, lines, strict):
    """The comments among TOKS that stripping keeps.  STRICT: only a coding
    cookie that Python reads (PEP 263), else also any "coding:" comment
    alone on line 1 or 2."""
    line1_blank = bool(lines) and BLANK_RE.match(lines[0].lstrip(b'\xef\xbb\xbf'))
    kept = []
    for t in toks:
        if t.type != tokenize.COMMENT:
            continue
        row, col = t.start
        if row == 1 and col == 0 and t.string.startswith('#!'):
            kept.append(t)
        elif strict and (row == 1 or row == 2 and line1_blank) and \
                COOKIE_RE.match(lines[row - 1].lstrip(b'\xef\xbb\xbf')):
            kept.append(t)
        elif not strict and row <= 2 and not t.line[:col].strip(' \t\f\ufeff') \
                and CODING_RE.search(t.string):
            kept.append(t)
        elif PRAGMA_RE.match(t.string):
            kept.append(t)
    return kept


def check_comments(orig, otoks, olines, stoks, slines):
    kept = kept_comments(stoks, slines, False)
    allowed = {t.start for t in kept}
    for t in stoks:
        if t.type == tokenize.COMMENT and t.start not in allowed:
            raise Bad(f'line {t.start[0]}: comment left: {t.string}')
    if otoks is None:
        # Without a pragma anywhere, only the first two lines can have a
        # comment to keep: the tokens up to there do (up to an error that
        # is only the end of those lines).
        if PRAGMA_B.search(orig):
            otoks = tokens(orig, 'original')
        else:
            otoks = []
            try:
                for t in tokenize.tokenize(io.BytesIO(b'\n'.join(olines[:2])).readline):
                    otoks.append(t)
            except (tokenize.TokenError, SyntaxError):
                pass
    want = collections.Counter(t.string.rstrip()
                               for t in kept_comments(otoks, olines, True))
    want.subtract(t.string.rstrip() for t in kept)
    lost = sorted(c for c, n in want.items() if n > 0)
    if lost:
        raise Bad(f'comment lost: {lost[0]}')


def check_blank_lines(stoks, slines):
    in_string = set()
    comment_rows = set()
    for t in stoks:
        if t.type == tokenize.STRING and t.end[0] > t.start[0]:
            in_string.update(range(t.start[0] + 1, t.end[0] + 1))
        elif t.type == tokenize.COMMENT:
            comment_rows.add(t.start[0])
    for n, line in enumerate(slines, 1):
        if n in in_string or line.strip(b' \t\f\r'):
            continue
        # A line after a backslash continuation is part of that line.
        if n > 1 and slines[n - 2].rstrip(b'\r').endswith(b'\\') and \
                n - 1 not in comment_rows:
            continue
        raise Bad(f'line {n} is blank')


def check_positions(otoks, olines, stoks, slines):
    """Every token where it was.  On a line where a docstring ended, what
    followed it ("; x = 1") moves left, to where the statement began."""
    if len(olines) != len(slines):
        raise Bad(f'{len(slines)} lines, the original has {len(olines)}')
    at = {t.start: t for t in otoks if t.type not in NON_TOKENS}
    sat = {t.start: t for t in stoks if t.type not in NON_TOKENS}
    on_row = collections.defaultdict(list)
    for o in otoks:
        on_row[o.start[0]].append(o)
    moved = {}
    for o in otoks:
        s = sat.get(o.start)
        if o.type == tokenize.STRING and (s is None or s.string != o.string):
            moved[o.end[0]] = on_row[o.end[0]]
    for t in stoks:
        if t.type in NON_TOKENS:
            continue
        o = at.get(t.start)
        if o is not None and o.type == t.type and o.string == t.string:
            continue
        if opts.docstrings and t.string == 'pass' and \
                (o is None or o.type == tokenize.STRING):
            continue
        row, col = t.start
        if any(x.type == t.type and x.string == t.string and x.start[1] >= col
               for x in moved.get(row, ())):
            continue
        raise Bad(f'line {row} column {col}: {t.string!r} was not there')


def count_lines(data):
    """Lines as CPython counts them: "\\r\\n", "\\r" and "\\n" end one; a
    last partial line counts."""
    n = data.count(b'\n') + data.count(b'\r') - data.count(b'\r\n')
    return n + (not data.endswith((b'\n', b'\r')) if data else 0)


ESCAPE_RE = re.compile(rb'\\(\\|t|n|[0-7]{3})')


def unescape(m):
    c = m.group(1)
    return {b'\\': b'\\', b't': b'\t', b'n': b'\n'}.get(c) or bytes([int(c, 8)])


def load_linemap(path):
    """pyprime.linemap (see src/linemap.h) as {path: [source line, ...]}."""
    with open(path, 'rb') as f:
        lines = f.read().split(b'\n')
    if lines[0] != b'pyprime-linemap 1' or lines[-1] != b'':
        raise ValueError('not a pyprime-linemap 1 file')
    m = {}
    for line in lines[1:-1]:
        if line.startswith(b'source '):
            continue
        path, _, runs = line.partition(b'\t')
        src = []
        for run in runs.split():
            start, _, count = run.partition(b':')
            src.extend(range(int(start), int(start) + int(count or 1)))
        m[ESCAPE_RE.sub(unescape, path)] = src
    return m


def check_linemap(rel, orig, stripped, stoks):
    """The line map's entry for REL: a source line for every line, in
    order, and on each line only tokens that are on its source line."""
    src = opts.linemap.get(rel)
    if src is None:
        # Only what changed is listed, and an empty file need not be.
        if stripped == orig or not stripped:
            return
        raise Bad('not in pyprime.linemap')
    n, norig = count_lines(stripped), count_lines(orig)
    if len(src) != n:
        raise Bad(f'pyprime.linemap has {len(src)} lines, the file {n}')
    for i, s in enumerate(src):
        if not 1 <= s <= norig or i and s <= src[i - 1]:
            raise Bad(f'pyprime.linemap: line {i + 1} from line {s}')
    if opts.keep_lines and src != list(range(1, n + 1)):
        raise Bad('pyprime.linemap moves lines')
    if b'\r' in orig.replace(b'\r\n', b'') + stripped.replace(b'\r\n', b''):
        return  # the tokenize module counts lines otherwise
    enc, _ = tokenize.detect_encoding(io.BytesIO(orig).readline)
    text = orig.decode(enc).split('\n')
    for t in stoks:
        row = t.start[0]
        if t.type in NON_TOKENS or opts.docstrings and t.string == 'pass' or \
                t.string.partition('\n')[0] in text[src[row - 1] - 1]:
            continue
        raise Bad(f'line {row}: {t.string!r} is not on line {src[row - 1]}'
                  ' that pyprime.linemap gives')


# --- one file ----------------------------------------------------------------

def check_file(rel):
    """Check one file: None if the original does not compile, else a list
    of what is wrong with it (empty when it is right)."""
    name = os.fsdecode(rel)
    with open(os.path.join(opts.orig, rel), 'rb') as f:
        orig = f.read()
    level = 2 if opts.docstrings else 0
    try:
        ocode = compile(orig, name, 'exec', dont_inherit=True, optimize=level)
    except (SyntaxError, ValueError):
        return None
    try:
        with open(os.path.join(opts.stripped, rel), 'rb') as f:
            stripped = f.read()
    except OSError as e:
        return [e.strerror]
    try:
        scode = compile(stripped, name, 'exec', dont_inherit=True, optimize=level)
    except (SyntaxError, ValueError) as e:
        return [f'does not compile: {type(e).__name__}: {e}']
    bad = []

    def check(f, *args):
        try:
            f(*args)
        except Bad as e:
            bad.append(str(e))

    check(compare_code, ocode, scode)
    if opts.docstrings:
        check(check_docstrings, orig, ocode, stripped)
    # What tools built on the tokenize module (inspect, linters) read must
    # still tokenize, if the original did.
    olines, slines = lines_of(orig), lines_of(stripped)
    try:
        stoks = tokens(stripped, 'result')
        otoks = tokens(orig, 'original') if opts.keep_lines else None
    except Bad as e:
        try:
            tokens(orig, 'original')
        except Bad:
            return bad
        return bad + [str(e)]
    if opts.comments:
        check(check_comments, orig, otoks, olines, stoks, slines)
    if opts.blank_lines and not opts.keep_lines:
        check(check_blank_lines, stoks, slines)
    if opts.keep_lines:
        check(check_positions, otoks, olines, stoks, slines)
    if opts.linemap is not None:
        check(check_linemap, rel, orig, stripped, stoks)
    return bad


def check_docstrings(orig, ocode, stripped):
    reads_doc = any('__doc__' in c.co_names for c in code_objects(ocode))
    if reads_doc and not opts.force_docstrings:
        if all_docstrings(orig) != all_docstrings(stripped):
            raise Bad('the code reads __doc__ but docstrings were stripped')
        return
    if b'__doc__' in orig and not opts.force_docstrings:
        return
    if b'__doc__' in stripped:
        # Code that sets __doc__ itself looks like a docstring in the
        # code objects: ask the syntax tree.
        tree = ast.parse(stripped)
        for n in ast.walk(tree):
            if isinstance(n, DOC_BODIES) and \
                    ast.get_docstring(n, clean=False) is not None:
                raise Bad(f'line {n.body[0].lineno}: docstring left')
        return
    code = compile(stripped, 'stripped', 'exec', dont_inherit=True, optimize=0)
    for where in docstrings_left(code):
        raise Bad(f'{where}: docstring left')


# --- the trees ---------------------------------------------------------------

def sources(root):
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        dirnames[:] = sorted(d for d in dirnames if d != b'__pycache__')
        for name in sorted(filenames):
            if name.endswith(b'.py'):
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    yield os.path.relpath(path, os.fsencode(root))


def init(o):
    global opts
    opts = o
    warnings.simplefilter('ignore')
    sys.setrecursionlimit(10000)


def job(rel):
    return rel, check_file(rel)


def main(argv):
    p = argparse.ArgumentParser(prog='stripcheck.py', description=(
        'Check the result of "pyprime strip" against the original tree.'))
    p.add_argument('--docstrings', action='store_true')
    p.add_argument('--comments', action='store_true')
    p.add_argument('--blank-lines', action='store_true')
    p.add_argument('--keep-lines', action='store_true')
    p.add_argument('--force-docstrings', action='store_true')
    p.add_argument('--no-linemap', action='store_true',
                   help='STRIPPED has no pyprime.linemap to check')
    p.add_argument('-j', type=int, default=len(os.sched_getaffinity(0)),
                   metavar='N', help='worker processes')
    p.add_argument('orig', metavar='ORIG')
    p.add_argument('stripped', metavar='STRIPPED')
    o = p.parse_args(argv[1:])
    o.orig, o.stripped = os.fsencode(o.orig), os.fsencode(o.stripped)
    if not (o.docstrings or o.comments or o.blank_lines):
        o.docstrings = o.comments = o.blank_lines = True
    if o.j < 1:
        p.error('-j wants a positive number')
    for d in (o.orig, o.stripped):
        if not os.path.isdir(d):
            p.error(f'no directory {os.fsdecode(d)}')
    o.linemap = None
    path = os.path.join(o.stripped, b'pyprime.linemap')
    # With --keep-lines every line stays and there need be no map; without
    # it, a tree where no file changed has none either.
    if os.path.lexists(path) and not o.no_linemap:
        try:
            o.linemap = load_linemap(path)
        except (OSError, ValueError) as e:
            print(f'{os.fsdecode(path)}: {e}')
            return 1
    elif not o.keep_lines and not o.no_linemap:
        o.linemap = {}

    rels = list(sources(o.orig))
    # Largest first, so that no worker is left with a big file at the end.
    order = sorted(rels, key=lambda r: -os.path.getsize(os.path.join(o.orig, r)))
    if o.j == 1:
        init(o)
        results = dict(map(job, order))
    else:
        with multiprocessing.Pool(o.j, init, (o,)) as pool:
            results = dict(pool.imap_unordered(job, order, chunksize=4))
    good = bad = skipped = 0
    for rel in rels:
        r = results[rel]
        if r is None:
            skipped += 1
        elif r:
            bad += 1
            for why in r:
                print(f'{os.fsdecode(rel)}: {why}')
        else:
            good += 1
    print(f'{good} good, {bad} bad, {skipped} not compilable in the original')
    return 1 if bad or not good else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
