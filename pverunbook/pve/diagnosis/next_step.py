"""What the operator does next: the first runbook the diagnosis names, and the faults it would
stop on that no runbook fixes, to be fixed by hand first.

On a wiped three-node database the check listed "storage.cfg is gone" first (no runbook: the
fix is restoring it from a copy, or writing the installer's default) and offered "Run next:
vm-config-recovery", which stops at once while storage.cfg is missing. The order was right and
the button was not: a newcomer pressed it and landed in a runbook that failed at its third step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pverunbook.pve.diagnosis.model import Fault, numbered


@dataclass(frozen=True)
class NextStep:
    """``fault``: the first fault that names a runbook (None: no fault does). ``by_hand``:
    (its number as shown, :func:`~.model.numbered`, fault) of the faults listed before it
    that its runbook stops on (its expectations' ``faults = [...]``, its guards' faults
    before it changes anything: ``guard_stops``) and that name no runbook themselves: their
    manual fix comes first."""

    fault: Fault | None
    by_hand: tuple[tuple[int, Fault], ...] = ()

    @property
    def blocked(self) -> bool:
        return self.fault is not None and bool(self.by_hand)

    def first_words(self) -> str:
        """One line for a console: what to fix by hand before the runbook, or ""."""
        if not self.blocked or self.fault is None or self.fault.next_runbook is None:
            return ""
        which = ", ".join(f"#{n}" for n, _ in self.by_hand)
        return (f"First by hand: {which} ({'; '.join(f.statement for _, f in self.by_hand)}). "
                f"{self.fault.next_runbook.runbook} stops while "
                f"{'it is' if len(self.by_hand) == 1 else 'they are'} so.")


def next_step(faults: Sequence[Fault], stops: Mapping[str, Iterable[str]]) -> NextStep:
    """The first fault naming a runbook, with the earlier manual-only faults it stops on.

    ``stops``: runbook id → the fault rule ids it stops on (``run_diagnosis.runbook_stops``).
    Faults after it never block it: ``check.runnable_first`` already ordered a runbook after
    the faults it stops on."""
    shown = numbered(faults)  # the numbers the operator sees, faults to fix first
    for i, (_, f) in enumerate(shown):
        if f.next_runbook is None:
            continue
        waits = frozenset(stops.get(f.next_runbook.runbook, ()))
        by_hand = tuple((n, g) for n, g in shown[:i] if n is not None
                        and g.next_runbook is None and g.rule in waits and g.rule != f.rule)
        return NextStep(f, by_hand)
    return NextStep(None)
