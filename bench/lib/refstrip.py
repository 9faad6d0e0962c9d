"""The reference bench/strip holds pyprime strip to: the stripper a Python
programmer would write.  Each file is parsed with ast.parse, loses its
docstrings (the first statement of a module, class, def or async def body
when it is a str constant; "pass" if that leaves the body empty), and
ast.unparse writes what is left.

    refstrip.py SRC OUT      every .py file under SRC to the same path in OUT

Prints the number of files and of source bytes; a file that does not parse
is an error (exit 1).  Runs under /usr/bin/python3 with the standard
library only, in one process.
"""

import ast
import os
import sys
import warnings

BODIES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def strip_docstrings(tree):
    for node in ast.walk(tree):
        if not isinstance(node, BODIES) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and \
                isinstance(first.value, ast.Constant) and \
                isinstance(first.value.value, str):
            del node.body[0]
            if not node.body and not isinstance(node, ast.Module):
                node.body.append(ast.Pass())


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: refstrip.py SRC OUT\n")
        sys.exit(2)
    src, out = argv[1], argv[2]
    warnings.simplefilter("ignore")
    files = nbytes = 0
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        rel = os.path.relpath(root, src)
        made = False
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            try:
                tree = ast.parse(data, path)
            except (SyntaxError, ValueError) as e:
                sys.stderr.write("refstrip: %s: %s\n" % (path, e))
                sys.exit(1)
            strip_docstrings(tree)
            if not made:
                os.makedirs(os.path.join(out, rel), exist_ok=True)
                made = True
            with open(os.path.join(out, rel, name), "w",
                      encoding="utf-8") as f:
                f.write(ast.unparse(tree))
                f.write("\n")
            files += 1
            nbytes += len(data)
    print(files, nbytes)


if __name__ == "__main__":
    main(sys.argv)
