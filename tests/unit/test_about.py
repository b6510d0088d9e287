"""``pverunbook --version`` says what ran; asyncssh's DSA deprecation warning never reaches the
operator, and no other warning is hidden with it."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from pverunbook import __version__, about

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-X", "dev", "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_importing_asyncssh_warns_without_the_filter() -> None:
    """The premise: with the cryptography installed, asyncssh's import does warn (so the
    test below proves the filter, not the absence of a warning)."""
    if int(metadata.version("cryptography").split(".")[0]) < 48:
        pytest.skip("cryptography < 48 does not deprecate DSA; nothing to silence")
    r = _python("import asyncssh")
    assert "CryptographyDeprecationWarning: DSA is deprecated" in r.stderr


def test_the_filter_silences_asyncssh_only() -> None:
    r = _python(
        "from pverunbook.about import quiet_known_warnings\n"
        "quiet_known_warnings()\n"
        "import asyncssh\n"
        "import warnings\n"
        "from cryptography.utils import CryptographyDeprecationWarning as W\n"
        "warnings.warn('DSA is deprecated (from other code)', W)\n"
        "warnings.warn('something else', DeprecationWarning)\n")
    assert r.returncode == 0, r.stderr
    assert "asyncssh" not in r.stderr
    assert "DSA is deprecated (from other code)" in r.stderr
    assert "DeprecationWarning: something else" in r.stderr


def test_a_command_that_imports_asyncssh_prints_no_deprecation() -> None:
    """The entry point (``cli.main``) installs the filter before any command imports
    asyncssh; ``-X dev`` would show every warning that is not filtered."""
    r = _python("from pverunbook.cli import main\n"
                "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                "import asyncssh\n")
    assert r.returncode == 0, r.stderr
    assert "Deprecation" not in r.stderr


def test_version_names_version_commit_python_and_libraries(
        capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"pverunbook {__version__}"
    assert lines[1] == f"commit: {about.commit()}"
    assert lines[2].startswith(f"python: {sys.version.split()[0]} ")
    for lib in ("textual", "asyncssh", "cryptography", "tomlkit", "platformdirs"):
        assert f"{lib} {metadata.version(lib)}" in lines[3]


def test_version_matches_the_package_metadata_source() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'path = "pverunbook/__init__.py"' in text


def test_commit_from_git_in_a_checkout() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the commit comes from the build or is 'unknown'")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert about.commit().split("-")[0] == head


def test_commit_embedded_by_the_build_wins(tmp_path: Path) -> None:
    """A copy of the package with ``_build_info.py`` (as ``make dist`` writes it) and no git."""
    import shutil

    pkg = tmp_path / "pverunbook"
    shutil.copytree(ROOT / "pverunbook", pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "_build_info.py"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    code = "from pverunbook.about import commit; print(commit())"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert r.stdout.strip() == "unknown", r.stderr
    (pkg / "_build_info.py").write_text('COMMIT = "0123456789ab"\n')
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert r.stdout.strip() == "0123456789ab", r.stderr
