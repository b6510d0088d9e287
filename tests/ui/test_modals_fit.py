"""At 80×24 (a crash cart, an IPMI console) every modal fits: each button lies fully inside the
screen and is the widget actually drawn there (not clipped by its dialog, not covered), and
each of the modal's keys is in its own footer, on screen. The long texts are the shipped
runbooks' own (the manual step of network-triage, a diff of a changed runbook)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from pverunbook.engine.decisions import CheckpointFailure, ConfirmRequest, GuardFailure
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.model import FailureAction, OnFailure, Param, ParamType, Step, StepKind
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.commit_modal import CommitModal
from pverunbook.ui.screens.guard_modal import GuardOverrideModal
from pverunbook.ui.screens.help import HelpScreen
from pverunbook.ui.screens.modals import (
    CheckpointFailedModal,
    ChoiceModal,
    ConfirmModal,
    Dialog,
    ErrorModal,
    JumpModal,
    PickModal,
    TextPromptModal,
)
from pverunbook.ui.screens.output_view import OutputView
from pverunbook.ui.screens.params import ParamsModal
from pverunbook.ui.screens.run import RunScreen
from tests.ui.conftest import ScriptTransport, start_ready, to_run_screen, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
SIZE = (80, 24)


def triage_manual_step() -> Step:
    """The shipped network-triage's "Physical checks" step: the longest manual instructions."""
    rb = load_file(SHIPPED / "network-triage.toml")
    return max((s for s in rb.steps if s.kind is StepKind.MANUAL),
               key=lambda s: len(s.instructions))


def long_step(step: Step) -> Step:
    """``step`` with many commands and a long hint (constructed for this test)."""
    return replace(step, commands=tuple(f"echo line {i} >> /etc/pve/corosync.conf.new"
                                        for i in range(30)),
                   hint="Read the diff before you answer. " * 12)


def assert_fits(app: App[Any], what: str) -> None:
    """Every button of the top screen is fully on screen and is what is drawn at its corners;
    every key the footer shows is on screen; the dialog itself is inside the screen."""
    screen = app.screen
    area = screen.region
    dialogs = [w for w in screen.query(".dialog") if w.display]
    assert dialogs, f"{what}: no dialog on screen"
    for d in dialogs:
        assert area.contains_region(d.region), f"{what}: dialog {d.region} outside {area}"
    buttons = [b for b in screen.query(Button) if b.display]
    for b in buttons:
        r = b.region
        assert r.width > 0 and r.height > 0, f"{what}: button {b.label} has no room ({r})"
        assert area.contains_region(r), f"{what}: button {b.label} at {r} is cut off ({area})"
        for x, y in ((r.x, r.y), (r.right - 1, r.bottom - 1)):
            drawn, _ = screen.get_widget_at(x, y)
            assert drawn is b, f"{what}: button {b.label} is hidden at ({x},{y}) by {drawn}"
    shown = {fk.key: fk for fk in screen.query(FooterKey)}
    for fk in shown.values():
        r = fk.region
        assert r.width > 0 and area.contains_region(r), \
            f"{what}: footer key {fk.key} is cut off ({r})"
        drawn, _ = screen.get_widget_at(r.right - 1, r.y)
        assert drawn is fk, f"{what}: footer key {fk.key} is hidden by {drawn}"
    wanted = {b.key for bs in screen._bindings.key_to_bindings.values() for b in bs if b.show}
    if not isinstance(screen, HelpScreen):  # F1 is help everywhere (on help, it closes it)
        wanted.add("f1")
    missing = wanted - set(shown)
    assert not missing, f"{what}: keys {missing} are not in the footer ({sorted(shown)})"


async def open_and_check(pilot: Pilot[Any], app: RunbookApp, what: str,
                         opener: Callable[[], object], kind: type[Screen[Any]],
                         close: str | tuple[str, ...] = "escape") -> None:
    """Open a modal (``opener`` pushes it, or starts a worker that does), check it, close it
    (``close``: the key, or the keys in turn)."""
    below = app.screen
    opener()
    await until(pilot, lambda: isinstance(app.screen, kind), what)
    for _ in range(3):  # settle; no waiting for the footer: it must be filled on its own
        await pilot.pause()
    assert_fits(app, what)
    for key in (close,) if isinstance(close, str) else close:
        await pilot.press(key)
        await pilot.pause()
    await until(pilot, lambda: app.screen is below, f"{what} to close")


