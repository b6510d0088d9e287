"""The emulated sh's syntax tree: words and their parts, commands, redirections, tokens.

:mod:`pverunbook.sim.shell.lexer` reads words and tokens, :mod:`pverunbook.sim.shell.parser`
builds these nodes, :mod:`pverunbook.sim.shell.executor` walks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
