"""The health check's words for a link whose loss it did not measure: why, the last figure
network-triage measured and when, and whether to measure again.

The check reads the links' *state* (``corosync-cfgtool``, the corosync journal, the route
table) but sends no probes: measuring loss is network-triage's job (ping and mtr per link, and
knet's counters read twice). Its figures stand for the check only while no other runbook ran
after it (``check_history``); after ``route-fix`` changed the path corosync's packets take,
they describe a path that is gone. A healthy check then said "loss not measured" and offered
nothing: this says why, gives the last figure with its time and what ran since, and proposes
network-triage as the next step — what the routed-path fault itself advises ("re-run
network-triage to confirm the link is clean"). Pure: the caller reads the journals.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pverunbook.pve.diagnosis.model import (
    Context,
    Fault,
    NextRunbook,
    directed,
    ev,
    loss_text,
    pair_facts,
    pairs,
)
from pverunbook.pve.facts import Fact, FactStore

#: The runbook that measures loss (ping, mtr, knet's counters).
TRIAGE_ID = "network-triage"
#: Runbooks that change the path corosync's packets take, so the loss measured before them no
#: longer describes the link: route-fix deletes a route (ip-route(8)). The others leave the
#: path alone (corosync-tuning changes timers, the rest the database, configs, certificates).
PATH_CHANGES = frozenset({"route-fix"})
#: Runbooks that leave corosync and the network alone (they write guest configs, the node
#: directories and certificates in /etc/pve), so network-triage's figures from before them still
#: describe the links. Any other runbook — route-fix, corosync-tuning (it reloads corosync),
#: qdevice-setup, cluster-db-reset, one of the operator's own — may have changed what triage
#: measured. Counting these too, every database fix after the measured route-fix sent the check
#: back to "measure the link first" (network-triage), in a loop with the fixes (trial 13).
LINK_NEUTRAL = frozenset({"vm-config-recovery", "certificate-regeneration"})
#: How :func:`pverunbook.pve.diagnosis.network.fine_parts` says a link's loss was not measured.
LOSS_NOT_MEASURED = "loss not measured"


@dataclass(frozen=True)
class LastMeasure:
    """The last network-triage run before the check: when it started (epoch s), the facts it
    collected, and the other runbooks that ran after it, ``(runbook id, started)`` oldest
    first."""

    at: float
    facts: tuple[Fact, ...] = ()
    since: tuple[tuple[str, float], ...] = ()


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M UTC")


def _ran(since: Sequence[tuple[str, float]]) -> str:
    seen = list(dict.fromkeys(rid for rid, _ in since))
    return " and ".join(f"{rid} ({_hhmm(next(t for r, t in since if r == rid))})"
                        for rid in seen[:3])


def unmeasured_links(ctx: Context, last: LastMeasure | None,
                     busy: Collection[frozenset[str]] = ()) -> list[Fault]:
    """Say in ``ctx.healthy`` why each link's loss was not measured, and propose
    network-triage when the last measurement predates a change to the path.

    The links judged: listed as fine with "loss not measured", or connected from both ends
    now, with no ICMP figure the check has (its own or triage's taken over) and no link fault
    (``busy``: the node pairs a link fault names, which say what to do themselves). Their
    fine line, when there is one, says why; a link whose journal still holds the outage's
    link downs has none (the token advice speaks for it) and is still judged. Returns the one
    ``loss-unmeasured-after-change`` fault (info) naming every such link, or nothing.
    """
    before = FactStore(last.facts).named_peers() if last is not None else FactStore()
    changes = [(rid, t) for rid, t in (last.since if last is not None else ())
               if rid in PATH_CHANGES]
    stale: list[tuple[str, str]] = []
    for a, b in pairs(ctx.store, ctx.nodes):
        seen = directed(ctx.store, "knet.connected", a, b)
        up = len(seen) == 2 and all(f.value is True for f in seen)
        lines = [i for i, line in enumerate(ctx.healthy) if LOSS_NOT_MEASURED in line
                 and line.startswith((f"link {a} ↔ {b}:", f"link {b} ↔ {a}:"))]
        if not (up or lines) or frozenset((a, b)) in busy \
                or pair_facts(ctx.store, a, b).icmp_loss is not None:
            continue
        if last is None:
            why = (f"{LOSS_NOT_MEASURED} (the health check sends no probes: {TRIAGE_ID} "
                   "measures loss with ping and mtr on every link)")
        else:
            old = pair_facts(before, a, b)
            figure = (f"{TRIAGE_ID} at {_hhmm(last.at)} measured {loss_text(old)}"
                      if old.icmp_loss is not None else
                      f"{TRIAGE_ID} at {_hhmm(last.at)} did not measure this link")
            if last.since:
                why = (f"{LOSS_NOT_MEASURED} since {_ran(last.since)} ran ({figure}, before "
                       "it" + (f"; run {TRIAGE_ID} to measure it now)" if changes else ")"))
            else:
                why = f"{LOSS_NOT_MEASURED} ({figure})"
            if changes:
                stale.append((a, b))
        for i in lines:
            ctx.healthy[i] = ctx.healthy[i].replace(LOSS_NOT_MEASURED, why, 1)
    if not stale or last is None:
        return []
    names = ", ".join(f"{a} ↔ {b}" for a, b in stale)
    return [Fault(
        "loss-unmeasured-after-change",
        f"the loss on the link {names} has not been measured since {_ran(changes)} changed "
        f"the network: {TRIAGE_ID}'s last measurement ({_hhmm(last.at)}) predates it",
        "info", "high",
        f"Run {TRIAGE_ID} to measure the link as it is now (ping and mtr on every link, "
        "knet's counters read twice): the health check reads the links' state but sends no "
        "probes, and the figures from before the change describe a path that is gone. They "
        "are the baseline the change is judged by.",
        tuple(ev(f) for a, b in stale for f in directed(ctx.store, "knet.connected", a, b)),
        NextRunbook(TRIAGE_ID), (), tuple(dict.fromkeys(n for p in stale for n in p)),
        # measure before anything is decided on the old figures (the token after an outage)
        weight=50)]
