"""Where pverunbook keeps what a run writes: the one resolver every module asks.

A run writes its journal (``runs/``), a session journal (``sessions/``), its checkpoints and their
seal key, the rehearsal cluster it ran on, the health check's run index and crash details. All
of it follows the one directory the operator chose, in this order:

1. ``--state-dir DIR`` on the command line (the command sets it with :func:`chosen`): a
   rehearsal's simulated cluster lives in DIR itself, everything else beside it (``DIR/runs``,
   ``DIR/checkpoints``, …), so one folder holds a whole rehearsal and its record (without it
   the cluster is kept per scenario under ``rehearsal/`` of the state directory:
   :func:`rehearsal_cluster_dir`, the app and the commands alike);
2. ``$PVERUNBOOK_STATE_DIR``; checkpoints too, unless ``$PVERUNBOOK_DATA_DIR`` names their
   own place (a disk with room for backups);
3. platformdirs' per-user state and data directories.

Before, checkpoints read only ``$PVERUNBOOK_DATA_DIR`` and journals only the environment, so a
rehearsal given ``--state-dir`` (or ``$PVERUNBOOK_STATE_DIR`` alone) scattered its record over
the user's default directories. Its own small module (no heavy imports): the TUI needs it before
its first frame, and the journal module that also exports :func:`state_dir` imports the whole
event model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: What ``--state-dir`` set for this command (None: the environment or the per-user default).
_CHOSEN: Path | None = None

#: Entries of a state directory that are the record of runs, not the rehearsal cluster: a reset
#: of the simulated cluster keeps them (journals of earlier runs stay, like the keys).
RUN_RECORDS = frozenset({"runs", "sessions", "checkpoints", "crashes", "rehearsal-runs.txt",
                         "checkpoint-seal.key", "keys"})


@contextlib.contextmanager
def chosen(path: Path | None) -> Iterator[None]:
    """For the ``with`` block (one command), everything a run writes goes under ``path``
    (``--state-dir``); None leaves the environment's or the default place."""
    global _CHOSEN
    before = _CHOSEN
    _CHOSEN = Path(path).absolute() if path is not None else before
    try:
        yield
    finally:
        _CHOSEN = before


def chosen_dir() -> Path | None:
    """The ``--state-dir`` in force, or None."""
    return _CHOSEN


def chosen_args() -> str:
    """`` --state-dir DIR`` (shell-quoted) when one is in force, else "": appended to the
    commands a run tells the operator to type next (report, resume), which read DIR too."""
    import shlex

    return f" --state-dir {shlex.quote(str(_CHOSEN))}" if _CHOSEN is not None else ""


def state_dir() -> Path:
    """Journals, session journals, the rehearsal index, crash details."""
    if _CHOSEN is not None:
        return _CHOSEN
    env = os.environ.get("PVERUNBOOK_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_state_dir

    return Path(user_state_dir("pverunbook"))


def data_dir() -> Path:
    """Checkpoints and their seal key (see the order in this module's docstring)."""
    if _CHOSEN is not None:
        return _CHOSEN
    for var in ("PVERUNBOOK_DATA_DIR", "PVERUNBOOK_STATE_DIR"):
        env = os.environ.get(var)
        if env:
            return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("pverunbook"))


def unusable(path: Path | None) -> str | None:
    """Why ``path`` cannot be a state directory ("DIR: not a directory …"), or None when it can
    (a directory, or none yet whose nearest existing parent is a directory: it is created).

    The one check every command makes of ``--state-dir`` and ``$PVERUNBOOK_STATE_DIR`` before
    it reads or writes there: ``journal list`` and ``checkpoints list`` once answered "no runs
    in FILE/runs" for a file, while ``check``/``rehearse`` refused it."""
    if path is None:
        return None
    path = Path(path)
    for p in (path, *path.parents):
        if p.is_dir():
            return None
        if p.exists() or p.is_symlink():
            what = "a file" if p.is_file() else "a dangling link" if not p.exists() else \
                "a special file"
            why = f"{what}, not a directory" if p == path else \
                f"not a directory: {p} (a parent of it) is {what}"
            return f"{path}: {why}, so it cannot hold runs, checkpoints or a rehearsal cluster"
    return None


def named_unusable(path: Path) -> str | None:
    """Why ``path``, named by the operator (``--state-dir``, ``$PVERUNBOOK_STATE_DIR``), cannot
    be the state directory, or None: :func:`unusable`, and the directory (or its nearest
    existing parent, when it is made on first write) must take new files: ``/proc/x`` or a
    read-only mount ended in a bare FileNotFoundError / PermissionError deep in a run. A
    directory that is not there yet is made (scripts and tests name new ones).

    The probe leaves nothing behind (a temporary file or directory, removed at once); it is
    the operator's own choice of place, never the per-user default, that is checked here."""
    import tempfile

    why = unusable(path)
    if why is not None:
        return why
    path = Path(path)
    try:
        if path.is_dir():
            with tempfile.TemporaryFile(dir=path):
                pass
            return None
        # not there yet: it is made on first write, under its nearest existing parent
        where = next((p for p in path.parents if p.is_dir()), Path("/"))
        os.rmdir(tempfile.mkdtemp(dir=where))
    except OSError as exc:
        where = path if path.is_dir() else next((p for p in path.parents if p.is_dir()),
                                                Path("/"))
        return (f"{path}: cannot write in {where} ({exc.strerror or exc}), so it cannot hold "
                "runs, checkpoints or a rehearsal cluster")
    return None


def rehearsal_cluster_dir(scenario: str) -> Path:
    """Where a rehearsal's simulated cluster lives and stays between runs, for the app and
    every command alike (``rehearse``, ``run --rehearsal``, ``check``, ``tui``): ``--state-dir
    DIR`` itself, else ``<state directory>/rehearsal/<scenario>`` ($PVERUNBOOK_STATE_DIR, else
    the per-user one).

    The one rule: the app kept its cluster under ``$PVERUNBOOK_STATE_DIR/rehearsal`` while
    headless rehearsals without ``--state-dir`` started a fresh broken cluster every time, so the
    same runbook found different clusters from the two front ends. ``--reset`` (or the app's
    *Reset rehearsal cluster*) starts the scenario afresh."""
    return _CHOSEN if _CHOSEN is not None else rehearsal_dir(scenario)


def rehearsal_dir(scenario: str | None = None) -> Path:
    """Where a rehearsal cluster is kept between launches without ``--state-dir``: per
    scenario under the state directory (``…/rehearsal/<scenario>``)."""
    base = state_dir() / "rehearsal"
    return base / scenario if scenario else base
