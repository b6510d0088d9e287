"""An unknown runbook is named with the command the operator typed, what was wrong, where it
was looked for and the runbook ids on offer (headless ``rehearse`` said ``run:`` and neither
where it looked nor that the list it gave were ids to pick from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.runbook.catalog import builtin_dir


@pytest.mark.parametrize("argv", [
    ["rehearse", "nosuch", "--headless"],
    ["rehearse", "nosuch", "--json"],
    ["run", "nosuch", "--dry-run", "--headless"],
    ["plan", "nosuch"],
])
def test_unknown_runbook_names_command_what_where_and_the_ids(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"pverunbook: {argv[0]}: no runbook 'nosuch'"), err
    assert str(builtin_dir()) in err and str(Path.cwd()) in err, err
    for rid in ("network-triage", "cluster-health-check", "vm-config-recovery"):
        assert rid in err, err
    assert "Traceback" not in err


def test_unknown_runbook_lists_the_extra_folder_and_its_runbooks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = (builtin_dir() / "route-fix.toml").read_text(encoding="utf-8")
    (tmp_path / "my-fix.toml").write_text(src.replace('id = "route-fix"', 'id = "my-fix"'),
                                          encoding="utf-8")
    assert main(["--runbooks", str(tmp_path), "rehearse", "nosuch", "--headless"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} (--runbooks)" in err and "my-fix" in err, err


def test_a_missing_runbook_file_is_named_as_a_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "gone.toml"
    assert main(["rehearse", str(missing), "--headless"]) == 2
    err = capsys.readouterr().err
    assert f"rehearse: no runbook file '{missing}': {missing} does not exist" in err, err
    assert "network-triage" in err
