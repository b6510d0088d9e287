"""What this copy of pverunbook is (``pverunbook --version``) and the one warning it silences.

An operator reporting a problem from a node's console needs to say exactly what ran: the
version, the commit it was built from, the Python and the versions of the libraries that talk
SSH and draw the screen. The commit comes from, in this order:

1. ``pverunbook/_build_info.py``, written by the artifact build (``make dist``) into the copy
   of the sources it packs, so the single-file ``pverunbook.pex`` and the ``.deb`` know it
   without git;
2. ``git`` when running from a checkout (``-dirty`` when the work tree has changes);
3. ``unknown`` otherwise (e.g. a wheel installed from an index).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

from pverunbook import __version__

#: The libraries whose versions decide how pverunbook behaves, in the order printed.
DEPENDENCIES = ("textual", "rich", "asyncssh", "cryptography", "tomlkit", "platformdirs")


def quiet_known_warnings() -> None:
    """Silence asyncssh's import-time DSA deprecation warnings, and nothing else.

    cryptography >= 48 warns (``CryptographyDeprecationWarning``, a ``UserWarning``) whenever
    ``cryptography.hazmat.primitives.asymmetric.dsa`` names are used; asyncssh names them in
    its type aliases (asyncssh/crypto/misc.py, asyncssh/crypto/dsa.py), so every command that
    imports asyncssh printed about ten lines that the operator can do nothing about. The filter
    matches that message coming from asyncssh's own modules only: the same warning raised by
    other code, and every other warning, still shows.
    """
    warnings.filterwarnings("ignore", message=r"DSA is deprecated", category=UserWarning,
                            module=r"asyncssh(\.|$)")


def commit() -> str:
    """The commit this copy was built from (see the module docstring), or ``unknown``."""
    try:
        return str(importlib.import_module("pverunbook._build_info").COMMIT)
    except (ImportError, AttributeError):
        pass
    top = Path(__file__).resolve().parent.parent
    if not (top / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(["git", "-C", str(top), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "-C", str(top), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def dependency_versions() -> dict[str, str]:
    """Installed version of each of ``DEPENDENCIES`` (``missing`` when not installed)."""
    from importlib import metadata  # ~10 ms (email.*): only --version needs it, not every launch

    out = {}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def version_text() -> str:
    """The lines ``pverunbook --version`` prints."""
    deps = ", ".join(f"{k} {v}" for k, v in dependency_versions().items())
    py = sys.version.split()[0]
    return (f"pverunbook {__version__}\n"
            f"commit: {commit()}\n"
            f"python: {py} ({sys.executable})\n"
            f"dependencies: {deps}\n")
