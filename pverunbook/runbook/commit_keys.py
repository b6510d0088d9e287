"""Keys of a step that must be committed: ``commit_within``, ``commit_checks``, rollback.

A destructive step that can cut the operator off (a corosync.conf that splits the membership, a
route deleted on the wrong node) declares how long the operator has to type COMMIT and which
later checks prove it worked::

    commit_within = 180
    commit_checks = ["verify-token", "verify-links"]

    [steps.rollback]          # optional
    targets = "all"           # where the timer is armed (default: the step's targets)
    reload = ["systemctl reload networking"]
    requires = "ip -o route show exact 10.0.0.5 via 10.0.0.1 | grep -q ."
    record = "ip route show exact 10.0.0.5 | grep -F ' via 10.0.0.1 '"   # optional
    reload = ["ip route replace {{recorded}}"]   # once per recorded line

Before the step runs, the engine arms a timer on every rollback target that restores the step's
checkpointed ``[steps.backup] files`` and runs ``reload``; COMMIT disarms it. ``requires`` is
run on each of those nodes right before the timer is armed (after the confirmation and the
checkpoint, just before the step's commands): unless it exits 0 no timer is armed and the step
does not run. A ``reload`` that re-creates what the step deletes needs it, or a step that found
nothing to delete would have its rollback create it. ``record`` runs right after it: each line
it prints is kept, and a ``reload`` command with ``{{recorded}}`` runs once per line with the
line's words in its place (what was deleted comes back exactly as it was). Rules checked here,
with ``file:line:col``: only a destructive step with backup files can roll back; the checks are
later ``check`` steps of the same runbook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pverunbook.runbook.model import Backup, Rollback, Step, StepKind

if TYPE_CHECKING:
    from pverunbook.runbook.loader import _Ctx
    from pverunbook.runbook.positions import KeyPath

KEYS = {"commit_within", "commit_checks", "rollback"}
ROLLBACK_KEYS = {"targets", "reload", "requires", "record"}
#: The placeholder of a ``reload`` command that stands for one line ``record`` printed.
RECORDED = "recorded"
#: Longest timer a runbook may ask for (an hour): a forgotten timer must not fire tomorrow.
MAX_SECONDS = 3600


def parse(ctx: _Ctx, d: dict[str, Any], path: KeyPath, sid: str, destructive: bool,
          backup: Backup) -> tuple[int | None, tuple[str, ...], Rollback]:
    """Read the three keys of one step (cross-step rules are in :func:`check_steps`)."""
    within = ctx.get(d, "commit_within", path, int)
    if within is not None and not 1 <= within <= MAX_SECONDS:
        ctx.err(path + ("commit_within",), f"commit_within must be between 1 and {MAX_SECONDS} "
                "seconds")
        within = None
    checks = ctx.str_list(d, "commit_checks", path)
    rollback = Rollback()
    if "rollback" in d:
        r = ctx.table(d["rollback"], path + ("rollback",), ROLLBACK_KEYS, "[steps.rollback]")
        rollback = Rollback(targets=ctx.str_list(r, "targets", path + ("rollback",)),
                            reload=ctx.str_list(r, "reload", path + ("rollback",)),
                            requires=ctx.get(r, "requires", path + ("rollback",), str, ""),
                            record=ctx.get(r, "record", path + ("rollback",), str, ""))
        _check_recorded(ctx, path + ("rollback",), rollback)
    present = [k for k in ("commit_checks", "rollback") if k in d]
    if within is None and present and "commit_within" not in d:
        ctx.err(path + (present[0],), f"'{present[0]}' belongs to a step with commit_within = "
                "N (the seconds the operator has to type COMMIT)")
    if within is not None:
        if not destructive:
            ctx.err(path + ("commit_within",), f"step '{sid}' has commit_within but is not "
                    "destructive: only a destructive step has a checkpoint to roll back to")
        elif not backup.files and not rollback.reload:
            ctx.err(path + ("commit_within",), f"step '{sid}' has commit_within but nothing "
                    "to roll back: list [steps.backup] files (restored) or [steps.rollback] "
                    "reload commands (run), e.g. the `ip route add` that undoes a deletion")
        if not checks:
            ctx.err(path + ("commit_within",), f"step '{sid}' has commit_within but no "
                    "commit_checks: name the later check steps that prove the change worked")
    return within, checks, rollback


def _check_recorded(ctx: _Ctx, path: KeyPath, rollback: Rollback) -> None:
    """``{{recorded}}`` only in ``reload``, only with ``record``; ``record`` only if used."""
    from pverunbook.runbook.template import placeholders

    def uses(text: str) -> bool:
        try:
            return RECORDED in placeholders(text)
        except ValueError:
            return False  # reported with the other placeholders

    using = [c for c in rollback.reload if uses(c)]
    if using and not rollback.record:
        ctx.err(path + ("reload",), "'{{recorded}}' stands for a line [steps.rollback] record "
                "printed: add record = \"COMMAND\"")
    if rollback.record and not using:
        ctx.err(path + ("record",), "record keeps lines for the reload commands, but no reload "
                "command uses '{{recorded}}'")
    if any(uses(c) for c in rollback.targets + (rollback.requires, rollback.record)):
        ctx.err(path, "'{{recorded}}' belongs in the reload commands only")


def check_steps(ctx: _Ctx, steps: list[Step]) -> None:
    """Each commit check names a later ``check`` step of the runbook."""
    index = {s.id: i for i, s in enumerate(steps)}
    for i, step in enumerate(steps):
        for name in step.commit_checks:
            j = index.get(name)
            where = ("steps", i, "commit_checks")
            if j is None:
                ctx.err(where, f"commit_checks names unknown step '{name}'")
            elif j <= i:
                ctx.err(where, f"commit check '{name}' comes before step '{step.id}': the "
                        "checks run after the change")
            elif steps[j].kind is not StepKind.CHECK:
                ctx.err(where, f"commit check '{name}' is a {steps[j].kind.value} step; only "
                        "read-only check steps can prove the change worked")
            elif steps[j].commit_within is not None:
                ctx.err(where, f"commit check '{name}' must not itself wait for a commit")
