"""The facts model: :class:`Fact`, :class:`Observation` and :class:`FactStore`.

See :mod:`pverunbook.pve.facts` for the naming rules; this module holds only the types, so the
rule modules beside it can import them without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

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

    ``text`` is stdout, ``stderr`` the error stream: the tools this project reads put their
    failures there (``Cannot initialize CMAP service``, ``touch: cannot touch …: Permission
    denied``, ``Transport endpoint is not connected``, openssl's ``Could not open file``), so
    rules that tell a failure from a value read :attr:`seen`.
    """

    node: str
    text: str
    exit_status: int | None = 0
    names_by_addr: Mapping[str, str] = field(default_factory=dict)
    names_by_nodeid: Mapping[int, str] = field(default_factory=dict)
    stderr: str = ""

    @property
    def seen(self) -> str:
        """stdout, then stderr: everything the command said, as an operator's terminal shows."""
        if not self.stderr:
            return self.text
        sep = "" if not self.text or self.text.endswith("\n") else "\n"
        return self.text + sep + self.stderr

    def line_with(self, needle: str) -> str:
        """The first line of :attr:`seen` that contains ``needle``, stripped ("" if none)."""
        return next((ln.strip() for ln in self.seen.splitlines() if needle in ln), "")

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

    def value(self, name: str, node: str | None = None, peer: str | None = None,
              ) -> FactValue | None:
        """The latest value of ``name[node→peer]``, or None when it was never observed."""
        f = self.get(Fact(name, 0, node, peer).key)
        return None if f is None else f.value

    def nodes(self) -> list[str]:
        """Every node some fact was observed on, in first-seen order."""
        return list(dict.fromkeys(f.node for f in self if f.node is not None))

    def named_peers(self) -> FactStore:
        """A copy whose ``nodeid N`` peers carry node names, from ``corosync.nodeid`` facts
        and the nodeids ``corosync-cfgtool -n`` lists with each peer's address.

        Rules that read corosync's own outputs (cfgtool, cmap, the journal) know peers only by
        node id; ``pvecm status`` on each node says which id that node has. Ids nobody claimed
        stay ``nodeid N``.
        """
        # a peer's nodeid as another node's ``corosync-cfgtool -n`` shows it (by address),
        # then each node's own claim (``pvecm status``), which wins
        names = {int(f.value): f.peer for f in self.named("knet.peer_nodeid")
                 if f.peer is not None and isinstance(f.value, int)}
        names.update({int(f.value): f.node for f in self.named("corosync.nodeid")
                      if f.node is not None and isinstance(f.value, int)})
        out = FactStore()
        for f in self:
            if f.peer and f.peer.startswith("nodeid "):
                tail = f.peer.removeprefix("nodeid ")
                if tail.isdigit() and int(tail) in names:
                    f = replace(f, peer=names[int(tail)])
            out.add(f)
        return out

    def to_json(self) -> list[dict[str, object]]:
        return [f.to_json() for f in self]
