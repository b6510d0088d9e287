"""The lock files (requirements/*.txt, with hashes) match pyproject.toml: CI installs them and
pverunbook with ``--no-deps``, so a dependency added without ``make lock`` must fail here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "release" / "check_lock.py"), str(root)],
                          capture_output=True, text=True, timeout=60)


def test_the_lock_matches_pyproject() -> None:
    r = check(ROOT)
    assert r.returncode == 0, r.stdout
    for lock in ("runtime.txt", "test.txt", "build.txt"):
        text = (ROOT / "requirements" / lock).read_text()
        assert "--hash=sha256:" in text


def test_a_dependency_added_without_relocking_fails(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    text = (ROOT / "pyproject.toml").read_text()
    text = text.replace('    "tomlkit>=0.15,<0.16",\n',
                        '    "tomlkit>=0.15,<0.16",\n    "requests>=2",\n')
    text = text.replace('"textual>=8.2.8,<8.3"', '"textual>=99"')
    (tmp_path / "pyproject.toml").write_text(text)
    r = check(tmp_path)
    assert r.returncode == 1
    assert "requirements/runtime.txt: requests is not locked" in r.stdout
    assert "requirements/test.txt: textual==" in r.stdout and "is outside 'textual>=99'" in r.stdout