def in_worker(app: RunbookApp, coro: Callable[[], Awaitable[Any]]) -> Callable[[], object]:
    """The decider's and the host-key questions are awaited from a worker, as in a run."""
    return lambda: app.run_worker(coro(), exit_on_error=False)


async def test_every_modal_fits_at_80x24_with_its_keys(build_app: Callable[..., RunbookApp],
                                                      runbook_dir: Path) -> None:
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        run = app.screen
        assert isinstance(run, RunScreen)
        d = run.decider
        step = long_step(run.runbook.step("tune"))
        manual = triage_manual_step()
        nodes = ("ryanrishi", "pve001")
        changes = "\n".join(f"{n}: {c}" for n in nodes for c in step.commands)

        await open_and_check(pilot, app, "typed confirmation (destructive)", in_worker(
            app, lambda: d.confirm(ConfirmRequest(step, "destructive", "Type 'nyc'", "nyc",
                                                  nodes, changes=changes))), ConfirmModal)
        await open_and_check(pilot, app, "confirmation (confirm = node)", in_worker(
            app, lambda: d.confirm(ConfirmRequest(step, "confirm", "Type 'pve001'", "pve001",
                                                  nodes, checkpoint_id="cp-1"))), ConfirmModal)
        await open_and_check(pilot, app, "COMMIT with its countdown", in_worker(
            app, lambda: d.confirm(ConfirmRequest(
                step, "commit", "Type COMMIT within 170 s to keep it", "COMMIT", nodes,
                checkpoint_id="cp-1", deadline=time.time() + 170))), CommitModal,
            close=("escape", "y"))  # Escape asks "roll back now?"; y answers it
        await open_and_check(pilot, app, "failure modal with Abort run (a)", in_worker(
            app, lambda: d.after_failure(step, "failed")), ChoiceModal, close="a")
        # five buttons: "Continue (c)  Look first (l)  Abort run ▎" was cut at 80 columns
        for then in (OnFailure(FailureAction.CONTINUE),
                     OnFailure(FailureAction.GOTO, "ha-start")):
            await open_and_check(pilot, app, f"failure modal, on_failure = {then}", in_worker(
                app, lambda then=then: d.after_failure(replace(step, on_failure=then),
                                                       "failed")), ChoiceModal, close="a")
        await open_and_check(pilot, app, "manual step", in_worker(
            app, lambda: d.manual_done(manual, manual.instructions)), ChoiceModal, close="x")
        params = [Param(f"p{i}", ParamType.STR, f"Value number {i}", default="x",
                        help="What this value does, at some length. " * 3) for i in range(6)]
        await open_and_check(pilot, app, "input step", in_worker(
            app, lambda: d.ask_params(step, params, {})), ParamsModal)
        await open_and_check(pilot, app, "unknown outcome", in_worker(
            app, lambda: d.unknown_outcome(step)), ChoiceModal, close="a")
        await open_and_check(pilot, app, "connection lost", in_worker(
            app, lambda: d.connection_lost("pve001", step)), ChoiceModal, close="x")
        await open_and_check(pilot, app, "checkpoint failed", in_worker(
            app, lambda: d.checkpoint_failed(CheckpointFailure(
                step, tuple(f"pve001: /etc/pve/file{i} unreadable" for i in range(20))))),
            CheckpointFailedModal, close="a")
        diff = "\n".join(f"-old line {i}\n+new line {i}" for i in range(60))
        await open_and_check(pilot, app, "resume diff", lambda: app.push_screen(ErrorModal(
            "This run cannot be resumed here",
            f"the runbook of run r1 changed since the run started:\n{diff}",
            "review the change and accept it with `pverunbook run --resume r1`")), ErrorModal)
        await open_and_check(pilot, app, "quit confirmation", app.request_quit, ChoiceModal,
                             close="n")
        await open_and_check(pilot, app, "reset confirmation", app.reset_rehearsal,
                             ChoiceModal, close="n")
        await open_and_check(pilot, app, "host key", in_worker(
            app, lambda: app.ask_host_key("pve001", "SHA256:" + "x" * 43)), ChoiceModal,
            close="n")
        # "ping" guards the destructive "tune": s asks the engine, which opens the override
        await open_and_check(pilot, app, "guard override (s on a guard)", run.action_skip,
                             GuardOverrideModal)
        await until(pilot, lambda: run.decider.is_waiting, "asked again after Escape")
        await open_and_check(pilot, app, "guard override, long", in_worker(
            app, lambda: d.guard_failed(GuardFailure(
                step, "failed", "; ".join(f"pve00{i}: failed" for i in range(9)),
                tuple(f"destructive-step-{i}" for i in range(12))))), GuardOverrideModal)
        await open_and_check(pilot, app, "skip reason", lambda: app.push_screen(TextPromptModal(
            f"Skip “{step.title}”?", "Why are you skipping this step? The reason is written "
            "to the journal and the incident report.", placeholder="e.g. done by hand")),
            TextPromptModal)
        await open_and_check(pilot, app, "jump", run.action_jump, JumpModal)
        await open_and_check(pilot, app, "shell: which node", app.open_shell, PickModal)
        await open_and_check(pilot, app, "whole lines (w)", run.action_whole_lines, OutputView)
        await open_and_check(pilot, app, "help", lambda: app.action_help(), HelpScreen)
        # Nothing answered a question by accident: the engine still waits for "next".
        assert run.decider.is_waiting


