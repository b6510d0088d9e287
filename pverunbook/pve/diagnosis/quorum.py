"""Membership rules: partition and who has quorum, quorum lost in the journal, corosync not
running, a QDevice that does not vote, config_version differing between nodes.

Sources: votequorum(5), pve-docs pvecm.adoc ("Quorum", "Corosync External Vote Support"),
pmxcfs dcdb.c (config_version), domain notes §3 and §7.
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.model import (
    Context,
    Fault,
    ManualFix,
    NextRunbook,
    ev,
    findings_for,
    fmt,
    num,
    steady_now,
)
from pverunbook.pve.facts import Fact


def corosync_not_running(ctx: Context) -> list[Fault]:
    store = ctx.store
    down = [f for f in store.named("corosync.running") if f.value is False and f.node]
    if not down:
        return []
    names = list(dict.fromkeys(f.node for f in down if f.node))
    return [Fault(
        "corosync-not-running",
        f"corosync is not running on {', '.join(names)}",
        "critical", "high",
        "Read why it stopped (`journalctl -b -u corosync`), fix that (often a corosync.conf "
        "error or a missing authkey), then start it. The node is outside every membership and "
        "its /etc/pve is read-only until then.",
        tuple(ev(f, f"{f.node}: {f.evidence or 'corosync not running'}") for f in down), None,
        tuple(ManualFix(n, "journalctl -b -u corosync --no-pager | tail -n 50; "
                           "systemctl start corosync", "fix") for n in names),
        tuple(names), weight=30)]



def partition(ctx: Context) -> list[Fault]:
    """Partition and who has quorum (votequorum.5; pve-docs pvecm "Quorum")."""
    store = ctx.store
    findings = ctx.findings
    quorate = {f.node: f for f in store.named("quorum.quorate") if f.node}
    lost = [f for f in store.named("journal.quorum_lost") if (num(f.value) or 0) > 0]
    if lost and (not quorate or all(f.value is True for f in quorate.values())):
        names = [str(f.node) for f in lost]
        span = max((int(num(f.value) or 0) for f in store.named("journal.span_s")), default=0)
        within = f" in the last {round(span / 60)} min" if span else ""
        times = max(int(num(f.value) or 0) for f in lost)
        lost_ev = tuple(ev(f, f"{f.node}: non-primary component {fmt(f.value)} times")
                        for f in lost)
        if quorate and steady_now(ctx):
            # the journal is the last hour; knet's counters sampled twice, the links and
            # quorum now say the cause is gone: report it as what it is, history
            return [Fault(
                "quorum-lost-recently",
                f"history: quorum was lost up to {times} times{within} on {', '.join(names)}; "
                "every node is quorate now and no link went down while the run sampled knet's "
                "counters", "info", "high",
                "Nothing to fix now if a fix was just made; run the triage again later to see "
                "that it stays so.", lost_ev, None, (), tuple(names))]
        return [Fault(
            "quorum-lost-recently",
            f"quorum was lost up to {times} times{within} on {', '.join(names)}"
            + (" (quorate at the moment of the check)" if quorate else ""),
            "critical", "high",
            "Each loss made /etc/pve read-only and would fence HA nodes: the membership is "
            "unstable. Fix the link faults; the cluster only looks healthy between flaps.",
            lost_ev, None, (), tuple(names), weight=10)]
    if not quorate or all(f.value is True for f in quorate.values()):
        return []
    yes = [n for n, f in quorate.items() if f.value is True]
    no = [n for n, f in quorate.items() if f.value is False]
    groups: dict[str, list[str]] = {}
    for n in quorate:
        members = store.value("quorum.members", n)
        groups.setdefault(str(members or n), []).append(n)
    expected = max((int(num(f.value) or 0) for f in store.named("quorum.expected_votes")),
                   default=0)
    evidence = [ev(f) for f in quorate.values()]
    evidence += [ev(f) for f in store.named("quorum.members")]
    evidence += findings_for(findings, quorate.values())
    sides = " | ".join(", ".join(g) for g in groups.values())
    if yes:
        statement = (f"the cluster is partitioned ({sides}): {', '.join(yes)} "
                     f"{'has' if len(yes) == 1 else 'have'} quorum; {', '.join(no)} "
                     f"{'is' if len(no) == 1 else 'are'} cut off")
        action = (f"Fix the links from {', '.join(no)} to the quorate side; /etc/pve is "
                  f"read-only on {', '.join(no)} until they rejoin. Never `pvecm expected 1` "
                  "on the cut-off side.")
    else:
        statement = (f"no node has quorum ({sides}"
                     + (f"; {expected} votes expected" if expected else "") + ")")
        action = ("Fix the network between the nodes first. `pvecm expected 1` is a last "
                  "resort to make /etc/pve writable on a node whose every peer is powered "
                  "off or has corosync stopped; on a node merely cut off (the others may "
                  "reconnect, or be quorate out of sight) or on both halves it makes a second "
                  "quorate partition: split brain.")
        if expected == 2 and not store.named("qdevice.configured"):
            statement += ": a 2-node cluster without a QDevice loses quorum with either node"
            action += " A QDevice on a third machine is the durable fix (qdevice-setup)."
    has_qd = bool(store.named("qdevice.configured"))
    next_rb = NextRunbook("qdevice-setup") if expected == 2 and not has_qd else None
    return [Fault("partition", statement, "critical", "high", action, tuple(evidence),
                  next_rb, (), tuple(yes + no), weight=10)]



def qdevice_not_voting(ctx: Context) -> list[Fault]:
    """A QDevice that is registered but not voting (flags NV) adds no vote (pvecm.adoc)."""
    store = ctx.store
    bad = [f for f in store.named("qdevice.voting") if f.value is False and f.node]
    if not bad:
        return []
    names = [str(f.node) for f in bad]
    return [Fault(
        "qdevice-not-voting",
        f"the QDevice is configured but not voting (seen from {', '.join(names)}): losing one "
        "more node now loses quorum", "critical", "high",
        "Check corosync-qdevice on the nodes (`corosync-qdevice-tool -sv`) and that the QNetd "
        "host answers on TCP 5403 (`systemctl status corosync-qnetd` there).",
        tuple(ev(f, f"{f.node}: {f.evidence}") for f in bad), None,
        tuple(ManualFix(n, "corosync-qdevice-tool -sv; systemctl status corosync-qdevice", "look")
              for n in names), tuple(names))]



def config_version_mismatch(ctx: Context) -> list[Fault]:
    """config_version must agree on every node (pmxcfs dcdb.c: lower versions are not copied).

    Only versions read by one step are compared: they are one snapshot of the cluster. A
    version read before a change on one node and one read after it (or off a candidate file
    such as ``corosync.conf.new``) on another differ without anything being wrong, and a
    run that just raised the version must not end by reporting its own edit as a split.
    """
    store = ctx.store
    out = []
    for name, where in (("corosync.config_version", "running corosync"),
                        ("corosync_conf.config_version", "corosync.conf")):
        by_step: dict[str, list[Fact]] = {}
        for f in store.named(name):
            if f.node:
                by_step.setdefault(f.step_id, []).append(f)
        split = [group for group in by_step.values()
                 if len({f.value for f in group}) > 1]
        if not split:
            continue
        facts = split[-1]  # the latest snapshot that shows a difference
        hi = max(facts, key=lambda f: num(f.value) or 0)
        lo = [f for f in facts if f.value != hi.value]
        listing = ", ".join(f"{f.node}={fmt(f.value)}" for f in facts)
        out.append(Fault(
            "config-version-mismatch",
            f"the nodes run different corosync configurations ({where} config_version: "
            f"{listing})", "critical", "high",
            f"Make /etc/pve/corosync.conf right with a config_version above {fmt(hi.value)} so "
            "pmxcfs copies it everywhere; without quorum, edit /etc/corosync/corosync.conf "
            f"identically on every node. Then `corosync-cfgtool -R`.",
            tuple(ev(f) for f in facts), None,
            tuple(ManualFix(str(f.node), "grep -n config_version /etc/corosync/corosync.conf "
                                         "/etc/pve/corosync.conf", "look") for f in lo),
            tuple(str(f.node) for f in facts), weight=20))
        break
    return out



def two_node_flag(ctx: Context) -> list[Fault]:
    """``Flags: 2Node`` with 3+ expected votes: ``two_node: 1`` left in corosync.conf.

    votequorum(5) two_node: "the cluster [...] will remain quorate with only one node"; with
    more nodes, once only two members remain votequorum forces quorum to 1 and a split
    between those two leaves both halves quorate (a latent split brain).
    """
    store = ctx.store
    bad = []
    for f in store.named("quorum.flags"):
        expected = num(store.value("quorum.expected_votes", f.node))
        if f.node and "2Node" in str(f.value).split() and (expected or 0) >= 3:
            bad.append(f)
    if not bad:
        return []
    expected = max(int(num(store.value("quorum.expected_votes", f.node)) or 0) for f in bad)
    names = [str(f.node) for f in bad]
    return [Fault(
        "two-node-flag",
        f"`two_node: 1` is set although {expected} votes are expected (seen on "
        f"{', '.join(names)}): a latent split brain once only two nodes remain",
        "warning", "high",
        "Remove `two_node: 1` from the quorum section of /etc/pve/corosync.conf and raise "
        "config_version, while the cluster is healthy; votequorum then needs a real majority "
        "again.", tuple(ev(f, f"{f.node}: Flags: {f.value}") for f in bad), None,
        tuple(ManualFix(n, "grep -n -A4 '^quorum' /etc/pve/corosync.conf", "look")
              for n in names[:1]),
        tuple(names))]
