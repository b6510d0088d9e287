"""The emulated sh's lexer: tokens, words, quoting, ``$``-expansions and here-documents.

dash's rules where a runbook could tell the difference; errors are dash-worded
(:class:`~pverunbook.sim.shell.syntax.ShellSyntaxError`).
"""

from __future__ import annotations

from pverunbook.sim.shell.syntax import Part, Redir, Seq, ShellSyntaxError, Tok, Word

META = set(" \t\n;&|<>()")

_OPS = ["&&", "||", ";;", "<<-", "<<", ">>", ">&", "<&", "<>", ">|", ";", "&", "|", "<", ">",
        "(", ")"]


class Lexer:
    """Reads the source into tokens and words (quoting, expansions, here-documents); the
    grammar on top is :class:`pverunbook.sim.shell.parser.Parser`."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0
        self.line = 1
        self.peeked: Tok | None = None
        self.pending_heredocs: list[tuple[Redir, str, bool, bool]] = []
        #: A here-document ran into the end of the source before its delimiter line (dash
        #: takes that as its end in a script; at a prompt the shell asks for more lines).
        self.heredoc_open = False

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
            if c in "$`" and self._quoted_expansion(buf, parts):
                continue
            if c == "\n":
                self.line += 1
            buf.append(c)
            self.pos += 1
        if buf or not parts:
            parts.append(Part("lit", "".join(buf), True))
        return parts

    def _quoted_expansion(self, buf: list[str], parts: list[Part]) -> bool:
        """At ``$`` or a backquote inside quotes (or a ``${x:-…}`` argument): read the
        expansion into ``parts`` after the literal text gathered so far in ``buf``; False
        when it is a plain character (a lone ``$``) that the caller keeps as text."""
        part = self._read_dollar(quoted=True)
        if part is None:
            return False
        if buf:
            parts.append(Part("lit", "".join(buf), True))
            buf.clear()
        parts.append(part)
        return True

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
            return Part("cmd", quoted=quoted, node=self._parse_other("".join(body)))
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
            sub = type(self)(src)
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
                sub = type(self)(src)
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
            if c in "$`" and self._quoted_expansion(buf, parts):
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
                    self.heredoc_open = True
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
                sub = type(self)(body)
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
            if c in "$`" and self._quoted_expansion(buf, parts):
                continue
            buf.append(c)
            self.pos += 1
        if buf or not parts:
            parts.append(Part("lit", "".join(buf), True))
        return parts

    # -- the grammar's part (Parser) -------------------------------------------------------
    def parse_seq(self, terms: set[str] = frozenset()) -> Seq:  # type: ignore[assignment]
        raise NotImplementedError

    def _parse_other(self, src: str) -> Seq:
        """A whole other script (a backquoted command) parsed on its own."""
        raise NotImplementedError
