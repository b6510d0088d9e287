"""Set-up shared by the tests that rehearse a runbook end to end: a rehearsal session (the
simulated cluster behind real SSH, as ``pverunbook rehearse`` wires it), one engine run with its
journal read back, and a command run on a node over the session's transport.

Kept as plain functions (not fixtures) because the tests change the cluster before a run, run
several runbooks in one session, or hand the session to the operator they script.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import Decider
from pverunbook.engine.journal import read_journal
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import Runbook
from pverunbook.session import Mode, Session, SessionConfig

#: How fast simulated time runs in these tests: fast enough for a timer of minutes, slow
#: enough that SSH round trips do not outrun the cluster's reactions.
TIME_SCALE = 0.02


async def start_session(tmp_path: Path, scenario: str = "nyc-outage") -> Session:
    """A started rehearsal session on ``scenario``, its state under ``tmp_path / "sim"``."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario=scenario,
                                    sim_state_dir=tmp_path / "sim", time_scale=TIME_SCALE))
    await session.start()
    return session


@asynccontextmanager
async def rehearsal(tmp_path: Path, scenario: str = "nyc-outage") -> AsyncIterator[Session]:
    """:func:`start_session`, closed when the block ends (however it ends)."""
    session = await start_session(tmp_path, scenario)
    try:
        yield session
    finally:
        await session.close()


def builtin(runbook: str) -> Runbook:
    """A shipped runbook by id."""
    return load_file(builtin_dir() / f"{runbook}.toml")


async def run_engine(session: Session, rb: Runbook, decider: Decider,
                     values: Mapping[str, Any], journal: Path) -> tuple[str, list[ev.Event]]:
    """Run ``rb`` once in ``session``; the run's status and the events its journal holds.

    The session's journals are closed (and forgotten) after the run even when it raises, so
    the journal is complete when it is read and the next run in the session starts clean."""
    engine = session.engine(rb, decider, values, journal_path=journal)
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal)


async def run_with_status(session: Session, node: str, command: str, timeout: float = 60
                          ) -> tuple[int, str]:
    """Run ``command`` on ``node`` over the session's transport: (exit status, output)."""
    assert session.cluster is not None and session.transport is not None
    out: list[str] = []
    res = await session.transport.run(session.cluster.node(node), command, timeout=timeout,
                                      on_output=lambda s, t: out.append(t))
    return res.exit_status or 0, "".join(out)


async def run_on(session: Session, node: str, command: str) -> str:
    """What ``command`` printed on ``node`` (stdout and stderr; its exit status not wanted)."""
    return (await run_with_status(session, node, command))[1]


def status_of(events: list[ev.Event]) -> dict[str, str]:
    """Each finished step's status, by step id."""
    return {e.step_id: e.status for e in events if isinstance(e, ev.StepFinished)}
