"""Drive the app as an operator following a runbook would: for the screenshots of the shipped
runbooks in rehearsal, and the test that rehearses the whole outage in one launch.

An "operator" here presses **n** at each step, types exactly what a typed confirmation asks
for, answers Done to manual steps, lets the runbook decide after a failed check (its
``on_failure``), and keeps the defaults of input steps. Nothing here is used by a person's
session; it only presses keys through Textual's ``Pilot``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.screens.run import RunScreen


class AutopilotStuck(RuntimeError):
    """The app did not reach the awaited state: says where it stood."""


async def until(pilot: Pilot[Any], cond: Callable[[], object], what: str,
                tries: int = 6000) -> None:
    """Let the app work until ``cond()`` holds (``tries`` pauses of 10 ms at most)."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.01)
    raise AutopilotStuck(f"timed out waiting for {what}")


async def drive_run(pilot: Pilot[Any], app: RunbookApp,
                    before_key: Callable[[RunScreen], Awaitable[None]] | None = None) \
        -> RunScreen:
    """Answer the current run (from its parameter form, if it has one: the values shown
    are kept) until its summary; returns the run screen.

    ``before_key`` is awaited with the run screen each time a step is about to be started
    (screenshots take their pictures there). Raises :class:`AutopilotStuck` when the app
    waits for something else (an error, a resume question) or nothing happens for a minute.
    """
    from pverunbook.ui.screens.modals import ChoiceModal, ConfirmModal, ErrorModal
    from pverunbook.ui.screens.params import ParamsModal, ParamsScreen
    from pverunbook.ui.screens.run import RunScreen
    from pverunbook.ui.screens.summary import SummaryScreen

    run: RunScreen | None = None

    def ready() -> bool:
        s = app.screen
        waiting = isinstance(s, RunScreen) and s.decider.is_waiting
        return waiting or isinstance(s, SummaryScreen | ConfirmModal | ChoiceModal
                                     | ParamsModal | ParamsScreen | ErrorModal)

    for _ in range(400):
        try:
            await until(pilot, ready, "the run to need the operator")
        except AutopilotStuck:
            state = run.state if run is not None else None
            steps = [(s.id, s.state) for s in state.steps] if state else []
            raise AutopilotStuck(f"stuck on {type(app.screen).__name__}; steps: {steps}") \
                from None
        screen = app.screen
        if isinstance(screen, ErrorModal):
            raise AutopilotStuck(f"{screen.title_text}: {screen.message}")
        if isinstance(screen, SummaryScreen):
            if run is None:
                raise AutopilotStuck("the run ended before its first step")
            return run
        if isinstance(screen, RunScreen):
            run = screen
            if before_key is not None:
                await before_key(screen)
            await pilot.press("n")
        elif isinstance(screen, ConfirmModal):
            from textual.widgets import Input

            field = screen.query_one("#confirm-input", Input)

            def typing_lands(f: Input = field, m: ConfirmModal = screen) -> bool:
                return app.focused is f and m.taking_keys  # keys before it was drawn: not typed

            await until(pilot, typing_lands, "the confirmation field")
            await pilot.press(*screen.request.expected, "enter")
        elif isinstance(screen, ChoiceModal):
            keys = {c.value: c.key for c in screen.choices}
            await pilot.press(keys.get("done") or keys.get("follow") or keys["abort"])
        else:
            await pilot.press("ctrl+s")
        await pilot.pause()
    raise AutopilotStuck("the run did not end after 400 answers")


async def start_from_list(pilot: Pilot[Any], app: RunbookApp, runbook_id: str) -> None:
    """On the start screen: filter the list down to ``runbook_id`` and open it."""
    from pverunbook.ui.screens.start import StartScreen

    start = app.screen
    if not isinstance(start, StartScreen):
        raise AutopilotStuck(f"not on the runbook list but on {type(start).__name__}")
    from textual.widgets import Input

    start.query_one("#filter", Input).value = ""
    await pilot.press("slash", *runbook_id)
    shown = [e.runbook.id for e in start.shown if e.runbook is not None]
    if shown != [runbook_id]:
        raise AutopilotStuck(f"the filter '{runbook_id}' shows {shown}")
    await pilot.press("enter")  # one Enter in the filter opens the match
