"""The summary opens with the diagnosis, and "Run next" opens that runbook with values filled in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, Static

from pverunbook.pve.diagnosis import Diagnosis
from pverunbook.ui import model
from pverunbook.ui.app import RunbookApp
from pverunbook.ui.screens.modals import ConfirmModal
from pverunbook.ui.screens.params import ParamsScreen
from pverunbook.ui.screens.run import RunScreen
from pverunbook.ui.screens.summary import SummaryScreen, render_summary
from tests.ui.conftest import confirm_ready, form_ready, summary_ready, to_run_screen, until

Build = Callable[..., RunbookApp]
SIZE = (140, 40)

TUNING = """
id = "corosync-tuning"
title = "Tune corosync"

[[params]]
name = "token"
type = "int"
prompt = "Totem token (ms)"
default = 3000

[[steps]]
id = "t"
title = "set token"
kind = "check"
commands = ["echo token {{token}}"]
"""


async def test_summary_opens_with_the_diagnosis_and_runs_next(build_app: Build,
                                                              runbook_dir: Path) -> None:
    (runbook_dir / "corosync-tuning.toml").write_text(TUNING, encoding="utf-8")
    app = build_app(runbook=runbook_dir / "ui-test.toml")
    async with app.run_test(size=SIZE) as pilot:
        await to_run_screen(pilot, app)
        for _ in range(4):
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal)
                        or (isinstance(app.screen, RunScreen)
                            and app.screen.decider.is_waiting), "next")
            if isinstance(app.screen, ConfirmModal):
                break
            await pilot.press("n")
        await until(pilot, lambda: confirm_ready(app), "the confirmation")
        await pilot.press(*"nyc", "enter")
        await until(pilot, lambda: summary_ready(app), "summary")
        await until(pilot, lambda: bool(app.screen.query("#diagnosis-title")), "diagnosis")
        screen = app.screen
        assert isinstance(screen, SummaryScreen) and screen.diagnosis is not None
        first = screen.diagnosis.faults[0]
        assert first.rule == "lossy-link"  # 2% one way, 15% the other (scripted ping)
        assert "between ryanrishi and pve001" in first.statement
        faults = [str(s.render()) for s in screen.query(".fault").results(Static)]
        assert "lossy-link" not in faults[0] and "ryanrishi and pve001" in faults[0]
        button = screen.query_one("#run-next-1", Button)
        assert str(button.label) == "Run next: corosync-tuning (token = 5000)"
        # the runbook list's "Run next" follows this diagnosis...
        assert app.suggestion is not None and app.suggestion.runbook_id == "corosync-tuning"
        # ...and a later diagnosis that names no next runbook withdraws it (the start screen
        # kept offering network-triage after the route was fixed and three more runbooks ran)
        screen._show_diagnosis(Diagnosis(faults=()))
        assert app.suggestion is None
        app.suggest_next("corosync-tuning", {"token": 5000}, first.statement)
        # the diagnosis sits above the step lists
        text = screen.query_one("#summary-text", Static)
        assert button.region.y < text.region.y or not text.region.height
        await pilot.click("#run-next-1")
        await until(pilot, lambda: form_ready(app)
                    and app.screen.runbook.id == "corosync-tuning", "corosync-tuning params")
        params = app.screen
        assert isinstance(params, ParamsScreen)
        assert params.runbook.id == "corosync-tuning" and params.given == {"token": 5000}


def test_tui_summary_never_opens_with_a_plain_tick_over_critical_findings() -> None:
    s = model.Summary(status="ok", message="", done=["Loss to every peer"], failed=[],
                      skipped=[], not_reached=[], checkpoints=[], risky=[], duration=1.0)
    text = render_summary(s, None, ["critical"]).plain
    assert text.startswith("! Finished — findings")
    assert "Loss to every peer — ok — findings (critical)" in text
    assert render_summary(s, None, [""]).plain.startswith("✔ Finished: every step succeeded")


def test_tui_summary_reads_history_as_history_next_to_healthy() -> None:
    """A finding the health check's diagnosis judged history (earlier, now fine) is neither
    "findings (critical)" nor the "! Finished — findings" headline."""
    s = model.Summary(status="ok", message="", done=["corosync journal of the last hour"],
                      failed=[], skipped=[], not_reached=[], checkpoints=[], risky=[],
                      duration=1.0)
    text = render_summary(s, None, ["history"]).plain
    assert text.startswith("✔ Finished: every step succeeded")
    assert "corosync journal of the last hour — ok — earlier problems, now fine (info)" in text
    assert "critical" not in text


def test_tui_summary_of_a_run_stopped_early_is_no_clean_bill() -> None:
    """A triage aborted at step 3 of 12 said "No fault found in the collected evidence";
    a health check stopped early said the cluster is healthy."""
    from pverunbook.engine import events as ev
    from pverunbook.runbook.loader import load_file
    from pverunbook.ui.screens.summary import no_fault_line

    rb = load_file(Path(__file__).resolve().parents[2] / "runbooks" / "cluster-health-check.toml")
    started = [ev.StepFinished(step_id=s.id, status="ok") for s in rb.steps[:3]]
    stopped = [*started, ev.RunFinished(status="aborted")]
    line = no_fault_line(stopped, rb, True).plain
    assert f"only 3 of {len(rb.steps)} steps ran" in line and "not a clean bill of health" in line
    assert "healthy" not in line
    whole = [ev.StepFinished(step_id=s.id, status="ok") for s in rb.steps]
    done = no_fault_line([*whole, ev.RunFinished(status="ok")], rb, True)
    assert done.plain.startswith("✔ The cluster is healthy") and "green" in str(done.style)


def test_the_summary_says_how_to_get_the_incident_report(tmp_path: Path) -> None:
    """The summary named the journal and `o`, and nothing of the incident report: the only way
    to it from the app was a palette command the screen never mentioned."""
    s = model.Summary(status="ok", message="", done=["Loss to every peer"], failed=[],
                      skipped=[], not_reached=[], checkpoints=[], risky=[], duration=1.0)
    text = render_summary(s, tmp_path / "20261207-092406-f6527f.jsonl", [""]).plain
    assert "Incident report: ctrl+p, Report of the last run" in text
    assert "`pverunbook report` with the journal above" in text
