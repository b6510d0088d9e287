"""The ``when`` condition language: a small, safe expression over parameters and facts.

A step's ``when`` decides whether the step runs, *before* anything is asked or checked, so that
a step that will not act never asks for a confirmation (the Ansible ``register`` + ``when``
idea, for this domain). It is parsed once when the runbook loads (errors carry the column inside
the expression) and evaluated by the engine over the run's parameters and observed facts. There
is no ``eval``: the grammar below is all there is.

Grammar (precedence low to high)::

    expr    := or
    or      := and ("or" and)*                       also "||"
    and     := not ("and" not)*                      also "&&"
    not     := ("not" | "!") not | cmp
    cmp     := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
    operand := literal | param | fact | "(" expr ")" | quant
    quant   := ("any" | "all" | "count") "(" fact_name [op literal] ")"
    literal := integer | decimal | 'text' | "text" | true | false
    param   := a parameter name, e.g. add_second_link
    fact    := dotted fact name, optionally [node] or [node→peer] (also [node->peer]),
               e.g. quorum.quorate[pve001]; inside the brackets a parameter name stands for its
               value (db.integrity[damaged_node]) and ``first`` for the inventory's first node

Meaning:

- A bare word on one side of a comparison that is not a parameter is text
  (``source == dump``); ``==``/``!=`` between texts ignore case.
- ``fact.name`` without brackets is the cluster-wide fact of that name.
- ``any(name)`` / ``all(name)`` test every observation of a per-node fact (each node, each
  peer); ``any(name > 5)`` compares each observation. ``count(name)`` is the number of
  observations that are true (``count(name == x)``: that compare true), e.g.
  ``count(corosync.running) == 1``: corosync answered on exactly one of the nodes observed.
  Nodes that were not observed (unreachable) are not counted.
- A fact that was not observed (or a comparison of a number with text) makes the condition
  *undecided* (:class:`Undecided`): the engine skips the step and says which fact was missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Scalar = bool | int | float | str

_CMP = ("==", "!=", "<=", ">=", "<", ">")
_KEYWORDS = {"and", "or", "not", "true", "false", "any", "all", "count"}


class WhenSyntaxError(ValueError):
    """The expression cannot be parsed or names something unknown; ``col`` is 1-based."""

    def __init__(self, message: str, col: int) -> None:
        self.message = message
        self.col = col
        super().__init__(f"col {col}: {message}")


class Undecided(Exception):
    """The condition cannot be decided yet: a fact is missing or a comparison is ill-typed."""


# -- syntax tree --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lit:
    value: Scalar
    bare: bool = False  # a bare word used as text (``dump`` in ``source == dump``)


@dataclass(frozen=True)
class ParamRef:
    name: str


@dataclass(frozen=True)
class FactRef:
    """``name``, ``name[node]`` or ``name[node→peer]``; node/peer may be parameter names."""

    name: str
    node: str | None = None
    peer: str | None = None


@dataclass(frozen=True)
class Quant:
    """``any(name)``, ``all(name)``, ``count(name)``, ``any(name op literal)``."""

    fn: str
    name: str
    op: str | None = None
    value: Scalar | None = None


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


Node = Lit | ParamRef | FactRef | Quant | Not | BoolOp | Compare


@dataclass(frozen=True)
class Condition:
    """A parsed ``when``: the source text and its tree."""

    text: str
    tree: Node

    def params(self) -> set[str]:
        return {n.name for n in _walk(self.tree) if isinstance(n, ParamRef)}

    def facts(self) -> set[str]:
        return {n.name for n in _walk(self.tree) if isinstance(n, FactRef | Quant)}

    def quantifiers(self) -> set[tuple[str, str]]:
        """``(fn, fact)`` of every ``any``/``all``/``count`` in the condition."""
        return {(n.fn, n.name) for n in _walk(self.tree) if isinstance(n, Quant)}


def _walk(node: Node) -> Iterable[Node]:
    yield node
    if isinstance(node, Not):
        yield from _walk(node.operand)
    elif isinstance(node, BoolOp | Compare):
        yield from _walk(node.left)
        yield from _walk(node.right)


# -- lexer ----------------------------------------------------------------------------------

_WORD = r"[A-Za-z_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>-?[0-9]+(?:\.[0-9]+)?(?![\w.]))
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>==|!=|<=|>=|&&|\|\||->|→|[<>!()\[\],])
  | (?P<name>WORD(?:\.WORD)*)
""".replace("WORD", _WORD), re.X)


@dataclass(frozen=True)
class _Tok:
    kind: str  # num str op name end
    text: str
    col: int


#: A number in ``when`` is compared as a float: more digits than a float holds would be
#: OverflowError at plan/run time, so it is refused at validate instead.
_MAX_DIGITS = 300


def _finite(num: str) -> bool:
    return len(num.lstrip("-").split(".")[0]) <= _MAX_DIGITS


