"""The result: a rebuilt VM config, and apart from it what still needs a human.

The config text never carries comments: qemu-server reads the leading ``#`` lines of
``<vmid>.conf`` as the VM's ``description`` (PVE/QemuServer.pm ``parse_vm_config``), so review
notes written there would become the VM's Notes in the web UI.  They go to a separate review
text (:meth:`RecoveredConfig.render_review`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecoveredConfig:
    """A VM config rebuilt from a command line.

    ``options`` holds only keys read off the command line (or the storage config);
    ``todos`` are things the operator must check or add by hand, ``warnings`` are doubts about
    a key that was written, ``notes`` explain a reading (e.g. a migration target's ``-S``).
    ``missing`` lists parts of the command line that could not be understood: when it is not
    empty the config is incomplete and must not be used as is (:attr:`complete` is False).
    """

    vmid: int | None
    options: dict[str, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when everything the command line shows was understood."""
        return not self.missing

    def render(self) -> str:
        """The .conf text: ``key: value`` lines sorted like qm writes them, no comments."""
        return "".join(f"{k}: {self.options[k]}\n" for k in sorted(self.options))

    def render_review(self) -> str:
        """The review notes that go beside the config (``<vmid>.conf.review``), one a line."""
        head = f"VM {self.vmid}" if self.vmid is not None else "VM (id unknown)"
        lines = [f"# review notes for {head}, rebuilt from its QEMU command line"]
        lines += [f"MISSING: {m}" for m in self.missing]
        lines += [f"TODO: {t}" for t in self.todos]
        lines += [f"WARNING: {w}" for w in self.warnings]
        lines += [f"NOTE: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"
