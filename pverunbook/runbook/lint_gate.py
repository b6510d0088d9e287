"""Refuse a runbook whose lint errors are not accepted, wherever it is loaded to be run.

``lint.py`` finds the dangerous recovery patterns of the original outage (shared/domain.md
section 8: deleting config.db, SIGKILL of pmxcfs, ``umount -l /etc/pve``, ``pvecm expected 1``
on many nodes, …). Finding them only in ``pverunbook validate`` was not enough: ``run``,
``rehearse``, the app and ``list`` took such a runbook as valid and ran it. The loader calls
:func:`refusal` for every runbook file (``loader.load_file``), so every face — headless, the
app's start screen, ``list``, ``plan``, a resume — refuses it the same way.

An error the step accepts with ``lint_ok`` (destructive, backed up, explained: see
``lint._silenced``) is not reported by ``lint`` and so does not refuse the runbook; warnings
(``severity = "warning"``) never do, ``validate`` still prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pverunbook.runbook.lint import _UNSILENCEABLE, LintIssue, lint
from pverunbook.runbook.loader import LoadError, RunbookError

if TYPE_CHECKING:
    from pverunbook.runbook.model import Runbook


class RunbookLintError(RunbookError):
    """A runbook that loads but has lint errors no ``lint_ok`` accepts: not to be run.

    ``errors`` has one ``file:line:col: CODE message`` per finding (each message says what to do
    instead); ``str()`` ends with what to do about the whole file."""

    def __init__(self, issues: list[LintIssue], file: str) -> None:
        self.issues = issues
        self.file = file
        super().__init__([LoadError(i.pos, f"{i.code} {i.message}") for i in issues])
        codes = sorted({i.code for i in issues})
        never = sorted(set(codes) & _UNSILENCEABLE)
        accept = ("accept a reviewed exception where the message allows it (the step marked "
                  "destructive, with a [steps.backup] and an explain, and the code in its "
                  "lint_ok)")
        if never:
            accept += f"; {', '.join(never)} cannot be accepted with lint_ok"
        self.advice = (f"{file}: refused: {len(issues)} lint error(s) above "
                       f"({', '.join(codes)}), dangerous recovery patterns, so this runbook is "
                       f"not run or listed as usable; fix each as its message says, or {accept};"
                       f" `pverunbook validate {file}` shows the same findings")

    def __str__(self) -> str:
        return super().__str__() + "\n" + self.advice


def refusal(runbook: Runbook, file: str) -> RunbookLintError | None:
    """The error that refuses ``runbook`` (loaded from ``file``), or None when it may run."""
    errors = [i for i in lint(runbook) if i.severity == "error"]
    return RunbookLintError(errors, file) if errors else None
