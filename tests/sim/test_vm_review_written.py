"""vm-config-recovery writes the configs the operator reviewed, not a fresh rebuild.

The review step asks the operator to complete ``/root/pverunbook-recovered/<vmid>.conf.recovered``
(``onboot: 1``, the NIC's ``bridge=``/``tag=``: not on the QEMU command line). The write step
used to rebuild from the running kvm processes again, so ``echo 'onboot: 1' >> 108.conf.recovered``
left ``/etc/pve/qemu-server/108.conf`` without ``onboot``, and a corrected VLAN tag was lost the
same way. Rehearsed over SSH: the operator edits the file on the node at the review step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.runbook.model import Step
from pverunbook.runbook.params import resolve
from pverunbook.session import Session
from tests.sim.rehearsal import builtin, run_engine, run_on, start_session, status_of

pytest.importorskip("asyncssh")

REVIEWED = "/root/pverunbook-recovered/108.conf.recovered"
WRITTEN = "/etc/pve/nodes/ryanrishi/qemu-server/108.conf"


class Reviewer(ScriptedDecider):
    """Confirms what is asked, and at the review step runs ``edit`` on ryanrishi (where VM 108
    runs), as an operator does in the `$` shell."""

    def __init__(self, session: Session, edit: str, **kw: Any) -> None:
        super().__init__(manual=True, **kw)
        self.session, self.edit = session, edit
        self.before = ""
        self.asked_to_write = ""

    async def manual_done(self, step: Step, instructions: str) -> bool:
        if step.id == "review":
            self.before = await run_on(self.session, "ryanrishi", f"cat {REVIEWED}")
            await run_on(self.session, "ryanrishi", self.edit)
        return await super().manual_done(step, instructions)

    async def confirm(self, request: ConfirmRequest) -> str | None:
        if request.step.id == "rebuild-write":
            self.asked_to_write = request.summary + request.changes
        return request.expected


async def review_and_write(tmp_path: Path, edit: str
                           ) -> tuple[str, list[ev.Event], str, str, str]:
    """Run vm-config-recovery (processes, VM 108) with ``edit`` made at the review: the run's
    status, its events, the reviewed file as the rebuild wrote it, 108.conf afterwards, and
    what the write's confirmation said would be written."""
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        rb = builtin("vm-config-recovery")
        sets = {"source": "processes", "vmid": "108"}
        values, _ = resolve(rb, sets)
        reviewer = Reviewer(session, edit, params=sets)
        status, events = await run_engine(session, rb, reviewer, values,
                                          tmp_path / "vm-config-recovery.jsonl")
        written = await run_on(session, "ryanrishi", f"cat {WRITTEN} 2>/dev/null; true")
    finally:
        await session.close()
    assert "manual:review" in reviewer.asked
    return status, events, reviewer.before, written, reviewer.asked_to_write


def said(events: list[ev.Event], step: str) -> str:
    return "".join(getattr(e, "text", "") or getattr(e, "message", "") for e in events
                   if getattr(e, "step_id", "") == step)


async def test_the_reviewed_edits_are_what_is_written(tmp_path: Path) -> None:
    # onboot appended, and the NIC moved to another bridge with a VLAN tag
    edit = (f"echo 'onboot: 1' >> {REVIEWED} && "
            f"sed -i 's/,bridge=[^,]*//; s/^\\(net0: .*\\)$/\\1,bridge=vmbr1,tag=40/' {REVIEWED}")
    status, events, before, written, asked = await review_and_write(tmp_path, edit)
    # the confirmation names the reviewed file as what is written, and where
    assert f"VM 108 (media): the reviewed {REVIEWED} → {WRITTEN}" in asked, asked
    steps = status_of(events)
    assert steps["rebuild-write"] == "ok", (steps, said(events, "rebuild-write"))
    assert "net0: " in before and "onboot" not in before, before
    assert "onboot: 1\n" in written, (written, said(events, "rebuild-write"))
    net0 = [line for line in written.splitlines() if line.startswith("net0: ")]
    assert len(net0) == 1 and net0[0].endswith(",bridge=vmbr1,tag=40"), written
    # the rest is the reviewed file as it was: nothing was rebuilt in between
    assert [line for line in before.splitlines() if not line.startswith("net0: ")] \
        == [line for line in written.splitlines()
            if not line.startswith(("net0: ", "onboot: "))]
    assert f"the reviewed {REVIEWED} as it is" in said(events, "rebuild-write")


async def test_an_invalid_reviewed_file_is_named_and_not_written(tmp_path: Path) -> None:
    # a typo qemu-server would drop with a warning (unknown key): the VM would silently come
    # back without onboot, so nothing is written for it
    status, events, _, written, _ = await review_and_write(
        tmp_path, f"echo 'onbot: 1' >> {REVIEWED}")
    assert status_of(events)["rebuild-write"] == "failed"
    assert written == ""
    text = said(events, "rebuild-write")
    assert f"VM 108: {REVIEWED} is not a valid VM config" in text, text
    assert "`onbot` is not a VM config key" in text, text


async def test_a_reviewed_file_of_another_vm_is_not_written(tmp_path: Path) -> None:
    status, events, _, written, _ = await review_and_write(
        tmp_path, f"sed -i 's/^name: .*/name: dbserver/' {REVIEWED}")
    assert status_of(events)["rebuild-write"] == "failed"
    assert written == ""
    assert "name `dbserver` is not the running VM 108's" in said(events, "rebuild-write")


async def test_a_deleted_reviewed_file_is_skipped_and_named(tmp_path: Path) -> None:
    status, events, before, written, asked = await review_and_write(tmp_path, f"rm {REVIEWED}")
    assert before and written == ""
    assert f"VM 108 (media): not written, the reviewed {REVIEWED} is gone" in asked, asked
    text = said(events, "rebuild-write")
    assert f"VM 108: skipped: the reviewed file {REVIEWED} is not there" in text, text
    assert status_of(events)["rebuild-write"] == "ok"
