"""The published JSON Schema matches the loader and accepts every shipped runbook."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from pverunbook.runbook.schema import SCHEMA_PATH, build_schema, schema_text

RUNBOOKS = sorted((Path(__file__).resolve().parents[2] / "runbooks").glob("*.toml"))


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), \
        "run: python -c 'from pverunbook.runbook.schema import *; " \
        "SCHEMA_PATH.write_text(schema_text())'"


@pytest.mark.parametrize("path", RUNBOOKS, ids=[p.name for p in RUNBOOKS])
def test_shipped_runbooks_validate_against_schema(path: Path) -> None:
    jsonschema.validate(tomllib.loads(path.read_text()), build_schema())


def test_schema_rejects_unknown_step_key() -> None:
    doc = {"id": "x", "title": "X", "steps": [{"id": "a", "title": "A", "comands": ["ls"]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, build_schema())


def test_there_are_runbooks() -> None:
    assert len(RUNBOOKS) >= 5
