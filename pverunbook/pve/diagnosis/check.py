"""The cluster health check's diagnosis: every fault of the outage, in the order to fix them.

The check (``runbooks/cluster-health-check.toml``) reads the network's *state* (routes, knet
links, the corosync journal, quorum) but does not measure loss: that is network-triage's job
(ping and mtr per link take minutes). So the same evidence leads to different next steps:

- a routed path, a link down now or no quorum, and no loss measured since the last change:
  measure it (``network-triage``: how much does the path lose, is the route the only cause,
  the baseline the fix is judged against);
- the same with triage's measurement (``measured`` facts of a triage run newer than any
  change): fix it (``route-fix`` for a host route, with its node, destination and gateway
  filled in; ``corosync-tuning`` for a lossy link);
- links connected from both ends and every node quorate, but the last hour's journal still full
  of link downs: that is history. With corosync's default token the next burst costs the
  token again, so ``corosync-tuning`` raises it (the story's step 1); with a raised token the
  history is only noted.

Faults are ordered by phase — network, then database, then VM configs, then certificates
(pmxcfs needs a stable membership, configs need a writable /etc/pve, ``pvecm updatecerts``
needs quorum) — and by rank within a phase, except that a precaution (a raised token after an
outage, the link fixed) comes after every critical fault (:func:`rank_key`); then a fault whose
runbook would stop on another fault still listed moves after it (:func:`runnable_first`: on a
wiped database vm-config-recovery waits for ``pvecm updatecerts`` and storage.cfg). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from pverunbook.pve.diagnosis import diagnose, health, rollbacks
from pverunbook.pve.diagnosis.measurement import (
    PATH_CHANGES,
    TRIAGE_ID,
    LastMeasure,
    unmeasured_links,
)
from pverunbook.pve.diagnosis.model import (
    TUNED_TOKEN_MS,
    Context,
    Diagnosis,
    Evidence,
    Fault,
    FindingLike,
    NextRunbook,
    directed,
    ev,
    num,
    pair_facts,
    pairs,
    tuned_token,
)
from pverunbook.pve.diagnosis.network import config_loaded, fine_parts, up_now
from pverunbook.pve.diagnosis.proposals import one_setting_per_runbook
from pverunbook.pve.facts import Fact, FactStore
from pverunbook.pve.journal_time import resolve

#: The runbook whose runs this diagnosis judges.
CHECK_ID = "cluster-health-check"

#: The order to fix faults in. A rollback timer first: a change half-kept (a stale timer) or
#: about to be undone (a pending one) decides what the rest of the check means.
PHASES = ("rollbacks", "network", "database", "configs", "certificates")
_PHASE_OF = {
    **dict.fromkeys(("rollback-stale", "rollback-interrupted", "rollback-pending"), "rollbacks"),
    **dict.fromkeys(("pve-not-mounted", "pve-enotconn", "db-damaged-one", "db-damaged-all",
                     "db-load-failed", "disk-errors", "db-deleted",
                     "db-deleted-held", "db-deleted-lost"), "database"),
    # a node directory only `pvecm updatecerts` brings back (Cluster/Setup.pm
    # gen_local_dirs), or a renamed node's configs moved to its new name: with the database,
    # before the configs that are written into it. Both rules name the same directory (the
    # write probe's ENOENT, the pve-mount step's test -d): one phase.
    **dict.fromkeys(("pmxcfs-node-dir-missing", "pve-own-dir-missing", "node-renamed"),
                    "database"),
    **dict.fromkeys(("storage-cfg-missing", "cluster-file-missing", "vm-without-config",
                     "vm-config-wrong-node"), "configs"),
    **dict.fromkeys(("cert-missing", "cert-expired", "cert-not-ca", "ca-missing",
                     "pveproxy-down", "clock-skew"), "certificates"),
    # re-arming HA is the last thing to do: only once everything else is repaired
    "ha-disarmed": "certificates",
}
#: Facts a triage run measured that the check does not read itself. knet.down_delta (the
#: counters read twice, no down between) tells a link's downs of now from its history: without
#: it, right after a triage had said "history: did not go down while sampled", the check called
#: the same link "corosync's UDP is lost while ICMP gets through" and proposed tuning.
_MEASURED = ("ping.", "mtr.", "knet.down_count", "knet.down_delta", "knet.latency_us",
             "knet.mtu", "knet.reachable")

_EXTRA_RULES = (rollbacks.rollback_timers, health.ha_fence_risk, health.ha_disarmed,
                health.two_node_large,
                health.pve_mount, health.cluster_files, health.db_load_failed, health.disk_errors,
                health.vms_without_config, health.certificates_extra, health.clock_skew)


def phase_of(rule: str) -> str:
    """``rollbacks``, ``network``, ``database``, ``configs`` or ``certificates``: when to fix
    this fault (:data:`PHASES` is the order)."""
    return _PHASE_OF.get(rule, "network")


def check_diagnose(facts: FactStore | Iterable[Fact], findings: Sequence[FindingLike] = (),
                   nodes: Sequence[str] = (), now: datetime | None = None,
                   measured: Iterable[Fact] = (), past: Iterable[Fact] = (),
                   last: LastMeasure | None = None,
                   unchecked: Mapping[str, str] | None = None,
                   path_change: tuple[str, float] | None = None,
                   stops: Mapping[str, Iterable[str]] | None = None) -> Diagnosis:
    """The check's diagnosis; ``measured`` = facts of a network-triage run taken after the last
    change to the cluster, ``past`` = link downs and loss earlier runs saw on it, ``last`` =
    the last triage run and what ran after it (the caller decides which runs those are),
    ``unchecked`` = nodes the check could not read (name → why): never healthy then;
    ``path_change`` = ``(runbook id, when)`` of the newest run that changed the path
    (route-fix): the journal's link downs of the hour before the check may predate it;
    ``stops`` = runbook id → the fault ids it stops on (its own expectations say so, read by
    the caller): see :func:`runnable_first`."""
    own = facts if isinstance(facts, FactStore) else FactStore(facts)
    store = FactStore(f for f in measured if f.name.startswith(_MEASURED))
    for f in own:
        store.add(f)
    store = store.named_peers()
    has_measure = any(f.name.startswith(("ping.", "mtr.")) for f in store)
    order = list(nodes) or store.nodes()
    base = diagnose(store, findings, list(nodes), now, unchecked)
    ctx = Context(store, findings, order, now, list(base.healthy), inventory=tuple(nodes))
    fixed = _fixed_within_window(path_change, now)
    when = _downs_against(store, path_change[1]) if fixed and path_change else ("", "")
    if when[0] == "after":
        fixed = ""  # the link went down on the new path too: its downs are the link of now
    faults = _network(base.faults, ctx, has_measure, list(past), fixed, when[1])
    busy = {frozenset(f.nodes[:2]) for f in faults if f.rule in _LINK_RULES and len(f.nodes) > 1}
    faults += unmeasured_links(ctx, last, busy)
    for rule in _EXTRA_RULES:
        faults += rule(ctx)
    faults = one_setting_per_runbook(faults)
    # the link measured since the path last changed: a measurement the token advice asks for
    # now only refreshes figures older than other runbooks (configs, certificates)
    remeasure = last is not None and not any(rid in PATH_CHANGES for rid, _ in last.since)
    rank = rank_key(faults, remeasure)
    ranked = sorted(enumerate(faults), key=lambda x: rank(*x))
    return Diagnosis(tuple(runnable_first([f for _, f in ranked], stops or {})),
                     tuple(dict.fromkeys(ctx.healthy)), base.matrix)


def precaution(f: Fault, remeasure: bool = False) -> bool:
    """A fault whose runbook guards against the next outage rather than fixing one now: a raised
    token proposed while nothing critical is wrong (corosync-token-default after an outage, the
    link connected and every node quorate). Its advice to measure the link first is one too when
    the link was measured since the path last changed (``remeasure``: only other runbooks ran
    since); right after route-fix that measurement confirms the network fix and is none. No
    runbook waits on a precaution."""
    if f.next_runbook is None or f.severity == "critical":
        return False
    return f.next_runbook.runbook == "corosync-tuning" or (
        remeasure and f.rule == "corosync-token-default")


def rank_key(faults: Sequence[Fault], remeasure: bool = False,
             ) -> Callable[[int, Fault], tuple[int, int, int]]:
    """The sort key of the check's order: phase (:data:`PHASES`), then rank, then the order the
    rules gave. A precaution (:func:`precaution`) comes after every critical fault, of its
    phase or a later one: corosync-tuning "as a precaution" once the network is fixed was
    proposed before the VMs running without a config and the missing certificates, though
    neither waits on the token and each is a fault now; the tuning also reloads corosync on
    every node, a change best made once /etc/pve holds the configs again."""
    last = max((PHASES.index(phase_of(f.rule)) for f in faults if f.severity == "critical"),
               default=0)

    def key(i: int, f: Fault) -> tuple[int, int, int]:
        phase = PHASES.index(phase_of(f.rule))
        if precaution(f, remeasure):
            phase = max(phase, last)
        return phase, -f.score, i
    return key


def runnable_first(faults: Sequence[Fault], stops: Mapping[str, Iterable[str]]) -> list[Fault]:
    """``faults`` in their order, except that a fault whose runbook would stop on another
    fault still listed comes right after it: the next runbook the diagnosis names can run on
    the cluster as it is.

    ``stops`` maps a runbook id to the fault ids it stops on: vm-config-recovery stops at
    ``configs-really-gone`` while a node's /etc/pve/nodes/<node> is missing (only ``pvecm
    updatecerts`` recreates it, Cluster/Setup.pm ``gen_local_dirs``) and at ``storage-cfg``
    while storage.cfg is gone, so on a wiped database it comes after certificate-regeneration
    and after storage.cfg is back, whatever the phases say. Each runbook declares these on
    the expectations that stop it (``faults = [...]``), so the order follows the runbooks as
    they are. When every fault left waits on another (a cycle), the first goes.
    """
    blocked = {rb: frozenset(ids) for rb, ids in stops.items()}
    left = list(faults)
    out: list[Fault] = []
    while left:
        present = {f.rule for f in left}
        pick = next((f for f in left if f.next_runbook is None
                     or not blocked.get(f.next_runbook.runbook, frozenset())
                     & (present - {f.rule})), left[0])
        out.append(pick)
        left.remove(pick)
    return out


def _all_quorate(store: FactStore) -> bool:
    seen = store.named("quorum.quorate")
    return bool(seen) and all(f.value is True for f in seen)


def _history_pairs(store: FactStore, nodes: Sequence[str]) -> list[tuple[str, str]]:
    routed = {frozenset((f.node, f.peer)) for f in store.named("route.via") if f.value}
    return [(a, b) for a, b in _pairs_of(store, nodes)
            if up_now(store, a, b) and frozenset((a, b)) not in routed]


def _pairs_of(store: FactStore, nodes: Sequence[str]) -> list[tuple[str, str]]:
    return pairs(store, nodes)


#: What the check's journal step reads (``journalctl -u corosync --since -1h``), seconds.
JOURNAL_WINDOW_S = 3600


def _fixed_within_window(path_change: tuple[str, float] | None,
                         now: datetime | None) -> str:
    """``route-fix at 03:11 UTC`` when that run changed the path within the hour the check's
    journal covers (so some of its link downs are from before the fix), else ""."""
    if path_change is None or now is None:
        return ""
    rid, ts = path_change
    if not 0 <= now.timestamp() - ts < JOURNAL_WINDOW_S:
        return ""
    return f"{rid} at {datetime.fromtimestamp(ts, UTC).strftime('%H:%M UTC')}"


def _downs_against(store: FactStore, changed: float) -> tuple[str, str]:
    """``("before" | "after", what)``: whether the journal's last link down on every node came
    before the run that changed the path started, or one came after it; ``("", "")`` when a
    node's stamp cannot be placed (no ``clock.epoch`` or ``clock.utc_offset_s`` of that node:
    a check journaled before the clock step read the offset).

    journalctl's stamps are local time without year; :func:`journal_time.resolve` places them
    with the node's own clock and offset, read by the same check.
    """
    lasts = []
    for f in store.named("journal.last_link_down"):
        epoch = num(store.value("clock.epoch", f.node))
        offset = num(store.value("clock.utc_offset_s", f.node))
        at = resolve(str(f.value), epoch, int(offset)) if epoch and offset is not None \
            else None
        if at is None:
            return "", ""
        lasts.append((at, f))
    if not lasts:
        return "", ""
    at, f = max(lasts, key=lambda x: x[0])
    said = f"the last on {f.node} at {at:%H:%M:%S} UTC"
    return ("after" if at.timestamp() >= changed else "before"), said


def _network(faults: Sequence[Fault], ctx: Context, has_measure: bool,
             past: Sequence[Fact] = (), fixed: str = "", last_down: str = "") -> list[Fault]:
    """The shared rules' faults, with the check's next steps (see the module docstring)."""
    store = ctx.store
    calm = _all_quorate(store)
    ordered = _history_pairs(store, ctx.nodes) if calm else []  # inventory order
    history = {frozenset(p) for p in ordered}
    token = max((int(num(f.value) or 0) for f in store.named("corosync.token_ms")), default=0)
    flaps = max((int(num(f.value) or 0) for f in store.named("journal.link_down")), default=0)
    out: list[Fault] = []
    for f in faults:
        pair = frozenset(f.nodes[:2]) if len(f.nodes) >= 2 else frozenset()
        if f.rule in ("flapping-link", "udp-lost-icmp-ok", "lossy-link", "link-flaps-history") \
                and pair in history \
                and not has_measure:
            continue  # connected now from both ends, quorate: the journal's flaps are history
        if f.rule == "quorum-lost-recently" and calm and (history or not flaps):
            continue
        if f.rule == "route-via-gateway" and not has_measure:
            f = replace(f, next_runbook=NextRunbook(TRIAGE_ID, {}))
        elif f.rule == "partition" and any(x.rule in ("route-via-gateway", "lossy-link",
                                                      "flapping-link") for x in faults):
            f = replace(f, next_runbook=None)  # the link is the cause; a QDevice comes later
        out.append(f)
    link_faults = any(f.rule in _LINK_RULES for f in out)
    earlier = [f for f in past if f.node]
    if calm and not link_faults and (flaps or earlier):
        lost_facts = store.named("journal.quorum_lost")
        lost = max((int(num(f.value) or 0) for f in lost_facts), default=0)
        lost_on = [f.node for f in lost_facts if f.node and lost and int(num(f.value) or 0) == lost]
        # name the links whose journal has the downs: with three nodes every connected pair
        # was named, "ryanrishi ↔ pve001 … went down 85 times" beside the matrix's one ↓85
        downed = [(a, b) for a, b in ordered
                  if any(num(f.value) for f in directed(store, "journal.link_down", a, b))
                  or (not flaps and any({f.node, f.peer} == {a, b} for f in earlier))]
        named = downed or ordered
        names = " and ".join(" ↔ ".join(p) for p in named) or "between the nodes"
        seen = (f"went down {flaps} times in the last hour"
                + (f" and quorum was lost {lost} times"
                   + (f" (on {', '.join(lost_on)})" if len(ctx.nodes) > 2 and lost_on else "")
                   if lost else "")) if flaps else \
            f"lost packets earlier ({_past_text(earlier)})"
        if flaps and fixed and last_down:
            # every down's stamp placed on the node's own clock: all before the change
            seen += (f" — all before {fixed} changed the path ({last_down}): the old path's "
                     "downs, not this link's now")
        elif flaps and fixed:
            # the journal's hour reaches back before the path changed: never cite its count
            # as the link of now (corosync-tuning was proposed after route-fix for downs
            # that all came before it)
            seen += (f" — counted over the hour before this check, which includes the time "
                     f"before {fixed} changed the path; downs before it are not this link's "
                     "now")
        elif flaps and last_down:
            seen += f", also after the path changed ({last_down})"
        seen += _before_tuning(ctx) if flaps else ""
        if token and token < TUNED_TOKEN_MS:
            measure_first = bool(fixed) and not has_measure
            evidence = [_ev(store, n) for n in ("journal.link_down", "corosync.token_ms")
                        if store.named(n)] + [_past_ev(f) for f in earlier[:3]]
            out.append(Fault(
                "corosync-token-default",
                f"the corosync link {names} is connected now, but it {seen}; corosync still "
                f"runs its default token of {token} ms", "warning", "high",
                (f"Those downs {'all came' if last_down else 'may all be'} from before "
                 f"{fixed}: measure the link now "
                 f"({TRIAGE_ID}); only if it still loses packets, raise the token to "
                 f"{TUNED_TOKEN_MS} ms (corosync-tuning)." if measure_first else
                 f"{TRIAGE_ID} measured the link since {fixed}, so those downs describe the "
                 f"old path: raising the token to {TUNED_TOKEN_MS} ms is a precaution against "
                 "the next burst (the story's step 1), not a fix for the link now; a second "
                 "knet link on another NIC is the durable one." if fixed else
                 f"Raise the token to {TUNED_TOKEN_MS} ms so a short burst of loss no longer "
                 "costs the token (the story's step 1), and watch the link: a second knet "
                 "link on another NIC is the durable fix."), tuple(evidence),
                NextRunbook(TRIAGE_ID, {}) if measure_first else
                NextRunbook("corosync-tuning", {"token": TUNED_TOKEN_MS}), (),
                tuple(ctx.nodes)))
        elif ordered:
            # one line per link: what was measured now (link_loss's line for it, replaced)
            # and what it did earlier; never "no link flaps" beside earlier link downs
            for a, b in named:
                ctx.healthy[:] = [h for h in ctx.healthy
                                  if not h.startswith((f"link {a} ↔ {b}:", f"link {b} ↔ {a}:"))]
                now = [x for x in fine_parts(store, pair_facts(store, a, b))
                       if x != "no link flaps"]
                ctx.healthy.append(f"link {a} ↔ {b}: {', '.join(now)}; it {seen}, and "
                                   f"corosync runs a token of {token} ms")
        else:
            ctx.healthy.append(f"link {names}: connected from both ends now; it {seen}, and "
                               f"corosync runs a token of {token} ms")
    return out


def _before_tuning(ctx: Context) -> str:
    """``, all before corosync loaded …``: with corosync-tuning's token in place, every link
    whose journal has downs shows them before the start or reload that brought the token
    (network.config_loaded); "" otherwise."""
    if not tuned_token(ctx.store, len(ctx.nodes) or len(ctx.store.nodes())):
        return ""
    loads = [config_loaded(ctx.store, pair_facts(ctx.store, a, b))
             for a, b in pairs(ctx.store, ctx.nodes)
             if any(num(f.value) for f in directed(ctx.store, "journal.link_down", a, b))]
    where = [x[1] for x in loads if x is not None and not x[0]]
    if not where or len(where) < len(loads):
        return ""
    return f", all before corosync loaded the configuration it runs now ({where[0]})"


_LINK_RULES = ("route-via-gateway", "lossy-link", "flapping-link", "udp-lost-icmp-ok",
               "partition", "corosync-not-running", "mtu-mismatch")


def _past_text(facts: Sequence[Fact]) -> str:
    worst: dict[str, float] = {}
    for f in facts:
        worst[f.name] = max(worst.get(f.name, 0.0), float(num(f.value) or 0))
    names = {"journal.link_down": "link downs", "knet.down_count": "knet down_count",
             "ping.loss_pct": "% ping loss", "mtr.loss_pct": "% mtr loss"}
    return ", ".join(f"{v:g}{'' if n.endswith('_pct') else ' '}{names[n]}"
                     for n, v in worst.items())


def _past_ev(f: Fact) -> Evidence:
    return Evidence(f"earlier run: {f.name} {f.node}→{f.peer} = {f.value}", f.node, f.step_id,
                    f.evidence)


def _ev(store: FactStore, name: str) -> Evidence:
    found = store.named(name)
    return ev(found[0]) if found else Evidence(name, None, "", "")
