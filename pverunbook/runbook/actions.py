"""The catalogue of built-in actions: names, arguments and how a planned action reads.

The loader, the schema and the plan need to know which actions exist and what arguments they
take; only the engine needs the code that performs them (``engine/actions.py``, which binds an
implementation to each entry here). Keeping the catalogue at this level is what lets nothing
below the engine import the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionSignature:
    """One action's name, one-line summary and arguments (name → meaning).

    ``read_only``: the action changes nothing on a node whatever its arguments (it only runs
    read-only commands and reads files), so a step of it counts as read-only
    (engine/decisions.py ``not_read_only``).
    """

    name: str
    summary: str
    required: tuple[str, ...] = ()
    optional: dict[str, str] = field(default_factory=dict)
    read_only: bool = False

    def check_args(self, args: dict[str, Any]) -> list[str]:
        """Problems with ``args`` (missing or unknown keys), one sentence each; [] when fine."""
        problems = [f"missing argument '{k}'" for k in self.required if k not in args]
        allowed = set(self.required) | set(self.optional)
        problems += [f"unknown argument '{k}' (one of {', '.join(sorted(allowed))})"
                     for k in args if k not in allowed]
        return problems

    def describe(self, args: dict[str, Any]) -> str:
        """How the plan and the journal show this action with its rendered arguments."""
        shown = "; ".join(f"{k.replace('_', ' ')}: {_words(v)}" for k, v in args.items())
        return f"[action {self.name}] {self.summary}" + (f" ({shown})" if shown else "")


def _words(value: Any) -> str:
    """An argument as an operator reads it: ``overwrite: no``, not ``overwrite=False)``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_words(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value) or "none"
    return str(value) if value != "" else "(empty)"


ACTIONS: dict[str, ActionSignature] = {
    sig.name: sig for sig in (
        ActionSignature("corosync-edit", "edit corosync.conf safely (copy, change, bump "
                        "config_version, validate, show the diff)",
                        optional={"source": "file to read", "dest": "file to write (.new)",
                                  "set": "table of totem keys", "unset": "keys to remove",
                                  "add_link": "{linknumber, priority, addrs = {node = addr}}; "
                                              "without addrs, each node's inventory addr1"}),
        ActionSignature("vm-config-rebuild", "rebuild VM configs from running kvm processes",
                        optional={"vmid": "a VM id or 'all'", "dest_dir": "where to write",
                                  "suffix": "file suffix", "overwrite": "replace existing",
                                  "review_dir": "where <vmid>.conf.review notes go "
                                                "(node-local)",
                                  "allow_partial": "write configs with parts not understood",
                                  "storage_cfg": "the node's storage.cfg (default "
                                                 "/etc/pve/storage.cfg)"}),
        ActionSignature("vm-config-install", "write the reviewed VM configs (<vmid>.conf."
                        "recovered, as they are on the node) for the VMs running here, each "
                        "checked first, never overwriting",
                        optional={"vmid": "a VM id or 'all'",
                                  "from_dir": "where the reviewed files are (node-local)",
                                  "suffix": "the reviewed files' suffix (.conf.recovered)",
                                  "dest_dir": "where to write (/etc/pve/qemu-server)"}),
        ActionSignature("vm-config-compare", "compare `qm showcmd` of each running VM's "
                        "config with its running command line, a diff per VM",
                        optional={"vmid": "a VM id or 'all'"}, read_only=True),
        ActionSignature("pmxcfs-restore", "restore files from a pmxcfs database or backup dump",
                        required=("source",),
                        optional={"paths": "glob of tree paths", "dest": "mount point",
                                  "overwrite": "replace existing", "list_only": "only list"}),
    )
}


def render_args(value: Any, values: dict[str, object]) -> Any:
    """Placeholders in action arguments are data, not shell: inserted as plain text."""
    from pverunbook.runbook.template import render_plain

    if isinstance(value, str):
        return render_plain(value, values)
    if isinstance(value, dict):
        return {k: render_args(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render_args(v, values) for v in value]
    return value
