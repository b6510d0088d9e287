"""Shared fixtures: keep every test's journal, checkpoints and state out of the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))
