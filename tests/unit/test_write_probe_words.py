"""The write probe's explanation is true next to its output: "This probe writes nothing" sat
beside `truncate: failed to truncate '.../pve-ssl.key'`, which alarmed a newcomer. It says the
command is a write that pmxcfs refuses, and what the truncate line means."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.runbook.loader import load_file

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.mark.parametrize("name", ["network-triage", "cluster-health-check"])
def test_the_write_probe_says_what_its_truncate_line_means(name: str) -> None:
    step = load_file(RUNBOOKS / f"{name}.toml").step("pve-write")
    assert any("truncate" in c for c in step.commands)
    text = " ".join(step.explain.split())
    assert "writes nothing" not in text
    assert "failed to truncate" in text
    assert "keep their size and content" in text or "keeps its size and content" in text
