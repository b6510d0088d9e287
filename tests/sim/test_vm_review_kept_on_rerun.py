"""Running vm-config-recovery again from its start rebuilds the review copies: an operator's
edits from an earlier review (``onboot: 1``, a corrected ``bridge=``/``tag=``) were replaced
without a word. Now a copy that differs from the fresh rebuild is kept as ``.prev`` and the
preview says so; one that is the same is left alone. Rehearsed over SSH."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.rehearsal import run_on, start_session, status_of
from tests.sim.test_recovery_runbooks import rehearse, text_of

pytest.importorskip("asyncssh")

REVIEWED = "/root/pverunbook-recovered/108.conf.recovered"


async def test_an_edited_review_copy_is_kept_when_the_preview_runs_again(
        tmp_path: Path) -> None:
    session = await start_session(tmp_path, "nyc-network-fixed")
    try:
        sets = {"source": "processes", "vmid": "108"}
        status, events = await rehearse(session, tmp_path, "vm-config-recovery", sets)
        assert status_of(events).get("rebuild-preview") == "ok", status_of(events)
        assert ".prev" not in text_of(events, "rebuild-preview")  # nothing there before
        fresh = await run_on(session, "ryanrishi", f"cat {REVIEWED}")
        await run_on(session, "ryanrishi", f"echo 'onboot: 1' >> {REVIEWED}")
        status, events = await rehearse(session, tmp_path, "vm-config-recovery", sets)
        said = text_of(events, "rebuild-preview")
        assert f"it is kept as {REVIEWED}.prev" in said, said
        assert await run_on(session, "ryanrishi", f"cat {REVIEWED}.prev") == \
            fresh + "onboot: 1\n"
        assert await run_on(session, "ryanrishi", f"cat {REVIEWED}") == fresh
        # run again with the copy as the rebuild makes it: nothing more to keep
        await run_on(session, "ryanrishi", f"rm {REVIEWED}.prev")
        status, events = await rehearse(session, tmp_path, "vm-config-recovery", sets)
        assert ".prev" not in text_of(events, "rebuild-preview")
        assert "No such file" in await run_on(session, "ryanrishi",
                                              f"ls {REVIEWED}.prev 2>&1; true")
    finally:
        await session.close()
