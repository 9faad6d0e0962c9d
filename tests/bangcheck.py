"""Find checks in bats files that cannot fail: a command negated with "!"
where bash's set -e ignores its status.

  bangcheck.py FILE...

bats runs a test with set -e, and set -e ignores a pipeline negated with
"!": "! grep -q x f" can only fail a test as the last command of its body,
whose status bats reads.  Anywhere else (earlier in the body, in a loop, an
if's branch, a { } group, a subshell, a command substitution, a helper
function, before && or ||) it never fails anything: use "run !", refute_*,
assert_file_not_* or "[ ! ... ]" there.  A "!" that is the condition of an
if, elif, while or until is what it says and is left alone.

Prints FILE:LINE: and the reason for each, and exits 1 if there was one;
also when it loses its way in a file (a quote or block never closed),
rather than pass what it could not read.  Reads the files as bash does,
enough for tests: quotes across lines, $( ), ${ }, $(( )), [[ ]],
here-documents, comments, case patterns, functions and @test blocks.
"""
import re
import sys

OPS = ("&&", "||", ";;", ";&", ";", "&", "|&", "|", "(", ")")
REDIR = re.compile(r"[0-9]*(<<<|<<-|<<|<>|>>|>&|<&|&>>|&>|>\||<|>)")
WORD_END = set(" \t\n;&|()<>")


class Tok:
    def __init__(self, kind, text, line, subs=()):
        self.kind = kind  # "word", "op", "nl", "redir"
        self.text = text
        self.line = line
        self.subs = list(subs)  # token lists of the word's $( )


class Lexer:
    def __init__(self, src):
        self.s = src
        self.i = 0
        self.line = 1
        self.heredocs = []  # (delimiter, strip tabs) to read after the line
        self.lost = None  # the line of a quote or $( ) never closed

    def peek(self, n=0):
        j = self.i + n
        return self.s[j] if j < len(self.s) else ""

    def adv(self, n=1):
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
            self.i += 1

    def skip_to(self, closer, escapes=True):
        # past the next closer (unescaped, if backslash escapes)
        while self.i < len(self.s) and self.peek() != closer:
            if escapes and self.peek() == "\\":
                self.adv()
            self.adv()
        if self.i >= len(self.s):
            self.lost = self.lost or self.line
        self.adv()

    def skip_nested(self, opener, closer):
        # past the closer matching an opener already read
        depth = 1
        while self.i < len(self.s) and depth:
            c = self.peek()
            if c == "\\":
                self.adv(2)
                continue
            if c == "'":
                self.adv()
                self.skip_to("'", False)
                continue
            if c == '"':
                self.adv()
                self.dquote([])
                continue
            if c == opener:
                depth += 1
            elif c == closer:
                depth -= 1
            self.adv()

    def dollar(self, subs):
        # at "$": command substitution, arithmetic, ${ }, $'...' or a name
        if self.s.startswith("$((", self.i):
            self.adv(3)
            self.skip_nested("(", ")")
            self.adv()
        elif self.s.startswith("$(", self.i):
            self.adv(2)
            subs.append(self.tokens(")"))
        elif self.s.startswith("${", self.i):
            self.adv(2)
            self.skip_nested("{", "}")
        elif self.s.startswith("$'", self.i):
            self.adv(2)
            self.skip_to("'")
        else:
            self.adv()

    def piece(self, subs):
        # an escaped character, a $ expansion, a `...`, or one character
        c = self.peek()
        if c == "\\":
            self.adv(2)
        elif c == "$":
            self.dollar(subs)
        elif c == "`":
            self.adv()
            self.skip_to("`")
        else:
            self.adv()

    def dquote(self, subs):
        # after an opening '"': up to and past the closing one
        while self.i < len(self.s):
            if self.peek() == '"':
                self.adv()
                return
            self.piece(subs)

    def read_heredocs(self):
        # after a newline: the bodies of the here-documents it announced
        for delim, strip in self.heredocs:
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                text = self.s[self.i:end]
                self.adv(end + 1 - self.i)
                if (text.lstrip("\t") if strip else text) == delim:
                    break
        self.heredocs = []

    def word(self):
        start, line, subs = self.i, self.line, []
        while self.i < len(self.s) and self.peek() not in WORD_END:
            c = self.peek()
            if c == "'":
                self.adv()
                self.skip_to("'", False)
            elif c == '"':
                self.adv()
                self.dquote(subs)
            else:
                self.piece(subs)
        return Tok("word", self.s[start:self.i], line, subs)

    def tokens(self, closer=None):
        # a token list up to the closer (")" of a $( )) or the end
        out = []
        depth = 0
        while self.i < len(self.s):
            c = self.peek()
            if c in " \t":
                self.adv()
            elif c == "\\" and self.peek(1) == "\n":
                self.adv(2)
            elif c == "\n":
                out.append(Tok("nl", "\n", self.line))
                self.adv()
                self.read_heredocs()
            elif c == "#" and (not out or out[-1].kind != "word" or
                               self.s[self.i - 1] in " \t"):
                while self.i < len(self.s) and self.peek() != "\n":
                    self.adv()
            elif self.s.startswith("((", self.i) and (
                    not out or out[-1].kind != "word"):
                # arithmetic command: its words are no commands
                line = self.line
                self.adv(2)
                self.skip_nested("(", ")")
                self.adv()
                out.append(Tok("word", "((...))", line))
            elif self.s.startswith(("<(", ">("), self.i):
                line = self.line
                self.adv(2)
                out.append(Tok("word", "<(...)", line, [self.tokens(")")]))
            elif REDIR.match(self.s, self.i) and (
                    c in "<>&" or not out or out[-1].kind != "word" or
                    self.s[self.i - 1] in " \t"):
                m = REDIR.match(self.s, self.i)
                out.append(Tok("redir", m.group(1), self.line))
                self.adv(m.end() - self.i)
                if m.group(1) in ("<<", "<<-"):
                    while self.peek() in " \t":
                        self.adv()
                    target = self.word()
                    out.append(target)
                    delim = re.sub(r"[\"'\\]", "", target.text)
                    self.heredocs.append((delim, m.group(1) == "<<-"))
            elif c in ";&|()":
                op = next(o for o in OPS if self.s.startswith(o, self.i))
                if op == ")" and closer == ")" and depth == 0:
                    self.adv()
                    return out
                depth += op == "("
                depth -= op == ")"
                out.append(Tok("op", op, self.line))
                self.adv(len(op))
            else:
                out.append(self.word())
        if closer:
            self.lost = self.lost or self.line
        return out


