"""The result: a rebuilt VM config and what still needs a human."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecoveredConfig:
    """A VM config rebuilt from a command line, with what still needs a human."""

    vmid: int | None
    options: dict[str, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The .conf text: TODO comments first, then ``key: value`` sorted like qm writes.

        Note that Proxmox shows leading ``#`` lines as the VM's notes (``description``), so the
        TODOs stay visible in the GUI until someone deletes them.
        """
        lines = [f"# TODO: {t}" for t in self.todos]
        lines += [f"# WARNING: {w}" for w in self.warnings]
        lines += [f"{k}: {self.options[k]}" for k in sorted(self.options)]
        return "\n".join(lines) + "\n"

