"""engine.decisions.not_read_only: the one rule for "this step changes nothing and asks
nothing" (the resume question and the TUI's run-the-read-only-steps key ask it)."""

from __future__ import annotations

from pverunbook.engine.decisions import not_read_only, read_only
from pverunbook.runbook.actions import ACTIONS
from pverunbook.runbook.loader import load_text

BOOK = '''
id = "rb"
title = "rb"
[[steps]]
id = "compare"
title = "compare"
kind = "action"
action = "vm-config-compare"
targets = "all"
[[steps]]
id = "rebuild"
title = "rebuild"
kind = "action"
action = "vm-config-rebuild"
targets = "all"
destructive = true
confirm = "cluster"
no_backup_reason = "writes new files only"
[[steps]]
id = "look"
title = "look"
kind = "check"
commands = ["true"]
'''


def test_an_action_that_only_reads_is_read_only_and_one_that_writes_is_not() -> None:
    """vm-config-recovery's verify-showcmd (vm-config-compare: `qm showcmd` and
    /proc/<pid>/cmdline, nothing written) stopped the run-the-read-only-steps key as if it
    could change something."""
    rb = load_text(BOOK, "rb.toml")
    assert read_only(rb.step("compare")) and read_only(rb.step("look"))
    assert "destructive" in not_read_only(rb.step("rebuild"))
    # only vm-config-compare is declared read-only: the others write (corosync.conf, VM
    # configs, a restored tree)
    assert [n for n, sig in ACTIONS.items() if sig.read_only] == ["vm-config-compare"]
