"""The command that resumes a run, one text wherever it is said: the headless CLI's messages,
the quit question in the app, and the lines printed once the app has exited."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from pverunbook.statedir import chosen_args


def resume_command(args: Any, which: str) -> str:
    """The command that continues run ``which`` (its id, with ``--state-dir DIR`` when one is
    in force, or its journal's path), with the subcommand the operator typed: ``rehearse
    --resume`` after ``rehearse``, ``run --resume`` after ``run`` (with its ``--cluster FILE``,
    which a live run is resumed with); ``check`` has no ``--resume``: the one of its mode.
    A headless run's command keeps ``--headless``. ``args``: the command line's namespace."""
    cmd = str(getattr(args, "command", None) or "run")
    if cmd not in ("run", "rehearse"):
        cmd = "rehearse" if getattr(args, "rehearse", False) else "run"
    cluster = getattr(args, "cluster", None)
    tail = f" --cluster {shlex.quote(str(cluster))}" if cluster is not None and cmd == "run" \
        else ""
    # a headless run goes on headless: without it the command opened the full-screen app
    # under an operator who had been answering prompts in the shell
    if getattr(args, "headless", False):
        tail += " --headless"
    return f"pverunbook {cmd} --resume {which}{tail}"


def resume_run_command(args: Any, run_id: str, journal: Path | None) -> str:
    """:func:`resume_command` for run ``run_id`` journaled in ``journal``: a journal outside
    the state directory is found by its path, not by its run id."""
    from pverunbook.engine.journal import runs_dir

    outside = journal is not None and journal.resolve().parent != runs_dir().resolve()
    return resume_command(args, shlex.quote(str(journal.resolve())) if outside and journal
                          else run_id + chosen_args())

