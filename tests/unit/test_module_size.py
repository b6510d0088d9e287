"""Modules stay under ~600 lines: a module past that is split by what it holds (the house rule,
README "module map"), so a newcomer finds the rule for a flag or a message in one obvious place.

No file is exempt: a module that grows past the bar fails here with its name and line count.
"""

from __future__ import annotations

from pathlib import Path

import pverunbook

LIMIT = 600
PACKAGE = Path(pverunbook.__file__).resolve().parent


def oversized(root: Path, limit: int = LIMIT) -> list[tuple[str, int]]:
    """(path relative to ``root``, line count) of every ``*.py`` under ``root`` past ``limit``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        with path.open("rb") as f:
            lines = sum(1 for _ in f)
        if lines > limit:
            out.append((path.relative_to(root).as_posix(), lines))
    return out


def test_no_module_under_the_package_passes_600_lines() -> None:
    modules = list(PACKAGE.rglob("*.py"))
    assert len(modules) > 50  # the package itself was walked, not an empty directory
    offenders = oversized(PACKAGE)
    assert not offenders, "split by responsibility: " + ", ".join(
        f"pverunbook/{name} has {n} lines" for name, n in offenders)


def test_the_count_names_a_module_one_line_past_the_bar(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "big.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "edge.py").write_text("x = 1\n" * LIMIT)
    (tmp_path / "notes.txt").write_text("x\n" * (LIMIT * 2))
    assert oversized(tmp_path) == [("sub/big.py", LIMIT + 1)]
