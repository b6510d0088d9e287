"""Where runbooks come from: the built-in set shipped with the package, and ``--runbooks DIR``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the loader is imported by discover(): the app's first frame is drawn first
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.runbook.model import Runbook


def builtin_dir() -> Path:
    """The shipped runbooks: inside the wheel, or the repo's ``runbooks/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_runbooks"
    if packaged.is_dir():
        return packaged
    return here.parent / "runbooks"


@dataclass(frozen=True)
class Entry:
    path: Path
    builtin: bool
    runbook: Runbook | None
    error: RunbookError | None


def discover(extra_dirs: list[Path] | None = None) -> list[Entry]:
    from pverunbook.runbook.loader import RunbookError, load_file

    entries: list[Entry] = []
    seen: set[Path] = set()
    dirs = [(builtin_dir(), True)] + [(d, False) for d in (extra_dirs or [])]
    for d, builtin in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.toml")):
            rp = p.resolve()
            if rp in seen:
                continue
            seen.add(rp)
            try:
                entries.append(Entry(p, builtin, load_file(p), None))
            except RunbookError as exc:
                entries.append(Entry(p, builtin, None, exc))
    return entries


def find(name: str, extra_dirs: list[Path] | None = None) -> Path:
    """A path, or the id / file stem of a known runbook."""
    p = Path(name)
    if p.exists():
        return p
    for e in discover(extra_dirs):
        if e.path.stem == name or (e.runbook is not None and e.runbook.id == name):
            return e.path
    known = ", ".join(e.path.stem for e in discover(extra_dirs))
    raise FileNotFoundError(f"no runbook '{name}' (known: {known or 'none'}); give a path to a "
                            ".toml file or see `pverunbook list`")