class Frame:
    def __init__(self, kind):
        self.kind = kind  # test, func, top, if, loop, case, group, sub
        self.last = None  # the bang that started the last command, if any
        self.cond = False  # in the condition of an if/while/until
        self.pattern = False  # in a case pattern


def check(toks, report, kind="top"):
    stack = [Frame(kind)]
    start = True  # the next word starts a command
    i = 0

    def push(kind):
        stack.append(Frame(kind))

    def pop():
        if len(stack) == 1:
            unclosed.append(True)  # more closed than was opened
            return
        f = stack.pop()
        if f.kind == "test" and f.last is not None:
            f.last.allowed = True

    bangs = []
    unclosed = []
    negated = False  # the word before was a "!" starting a command
    while i < len(toks):
        t = toks[i]
        top = stack[-1]
        negated, was_negated = False, negated
        for sub in t.subs:
            if not check(sub, report, "sub"):
                unclosed.append(True)
        if top.pattern:
            # case pattern: words up to ")"
            if t.kind == "word" and t.text == "esac":
                pop()
                start = False
            elif t.kind == "op" and t.text == ")":
                top.pattern = False
                start = True
            i += 1
            continue
        if t.kind == "nl" or (t.kind == "op" and t.text in
                              (";", "&", "&&", "||", "|", "|&")):
            start = True
        elif t.kind == "op" and t.text in (";;", ";&"):
            if top.kind == "case":
                top.pattern = True
            start = True
        elif t.kind == "op" and t.text == "(":
            if start:
                top.last = None
            push("sub")
            start = True
        elif t.kind == "op" and t.text == ")":
            pop()
            start = False
        elif t.kind == "redir":
            i += 1  # its target is no command
            start = False
        elif not start:
            pass
        elif t.text == "!":
            bang = t
            bang.allowed = top.cond
            bangs.append(bang)
            top.last = bang
            negated = True
            i += 1
            continue
        else:
            w = t.text
            start = False
            if w in ("fi", "done", "esac", "}"):
                pop()
                i += 1
                continue
            if not was_negated:
                top.last = None
            if w in ("if", "while", "until"):
                push("if" if w == "if" else "loop")
                stack[-1].cond = True
                start = True
            elif w == "elif":
                top.cond = True
                start = True
            elif w in ("then", "do", "else"):
                top.cond = False
                start = True
            elif w in ("for", "select"):
                push("loop")
            elif w == "case":
                push("case")
                while i + 1 < len(toks) and toks[i + 1].text != "in":
                    i += 1
                i += 1
                stack[-1].pattern = True
            elif w == "{":
                push("group")
                start = True
            elif w == "[[":
                while i + 1 < len(toks) and toks[i + 1].text != "]]":
                    i += 1
                i += 1
            elif w == "@test":
                i += 1  # the name; then "{"
                while i + 1 < len(toks) and toks[i + 1].text != "{":
                    i += 1
                i += 1
                push("test")
                start = True
            elif w == "function" or (
                    i + 2 < len(toks) and toks[i + 1].text == "(" and
                    toks[i + 2].text == ")"):
                # a function definition: its name, maybe (), then "{"
                while i + 1 < len(toks) and toks[i + 1].text != "{":
                    i += 1
                i += 1
                push("func")
                start = True
        i += 1
    for b in bangs:
        if not b.allowed:
            report(b.line)
    return len(stack) == 1 and not unclosed and not stack[0].pattern


def main(paths):
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lexer = Lexer(f.read())
        toks = lexer.tokens()

        def report(line, path=path):
            nonlocal bad
            bad += 1
            print(f"{path}:{line}: a command negated with ! that is not the"
                  " test's last: set -e ignores it (use run !, refute_*,"
                  " assert_file_not_*)")
        if not check(toks, report) or lexer.lost:
            bad += 1
            print(f"{path}:{lexer.lost or lexer.line}: cannot follow the"
                  " shell here: a quote, $( ) or block not closed, or closed twice")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
