"""Empty cases and parameter values read as text in the report and the "Run next" label: a
rollback timer with no file recorded said "restores )", a step with no target node "(on no
nodes)", and a boolean parameter "force=False" (Python's repr); values are shown as in a
runbook's TOML and after ``--set`` (``force = false``)."""

from __future__ import annotations

from pverunbook.engine import events as ev
from pverunbook.pve.diagnosis.model import NextRunbook
from pverunbook.pve.paramtext import params_text, value_text
from pverunbook.report import render_report

T = 1_800_000_000.0


def _events() -> list[ev.Event]:
    return [
        ev.RunStarted(ts=T, run_id="r", runbook_id="certificate-regeneration",
                      runbook_title="Certs", runbook_path="", mode="rehearsal", cluster="nyc",
                      nodes=("pve001", "ryanrishi"),
                      params={"force": False, "node": "pve001", "note": ""}),
        ev.StepStarted(ts=T + 1, step_id="look", title="Look first", index=0, nodes=()),
        ev.StepFinished(ts=T + 2, step_id="look", status="ok"),
        ev.StepStarted(ts=T + 3, step_id="regen", title="Regenerate", index=1,
                       nodes=("pve001",), destructive=True),
        ev.ParamsSet(ts=T + 4, step_id="regen", values={"force": True, "retries": 3}),
        ev.RollbackTimer(ts=T + 5, step_id="regen", node="pve001", state="armed", seconds=120),
        ev.RollbackTimer(ts=T + 6, step_id="regen", node="ryanrishi", state="armed",
                         seconds=120, files=("/etc/pve/local/pve-ssl.pem",)),
        ev.StepFinished(ts=T + 7, step_id="regen", status="ok"),
        ev.RunFinished(ts=T + 8, status="ok"),
    ]


def test_report_renders_empty_lists_and_parameters_as_text() -> None:
    report = render_report(_events())
    assert "restores )" not in report and "no nodes" not in report, report
    assert "Rollback of `regen` on pve001: timer armed (120 s, no restored file recorded)" \
        in report
    assert "Rollback of `regen` on ryanrishi: timer armed (120 s, restores " \
           "/etc/pve/local/pve-ssl.pem)" in report
    assert "Step 1 `look` started: Look first (by the operator)" in report
    assert "Step 2 `regen` started: Regenerate (on pve001)" in report
    assert "False" not in report and "True" not in report, report
    assert "`force` = ` true ` (answered at step `regen`; the run started with ` false `)" \
        in report
    assert "`note` = ` \"\" `" in report
    assert "Parameters set: `force` = ` true `, `retries` = ` 3 `." in report


def test_run_next_label_and_values_read_as_toml() -> None:
    assert NextRunbook("certificate-regeneration", {"force": False}).label() == \
        "certificate-regeneration (force = false)"
    assert NextRunbook("network-triage").label() == "network-triage"
    assert params_text({"token": 5000, "ratio": 0.5, "node": "pve001"}) == \
        "token = 5000, ratio = 0.5, node = pve001"
    assert [value_text(v) for v in ("", " x", "a,b", 'say "hi"')] == \
        ['""', '" x"', '"a,b"', '"say \\"hi\\""']
    assert params_text({}) == ""


def test_plan_shows_parameters_by_the_same_rule(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from pverunbook.cli import main

    book = tmp_path / "p.toml"
    book.write_text('id = "p"\ntitle = "P"\n\n[[params]]\nname = "note"\ndefault = ""\n\n'
                    '[[params]]\nname = "force"\ntype = "bool"\ndefault = false\n\n'
                    '[[steps]]\nid = "s"\n'
                    'title = "S"\nkind = "check"\ncommands = ["true"]\n', encoding="utf-8")
    assert main(["plan", str(book)]) == 0
    out = capsys.readouterr().out
    assert '  note = ""\n' in out and "  force = false\n" in out, out
