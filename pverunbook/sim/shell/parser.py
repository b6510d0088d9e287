"""A small POSIX sh parser: enough grammar for what runbooks and operators type.

Supports quoting, ``;``/newlines, ``&&``/``||``, pipes, ``!``, redirections (incl. here-documents),
``$VAR``/``${VAR:-x}``, ``$(...)``/backticks, ``$((...))``, ``if``/``for``/``while``/``case``,
``{ ...; }`` and ``( ... )``. It produces a plain AST the executor walks; anything it cannot
parse raises :class:`ShellSyntaxError` with a dash-like message rather than guessing.

The tree is :mod:`.syntax`, tokens and words come from :mod:`.lexer`; this module holds the
grammar.
"""

from __future__ import annotations

from pverunbook.sim.shell.lexer import META, Lexer
from pverunbook.sim.shell.syntax import (
    AndOr,
    Case,
    For,
    Group,
    If,
    Node,
    Part,
    Pipeline,
    Redir,
    Seq,
    ShellSyntaxError,
    Simple,
    Tok,
    While,
    Word,
)

#: The syntax tree's names stay importable from here (``parser as P``; ``P.Seq``…).
__all__ = ["META", "AndOr", "Case", "For", "Group", "If", "Node", "Parser", "Part", "Pipeline",
           "Redir", "Seq", "ShellSyntaxError", "Simple", "Tok", "While", "Word", "parse"]

KEYWORDS = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until",
            "case", "esac", "{", "}", "!"}


class Parser(Lexer):
    """The grammar: sequences, and-or lists, pipelines, compound and simple commands."""

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


    def _parse_other(self, src: str) -> Seq:
        return parse(src)


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


#: Syntax errors that only say the input stopped early: at a prompt, more lines are read.
_EARLY_END = ('"end of file" unexpected', "Unterminated quoted string", "Missing ')'")


def needs_more(src: str) -> bool:
    """Whether ``src``, typed at an interactive prompt, is an unfinished command: an open
    quote, here-document, ``if``/``for``/``{``/``(``, a trailing ``&&``, ``|`` or backslash.
    The shell then prints PS2 (``> ``) and reads another line into the same command, as sh
    does (dash(1), "Invocation"; POSIX XCU 2.5.3 PS2), instead of running each line alone: a
    pasted here-document (the check's storage.cfg fix) ran its first line with no body and
    the rest as commands."""
    stripped = src.rstrip("\n")
    trailing = len(stripped) - len(stripped.rstrip("\\"))
    if trailing % 2 == 1:
        return True
    p = Parser(src)
    try:
        p.parse_seq()
        if p.peek().kind != "eof":
            return False
        if p.pending_heredocs:
            p._read_heredocs()
    except ShellSyntaxError as exc:
        return any(why in str(exc) for why in _EARLY_END)
    return p.heredoc_open
