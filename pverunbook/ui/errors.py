"""Turn exceptions into a title, a message and what to do next (never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explained:
    title: str
    message: str
    hint: str


def explain(exc: BaseException) -> Explained:
    from pverunbook.inventory import InventoryError
    from pverunbook.runbook.loader import RunbookError
    from pverunbook.transport.base import TransportError

    name = type(exc).__name__
    if isinstance(exc, TransportError):
        if name == "HostKeyUnknown":
            return Explained(f"Unknown host key for {exc.node}", exc.message,
                             exc.hint or "Verify the key's fingerprint on the node, then rerun "
                             "with --accept-new-host-keys.")
        if name == "HostKeyChanged":
            return Explained(f"HOST KEY CHANGED for {exc.node}", exc.message,
                             exc.hint or "Do not continue until you know why the key changed.")
        return Explained(f"Node unreachable: {exc.node}", exc.message,
                         exc.hint or "Check that the node is powered on and reachable "
                         "(ping it, `ssh root@<host>` from this machine), then re-run the step "
                         "(r). The journal keeps everything; `pverunbook run --resume` continues "
                         "later.")
    if isinstance(exc, RunbookError):
        from pverunbook.runbook.lint_gate import RunbookLintError

        if isinstance(exc, RunbookLintError):  # loads, but is dangerous
            return Explained("The runbook is refused: dangerous recovery patterns", str(exc),
                             "Fix each finding as its message says, or accept a reviewed "
                             "exception with lint_ok where the message allows it. `pverunbook "
                             "validate FILE` shows the same findings.")
        return Explained("The runbook is invalid", str(exc),
                         "Fix the lines above (file:line:col), or pick another runbook. "
                         "`pverunbook validate FILE` shows the same errors.")
    if isinstance(exc, InventoryError):
        return Explained("The cluster inventory is invalid", str(exc),
                         "Fix the --cluster file (format: runbooks/README.md).")
    if isinstance(exc, ImportError):
        return Explained("A component is missing", str(exc),
                         "The rehearsal cluster or SSH transport is not available in this "
                         "installation. Use --dry-run to walk a runbook without running anything, "
                         "or reinstall pverunbook.")
    if isinstance(exc, OSError):
        return Explained("File or system error", str(exc),
                         "Check the path and permissions (journals and checkpoints live "
                         "under the state directory: --state-dir DIR, else "
                         "$PVERUNBOOK_STATE_DIR, else the per-user one).")
    if isinstance(exc, ValueError):
        return Explained("Cannot continue", str(exc), "")
    return Explained("Unexpected error", f"{name}: {exc}",
                     "The run journal has everything up to here. Please report this with the "
                     "journal file (o shows its path).")
