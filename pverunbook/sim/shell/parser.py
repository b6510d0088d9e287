"""A small POSIX sh parser: enough grammar for what runbooks and operators type.

Supports quoting, ``;``/newlines, ``&&``/``||``, pipes, ``!``, redirections (incl. here-documents),
``$VAR``/``${VAR:-x}``, ``$(...)``/backticks, ``$((...))``, ``if``/``for``/``while``/``case``,
``{ ...; }`` and ``( ... )``. It produces a plain AST the executor walks; anything it cannot
parse raises :class:`ShellSyntaxError` with a dash-like message rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

META = set(" \t\n;&|<>()")
KEYWORDS = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until",
            "case", "esac", "{", "}", "!"}


class ShellSyntaxError(Exception):
    """The command line cannot be parsed; the message follows dash's wording."""


@dataclass
class Part:
    """One piece of a word: literal text, a parameter, a command or an arithmetic expansion."""

    kind: str  # "lit" | "var" | "cmd" | "arith"
    text: str = ""
    quoted: bool = False
    op: str = ""  # for ${VAR<op>arg}: ":-", "-", ":=", ":+", "#", "%", "len"
    arg: Word | None = None
    node: Node | None = None


@dataclass
class Word:
    parts: list[Part] = field(default_factory=list)

    @property
    def plain(self) -> str | None:
        """The literal text if the word has no expansions and no quotes, else None."""
        if all(p.kind == "lit" and not p.quoted for p in self.parts):
            return "".join(p.text for p in self.parts)
        return None

    @property
    def raw_literal(self) -> str | None:
        """Literal text (quotes removed) if the word has no expansions."""
        if all(p.kind == "lit" for p in self.parts):
            return "".join(p.text for p in self.parts)
        return None


@dataclass
class Redir:
    fd: int
    op: str  # ">", ">>", "<", ">&", "<&", "<<", "<>", ">|"
    target: Word | None = None
    heredoc: Word | None = None  # body, when op == "<<"


@dataclass
class Simple:
    assigns: list[tuple[str, Word]] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)
    line: int = 1


@dataclass
class Pipeline:
    cmds: list[Node] = field(default_factory=list)
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)


@dataclass
class Seq:
    items: list[AndOr] = field(default_factory=list)


@dataclass
class If:
    branches: list[tuple[Seq, Seq]] = field(default_factory=list)
    orelse: Seq | None = None
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class For:
    var: str
    words: list[Word] | None
    body: Seq
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class While:
    cond: Seq
    body: Seq
    until: bool = False
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Case:
    word: Word
    items: list[tuple[list[Word], Seq]] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Group:
    body: Seq
    subshell: bool = False
    redirs: list[Redir] = field(default_factory=list)


Node = Simple | Pipeline | AndOr | Seq | If | For | While | Case | Group


@dataclass
class Tok:
    kind: str  # "word" | "op" | "nl" | "eof"
    value: str = ""
    word: Word | None = None
    fd: int | None = None  # io number before a redirection operator


_OPS = ["&&", "||", ";;", "<<-", "<<", ">>", ">&", "<&", "<>", ">|", ";", "&", "|", "<", ">",
        "(", ")"]


class Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0
        self.line = 1
        self.peeked: Tok | None = None
        self.pending_heredocs: list[tuple[Redir, str, bool, bool]] = []

    # -- lexing ----------------------------------------------------------------------------
    def error(self, what: str) -> ShellSyntaxError:
        return ShellSyntaxError(f"{self.line}: Syntax error: {what}")

    def _skip_blanks(self) -> None:
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in " \t":
                self.pos += 1
            elif c == "\\" and src.startswith("\\\n", self.pos):
                self.pos += 2
                self.line += 1
            elif c == "#":
                while self.pos < len(src) and src[self.pos] != "\n":
                    self.pos += 1
            else:
                break

    def peek(self) -> Tok:
        if self.peeked is None:
            self.peeked = self._next()
        return self.peeked

    def take(self) -> Tok:
        tok = self.peek()
        self.peeked = None
        return tok

    def _next(self) -> Tok:
        self._skip_blanks()
        src = self.src
        if self.pos >= len(src):
            return Tok("eof")
        c = src[self.pos]
        if c == "\n":
            self.pos += 1
            self.line += 1
            self._read_heredocs()
            return Tok("nl", "\n")
        for op in _OPS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                return Tok("op", op)
        # io number: digits immediately followed by < or >
        j = self.pos
        while j < len(src) and src[j].isdigit():
            j += 1
        if j > self.pos and j < len(src) and src[j] in "<>":
            fd = int(src[self.pos:j])
            self.pos = j
            for op in _OPS:
                if src.startswith(op, self.pos) and op[0] in "<>":
                    self.pos += len(op)
                    return Tok("op", op, fd=fd)
        word = self._read_word()
        return Tok("word", word=word)

    def _read_word(self, stop: str = "") -> Word:
        src = self.src
        parts: list[Part] = []
        buf: list[str] = []

        def flush(quoted: bool = False) -> None:
            if buf:
                parts.append(Part("lit", "".join(buf), quoted))
                buf.clear()

        while self.pos < len(src):
            c = src[self.pos]
            if c in META or c in stop:
                break
            if c == "\\":
                if self.pos + 1 < len(src):
                    nxt = src[self.pos + 1]
                    self.pos += 2
                    if nxt == "\n":
                        self.line += 1
                        continue
                    flush()
                    parts.append(Part("lit", nxt, True))
                    continue
                self.pos += 1
                buf.append("\\")
                continue
            if c == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise self.error("Unterminated quoted string")
                flush()
                text = src[self.pos + 1:end]
                self.line += text.count("\n")
                parts.append(Part("lit", text, True))
                self.pos = end + 1
                continue
            if c == '"':
                flush()
                self.pos += 1
                parts.extend(self._read_dquoted())
                continue
            if c == "$" or c == "`":
                part = self._read_dollar(quoted=False)
                if part is not None:
                    flush()
                    parts.append(part)
                    continue
                buf.append(c)
                self.pos += 1
                continue
            buf.append(c)
            self.pos += 1
        flush()
        if not parts:
            # an empty token here means a lone metachar we do not know
            raise self.error(f'"{src[self.pos:self.pos + 1] or "newline"}" unexpected')
        return Word(parts)

    def _read_dquoted(self, terminator: str = '"') -> list[Part]:
        src = self.src
        parts: list[Part] = []
        buf: list[str] = []
        while True:
            if self.pos >= len(src):
                if terminator == "":
                    break
                raise self.error("Unterminated quoted string")
            c = src[self.pos]
            if terminator and c == terminator:
                self.pos += 1
                break
            if c == "\\" and self.pos + 1 < len(src) and src[self.pos + 1] in '$`"\\\n':
                nxt = src[self.pos + 1]
                self.pos += 2
                if nxt == "\n":
                    self.line += 1
                else:
                    buf.append(nxt)
                continue
            if c in "$`":
                part = self._read_dollar(quoted=True)
                if part is not None:
                    if buf:
                        parts.append(Part("lit", "".join(buf), True))
                        buf.clear()
                    parts.append(part)
                    continue
            if c == "\n":
                self.line += 1
            buf.append(c)
            self.pos += 1
        if buf or not parts:
            parts.append(Part("lit", "".join(buf), True))
        return parts

    def _read_dollar(self, quoted: bool) -> Part | None:
        src = self.src
        if src[self.pos] == "`":
            end = self.pos + 1
            body: list[str] = []
            while end < len(src) and src[end] != "`":
                if src[end] == "\\" and end + 1 < len(src) and src[end + 1] in "$`\\":
                    body.append(src[end + 1])
                    end += 2
                    continue
                body.append(src[end])
                end += 1
            if end >= len(src):
                raise self.error("Unterminated quoted string")
            self.pos = end + 1
            return Part("cmd", quoted=quoted, node=parse("".join(body)))
        nxt = src[self.pos + 1:self.pos + 2]
        if src.startswith("$((", self.pos):
            depth, j = 0, self.pos + 3
            while j < len(src):
                if src[j] == "(":
                    depth += 1
                elif src[j] == ")":
                    if depth == 0 and src.startswith("))", j):
                        expr = src[self.pos + 3:j]
                        self.pos = j + 2
                        return Part("arith", expr, quoted)
                    depth -= 1
                j += 1
            raise self.error("Missing '))'")
        if nxt == "(":
            self.pos += 2
            sub = Parser(src)
            sub.pos, sub.line = self.pos, self.line
            node = sub.parse_seq(terms={")"})
            tok = sub.take()
            if tok.kind != "op" or tok.value != ")":
                raise self.error("Missing ')'")
            self.pos, self.line = sub.pos, sub.line
            return Part("cmd", quoted=quoted, node=node)
        if nxt == "{":
            j = self.pos + 2
            op = ""
            if src.startswith("#", j) and not src.startswith("#}", j):
                op, j = "len", j + 1
            k = j
            if k < len(src) and (src[k].isdigit() or src[k] in "?$#@*!"):
                k += 1
            else:
                while k < len(src) and (src[k].isalnum() or src[k] == "_"):
                    k += 1
            name = src[j:k]
            j = k
            arg: Word | None = None
            if j < len(src) and src[j] != "}":
                for candidate in (":-", ":=", ":+", ":?", "-", "=", "+", "?", "##", "#", "%%", "%"):
                    if src.startswith(candidate, j):
                        op = candidate
                        j += len(candidate)
                        break
                else:
                    raise self.error("Bad substitution")
                sub = Parser(src)
                sub.pos, sub.line = j, self.line
                parts = sub._read_braced_arg()
                arg = Word(parts)
                j = sub.pos
            if j >= len(src) or src[j] != "}":
                raise self.error("Bad substitution")
            self.pos = j + 1
            return Part("var", name, quoted, op=op, arg=arg)
        if nxt and (nxt.isalpha() or nxt == "_"):
            j = self.pos + 1
            while j < len(src) and (src[j].isalnum() or src[j] == "_"):
                j += 1
            name = src[self.pos + 1:j]
            self.pos = j
            return Part("var", name, quoted)
        if nxt and (nxt.isdigit() or nxt in "?$#@*!-"):
            self.pos += 2
            return Part("var", nxt, quoted)
        return None

    def _read_braced_arg(self) -> list[Part]:
        src = self.src
        parts: list[Part] = []
        buf: list[str] = []
        while self.pos < len(src) and src[self.pos] != "}":
            c = src[self.pos]
            if c in "$`":
                part = self._read_dollar(quoted=True)
                if part is not None:
                    if buf:
                        parts.append(Part("lit", "".join(buf), True))
                        buf.clear()
                    parts.append(part)
                    continue
            if c == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise self.error("Unterminated quoted string")
                buf.append(src[self.pos + 1:end])
                self.pos = end + 1
                continue
            if c == '"':
                self.pos += 1
                if buf:
                    parts.append(Part("lit", "".join(buf), True))
                    buf.clear()
                parts.extend(self._read_dquoted())
                continue
            buf.append(c)
            self.pos += 1
        if buf or not parts:
            parts.append(Part("lit", "".join(buf), True))
        return parts

    def _read_heredocs(self) -> None:
        for redir, delim, strip, literal in self.pending_heredocs:
            lines: list[str] = []
            while True:
                if self.pos >= len(self.src):
                    break  # dash accepts EOF as the end of a here-document
                end = self.src.find("\n", self.pos)
                if end < 0:
                    end = len(self.src)
                line = self.src[self.pos:end]
                self.pos = min(end + 1, len(self.src))
                self.line += 1
                check = line.lstrip("\t") if strip else line
                if check == delim:
                    break
                lines.append(check + "\n")
            body = "".join(lines)
            if literal:
                redir.heredoc = Word([Part("lit", body, True)])
            else:
                sub = Parser(body)
                redir.heredoc = Word(sub._read_heredoc_body())
        self.pending_heredocs.clear()

    def _read_heredoc_body(self) -> list[Part]:
        """Heredoc text expands like a double-quoted string but quotes stay literal."""
        src = self.src
        parts: list[Part] = []
        buf: list[str] = []
        while self.pos < len(src):
            c = src[self.pos]
            if c == "\\" and self.pos + 1 < len(src) and src[self.pos + 1] in "$`\\\n":
                if src[self.pos + 1] != "\n":
                    buf.append(src[self.pos + 1])
                self.pos += 2
                continue
            if c in "$`":
                part = self._read_dollar(quoted=True)
                if part is not None:
                    if buf:
                        parts.append(Part("lit", "".join(buf), True))
                        buf.clear()
                    parts.append(part)
                    continue
            buf.append(c)
            self.pos += 1
        if buf or not parts:
            parts.append(Part("lit", "".join(buf), True))
        return parts

    # -- grammar ---------------------------------------------------------------------------
    def _is_kw(self, tok: Tok, *names: str) -> bool:
        return tok.kind == "word" and tok.word is not None and tok.word.plain in names

    def _skip_nl(self) -> None:
        while self.peek().kind == "nl":
            self.take()

    def parse_seq(self, terms: set[str] = frozenset()) -> Seq:  # type: ignore[assignment]
        seq = Seq()
        while True:
            self._skip_nl()
            tok = self.peek()
            if tok.kind == "eof":
                break
            if tok.kind == "op" and tok.value in terms:
                break
            if self._is_kw(tok, *terms):
                break
            if tok.kind == "op" and tok.value in (";", "&", ";;", ")", "|", "&&", "||"):
                if tok.value in terms:
                    break
                raise self.error(f'"{tok.value}" unexpected')
            seq.items.append(self.parse_andor())
            tok = self.peek()
            if tok.kind == "op" and tok.value in (";", "&") or tok.kind == "nl":
                self.take()
            else:
                continue
        return seq

    def parse_andor(self) -> AndOr:
        node = AndOr(self.parse_pipeline())
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("&&", "||"):
                self.take()
                self._skip_nl()
                node.rest.append((tok.value, self.parse_pipeline()))
            else:
                return node

    def parse_pipeline(self) -> Pipeline:
        pipe = Pipeline()
        if self._is_kw(self.peek(), "!"):
            self.take()
            pipe.negate = True
        pipe.cmds.append(self.parse_command())
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value == "|":
                self.take()
                self._skip_nl()
                pipe.cmds.append(self.parse_command())
            else:
                return pipe

    def _expect_kw(self, name: str) -> None:
        tok = self.take()
        if not self._is_kw(tok, name):
            got = tok.value if tok.kind == "op" else (
                "end of file" if tok.kind == "eof" else
                "newline" if tok.kind == "nl" else
                (tok.word.raw_literal if tok.word else "") or "word")
            raise self.error(f'"{got}" unexpected (expecting "{name}")')

    def _redirs_after(self) -> list[Redir]:
        redirs: list[Redir] = []
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("<", ">", ">>", ">&", "<&", "<<", "<<-",
                                                  "<>", ">|"):
                redirs.append(self._parse_redir())
            else:
                return redirs

    def parse_command(self) -> Node:
        tok = self.peek()
        if self._is_kw(tok, "if"):
            self.take()
            node_if = If()
            while True:
                cond = self.parse_seq(terms={"then"})
                self._expect_kw("then")
                body = self.parse_seq(terms={"elif", "else", "fi"})
                node_if.branches.append((cond, body))
                nxt = self.take()
                if self._is_kw(nxt, "elif"):
                    continue
                if self._is_kw(nxt, "else"):
                    node_if.orelse = self.parse_seq(terms={"fi"})
                    self._expect_kw("fi")
                    break
                if self._is_kw(nxt, "fi"):
                    break
                raise self.error('"end of file" unexpected (expecting "fi")')
            node_if.redirs = self._redirs_after()
            return node_if
        if self._is_kw(tok, "for"):
            self.take()
            name_tok = self.take()
            if name_tok.kind != "word" or name_tok.word is None or not name_tok.word.plain:
                raise self.error("Bad for loop variable")
            var = name_tok.word.plain
            words: list[Word] | None = None
            self._skip_nl()
            if self._is_kw(self.peek(), "in"):
                self.take()
                words = []
                while self.peek().kind == "word":
                    w = self.take().word
                    assert w is not None
                    words.append(w)
                t = self.take()
                if not (t.kind == "nl" or (t.kind == "op" and t.value == ";")):
                    raise self.error(f'"{t.value}" unexpected')
            elif self.peek().kind == "op" and self.peek().value == ";":
                self.take()
            self._skip_nl()
            self._expect_kw("do")
            body = self.parse_seq(terms={"done"})
            self._expect_kw("done")
            return For(var, words, body, self._redirs_after())
        if self._is_kw(tok, "while", "until"):
            self.take()
            until = tok.word is not None and tok.word.plain == "until"
            cond = self.parse_seq(terms={"do"})
            self._expect_kw("do")
            body = self.parse_seq(terms={"done"})
            self._expect_kw("done")
            return While(cond, body, until, self._redirs_after())
        if self._is_kw(tok, "case"):
            self.take()
            wt = self.take()
            if wt.kind != "word" or wt.word is None:
                raise self.error("Bad case")
            self._skip_nl()
            self._expect_kw("in")
            node_case = Case(wt.word)
            while True:
                self._skip_nl()
                if self._is_kw(self.peek(), "esac"):
                    self.take()
                    break
                if self.peek().kind == "op" and self.peek().value == "(":
                    self.take()
                pats: list[Word] = []
                while True:
                    pt = self.take()
                    if pt.kind != "word" or pt.word is None:
                        raise self.error("Bad case pattern")
                    pats.append(pt.word)
                    sep = self.take()
                    if sep.kind == "op" and sep.value == "|":
                        continue
                    if sep.kind == "op" and sep.value == ")":
                        break
                    raise self.error(f'"{sep.value}" unexpected (expecting ")")')
                body = self.parse_seq(terms={";;", "esac"})
                node_case.items.append((pats, body))
                if self.peek().kind == "op" and self.peek().value == ";;":
                    self.take()
            node_case.redirs = self._redirs_after()
            return node_case
        if self._is_kw(tok, "{"):
            self.take()
            body = self.parse_seq(terms={"}"})
            self._expect_kw("}")
            return Group(body, False, self._redirs_after())
        if tok.kind == "op" and tok.value == "(":
            self.take()
            body = self.parse_seq(terms={")"})
            close = self.take()
            if close.kind != "op" or close.value != ")":
                raise self.error('"end of file" unexpected (expecting ")")')
            return Group(body, True, self._redirs_after())
        return self.parse_simple()

    def _parse_redir(self) -> Redir:
        tok = self.take()
        op = tok.value
        fd = tok.fd if tok.fd is not None else (0 if op[0] == "<" else 1)
        target_tok = self.take()
        if target_tok.kind != "word" or target_tok.word is None:
            raise self.error(f'"{target_tok.value or "newline"}" unexpected')
        if op in ("<<", "<<-"):
            w = target_tok.word
            literal = any(p.quoted for p in w.parts)
            delim = "".join(p.text for p in w.parts)
            redir = Redir(fd, "<<")
            self.pending_heredocs.append((redir, delim, op == "<<-", literal))
            return redir
        return Redir(fd, op, target_tok.word)

    def parse_simple(self) -> Simple:
        cmd = Simple(line=self.line)
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("<", ">", ">>", ">&", "<&", "<<", "<<-", "<>",
                                                  ">|"):
                cmd.redirs.append(self._parse_redir())
                continue
            if tok.kind != "word" or tok.word is None:
                break
            if cmd.words == [] and tok.word.parts and tok.word.parts[0].kind == "lit" \
                    and not tok.word.parts[0].quoted:
                first = tok.word.parts[0].text
                eq = first.find("=")
                if eq > 0 and first[:eq].replace("_", "a").isalnum() and not first[0].isdigit():
                    self.take()
                    rest = [Part("lit", first[eq + 1:], False)] if first[eq + 1:] else []
                    cmd.assigns.append((first[:eq], Word(rest + tok.word.parts[1:])))
                    continue
            if cmd.words == [] and not cmd.assigns and tok.word.plain in (
                    "then", "fi", "do", "done", "else", "elif", "esac", "}", "in"):
                raise self.error(f'"{tok.word.plain}" unexpected')
            self.take()
            cmd.words.append(tok.word)
        if not cmd.words and not cmd.assigns and not cmd.redirs:
            tok = self.peek()
            what = tok.value if tok.kind == "op" else (
                "end of file" if tok.kind == "eof" else "newline")
            raise self.error(f'"{what}" unexpected')
        return cmd


def parse(src: str) -> Seq:
    """Parse a whole command line (or script) into a sequence."""
    p = Parser(src)
    seq = p.parse_seq()
    tok = p.peek()
    if tok.kind != "eof":
        raise p.error(f'"{tok.value}" unexpected')
    if p.pending_heredocs:
        p._read_heredocs()
    return seq
