"""The health check after corosync-tuning, on the rehearsal cluster: the link downs of the outage
the tuning answered are history and propose no tuning again; a link that keeps failing under
the raised token says the tuning did not help.

The check's own steps (``runbooks/cluster-health-check.toml``: quorum, links, the corosync
journal, corosync.conf, the running token) run on every node with their verdicts' facts, next
to network-triage's ping (clean: the firewall rule drops only UDP 5405). The tuning is made the
way the runbook makes it: corosync.conf edited in /etc/pve with a new config_version, pmxcfs
writes every node's local copy and the writer runs ``corosync-cfgtool -R`` (dcdb.c), which
every corosync logs as ``Config reload requested by node N`` (exec/cfg.c).
"""

from __future__ import annotations

import pytest

from pverunbook.pve.diagnosis import Diagnosis
from pverunbook.pve.diagnosis.check import check_diagnose
from pverunbook.pve.facts import Fact, Observation, extract
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.sim import SimCluster
from tests.sim.conftest import sh
from tests.sim.test_reactions import wait_for
from tests.sim.test_votequorum_reload import BUMP

CHECK_STEPS = ("quorum", "links", "corosync-journal", "corosync-conf", "corosync-runtime")
#: pve001 drops 30% of pve002's corosync UDP: the kind of rule an nftables hardening leaves
DROP = ("nft add table inet t && nft 'add chain inet t in {{ type filter hook input priority "
        "0; policy accept; }}' && nft 'add rule inet t in ip saddr {peer} udp dport 5405 "
        "numgen random mod 100 < 30 drop'")



async def check(sim: SimCluster) -> Diagnosis:
    """The check's steps on every node, with network-triage's ping measured just before."""
    rb = load_file(builtin_dir() / "cluster-health-check.toml")
    steps = {s.id: s for s in rb.steps if s.id in CHECK_STEPS}
    assert set(steps) == set(CHECK_STEPS)
    names = ["ryanrishi", "pve001", "pve002"]
    addrs = {sim.node(n).addr: n for n in names}
    ids = {sim.node(n).nodeid: n for n in names}
    facts: list[Fact] = []
    measured: list[Fact] = []
    for n in names:
        for step in steps.values():
            (command,) = step.commands
            status, out, _ = await sh(sim, n, command)
            assert step.verdict is not None
            facts += extract(step.verdict, Observation(n, out, status, addrs, ids))
        pings = ""
        for a, peer in addrs.items():
            if peer != n:
                _, out, _ = await sh(sim, n, f"ping -c 50 -i 0.2 {a}")
                pings += f"### peer {a}\n{out}"
        measured += extract("ping", Observation(n, pings, 0, addrs, ids))
    return check_diagnose(facts, nodes=names, measured=measured)


def tuning_proposed(d: Diagnosis) -> list[str]:
    return [f"{f.rule}: {f.statement}" for f in d.faults
            if f.next_runbook is not None and f.next_runbook.runbook == "corosync-tuning"]


async def test_check_after_tuning_calls_the_old_downs_history_and_new_ones_a_failed_tuning(
        three: SimCluster) -> None:
    # the outage: the link pve001 <-> pve002 flaps until the rule is removed
    assert (await sh(three, "pve001", DROP.format(peer=three.node("pve002").addr)))[0] == 0
    for _ in range(150):  # a few flaps: one alone reads as history even before the tuning
        _, log, _ = await sh(three, "pve001", "journalctl -u corosync --no-pager")
        if log.count("link: host: 3 link: 0 is down") >= 3:
            break
        await three.advance(2)
    else:
        pytest.fail("the lossy link did not flap three times")
    assert (await sh(three, "pve001", "nft delete table inet t"))[0] == 0
    await wait_for(three, "pve002", "corosync-quorumtool -s", "Nodes:            3")
    await three.advance(30)
    # corosync-tuning: token 5000, config_version 6, reloaded on every node
    assert (await sh(three, "ryanrishi", BUMP))[:3:2] == (0, "")
    for n in ("ryanrishi", "pve001", "pve002"):
        _, out, _ = await sh(three, n, "corosync-cmapctl -g runtime.config.totem.token")
        assert out.startswith("runtime.config.totem.token (u32) = 5"), (n, out)
    await three.advance(60)

    d = await check(three)
    assert tuning_proposed(d) == []
    assert "udp-lost-icmp-ok" not in [f.rule for f in d.faults]
    hist = [f for f in d.faults if f.rule == "link-flaps-history"
            and set(f.nodes) == {"pve001", "pve002"}]
    assert hist, [(f.rule, f.statement) for f in d.faults]
    assert "before corosync loaded the configuration it runs now" in hist[0].statement
    assert "Config reload requested by node 1" in hist[0].statement

    # the rule comes back, dropping everything now: the link fails under the raised token
    cut = DROP.replace("numgen random mod 100 < 30 ", "")
    assert (await sh(three, "pve001", cut.format(peer=three.node("pve002").addr)))[0] == 0
    for _ in range(60):
        _, log, _ = await sh(three, "pve001", "journalctl -u corosync --no-pager")
        reload_at = log.rfind("Config reload requested")
        if "link: host: 3 link: 0 is down" in log[reload_at:]:
            break
        await three.advance(2)
    else:
        pytest.fail("the link never went down again under the raised token")
    d = await check(three)
    assert tuning_proposed(d) == []
    failing = [f for f in d.faults if set(f.nodes[:2]) == {"pve001", "pve002"}
               and f.rule in ("udp-lost-icmp-ok", "flapping-link")]
    assert failing, [(f.rule, f.statement) for f in d.faults]
    assert "the tuning did not help" in failing[0].statement
    assert failing[0].next_runbook is not None
    assert failing[0].next_runbook.runbook == "network-triage"
