"""``list`` and ``validate`` as a newcomer meets them: ``--runbooks DIR`` after the command."""

from __future__ import annotations

from pathlib import Path

from pverunbook.cli import parse_args


def test_runbooks_dir_is_taken_before_and_after_the_command() -> None:
    assert parse_args(["list", "--runbooks", "b"]).runbooks == [Path("b")]
    both = parse_args(["--runbooks", "a", "validate", "--runbooks", "b"])
    assert both.runbooks == [Path("a"), Path("b")]
    assert not hasattr(both, "runbooks_after")
    assert parse_args(["rehearse", "x", "--runbooks", "b"]).runbooks == [Path("b")]
    assert parse_args(["plan", "x", "--runbooks", "b"]).runbooks == [Path("b")]
