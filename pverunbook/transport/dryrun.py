"""Executes nothing: records what would run where, so a plan can be rehearsed on paper."""

from __future__ import annotations

from dataclasses import dataclass, field

from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, OutputCallback, Transport


@dataclass
class DryRunTransport(Transport):
    mode = "dry-run"
    executes = False
    recorded: list[tuple[str, str, float]] = field(default_factory=list)

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        self.recorded.append((node.name, command, timeout))
        on_output("stdout", f"[dry-run] would run on {node.name} (timeout {timeout:g}s): "
                            f"{command}\n")
        return CommandResult(None, 0.0, dry_run=True)
