"""Preconditions checked on the nodes right before a step runs (the engine's ``GuardChecker``).

Each guard is probed on every target node with a timeout of its own: the probes touch exactly
the things that hang in a broken cluster (/etc/pve, corosync IPC, ha-manager), and a guard that
hangs must block the step, not the run. One ``GuardResult`` per guard says what was found on
which node and what to do about it.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pverunbook.engine.events import GuardResult
from pverunbook.inventory import Node
from pverunbook.runbook.model import GUARD_COMPARES, Guard, GuardKind
from pverunbook.transport.base import Transport, TransportError

if TYPE_CHECKING:
    from pverunbook.engine.engine import Engine
    from pverunbook.runbook.model import Step

#: pmxcfs reads the version with this regex; 0 counts as unparsable (dcdb.c / confdb).
CONFIG_VERSION_RE = re.compile(r"config_version\s*:\s*(\d+)")
COROSYNC_CONF = "/etc/corosync/corosync.conf"
#: Extra seconds the transport waits beyond a probe's own ``timeout N`` before killing it.
SLACK = 5.0
#: A guard that compares nodes, given one: it cannot block on a difference it cannot see,
#: and must not pass as if the nodes agreed.
ALONE_ADVICE = ("a one-node inventory compares nothing: list every node of the cluster in the "
                "inventory to compare them (the inventory-complete guard names the missing)")
UNREACHABLE_ADVICE = ("a node that did not answer cannot be compared with the others: bring it "
                      "back (or fix the way to it: ssh to it by hand) and run again")
HA_ADVICE = ("a node without quorum self-fences after ~60 s when HA guests run; put HA "
             "resources in maintenance (ha-manager crm-command node-maintenance enable <node>) "
             "or stop pve-ha-lrm then pve-ha-crm first")


@dataclass
class Probe:
    """What one node said for one guard."""

    node: str
    ok: bool
    found: str
    #: Nothing to compare (one node for a guard that compares nodes): not ok, and said as a
    #: warning rather than a block (it shows neither agreement nor a difference).
    alone: bool = False
    #: The node did not answer SSH in this run: nothing was read there.
    unreachable: bool = False


@dataclass
class _Out:
    exit_status: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    error: str = ""


async def _run(transport: Transport, node: Node, command: str, timeout: float) -> _Out:
    out: list[str] = []
    err: list[str] = []

    def feed(stream: str, text: str) -> None:
        (out if stream == "stdout" else err).append(text)

    try:
        r = await transport.run(node, command, timeout=timeout, on_output=feed)
    except TransportError as exc:
        return _Out(None, "", "", error=exc.message)
    return _Out(r.exit_status, "".join(out), "".join(err), timed_out=r.timed_out,
                error=r.error or ("connection lost" if r.connection_lost else ""))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _odd_quorum_output(text: str, st: object) -> str:
    """Why ``corosync-quorumtool -s`` output cannot be trusted ("" when it can).

    Real output (corosync tools/corosync-quorumtool.c) always has a numeric ``Node ID`` and,
    in its ``Votequorum information`` block, ``Total votes`` and ``Quorum`` that agree with
    ``Quorate``. A wrapper, a half-printed screen or another tool answering in its place does
    not; a guard must not let a destructive step through on such text.
    """
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Node ID" and getattr(st, "node_id", None) is None:
            return f"Node ID {value.strip()[:20]!r} is not a node id"
    total, quorum = getattr(st, "total_votes", None), getattr(st, "quorum", None)
    if total is None or quorum is None:
        return "no 'Total votes' and 'Quorum' lines"
    quorate = getattr(st, "quorate", None)
    if quorate is not None and quorate != (total >= quorum):
        return f"Quorate says {'Yes' if quorate else 'No'} with {total} of {quorum} votes"
    return ""


class ProxmoxGuards:
    """Implements every ``GuardKind`` against real Proxmox VE nodes (and their rehearsal)."""

    async def check(self, engine: Engine, step: Step, nodes: list[Node]) -> list[GuardResult]:
        results: list[GuardResult] = []
        for guard in step.guards:
            try:
                probes = await self._probe(engine, guard, nodes)
            except TransportError as exc:
                probes = [Probe(exc.node, False, f"cannot be probed: {exc}")]
            results.append(self._result(step, guard, probes))
        return results

    def _result(self, step: Step, guard: Guard, probes: list[Probe]) -> GuardResult:
        ok = all(p.ok for p in probes)
        alone = not ok and all(p.ok or p.alone for p in probes)
        found = "; ".join(f"{p.node}: {p.found}" for p in probes) or "no nodes to check"
        # Failing only because nodes did not answer: the runbook's message and the usual
        # advice speak of a difference nobody saw.
        unread = not ok and all(p.ok or p.unreachable for p in probes)
        advice = "" if ok else UNREACHABLE_ADVICE if unread else ALONE_ADVICE if alone \
            else _ADVICE.get(guard.check, "")
        parts = [guard.message] if guard.message and not ok and not unread else []
        parts.append(f"{guard.check.value}: {found}")
        if advice:
            parts.append(advice)
        return GuardResult(step_id=step.id, check=guard.check.value, ok=ok,
                           warn_only=guard.warn or alone, message=" — ".join(parts))

    async def _probe(self, engine: Engine, guard: Guard, nodes: list[Node]) -> list[Probe]:
        compares = GUARD_COMPARES.get(guard.check)
        if compares is not None:
            # "inventory": every inventory node, not only the step's targets. same-config-version
            # on a step on "first" must still know the others agree (one node compared with
            # itself proves nothing); inventory-complete checks every inventory node's
            # nodelist, since a step on "all" never reaches a cluster node the inventory lacks.
            everyone = list(engine.cluster.nodes) if compares == "inventory" \
                and engine.cluster.nodes else nodes
            across = {GuardKind.SAME_CONFIG_VERSION: self._same_config_version,
                      GuardKind.INVENTORY_COMPLETE: self._inventory_complete}
            # A node that did not answer SSH in this run cannot be read: say so, rather than
            # try it again and call its connection error a difference. It fails the guard
            # unless the runbook made the operator accept going on without it first.
            gone = [n for n in everyone if n.name in engine.unreachable]
            said = [Probe(n.name, guard.skip_unreachable,
                          f"{'not compared' if guard.skip_unreachable else 'cannot be read'}: "
                          f"did not answer SSH ({engine.unreachable[n.name]})",
                          unreachable=True)
                    for n in gone]
            rest = [n for n in everyone if n.name not in engine.unreachable]
            return (await across[guard.check](engine, guard, rest) if rest else []) + said
        fns: dict[GuardKind, Callable[[Engine, Guard, Node], Awaitable[Probe]]] = {
            GuardKind.QUORATE: self._quorate,
            GuardKind.NOT_QUORATE: self._not_quorate,
            GuardKind.PVE_WRITABLE: self._pve_writable,
            GuardKind.COROSYNC_RUNNING: self._corosync_running,
            GuardKind.NO_HA_RESOURCES: self._no_ha,
            GuardKind.COMMAND: self._command,
        }
        fn = fns[guard.check]

        async def safe(node: Node) -> Probe:
            # Output no parser foresaw must fail this node's guard, never the run.
            try:
                return await fn(engine, guard, node)
            except TransportError as exc:
                return Probe(node.name, False, f"cannot be probed: {exc.message}")
            except Exception as exc:  # noqa: BLE001 - reported as this node's guard failure
                return Probe(node.name, False, f"could not read the probe's output ({exc}); "
                                               "check this node by hand")

        return list(await asyncio.gather(*(safe(n) for n in nodes)))

    # -- quorum ------------------------------------------------------------------------------
    async def _quorum(self, engine: Engine, guard: Guard, node: Node) -> tuple[bool | None, str]:
        """(quorate?, what was seen); None when it could not be told."""
        from pverunbook.pve.outputs import parse_quorum_status

        t = engine.transport_for(node)
        out = await _run(t, node, "corosync-quorumtool -s", guard.within)
        if out.exit_status == 127:
            out = await _run(t, node, "pvecm status", guard.within)
        if out.timed_out:
            return None, f"no answer within {guard.within:g}s (corosync or pmxcfs hung?)"
        if out.error:
            return None, out.error
        st = parse_quorum_status(out.stdout + out.stderr)
        if st.error:
            return False, f"corosync is not running ({st.error})"
        if st.quorate is None:
            return None, ("no 'Quorate:' line in the output: "
                          f"{_first_line(out.stderr or out.stdout) or 'empty'}")
        odd = _odd_quorum_output(out.stdout, st)
        if odd:
            return None, (f"the output is not what corosync-quorumtool prints ({odd}), so "
                          "quorum cannot be told from it; run `corosync-quorumtool -s` on "
                          "this node and look")
        votes = ""
        if st.total_votes is not None and st.quorum is not None:
            votes = f" ({st.total_votes} votes, {st.quorum} needed)"
        return st.quorate, ("Quorate: Yes" if st.quorate else "Quorate: No") + votes

    async def _quorate(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        q, found = await self._quorum(engine, guard, node)
        return Probe(node.name, q is True, found)

    async def _not_quorate(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        q, found = await self._quorum(engine, guard, node)
        return Probe(node.name, q is False, found)

    # -- /etc/pve ----------------------------------------------------------------------------
    async def _pve_writable(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        # One name per node: /etc/pve is one replicated tree, and with a shared name the
        # nodes probing at once saw each other's file come and go (touch: ENOENT).
        tag = re.sub(r"[^A-Za-z0-9_-]", "_", f"{engine.run_id}-{node.name}")
        probe = f"/etc/pve/.pverunbook-probe-{tag}"
        inner = f"touch {probe} && rm -f {probe}"
        n = max(1, round(guard.within))
        cmd = f"timeout {n} sh -c {shlex.quote(inner)}"
        out = await _run(engine.transport_for(node), node, cmd, n + SLACK)
        if out.exit_status == 124 or out.timed_out:
            return Probe(node.name, False, f"a write to /etc/pve hung for {n}s (pmxcfs is "
                                           "blocked, usually waiting for quorum)")
        if out.error:
            return Probe(node.name, False, out.error)
        if out.exit_status != 0:
            why = _first_line(out.stderr) or f"exit {out.exit_status}"
            return Probe(node.name, False, f"/etc/pve is not writable: {why}")
        return Probe(node.name, True, f"/etc/pve writable within {n}s")

    # -- corosync ----------------------------------------------------------------------------
    async def _corosync_running(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        out = await _run(engine.transport_for(node), node, "systemctl is-active corosync",
                         guard.within)
        if out.timed_out:
            return Probe(node.name, False, f"systemctl gave no answer within {guard.within:g}s")
        state = _first_line(out.stdout) or out.error or _first_line(out.stderr) or "unknown"
        return Probe(node.name, out.exit_status == 0 and state == "active", f"corosync {state}")

    async def _same_config_version(self, engine: Engine, guard: Guard,
                                   nodes: list[Node]) -> list[Probe]:
        async def one(node: Node) -> tuple[Node, int | None, str]:
            try:
                data = await engine.transport_for(node).read_file(node, COROSYNC_CONF,
                                                                   timeout=guard.within)
            except TransportError as exc:
                return node, None, exc.message
            m = CONFIG_VERSION_RE.search(data.decode("utf-8", errors="replace"))
            if not m or int(m.group(1)) == 0:
                return node, None, f"no usable config_version in {COROSYNC_CONF}"
            return node, int(m.group(1)), ""

        from pverunbook.pve.verdicts.config import compare_config_versions

        seen = await asyncio.gather(*(one(n) for n in nodes))
        compared, alone = compare_config_versions([(n.name, v, why) for n, v, why in seen])
        return [Probe(node, ok, found, alone=alone) for node, ok, found in compared]

    async def _inventory_complete(self, engine: Engine, guard: Guard,
                                  nodes: list[Node]) -> list[Probe]:
        from pverunbook.pve.corosync_conf.nodelist import inventory_gap, nodelist_names

        inventory = [n.name for n in (engine.cluster.nodes or nodes)]

        async def one(node: Node) -> Probe:
            try:
                data = await engine.transport_for(node).read_file(node, COROSYNC_CONF,
                                                                   timeout=guard.within)
            except TransportError as exc:
                return Probe(node.name, False, exc.message)
            names = nodelist_names(data.decode("utf-8", errors="replace"))
            if names is None:
                return Probe(node.name, False, f"no nodelist to read in {COROSYNC_CONF}")
            gap = inventory_gap(inventory, names)
            if gap.complete:
                return Probe(node.name, True, f"nodelist {', '.join(names)} = the inventory")
            return Probe(node.name, False, gap.text())

        return list(await asyncio.gather(*(one(n) for n in nodes)))

    # -- HA ----------------------------------------------------------------------------------
    async def _no_ha(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        out = await _run(engine.transport_for(node), node, "ha-manager status", guard.within)
        if out.exit_status == 127:
            return Probe(node.name, True, "ha-manager is not installed (no HA stack)")
        if out.timed_out:
            return Probe(node.name, False, f"ha-manager status gave no answer within "
                                           f"{guard.within:g}s, so HA state is unknown")
        if out.error or out.exit_status != 0:
            why = out.error or _first_line(out.stderr) or f"exit {out.exit_status}"
            return Probe(node.name, False, f"ha-manager status failed ({why}), so HA state is "
                                           "unknown")
        services, lrms = ha_activity(out.stdout)
        if not services and not lrms:
            return Probe(node.name, True, "no HA resources")
        what = []
        if services:
            what.append(f"HA resources {', '.join(services)}")
        if lrms:
            what.append(f"active LRM on {', '.join(lrms)}")
        return Probe(node.name, False, " and ".join(what))

    # -- custom ------------------------------------------------------------------------------
    async def _command(self, engine: Engine, guard: Guard, node: Node) -> Probe:
        from pverunbook.runbook.template import render

        try:
            cmd = render(guard.command or "false", engine.values_for(node))
        except KeyError as exc:
            return Probe(node.name, False, f"the guard command uses unknown placeholder {exc}")
        out = await _run(engine.transport_for(node), node, cmd, guard.within)
        if out.timed_out:
            return Probe(node.name, False, f"`{cmd}` gave no answer within {guard.within:g}s")
        if out.error:
            return Probe(node.name, False, f"`{cmd}`: {out.error}")
        said = _first_line(out.stderr if out.exit_status else out.stdout)
        return Probe(node.name, out.exit_status == 0,
                     f"`{cmd}` exit {out.exit_status}" + (f": {said}" if said else ""))


def ha_activity(text: str) -> tuple[list[str], list[str]]:
    """Services (except ``ignored`` ones) and active LRMs in ``ha-manager status`` output."""
    services: list[str] = []
    lrms: list[str] = []
    for line in text.splitlines():
        m = re.match(r"\s*service\s+(\S+)\s*\(([^)]*)\)", line)
        if m:
            if "ignored" not in m.group(2):
                services.append(f"{m.group(1)} ({m.group(2).strip()})")
            continue
        m = re.match(r"\s*lrm\s+(\S+)\s*\(\s*active\b", line)
        if m:
            lrms.append(m.group(1))
    return services, lrms


_ADVICE: dict[GuardKind, str] = {
    GuardKind.QUORATE: "restore quorum first (check corosync links with `corosync-cfgtool -s`; "
                       "`pvecm expected 1` only on a node whose every peer is powered off or "
                       "has corosync stopped: on a node merely cut off from the others it "
                       "makes a second quorate partition, split brain)",
    GuardKind.NOT_QUORATE: "this step is only safe on a node without quorum; check "
                           "`corosync-quorumtool -s` and pick the right node",
    GuardKind.PVE_WRITABLE: "/etc/pve must accept writes: get quorum back "
                            "(`corosync-quorumtool -s`), "
                            "check `systemctl status pve-cluster`, then retry",
    GuardKind.COROSYNC_RUNNING: "start it with `systemctl start corosync` and read "
                                "`journalctl -b -u corosync` if it fails",
    GuardKind.SAME_CONFIG_VERSION: "make /etc/corosync/corosync.conf identical on all nodes "
                                   "(copy the newest one, same config_version) before going on",
    GuardKind.NO_HA_RESOURCES: HA_ADVICE,
    GuardKind.INVENTORY_COMPLETE: "list every node of the cluster's nodelist in the inventory "
                                  "(name, host, addr) and none it does not name, then run "
                                  "the runbook again: a step on every node reaches only the "
                                  "inventory's nodes",
    GuardKind.COMMAND: "the runbook's precondition does not hold; read its message",
}
