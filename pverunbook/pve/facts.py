"""Facts: typed values read off a step's output, for `when` conditions and the diagnosis.

A verdict explains an output to a person (findings); a fact states one value a program can test
(``quorum.quorate = true`` on ryanrishi). Both come from the same parsers in :mod:`outputs`, so
they cannot disagree. Rules here are pure functions over one node's captured output; the engine
only calls them and journals what they return.

Naming (documented for runbook authors in ``runbooks/README.md``):

- ``name`` is dotted and lower case, e.g. ``quorum.quorate``, ``link.loss_pct``, ``db.integrity``.
- A fact is observed on one ``node`` (or on none, for cluster-wide facts derived from several
  nodes) and may be about one ``peer`` (a link, a route). Its :attr:`Fact.key` is
  ``name``, ``name[node]`` or ``name[node→peer]``.
- Values are ``bool``, ``int``, ``float`` or ``str`` — JSON scalars, so the journal holds them as
  they are and resume sees the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pverunbook.pve import outputs

FactValue = bool | int | float | str


@dataclass(frozen=True)
class Fact:
    """One value observed on one node (``node=None``: cluster-wide), optionally about a peer."""

    name: str
    value: FactValue
    node: str | None = None
    peer: str | None = None
    evidence: str = ""  # the output line the value was read from, for the diagnosis
    step_id: str = ""  # filled in by the engine

    @property
    def key(self) -> str:
        if self.node is None:
            return self.name
        if self.peer is None:
            return f"{self.name}[{self.node}]"
        return f"{self.name}[{self.node}→{self.peer}]"

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "node": self.node, "peer": self.peer,
                "evidence": self.evidence, "step_id": self.step_id}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fact:
        """Inverse of :meth:`to_json`; raises ValueError on a malformed record (journal)."""
        name, value = data.get("name"), data.get("value")
        node, peer = data.get("node"), data.get("peer")
        if not isinstance(name, str) or not isinstance(value, bool | int | float | str):
            raise ValueError(f"not a fact record: {dict(data)!r:.200}")
        if node is not None and not isinstance(node, str):
            raise ValueError(f"fact {name}: node must be a string")
        if peer is not None and not isinstance(peer, str):
            raise ValueError(f"fact {name}: peer must be a string")
        return cls(name, value, node, peer, str(data.get("evidence") or ""),
                   str(data.get("step_id") or ""))


@dataclass(frozen=True)
class Observation:
    """What a fact rule sees: one node's output of one step, and how to name other nodes.

    ``exit_status`` is None when the command never finished (timeout, lost node). Rules must not
    read facts off the output of a command that failed to read its input (a hung ``/etc/pve``).
    ``names_by_addr`` / ``names_by_nodeid`` turn addresses and corosync node ids into node names.
    """

    node: str
    text: str
    exit_status: int | None = 0
    names_by_addr: Mapping[str, str] = field(default_factory=dict)
    names_by_nodeid: Mapping[int, str] = field(default_factory=dict)

    def name_of(self, addr_or_id: str | int) -> str:
        if isinstance(addr_or_id, int):
            return self.names_by_nodeid.get(addr_or_id, f"nodeid {addr_or_id}")
        return self.names_by_addr.get(addr_or_id, addr_or_id)


class FactStore:
    """Every fact of a run, latest value per key; what `when` conditions and the diagnosis read."""

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._by_key: dict[str, Fact] = {}
        for f in facts:
            self.add(f)

    def add(self, fact: Fact) -> None:
        self._by_key.pop(fact.key, None)  # keep insertion order = observation order
        self._by_key[fact.key] = fact

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Fact | None:
        return self._by_key.get(key)

    def named(self, name: str) -> list[Fact]:
        """Every observation of ``name`` (all nodes, all peers), in observation order."""
        return [f for f in self._by_key.values() if f.name == name]


# --- rules --------------------------------------------------------------------------------


def facts_quorum(obs: Observation) -> list[Fact]:
    """``pvecm status`` / ``corosync-quorumtool -s``: quorate, votes, config version, running.

    Source of the format: corosync-quorumtool(8); pve-docs pvecm chapter.
    """
    st = outputs.parse_quorum_status(obs.text)
    node = obs.node
    if st.error:
        return [Fact("corosync.running", False, node, evidence=st.error)]
    out: list[Fact] = []
    if st.quorate is not None:
        out.append(Fact("corosync.running", True, node))
        out.append(Fact("quorum.quorate", st.quorate, node,
                        evidence=f"Quorate: {'Yes' if st.quorate else 'No'}"))
    if st.expected_votes is not None:
        out.append(Fact("quorum.expected_votes", st.expected_votes, node,
                        evidence=f"Expected votes: {st.expected_votes}"))
    if st.total_votes is not None:
        out.append(Fact("quorum.total_votes", st.total_votes, node,
                        evidence=f"Total votes: {st.total_votes}"))
    if st.config_version is not None:
        out.append(Fact("corosync.config_version", st.config_version, node,
                        evidence=f"Config Version: {st.config_version}"))
    return out


#: Fact rules by verdict name: a step with ``verdict = "quorum"`` yields findings *and* facts.
FACT_RULES: dict[str, Callable[[Observation], list[Fact]]] = {
    "quorum": facts_quorum,
}


def extract(verdict: str, obs: Observation) -> list[Fact]:
    """Facts of one node's output for the step's verdict; [] for a verdict without fact rules."""
    rule = FACT_RULES.get(verdict)
    return rule(obs) if rule else []
