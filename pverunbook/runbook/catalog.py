"""Where runbooks come from: the built-in set shipped with the package, and ``--runbooks DIR``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pverunbook.runbook.suggest import did_you_mean

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


class RunbookNotFound(FileNotFoundError):
    """No runbook by that id or path. The message says what was asked for, where it was looked
    for and which runbooks are on offer, so a command can print it as its whole error."""

    def __init__(self, name: str, looked_in: list[Path], known: list[str]) -> None:
        self.name, self.looked_in, self.known = name, looked_in, known
        where = ", ".join(f"{d} ({'built-in' if d == builtin_dir() else '--runbooks'})"
                          for d in looked_in)
        near = did_you_mean(Path(name).stem if _looks_like_path(name) else name, known)
        if _looks_like_path(name):
            what = f"no runbook file {name!r}"
            looked = f"{Path(name).absolute()} does not exist"
        else:
            what = f"no runbook {name!r}"
            looked = (f"no runbook has that id in {where}, and there is no file of that name in "
                      f"{Path.cwd()}" if where else "there is no runbook folder to look in")
        if near:  # the nearest first, the whole list after it
            what += f" ({near})"
        offer = (f"the available runbooks are: {', '.join(known)}" if known
                 else "no runbooks were found there")
        super().__init__(f"{what}: {looked}; {offer}; give one of those ids or the path to a "
                         "runbook .toml file (`pverunbook list` describes each; --runbooks DIR "
                         "adds a folder of your own)")


def _looks_like_path(name: str) -> bool:
    return "/" in name or name.endswith(".toml")


def find(name: str, extra_dirs: list[Path] | None = None) -> Path:
    """A path, or the id / file stem of a known runbook. Raises :class:`RunbookNotFound`."""
    p = Path(name)
    if p.exists():
        return p
    entries = discover(extra_dirs)
    for e in entries:
        if e.path.stem == name or (e.runbook is not None and e.runbook.id == name):
            return e.path
    looked_in = [d for d in [builtin_dir(), *(extra_dirs or [])] if d.is_dir()]
    raise RunbookNotFound(name, looked_in, [e.path.stem for e in entries])
