"""The question before leaving the app: what stops (the simulated cluster, the SSH
connections) and what is left behind (a run not finished is left interrupted: where, and how
to resume it). Leaving with nothing to lose (dry-run or local, no run going) asks nothing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pverunbook.session import Mode
from pverunbook.ui.screens.modals import Choice, ChoiceModal

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from pverunbook.ui.app import RunbookApp
    from pverunbook.ui.screens.run import RunScreen


def quit_question(app: RunbookApp) -> ChoiceModal | None:
    """The "Quit pverunbook?" question, or None when there is nothing to ask."""
    from pverunbook.ui.screens.run import RunScreen

    session = app.session
    runs = [s for s in app.screen_stack if isinstance(s, RunScreen)]
    left = left_interrupted(runs[-1]) if runs else ""
    if not session.keeps_cluster and not left:
        return None
    body = ""
    if session.keeps_cluster and app.mode is Mode.REHEARSAL:
        where = session.sim.state_dir if session.sim is not None else None
        body = ("The simulated cluster stops. "
                + (f"Its state stays in `{where}`: the next launch finds it as you leave "
                   "it (reset it from the palette: *Reset rehearsal cluster*)."
                   if where is not None and session.config.sim_state_dir is not None
                   else "It was not kept (no state directory): the next launch starts "
                        "broken again."))
    elif session.keeps_cluster:
        name = session.cluster.name if session.cluster else "the cluster"
        body = (f"The SSH connections to **{name}** close. Nothing runs on the nodes "
                "any more; the journals stay.")
    return ChoiceModal(QUIT_TITLES[0], "\n\n".join(x for x in (left, body) if x),
                       [Choice("quit", "Quit", "y", "error"),
                        Choice("stay", "Stay", "n", "primary")], cancel="stay")


#: The quit questions' titles: a second quit key while one is open does not stack another.
QUIT_TITLES = ("Quit pverunbook?", "A command is running")


def run_going(app: RunbookApp) -> RunScreen | None:
    """The run that quitting now would leave interrupted (the top run screen's), if any."""
    from pverunbook.ui.screens.run import RunScreen

    runs = [s for s in app.screen_stack if isinstance(s, RunScreen)]
    return runs[-1] if runs and left_interrupted(runs[-1]) else None


def quit_key(app: RunbookApp) -> None:
    """ctrl+q, and ctrl+c (Textual's "press ctrl+q to quit"): at once when no run is going;
    while one is, the same question as q on the run screen. ctrl+q in a COMMIT window left
    at once, exit status 0, without a word on the timers about to fire on the nodes."""
    run = run_going(app)
    if run is None:
        app.exit()
        return
    if isinstance(app.screen, ChoiceModal) and app.screen.title_text in QUIT_TITLES:
        return  # already asked
    run.action_quit_run()


def left_interrupted(run: RunScreen) -> str:
    """What quitting now leaves behind (for the quit questions): the run interrupted,
    where, and the two ways to resume it; "" once the run is over."""
    if run.state.finished is not None or run.engine is None:
        return ""
    from pverunbook.resume_hint import resume_run_command

    run_id = run.engine.run_id
    # the line the terminal says after exit too (commands/tui.py): the same command
    again = resume_run_command(getattr(run.app, "cli_args", None), run_id,
                               run.engine.journal_path)
    sv = run.state.running_step
    if sv is not None and sv.state == "needs_you" and not sv.ended:
        # its question is open (or folded away): a destructive step asks before it runs
        where = (f"at step {sv.index + 1} “{sv.step.title}”, waiting for your answer to "
                 "its question: nothing of it has run (resuming asks again)")
    elif sv is not None:
        where = f"at step {sv.index + 1} “{sv.step.title}” (its outcome is checked on resume)"
    elif run.state.waiting_index is not None:
        nxt = run.state.steps[run.state.waiting_index]
        where = f"before step {nxt.index + 1} “{nxt.step.title}”"
    else:
        where = "where it is now"
    return (f"**The run is left interrupted, not finished:** run `{run_id}` "
            f"({run.runbook.title}) stops {where}; the journal keeps every step so far. "
            "To continue it later: **r** on the runbook list, or "
            f"`{again}`."
            + commit_pending(run))


def commit_pending(run: RunScreen) -> str:
    """The COMMIT question open: quitting does not stop the nodes' timers. The words of the
    headless Ctrl-C (``rollback_gone.commit_left_live``): this dialog named the question's
    deadline as the moment the timers fire, which is ``MARGIN`` later."""
    from pverunbook.engine.rollback_gone import commit_left_live
    from pverunbook.ui.screens.commit_modal import CommitModal

    asked = next((s for s in run.app.screen_stack if isinstance(s, CommitModal)), None)
    requests: list[Any] = [asked.request] if asked is not None else armed_timers(run)
    lead = "⚠ COMMIT is pending:"
    texts = [commit_left_live(r) for r in requests]
    return "".join(f"\n\n**{lead}**{t.removeprefix(lead)}" for t in texts)


def armed_timers(run: RunScreen) -> list[Any]:
    """The rollback timers armed by this run whose COMMIT is not asked yet (route-fix: the
    route is deleted, the ping after it runs), as the COMMIT question's request would name
    them. Quitting then leaves the change live and the timers counting, as at the question;
    the quit dialog said nothing of them."""
    from types import SimpleNamespace

    from pverunbook.engine.rollback import COMMIT, MARGIN, _state

    if run.engine is None or run.state.finished is not None:
        return []
    return [SimpleNamespace(step=p.step, nodes=tuple(a.node for a in p.armed), expected=COMMIT,
                            deadline=p.local_deadline - MARGIN)
            for p in _state(run.engine).values() if p.armed]


def ask_over_quit(app: App[Any], question: Screen[Any]) -> asyncio.Future[Any]:
    """Push an engine's question (COMMIT, a confirmation, a failure) and wait for its answer
    (from the engine's worker). A quit question open on top is taken down first and asked
    again over the new question, with what is true now: the COMMIT question opened on top of
    "A command is running … Quit and cancel it (y)", the operator's y went into its field, and
    once it was answered the old dialog came back saying the finished step still ran."""
    top = app.screen
    stale = isinstance(top, ChoiceModal) and top.title_text in QUIT_TITLES
    if stale:
        app.pop_screen()
    answer = app.push_screen(question, wait_for_dismiss=True)
    if stale:
        request_quit = getattr(app, "request_quit", None)
        if callable(request_quit):
            request_quit()
    return answer


def quit_while_running(run: RunScreen) -> ChoiceModal:
    """q while a command runs: it is cancelled on its nodes, the run is left interrupted."""
    sv = run.state.running_step
    nodes = ", ".join(r.node for r in sv.results.values() if r.status == "running") \
        if sv else ""
    return ChoiceModal(
        QUIT_TITLES[1],
        f"**{sv.step.title if sv else ''}** is still running on **{nodes}**. Quitting "
        "cancels it there.\n\n" + left_interrupted(run),
        [Choice("quit", "Quit and cancel it", "y", "error"),
         Choice("stay", "Stay", "n", "primary")], cancel="stay", danger=True)