def test_every_dialog_class_is_covered() -> None:
    """A new modal must be added to the test above (or it may be cut off unnoticed)."""
    covered = {ConfirmModal, CommitModal, ChoiceModal, ParamsModal, CheckpointFailedModal,
               GuardOverrideModal,
               ErrorModal, TextPromptModal, JumpModal, PickModal, HelpScreen, OutputView}

    def subclasses(cls: type) -> set[type]:
        out = set(cls.__subclasses__())
        for sub in list(out):
            out |= subclasses(sub)
        return out

    assert subclasses(Dialog) <= covered, subclasses(Dialog) - covered


async def assert_footer_fits(pilot: Pilot[Any], app: App[Any], what: str) -> list[str]:
    """Every key the screen shows in its footer is on screen and drawn; returns the keys."""
    for _ in range(3):
        await pilot.pause()
    screen = app.screen
    keys = []
    for fk in screen.query(FooterKey):
        if not fk.display:
            continue
        r = fk.region
        assert r.width > 0 and screen.region.contains_region(r), \
            f"{what}: footer key {fk.key} is cut off ({r})"
        drawn, _ = screen.get_widget_at(r.right - 1, r.y)
        assert drawn is fk, f"{what}: footer key {fk.key} is hidden by {drawn}"
        keys.append(fk.key)
    return keys


async def test_every_screen_keeps_its_keys_in_the_footer_at_80x24(
        build_app: Callable[..., RunbookApp], runbook_dir: Path) -> None:
    from pverunbook.ui.screens.params import ParamsScreen
    from tests.ui.conftest import CLUSTER5

    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: start_ready(app), "start")
        await pilot.pause()
        keys = await assert_footer_fits(pilot, app, "start")
        assert {"slash", "dollar_sign", "q", "f1"} <= set(keys), keys
    for cluster in (None, CLUSTER5):
        transport = ScriptTransport(hold=("ping",))
        app = build_app(transport, runbook=runbook_dir / "ui-test.toml",
                        **({"cluster": cluster} if cluster else {}))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda a=app: isinstance(a.screen, ParamsScreen),  # type: ignore[misc]
                        "parameters")
            await pilot.pause()
            keys = await assert_footer_fits(pilot, app, "parameters")
            assert {"ctrl+s", "escape", "f1"} <= set(keys), keys
            await to_run_screen(pilot, app)
            run = app.screen
            assert isinstance(run, RunScreen)
            await pilot.pause()
            keys = await assert_footer_fits(pilot, app, f"run screen ({len(run.panes)} nodes)")
            assert {"n", "s", "v", "i", "m", "dollar_sign", "q", "f1"} <= set(keys), keys
            await pilot.press("m")
            await pilot.pause()
            await assert_footer_fits(pilot, app, "run screen, matrix")
            await pilot.press("m", "i")
            await pilot.pause()
            await assert_footer_fits(pilot, app, "run screen, steps and findings")
            await pilot.press("i", "n")
            await until(pilot, transport.streaming.is_set, "a running command")
            await until(pilot, lambda r=run: r.state.command_running, "running")  # type: ignore[misc]
            await pilot.pause()
            keys = await assert_footer_fits(pilot, app, "run screen, a command running")
            assert {"c", "v", "i", "m", "q", "f1"} <= set(keys), keys
            transport.gate.set()
