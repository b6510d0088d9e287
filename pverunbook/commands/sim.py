"""``pverunbook simulate``: run the rehearsal cluster in the foreground for people to log into.

Imports of the simulator happen inside the handler so ``pverunbook --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path


class ScenarioNames:
    """``choices`` for ``--scenario``: the scenarios and their aliases, looked up when argparse
    checks a value or prints help, not when the parser is built. Building it is part of every
    launch (the app's too) and the scenarios module costs more than the rest of the parser."""

    @staticmethod
    def _names() -> list[str]:
        from pverunbook.sim.scenarios import ALIASES, SCENARIOS

        return sorted(SCENARIOS) + sorted(ALIASES)

    def __contains__(self, name: object) -> bool:
        return name == "list" or name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __str__(self) -> str:
        """For ``%(choices)s`` in a help text, which argparse wraps (the ``{a,b,…}`` it puts
        in the usage line and beside the option did not: one 245-column line)."""
        return ", ".join(self._names())


def scenario_lines() -> list[str]:
    """``NAME  what it is`` for every scenario, then the aliases (``--scenario list``)."""
    from pverunbook.sim.scenarios import ALIASES, SCENARIOS

    width = max(len(n) for n in SCENARIOS)
    out = [f"{name:<{width}}  {SCENARIOS[name].title}"
           + (" (the default)" if name == "nyc-outage" else "") for name in sorted(SCENARIOS)]
    out += [f"{alias:<{width}}  = {target}" for alias, target in sorted(ALIASES.items())]
    return out


def print_scenarios() -> int:
    """``--scenario list``: one line per scenario, on stdout, exit 0."""
    for line in scenario_lines():
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run the rehearsal cluster (simulated nodes over SSH) until Ctrl-C",
        description="Start simulated Proxmox VE nodes on 127.0.0.1, each with its own SSH "
                    "port and host key, in the chosen scenario's state.")
    scenario = p.add_argument(
        "--scenario", default=None, metavar="NAME",
        help="which cluster state to simulate: %(choices)s (default: what --state-dir "
             "holds, else nyc-outage); --scenario list: each with what it is")
    # set after add_argument, which formats the choices (imports the scenarios) to check them
    scenario.choices = ScenarioNames()
    p.add_argument("--state-dir", type=Path,
                   help="keep node files, keys and the world here and continue them on the "
                        "next launch (default: a new temporary directory)")
    p.add_argument("--reset", action="store_true",
                   help="start the scenario afresh, discarding what --state-dir holds")
    p.add_argument("--inventory-out", type=Path,
                   help="write the cluster inventory TOML here (default: <state-dir>/"
                        "cluster.toml)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="real seconds per simulated second (default 1.0)")
    p.add_argument("--port", type=int, action="append", default=[],
                   help="fixed SSH port for the nodes, in order (repeatable; default: free "
                        "ports)")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    import asyncio

    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import signal

    from pverunbook.sim import SimCluster
    from pverunbook.sim.scenarios import get
    from pverunbook.sim.state import SimStateError

    if args.reset and args.state_dir is not None:
        import shutil

        shutil.rmtree(args.state_dir / "nodes", ignore_errors=True)
        (args.state_dir / "world.json").unlink(missing_ok=True)
    saved = SimCluster.saved_scenario(args.state_dir) if args.state_dir else None
    scenario = get(args.scenario or saved or "nyc-outage")
    names = [n.name for n in scenario.nodes]
    ports = dict(zip(names, args.port, strict=False))
    try:
        sim = SimCluster(scenario.name, state_dir=args.state_dir, time_scale=args.time_scale,
                         ports=ports)
        await sim.start()
    except SimStateError as exc:
        print(f"pverunbook: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pverunbook: cannot start the rehearsal cluster: {exc}; pick other --port values "
              "or free the port", file=sys.stderr)
        return 1
    inv = args.inventory_out or sim.state_dir / "cluster.toml"
    inv.parent.mkdir(parents=True, exist_ok=True)
    inv.write_text(sim.inventory_toml(), encoding="utf-8")
    fps = sim.fingerprints()
    print(f"Rehearsal cluster '{sim.cluster.name}' ({scenario.name}): {scenario.title}")
    temp = "" if args.state_dir else "   (temporary: deleted when this stops; keep one with " \
        "--state-dir)"
    print(f"State directory: {sim.state_dir}{temp}")
    for n in sim.cluster.nodes:
        print(f"  {n.name:<10} ssh -p {n.port} root@127.0.0.1   host key {fps[n.name]}")
    if scenario.qnetd is not None:
        print(f"  {scenario.qnetd[0]:<10} ssh -p {sim.port(scenario.qnetd[0])} root@127.0.0.1"
              f"   (QNetd host {scenario.qnetd[1]}, outside the cluster)")
    print(f"Password: {sim.password}   (or: ssh -i {sim.client_key_path} ...)")
    print(f"Inventory: {inv}   (pverunbook run --cluster {inv} ...)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too: a closed terminal or ssh session stops the cluster cleanly (and deletes a
    # temporary state directory with its private key) instead of killing the process.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print("Nothing here touches a real cluster. Press Ctrl-C to stop.", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()
        print("rehearsal cluster stopped")
    return 0
