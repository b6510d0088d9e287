"""vm-config-recovery's write asks its typed confirmation showing which VM config goes to which
node: the dialog said only ``[action vm-config-rebuild] … (vmid='all', …)`` on each node, and an
operator confirming a write into /etc/pve could not see what is written where. The engine reads
it off the nodes (nothing written) before it asks: VMID, name and file, node by node, in the
dialog's docked head at 80×24."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from pverunbook.inventory import Node
from pverunbook.transport.base import CommandResult, OutputCallback
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from tests.ui.conftest import ScriptTransport, confirm_ready, to_run_screen, until

RUNBOOK = """
id = "vm-write"
title = "Write rebuilt VM configs"

[[params]]
name = "vmid"
type = "str"
prompt = "Which VM: a VMID, or 'all'"
default = "all"

[[steps]]
id = "rebuild-write"
title = "Write the rebuilt configs to /etc/pve/qemu-server (never overwriting)"
kind = "action"
action = "vm-config-rebuild"
targets = "all"
destructive = true
confirm = "cluster"
no_backup_reason = "test transport: nothing to back up"

[steps.args]
vmid = "{{vmid}}"
dest_dir = "/etc/pve/qemu-server"
overwrite = false
"""

#: node → its kvm processes (``ps -eo pid=,args=``)
PS = {
    "ryanrishi": ["  811 /usr/bin/kvm -id 104 -name hass,debug-threads=on -m 4096",
                  "  902 /usr/bin/kvm -id 110 -name unifi,debug-threads=on -m 2048"],
    "pve001": ["  733 /usr/bin/kvm -id 108 -name web01,debug-threads=on -m 8192",
               " 1201 /usr/bin/kvm -id 120 -m 1024"],
}
#: /etc/pve/.vmlist: VM 110 runs on ryanrishi, its config is on pve001 (never forced)
VMLIST = {"version": 3, "ids": {"110": {"node": "pve001", "type": "qemu", "version": 1}}}


class VmNodes(ScriptTransport):
    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output: OutputCallback) -> CommandResult:
        if command.startswith("ps -eo"):
            self.ran.append((node.name, command))
            for line in PS[node.name]:
                on_output("stdout", line + "\n")
            return CommandResult(0, 0.1)
        if command.startswith("test -e"):
            self.ran.append((node.name, command))
            return CommandResult(1, 0.1)  # no config of a running VM exists yet
        return await super().run(node, command, timeout=timeout, on_output=on_output)

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        assert path == "/etc/pve/.vmlist", path
        return json.dumps(VMLIST).encode()


async def test_the_write_says_which_vm_config_goes_to_which_node(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    (runbook_dir / "vm-write.toml").write_text(RUNBOOK, encoding="utf-8")
    transport = VmNodes()
    app = build_app(transport, runbook=runbook_dir / "vm-write.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        await pilot.pause()
        head = str(modal.query_one("#confirm-summary", Static).render())
        assert head.splitlines() == [
            "ryanrishi: VM 104 (hass) → /etc/pve/nodes/ryanrishi/qemu-server/104.conf",
            "ryanrishi: VM 110 (unifi): not written, its config is on pve001",
            "pve001: VM 108 (web01) → /etc/pve/nodes/pve001/qemu-server/108.conf",
            "pve001: VM 120 → /etc/pve/nodes/pve001/qemu-server/120.conf",
        ], head
        assert "vmid='all'" not in head
        # in the docked head, on screen above the field
        r = modal.query_one("#confirm-summary", Static).region
        assert r.height >= 4 and modal.region.contains_region(r)
        assert modal.get_widget_at(r.x, r.y + 3)[0] is modal.query_one("#confirm-summary")
        # nothing was written while it asked
        assert all(c.startswith(("ps -eo", "test -e")) for _, c in transport.ran), transport.ran
        await pilot.press("escape")


async def test_a_long_list_scrolls_in_the_docked_head(
        build_app: Callable[..., RunbookApp], runbook_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty VMs on each node at 80×24: the list scrolls in the dialog's head, which keeps
    the nodes line on top, and the field to type in stays on screen."""
    many = {n: [f" {900 + i} /usr/bin/kvm -id {base + i} -name vm{base + i},debug-threads=on"
                for i in range(20)] for n, base in (("ryanrishi", 200), ("pve001", 300))}
    monkeypatch.setattr(sys.modules[__name__], "PS", many)
    (runbook_dir / "vm-write.toml").write_text(RUNBOOK, encoding="utf-8")
    app = build_app(VmNodes(), runbook=runbook_dir / "vm-write.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        for _ in range(3):
            await pilot.pause()
        lines = str(modal.query_one("#confirm-summary", Static).render()).splitlines()
        assert len(lines) == 40 and lines[-1] == \
            "pve001: VM 319 (vm319) → /etc/pve/nodes/pve001/qemu-server/319.conf"
        head = modal.query_one("#confirm-head")
        assert head.max_scroll_y > 0 and modal.region.contains_region(head.region)
        nodes = modal.query_one("#confirm-nodes", Static)
        assert modal.get_widget_at(nodes.region.x, nodes.region.y)[0] is nodes
        field = modal.query_one("#confirm-input", Input)
        assert modal.get_widget_at(field.region.x + 1, field.region.y)[0] is field
        await pilot.press("escape")
