"""``pverunbook plan``: what a runbook would run where, with nothing executed.

Parameters that are not given yet are shown as ``<name>``; secrets are shown as ``***``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pverunbook.commands.exits import EXIT_OK, EXIT_USAGE, err
from pverunbook.commands.inputs import SET_HINT, load_runbook, parse_sets
from pverunbook.pve.paramtext import value_text


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("plan", help="dry-run plan: what would run where; executes nothing")
    s.add_argument("runbook")
    s.add_argument("--cluster", type=Path, help="cluster inventory TOML (default: the story's "
                   "nyc cluster)")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter value")
    s.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    from pverunbook.engine.targets import TargetError, plan
    from pverunbook.inventory import InventoryError, load_cluster
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.runbook.params import ParamValueError, resolve
    from pverunbook.session import _default_cluster

    try:
        rb = load_runbook(args.runbook, args.runbooks)
        cluster = load_cluster(args.cluster) if args.cluster else _default_cluster()
        values, missing = resolve(rb, parse_sets(args.set), nodes=cluster.names)
        filled = {**{m: f"<{m}>" for m in missing}, **values}
        steps = plan(rb, cluster, filled)
    except RunbookError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ParamValueError as exc:
        return err("plan --set", str(exc), SET_HINT)
    except (InventoryError, FileNotFoundError, TargetError, ValueError) as exc:
        return err("plan", str(exc))
    from pverunbook.engine.redaction import Redactor
    from pverunbook.runbook.params import secret_values

    redactor = Redactor(secret_values(rb, values))
    out = sys.stdout
    out.write(f"PLAN (dry-run, nothing is executed): {rb.title}\n")
    out.write(f"runbook {rb.id} v{rb.version} ({rb.path})\n")
    out.write(f"cluster {cluster.name}: {', '.join(cluster.names)}\n")
    if rb.params:
        out.write("parameters:\n")
        for p in rb.params:
            v = "***" if p.secret and p.name in values else values.get(p.name, "<asked at run>")
            out.write(f"  {p.name} = {value_text(v)}\n")
    for ps in steps:
        st = ps.step
        flags = []
        if st.destructive:
            flags.append("DESTRUCTIVE")
        if not ps.runs:
            flags.append(f"SKIPPED: condition '{st.when}' is false")
        elif ps.pending:
            flags.append(f"ONLY IF '{st.when}'" if st.when and "decided" in ps.pending
                         else "node chosen later")
        out.write(f"\n{ps.index + 1}. [{st.kind.value}] {st.title} ({st.id})"
                  + (f"  <{'; '.join(flags)}>" if flags else "") + "\n")
        if st.kind.value in ("run", "check", "action"):
            out.write(f"   timeout {st.timeout:g}s per command; ok exit: "
                      f"{', '.join(map(str, st.ok_exit))}; on failure: {st.on_failure}\n")
        for g in st.guards:
            out.write(f"   guard: {g.check.value}{' (warn only)' if g.warn else ''}\n")
        for node, cmds in ps.commands.items():
            for c in cmds:
                out.write(f"   {node}: {redactor.text(c)}\n")
        for e in st.expect:
            out.write(f"   expect: {e.describe()}\n")
        if st.verdict:
            out.write(f"   verdict: {st.verdict}\n")
        if st.destructive:
            if st.backup.empty:
                out.write(f"   checkpoint: NONE ({st.no_backup_reason})\n")
            for node, items in ps.backup.items():
                for item in items:
                    out.write(f"   checkpoint {node}: {item}\n")
        if ps.pending:
            out.write(f"   {ps.pending}\n")
        if ps.confirm:
            out.write(f"   confirmation: operator must type {ps.confirm!r}\n")
        if st.commit_within is not None:
            from pverunbook.runbook.template import render_plain

            where = _rollback_nodes(st, cluster, filled)
            undo = [f"restores {', '.join(st.backup.files)}"] if st.backup.files else []
            from pverunbook.engine.rollback_probe import RECORDED_PROSE

            undo += [f"runs {render_plain(c, filled).replace('{{recorded}}', RECORDED_PROSE)}"
                     for c in st.rollback.reload]
            out.write(f"   rollback timer: {st.commit_within}s on {where}, armed before the "
                      f"change; type 'COMMIT' after {', '.join(st.commit_checks)} passed, or "
                      f"each node {' and '.join(undo)} by itself\n")
        if st.kind.value == "manual":
            out.write(f"   manual: {st.instructions.strip().splitlines()[0]}\n")
        if st.kind.value == "input":
            out.write(f"   asks for: {', '.join(st.params)}\n")
    return EXIT_OK


def _rollback_nodes(step: Any, cluster: Any, values: Any) -> str:
    """The nodes a step's rollback timer is armed (and its checkpoint taken) on."""
    from dataclasses import replace

    from pverunbook.engine.targets import TargetError, resolve_targets

    targets = step.rollback.targets or step.targets
    try:
        nodes = resolve_targets(replace(step, targets=targets, max_targets=None), cluster,
                                values)
    except TargetError:
        return ", ".join(targets)
    return ", ".join(n.name for n in nodes) + " (checkpoint taken there too)"
