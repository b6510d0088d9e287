"""An action's arguments read as words at its confirmation: vm-config-recovery's ended with a
Python call, ``storage_cfg='/etc/pve/storage.cfg', overwrite=False)``."""

from __future__ import annotations

from pverunbook.runbook.actions import ACTIONS


def test_arguments_are_words_not_a_python_call() -> None:
    said = ACTIONS["vm-config-rebuild"].describe(
        {"vmid": "all", "storage_cfg": "/etc/pve/storage.cfg", "overwrite": False,
         "set": {"token": 3000}, "unset": ["a", "b"]})
    assert said.endswith("(vmid: all; storage cfg: /etc/pve/storage.cfg; overwrite: no; "
                         "set: token = 3000; unset: a, b)")
    assert "=False" not in said and "'" not in said
    assert "overwrite: yes" in ACTIONS["vm-config-rebuild"].describe({"overwrite": True})
