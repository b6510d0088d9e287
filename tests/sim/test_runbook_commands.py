"""Every program the shipped runbooks invoke exists on the rehearsal nodes.

Rehearsal must never answer a runbook command with ``sh: 1: X: not found``: this walks each
command's parsed form (pipelines, ``&&``, ``$(...)``, ``timeout``/``sh -c`` wrappers) and checks
every program name; the read-only triage runbook is also run end to end on a node.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from pverunbook.sim import SimCluster
from pverunbook.sim.shell import parser as P
from pverunbook.sim.shell.executor import Shell
from tests.sim.conftest import sh

RUNBOOKS = sorted((Path(__file__).resolve().parents[2] / "runbooks").glob("*.toml"))
BUILTIN_VALUES = {"node": "ryanrishi", "node_addr": "192.168.4.200", "cluster": "nyc",
                  "peer": "pve001", "peer_addr": "192.168.4.201", "peers": "pve001",
                  "peer_addrs": "192.168.4.201", "gateway": "192.168.4.1", "run_id": "rehearse-1"}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def runbook_commands() -> list[tuple[str, str]]:
    out = []
    for path in RUNBOOKS:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        values = dict(BUILTIN_VALUES)
        for p in data.get("params", []):
            default = p.get("default")
            values[p["name"]] = "pve001" if default is None else str(default).lower() \
                if isinstance(default, bool) else str(default)
        for step in data.get("steps", []):
            cmds = list(step.get("commands", []))
            cmds += [g["command"] for g in step.get("guards", []) if g.get("command")]
            for cmd in cmds:
                text = PLACEHOLDER.sub(lambda m, v=values: shlex.quote(v.get(m.group(1), "x")),
                                       cmd)
                out.append((f"{path.stem}:{step.get('id')}", text))
    return out


def programs(node: P.Node | None) -> list[str]:
    """Literal command names in a parsed script, looking through timeout/sh -c/xargs/find."""
    names: list[str] = []
    if node is None:
        return names
    if isinstance(node, P.Simple):
        for w in node.words + [v for _, v in node.assigns]:
            for part in w.parts:
                if part.kind == "cmd":
                    names += programs(part.node)
        words = [w.raw_literal for w in node.words]
        names += _unwrap([x if x is not None else "$x" for x in words])
        for r in node.redirs:
            if r.target:
                for part in r.target.parts:
                    if part.kind == "cmd":
                        names += programs(part.node)
        return names
    for child in _children(node):
        names += programs(child)
    return names


def _unwrap(argv: list[str]) -> list[str]:
    if not argv or argv[0].startswith("$"):
        return []
    name = argv[0]
    if name == "timeout":
        rest = [a for a in argv[1:] if not a.startswith("-")]
        return [name] + _unwrap(rest[1:])
    if name in ("sh", "bash") and "-c" in argv:
        script = argv[argv.index("-c") + 1]
        return [name] + programs(P.parse(script))
    if name == "xargs":
        rest = [a for a in argv[1:] if not a.startswith("-")]
        return [name] + _unwrap(rest)
    if name == "find" and "-exec" in argv:
        return [name] + _unwrap(argv[argv.index("-exec") + 1:])
    return [name]


def _children(node: P.Node) -> list[P.Node]:
    if isinstance(node, P.Seq):
        return list(node.items)
    if isinstance(node, P.AndOr):
        return [node.first] + [p for _, p in node.rest]
    if isinstance(node, P.Pipeline):
        return list(node.cmds)
    if isinstance(node, P.If):
        return [x for c, b in node.branches for x in (c, b)] + (
            [node.orelse] if node.orelse else [])
    if isinstance(node, P.For | P.While):
        return [node.body] + ([node.cond] if isinstance(node, P.While) else [])
    if isinstance(node, P.Case):
        return [b for _, b in node.items]
    if isinstance(node, P.Group):
        return [node.body]
    return []


def test_there_are_runbooks() -> None:
    if not RUNBOOKS:
        pytest.skip("no runbooks/*.toml in this checkout")
    assert runbook_commands()


async def test_every_runbook_program_is_emulated(sim: SimCluster) -> None:
    shell = Shell(sim.node("ryanrishi"))
    missing = []
    for where, cmd in runbook_commands():
        for name in programs(P.parse(cmd)):
            if not shell.knows(name):
                missing.append(f"{where}: {name} (in {cmd!r})")
    assert not missing, "\n".join(missing)


async def test_network_triage_runs_without_not_found(sim: SimCluster) -> None:
    for where, cmd in runbook_commands():
        if not where.startswith("network-triage:"):
            continue
        _, _, err = await sh(sim, "ryanrishi", cmd)
        assert "not found" not in err, (where, cmd, err)


async def test_quorumtool_with_corosync_stopped_names_cmap(healthy: SimCluster) -> None:
    """tools/corosync-quorumtool.c init_all initialises CMAP before QUORUM: a stopped corosync
    answers `Cannot initialize CMAP service` (the runbooks tell the operator that line)."""
    await sh(healthy, "pve001", "systemctl stop corosync")
    st, out, err = await sh(healthy, "pve001", "corosync-quorumtool -siH")
    assert st == 1 and err.strip() == "Cannot initialize CMAP service", (out, err)