def _lex(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise WhenSyntaxError(f"unexpected character {text[i]!r}", i + 1)
        kind = m.lastgroup or ""
        if kind == "num" and not _finite(m.group()):
            raise WhenSyntaxError(f"number {m.group()[:20]}… is too large (at most "
                                  f"{_MAX_DIGITS} digits)", i + 1)
        if kind != "ws":
            out.append(_Tok(kind, m.group(), i + 1))
        i = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


# -- parser ---------------------------------------------------------------------------------

_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class _Parser:
    def __init__(self, text: str, params: Iterable[str]) -> None:
        self.toks = _lex(text)
        self.i = 0
        self.params = set(params)
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.take()
        if tok.text != text:
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise WhenSyntaxError(f"expected {text!r}, got {got}", tok.col)
        return tok

    def parse(self) -> Node:
        tree = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise WhenSyntaxError(f"unexpected {tok.text!r} (missing 'and'/'or'?)", tok.col)
        return tree

    def or_(self) -> Node:
        left = self.and_()
        while self.peek().text in ("or", "||"):
            self.take()
            left = BoolOp("or", left, self.and_())
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self.peek().text in ("and", "&&"):
            self.take()
            left = BoolOp("and", left, self.not_())
        return left

    def not_(self) -> Node:
        if self.peek().text in ("not", "!"):
            tok = self.take()
            self.depth += 1
            if self.depth > 50:
                raise WhenSyntaxError("expression nested too deeply", tok.col)
            node = Not(self.not_())
            self.depth -= 1
            return node
        return self.cmp()

    def cmp(self) -> Node:
        left_tok = self.peek()
        left = self.operand()
        if self.peek().text in _CMP:
            op = self.take().text
            right_tok = self.peek()
            right = self.operand()
            left = self._bare(left, left_tok, right)
            right = self._bare(right, right_tok, left)
            return Compare(op, left, right)
        if isinstance(left, Lit) and left.bare:
            raise WhenSyntaxError(f"unknown parameter {left.value!r} (parameters: "
                                  f"{', '.join(sorted(self.params)) or 'none'})", left_tok.col)
        return left

    def _bare(self, node: Node, tok: _Tok, other: Node) -> Node:
        """A bare word is text only as the other side of a parameter or fact comparison."""
        if isinstance(node, Lit) and node.bare and isinstance(other, Lit):
            raise WhenSyntaxError(f"unknown parameter {node.value!r} (parameters: "
                                  f"{', '.join(sorted(self.params)) or 'none'})", tok.col)
        return node

    def operand(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Lit(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "str":
            return Lit(tok.text[1:-1])
        if tok.text == "(":
            self.depth += 1
            if self.depth > 50:
                raise WhenSyntaxError("expression nested too deeply", tok.col)
            node = self.or_()
            self.expect(")")
            self.depth -= 1
            return node
        if tok.kind != "name":
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise WhenSyntaxError(f"expected a value, a parameter or a fact, got {got}", tok.col)
        if tok.text in ("true", "false"):
            return Lit(tok.text == "true")
        if tok.text in ("any", "all", "count") and self.peek().text == "(":
            return self.quant(tok.text)
        if tok.text in _KEYWORDS - {"any", "all", "count"}:
            raise WhenSyntaxError(f"'{tok.text}' needs something before it", tok.col)
        if "." in tok.text:
            return self.fact(tok)
        if self.peek().text == "[":
            raise WhenSyntaxError(f"fact names are dotted (e.g. quorum.quorate[node]), got "
                                  f"{tok.text!r}", tok.col)
        if tok.text in self.params:
            return ParamRef(tok.text)
        return Lit(tok.text, bare=True)

    def fact(self, tok: _Tok) -> FactRef:
        if self.peek().text != "[":
            return FactRef(tok.text)
        self.take()
        node = self.node_word()
        peer = None
        if self.peek().text in ("->", "→"):
            self.take()
            peer = self.node_word()
        self.expect("]")
        return FactRef(tok.text, node, peer)

    def node_word(self) -> str:
        tok = self.take()
        if tok.kind not in ("name", "num") or not _NODE_NAME.fullmatch(tok.text.lstrip("-")):
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise WhenSyntaxError(f"expected a node name or a parameter, got {got}", tok.col)
        return tok.text

    def quant(self, fn: str) -> Quant:
        self.expect("(")
        tok = self.take()
        if tok.kind != "name" or "." not in tok.text:
            raise WhenSyntaxError(f"{fn}() takes a dotted fact name, e.g. {fn}(quorum.quorate)",
                                  tok.col)
        op: str | None = None
        value: Scalar | None = None
        if self.peek().text in _CMP:
            op = self.take().text
            lit = self.take()
            if lit.kind == "num":
                value = float(lit.text) if "." in lit.text else int(lit.text)
            elif lit.kind == "str":
                value = lit.text[1:-1]
            elif lit.text in ("true", "false"):
                value = lit.text == "true"
            elif lit.kind == "name" and "." not in lit.text and lit.text not in _KEYWORDS:
                value = lit.text
            else:
                raise WhenSyntaxError(f"{fn}(... {op} X): X must be a literal", lit.col)
        self.expect(")")
        return Quant(fn, tok.text, op, value)


def parse(text: str, params: Iterable[str] = ()) -> Condition:
    """Parse a ``when`` expression; ``params`` are the runbook's parameter names.

    Raises :class:`WhenSyntaxError` (and nothing else) on any malformed input.
    """
    if len(text) > 2000:
        raise WhenSyntaxError("expression longer than 2000 characters", 1)
    if not text.strip():
        raise WhenSyntaxError("empty condition", 1)
    return Condition(text, _Parser(text, params).parse())


# -- evaluation -----------------------------------------------------------------------------

#: Looks up observed facts: ``lookup(key)`` → value or None; ``observations(name)`` → values.
Lookup = Callable[[str], Scalar | None]
Observations = Callable[[str], list[Scalar]]


@dataclass
class Scope:
    """What a condition is evaluated over. ``first`` is the inventory's first node name."""

    params: Mapping[str, object]
    lookup: Lookup
    observations: Observations
    first: str = ""
    #: Filled while evaluating: "key = value" for every fact read, for the journaled reason.
    seen: list[str] | None = None

    def note(self, text: str) -> None:
        if self.seen is not None and text not in self.seen:
            self.seen.append(text)


def evaluate(cond: Condition, scope: Scope) -> bool:
    """True/False, or raises :class:`Undecided` naming what is missing."""
    return _truth(_eval(cond.tree, scope))


def explain(cond: Condition, scope: Scope) -> tuple[bool | None, str]:
    """(result or None when undecided, the facts and parameters it read) for journals."""
    scope.seen = []
    try:
        result: bool | None = evaluate(cond, scope)
        why = ""
    except Undecided as exc:
        result, why = None, str(exc)
    read = ", ".join(scope.seen)
    return result, "; ".join(p for p in (why, read) if p)


def _truth(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _eval(node: Node, scope: Scope) -> object:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, ParamRef):
        value = scope.params.get(node.name)
        scope.note(f"{node.name} = {_show(value)}")
        return value
    if isinstance(node, FactRef):
        key = _key(node, scope)
        value = scope.lookup(key)
        if value is None:
            raise Undecided(f"fact {key} was not observed")
        scope.note(f"{key} = {_show(value)}")
        return value
    if isinstance(node, Quant):
        values = scope.observations(node.name)
        if not values:
            raise Undecided(f"no {node.name} fact was observed")
        scope.note(f"{node.name} = {', '.join(_show(v) for v in values)}")
        if node.op is None:
            tests = [_truth(v) for v in values]
        else:
            tests = [compare(node.op, v, node.value) for v in values]
        if node.fn == "count":
            return sum(tests)
        return any(tests) if node.fn == "any" else all(tests)
    if isinstance(node, Not):
        return not _truth(_eval(node.operand, scope))
    if isinstance(node, BoolOp):
        left = _truth(_eval(node.left, scope))
        if node.op == "and" and not left:
            return False
        if node.op == "or" and left:
            return True
        return _truth(_eval(node.right, scope))
    return compare(node.op, _eval(node.left, scope), _eval(node.right, scope))


def _key(ref: FactRef, scope: Scope) -> str:
    if ref.node is None:
        return ref.name
    node = _node_word(ref.node, scope)
    if ref.peer is None:
        return f"{ref.name}[{node}]"
    return f"{ref.name}[{node}→{_node_word(ref.peer, scope)}]"


def _node_word(word: str, scope: Scope) -> str:
    if word in scope.params:
        return str(scope.params[word])
    if word == "first" and scope.first:
        return scope.first
    return word


def compare(op: str, a: object, b: object) -> bool:
    """``a op b`` as ``when`` compares (text == ignores case); raises Undecided if ill-typed."""
    if isinstance(a, str) or isinstance(b, str):
        if op in ("==", "!="):
            same = _text(a).lower() == _text(b).lower()
            return same if op == "==" else not same
        na, nb = _number(a), _number(b)
    else:
        na, nb = _number(a), _number(b)
    if op == "==":
        return na == nb
    if op == "!=":
        return na != nb
    if op == "<":
        return na < nb
    if op == "<=":
        return na <= nb
    if op == ">":
        return na > nb
    return na >= nb


def _text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _number(v: object) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        try:
            n = float(v)
        except OverflowError:
            raise Undecided(f"{_show(v)[:40]} is too large to compare") from None
        if not math.isfinite(n):
            raise Undecided(f"{_show(v)[:40]} is not a finite number")
        return n
    if isinstance(v, str):
        # ASCII digits only: float() also takes '١٢', '1_0', 'inf' and 'nan'
        if not _NUMBER_TEXT.fullmatch(v.strip()):
            raise Undecided(f"{v[:40]!r} is not a number")
        return _number(float(v)) if len(v.strip()) <= _MAX_DIGITS else _number(float("inf"))
    raise Undecided(f"{_show(v)} is not a number")


_NUMBER_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _show(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "unset" if v is None else str(v)
