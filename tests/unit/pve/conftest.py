"""Shared fixtures for the pve tests: collects the cfg2cmd reconstruction score for the summary."""

from __future__ import annotations

from typing import Any

import pytest

_SCORE_KEY = pytest.StashKey[dict[str, Any]]()


@pytest.fixture
def cfg2cmd_score(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict the cfg2cmd test fills with ``total``, ``exact`` and ``per_key`` counts."""
    return request.config.stash.setdefault(_SCORE_KEY, {})


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    score = config.stash.get(_SCORE_KEY, None)
    if not score or not score.get("total"):
        return
    exact, total = score["exact"], score["total"]
    tr = terminalreporter
    tr.write_sep("-", "cfg2cmd reconstruction")
    tr.write_line(f"cfg2cmd score: {exact}/{total} recoverable keys exact "
                  f"({100.0 * exact / total:.1f}%)")
    for key, (ok, n) in sorted(score["per_key"].items()):
        tr.write_line(f"  {key:<20} {ok:>3}/{n:<3}")
    excluded = score.get("excluded", {})
    if excluded:
        tr.write_line("  not counted (the command line cannot determine them):")
        for reason, n in sorted(excluded.items()):
            tr.write_line(f"    {n:>3} x {reason}")
    for line in score.get("misses", []):
        tr.write_line(f"  miss: {line}")
