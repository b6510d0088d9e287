"""Fact rules over corosync's own outputs: pvecm status / corosync-quorumtool, corosync-cfgtool
-s and -n, corosync-cmapctl stats, the corosync journal, and corosync.conf's config_version.

One pure function per verdict name over one node's output (``Observation``); peers are named
by node name where the output says an address or node id the run knows, ``nodeid N``
otherwise (``FactStore.named_peers`` resolves those later).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pverunbook.pve import outputs, peer_sections
from pverunbook.pve.facts.model import Fact, Observation
from pverunbook.pve.journal_time import stamp_of
from pverunbook.pve.outputs.pmxcfs import db_load


def facts_quorum(obs: Observation) -> list[Fact]:
    """``pvecm status`` / ``corosync-quorumtool -s``: quorate, votes, members, QDevice.

    Source of the format: corosync-quorumtool(8); pve-docs pvecm chapter (QDevice flags
    ``A/NA`` alive, ``V/NV`` voting, ``MW/NMW`` master wins).
    """
    st = outputs.parse_quorum_status(obs.seen)
    node = obs.node
    if st.error:
        return [Fact("corosync.running", False, node, evidence=st.error)]
    if st.quorate is None and not st.members and obs.exit_status not in (0, 2, None):
        # corosync down, its error lost (stderr not captured): pvecm prints only its "Cluster
        # information" block from corosync.conf, then exits non-zero (exit 2 = not quorate)
        return [Fact("corosync.running", False, node,
                     evidence=f"no quorum information, exit {obs.exit_status}")]
    out: list[Fact] = []
    if st.quorate is not None:
        out.append(Fact("corosync.running", True, node))
        out.append(Fact("quorum.quorate", st.quorate, node,
                        evidence=f"Quorate: {'Yes' if st.quorate else 'No'}"))
    if st.node_id is not None:
        out.append(Fact("corosync.nodeid", st.node_id, node,
                        evidence=f"Node ID: 0x{st.node_id:08x}"))
    if st.expected_votes is not None:
        out.append(Fact("quorum.expected_votes", st.expected_votes, node,
                        evidence=f"Expected votes: {st.expected_votes}"))
    if st.total_votes is not None:
        out.append(Fact("quorum.total_votes", st.total_votes, node,
                        evidence=f"Total votes: {st.total_votes}"))
    if st.quorum is not None:
        out.append(Fact("quorum.quorum", st.quorum, node, evidence=f"Quorum: {st.quorum}"))
    if st.flags:
        out.append(Fact("quorum.flags", " ".join(st.flags), node,
                        evidence="Flags: " + " ".join(st.flags)))
    if st.config_version is not None:
        # pvecm's "Config Version" is read from /etc/pve/corosync.conf (pvecm.pm), not from the
        # running corosync: it is the file's version on this node
        out.append(Fact("corosync_conf.config_version", st.config_version, node,
                        evidence=f"Config Version: {st.config_version} (pvecm status)"))
    real = [m for m in st.members if m.nodeid != 0]
    if real:
        names = [obs.name_of(m.name) if m.name else obs.name_of(m.nodeid) for m in real]
        out.append(Fact("quorum.members", " ".join(names), node,
                        evidence=f"Membership: {', '.join(m.name for m in real)}"))
        out.append(Fact("quorum.member_count", len(real), node))
    if st.has_qdevice:
        out.append(Fact("qdevice.configured", True, node, evidence="Flags: " + " ".join(st.flags)))
        own = next((m for m in real if m.local), real[0] if real else None)
        if own is not None and own.qdevice:
            flags = own.qdevice.split(",")
            out.append(Fact("qdevice.voting", "V" in flags, node,
                            evidence=f"Qdevice flags {own.qdevice} ({own.name})"))
            out.append(Fact("qdevice.alive", "A" in flags, node,
                            evidence=f"Qdevice flags {own.qdevice} ({own.name})"))
    return out


def facts_links(obs: Observation) -> list[Fact]:
    """``corosync-cfgtool -s``: per peer, are all knet links connected, and how many are down.

    Source: corosync-cfgtool(8); the three corosync 3 layouts are parsed by outputs.
    """
    text = obs.text
    stopped = re.search(r"Cannot initiali[sz]e|Could not initiali[sz]e corosync", obs.seen)
    if stopped:
        return [Fact("corosync.running", False, obs.node,
                     evidence=obs.line_with(stopped.group(0)))]
    st = outputs.parse_cfgtool_status(text)
    if not st.links and obs.exit_status not in (0, None):
        return [Fact("corosync.running", False, obs.node,
                     evidence=f"no link status, exit {obs.exit_status}")]
    per_peer: dict[int, list[tuple[int, str]]] = {}
    for link in st.links:
        for p in link.peers:
            if p.status.startswith("localhost"):
                continue
            per_peer.setdefault(p.nodeid, []).append((link.link, p.status))
    out: list[Fact] = []
    if st.links:
        out.append(Fact("corosync.running", True, obs.node))
        out.append(Fact("knet.links", len(st.links), obs.node))
    for nodeid, states in per_peer.items():
        peer = obs.name_of(nodeid)
        down = [(lk, s) for lk, s in states if not s.startswith("connected")]
        ev = ", ".join(f"LINK ID {lk}: nodeid {nodeid}: {s}" for lk, s in states)
        out.append(Fact("knet.connected", not down, obs.node, peer, evidence=ev))
        out.append(Fact("knet.links_down", len(down), obs.node, peer, evidence=ev))
    return out


def facts_knet_nodes(obs: Observation) -> list[Fact]:
    """``corosync-cfgtool -n``: per peer, reachability and the smallest knet link MTU.

    knet's MTU is the payload it can send after its own headers and crypto (PMTUd), so two
    nodes reporting different values for one link point at an MTU mismatch on the path.
    """
    out: list[Fact] = []
    listed: set[str] = set()
    for kn in outputs.parse_cfgtool_nodes(obs.text):
        peer = obs.name_of(kn.nodeid)
        if kn.links:
            dst = kn.links[0].dst
            if dst in obs.names_by_addr:
                peer = obs.names_by_addr[dst]
        listed.add(peer)
        if not peer.startswith("nodeid "):
            # named by its address: which nodeid that node has, so the outputs that know
            # peers only by nodeid (cfgtool -s, cmap stats, the journal) name it too
            out.append(Fact("knet.peer_nodeid", kn.nodeid, obs.node, peer,
                            evidence=f"nodeid: {kn.nodeid} -> {kn.links[0].dst}"))
        state = "reachable" if kn.reachable else "unreachable"
        out.append(Fact("knet.reachable", kn.reachable, obs.node, peer,
                        evidence=f"nodeid: {kn.nodeid} {state}"))
        # knet starts every link at the payload of a minimal 576-byte IPv4 (1280 IPv6) packet
        # until PMTUd has run (libknet links.c knet_link_set_config): a value below 576 is
        # that start-up placeholder, not a path MTU
        mtus = [(lk.link, lk.mtu) for lk in kn.links if lk.mtu is not None and lk.mtu >= 576]
        if mtus:
            lk, mtu = min(mtus, key=lambda x: x[1] or 0)
            out.append(Fact("knet.mtu", mtu or 0, obs.node, peer,
                            evidence=f"LINK: {lk} ({kn.links[0].src}->{kn.links[0].dst}) "
                                     f"mtu: {mtu}"))
    local = re.search(r"^Local node ID (\d{1,10})", obs.text, re.M)
    if local:
        # corosync-cfgtool.c prints a node under -n only when knet reports it reachable: a known
        # peer that is missing is one this node cannot reach now
        for peer in sorted(set(obs.names_by_addr.values()) - listed - {obs.node}):
            if obs.names_by_nodeid.get(int(local.group(1))) == peer:
                continue
            out.append(Fact("knet.reachable", False, obs.node, peer,
                            evidence=f"{peer} is not listed by corosync-cfgtool -n"))
    return out


def facts_cmap_stats(obs: Observation) -> list[Fact]:
    """``corosync-cmapctl -m stats``: knet ``down_count`` and latency per peer, the token.

    ``stats.knet.node<N>.link<L>.down_count`` counts link downs since corosync started, and
    one of them is not a flap: enabling a link that is not connected yet counts as a down
    (libknet links.c ``knet_link_set_enable`` -> ``_link_updown(enabled=1, connected=0)``,
    ``down_count++``), so every peer's link of a healthy cluster reads 1 from its start (the
    real-pmxcfs lab shows it; the local node's own link, connected at once, reads 0). The
    fact counts the flaps: down_count - 1 per enabled link. Latency is in microseconds
    (libknet ``latency_ave``).
    """
    cmap = outputs.parse_cmapctl(obs.text)
    out: list[Fact] = []
    by_peer: dict[int, dict[str, int]] = {}
    ev: dict[int, str] = {}
    for (nodeid, link), st in sorted(outputs.knet_link_stats(cmap).items()):
        if "down_count" not in st and "latency_ave" not in st:
            continue
        if st.get("enabled", 1) == 0:
            continue
        if st.get("latency_samples", 1) == 0 and "down_count" not in st:
            continue
        agg = by_peer.setdefault(nodeid, {"down_count": 0, "raw": 0, "latency_ave": 0})
        agg["raw"] += st.get("down_count", 0)
        agg["down_count"] += max(0, st.get("down_count", 0) - 1)  # less the enable's down
        agg["latency_ave"] = max(agg["latency_ave"], st.get("latency_ave", 0))
        ev[nodeid] = (f"stats.knet.node{nodeid}.link{link}.down_count = "
                      f"{st.get('down_count', 0)} (one is the link's start)")
    local_ids = {nid for nid, st in by_peer.items() if st["raw"] == 0
                 and st["latency_ave"] == 0}
    for nodeid, agg in by_peer.items():
        if nodeid in local_ids and len(by_peer) > 1:
            continue  # the local node's own entry: no link to itself
        peer = obs.name_of(nodeid)
        out.append(Fact("knet.down_count", agg["down_count"], obs.node, peer, evidence=ev[nodeid]))
        if agg["latency_ave"]:
            out.append(Fact("knet.latency_us", agg["latency_ave"], obs.node, peer,
                            evidence=f"stats.knet.node{nodeid}.*.latency_ave = "
                                     f"{agg['latency_ave']}"))
    token = cmap.get("runtime.config.totem.token")
    if token is not None and token.isdigit():
        out.append(Fact("corosync.token_ms", int(token), obs.node,
                        evidence=f"runtime.config.totem.token = {token}"))
    version = cmap.get("totem.config_version")
    if version is not None and version.isdigit():
        # the version of the corosync.conf the running corosync loaded (cmap), unlike pvecm's
        # "Config Version", which is read from /etc/pve/corosync.conf
        out.append(Fact("corosync.config_version", int(version), obs.node,
                        evidence=f"totem.config_version = {version} (corosync-cmapctl)"))
    return out + _down_deltas(obs, local_ids if len(by_peer) > 1 else set())


def _down_deltas(obs: Observation, local_ids: set[int]) -> list[Fact]:
    """``knet.down_delta[node→peer]``: link downs between two samples (``### sample N``).

    down_count counts since corosync started (libknet links.c, reset only when the link is
    configured), so one reading cannot tell an old outage or a peer's reboot from a link that
    fails now; the difference between two readings can. Enabled links only, summed per peer.
    """
    samples = [sec.text for sec in peer_sections.split(obs.text) if sec.kind == "sample"]
    if len(samples) < 2:
        return []

    def downs(text: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for (nodeid, _link), st in outputs.knet_link_stats(outputs.parse_cmapctl(text)).items():
            if st.get("enabled", 1) == 0 or "down_count" not in st:
                continue
            out[nodeid] = out.get(nodeid, 0) + st["down_count"]
        return out

    before, after = downs(samples[0]), downs(samples[-1])
    out: list[Fact] = []
    for nodeid in sorted(after):
        if nodeid in local_ids or nodeid not in before:
            continue
        delta = max(0, after[nodeid] - before[nodeid])
        out.append(Fact("knet.down_delta", delta, obs.node, obs.name_of(nodeid),
                        evidence=f"stats.knet.node{nodeid}.link*.down_count "
                                 f"{before[nodeid]} -> {after[nodeid]} between the samples"))
    return out


def facts_journal(obs: Observation) -> list[Fact]:
    """corosync's journal counted by message kind, per peer where the line names one.

    ``journal.no_active_links[node→peer]`` counts cut-offs only: the lines logged while a peer
    that was up had lost every link, not the ones corosync logs at start-up while it waits for
    the peer's first heartbeat (a healthy start logs those too).

    Message texts: corosync exec/totemsrp.c, vsf_quorum.c and libknet (domain notes §7).
    """
    s = outputs.parse_corosync_log(obs.text)
    counts = s.counts
    out: list[Fact] = []

    def first(kind: str, host: int | None = None) -> str:
        for e in s.events:
            if e.kind == kind and (host is None or e.host == host):
                return f"line {e.lineno}: {e.text}"
        return ""

    downs: dict[int, int] = {}
    for (host, _link), n in s.link_downs().items():
        downs[host] = downs.get(host, 0) + n
    for host, n in sorted(downs.items()):
        out.append(Fact("journal.link_down", n, obs.node, obs.name_of(host),
                        evidence=first("link_down", host)))
    last_down: dict[int, outputs.LogEvent] = {}
    for e in s.events:
        if e.kind == "link_down" and e.host in downs and s.shut_down_at(e.host, e.lineno) is None:
            last_down[e.host] = e
    for host, e in sorted(last_down.items()):
        # the stamp as journalctl printed it (local time, no year): journal_time resolves it
        stamp = stamp_of(e.text)
        if stamp:
            out.append(Fact("journal.last_link_down", stamp, obs.node, obs.name_of(host),
                            evidence=f"line {e.lineno}: {e.text}"))
    loaded = s.config_loaded()
    if loaded is not None:
        # link downs under the configuration corosync runs now, apart from those before it
        # (a token raised by corosync-tuning only answers for the downs after its reload)
        what = {"config_reload": "reload", "config_applied": "links configured"}.get(
            loaded.kind, "start")
        out.append(Fact("journal.config_loaded", what, obs.node,
                        evidence=f"line {loaded.lineno}: {loaded.text}"))
        since: dict[int, int] = dict.fromkeys(downs, 0)
        for (host, _link), n in s.link_downs_after(loaded.lineno).items():
            since[host] = since.get(host, 0) + n
        for host, n in sorted(since.items()):
            out.append(Fact("journal.link_down_since_config", n, obs.node, obs.name_of(host),
                            evidence=f"after line {loaded.lineno}"))
    # knet says "has no active links" for a real cut-off and, at start-up, before the peer's
    # first heartbeat; only the first kind is an outage (outputs.peer_links tells them apart)
    for host, links in sorted(outputs.peer_links(s).items()):
        if not links.cut_offs and not links.startup_waits:
            continue
        cut = links.first_cut
        out.append(Fact("journal.no_active_links", links.cut_offs, obs.node, obs.name_of(host),
                        evidence=f"line {cut.lineno}: {cut.text}" if cut is not None else
                        f"{links.startup_waits} at start-up, before the first heartbeat"))
    for name, kind in (("journal.token_lost", "processor_failed"),
                       ("journal.retransmits", "retransmit"),
                       ("journal.quorum_lost", "quorum_lost"),
                       ("journal.memberships", "members")):
        out.append(Fact(name, counts[kind], obs.node, evidence=first(kind)))
    # a token warning while the first membership formed after start-up is not the network's
    early = outputs.startup_token_warnings(s)
    late = [e for e in s.events if e.kind == "token_not_received" and e not in early]
    out.append(Fact("journal.token_late", sum(e.repeats for e in late), obs.node,
                    evidence=f"line {late[0].lineno}: {late[0].text}" if late else ""))
    if s.span_s is not None:
        out.append(Fact("journal.span_s", round(s.span_s), obs.node))
    return out + _pmxcfs_log_facts(s, obs, first)


def _pmxcfs_log_facts(s: outputs.JournalSummary, obs: Observation,
                      first: Callable[..., str]) -> list[Fact]:
    """pmxcfs's own lines (``journalctl -u pve-cluster``), when the log has any.

    Message texts and their meaning: :mod:`pverunbook.pve.verdicts.pmxcfs_log`.
    ``pmxcfs_log.recovered`` says the last resync finished after the last trouble;
    ``pmxcfs_log.db_load_failed`` counts only the pmxcfs running now (``outputs.pmxcfs``).
    """
    c = s.counts
    if not any(c[k] for k in outputs.PMXCFS_KINDS):
        return []
    out = [Fact(name, c[kind], obs.node, evidence=first(kind)) for name, kind in (
        ("pmxcfs_log.quorum_lost", "pmxcfs_quorum_lost"),
        ("pmxcfs_log.send_failed", "pmxcfs_send_failed"),
        ("pmxcfs_log.wrong_member", "pmxcfs_wrong_member"),
        ("pmxcfs_log.resyncs", "pmxcfs_sync"),
        ("pmxcfs_log.wrong_checksum", "pmxcfs_wrong_checksum"),
        ("pmxcfs_log.verified", "pmxcfs_verified"),
        ("pmxcfs_log.writes_refused", "pve_write_denied"),
        ("pmxcfs_log.writes_busy", "pve_write_busy"))]
    # failures to reach corosync that no connection followed (a boot logs some: pmxcfs starts
    # first, outputs.pmxcfs_connected_at_end)
    out.append(Fact("pmxcfs_log.no_corosync",
                    0 if outputs.pmxcfs_connected_at_end(s) else c["pmxcfs_no_corosync"],
                    obs.node, evidence=first("pmxcfs_no_corosync")))
    load = db_load(obs.text)  # the current pmxcfs run only, as the health check reads it
    out.append(Fact("pmxcfs_log.db_load_failed", load.failed, obs.node,
                    evidence=f"line {load.bad[-1][0]}: {load.bad[-1][1]}" if load.bad else ""))
    out.append(Fact("pmxcfs_log.conf_newer", c["pmxcfs_conf_newer"] > 0, obs.node,
                    evidence=first("pmxcfs_conf_newer")))
    out.append(Fact("pmxcfs_log.recovered", outputs.pmxcfs_synced_at_end(s), obs.node,
                    evidence=first("pmxcfs_synced")))
    return out


def facts_config_versions(obs: Observation) -> list[Fact]:
    r"""``cat corosync.conf``: the file's ``config_version`` the way pmxcfs reads it.

    Named ``corosync_conf.config_version`` (the file) apart from ``corosync.config_version``
    (what the running corosync reports in ``pvecm status``).

    pmxcfs's regex ``config_version\s*:\s*(\d+)``; 0 counts as unparsable (dcdb.c).
    """
    m = re.search(r"config_version\s*:\s*(\d+)", obs.text)
    if not m:
        return []
    return [Fact("corosync_conf.config_version", int(m.group(1)), obs.node,
                 evidence=m.group(0).strip())]


_SAMPLE = re.compile(r"^sample \d+:\s*Quorate:\s*(\S+)", re.M)


def facts_quorum_samples(obs: Observation) -> list[Fact]:
    """Quorum sampled several times (``sample N: Quorate: Yes`` lines): is it *steady*?

    One ``pvecm status`` can catch a brief quorate moment on a flapping link, so runbooks that
    act on "not quorate" sample it (corosync-tuning: 6 samples over 18 s). ``quorum.steady`` is
    true when every sample said ``Yes``; a sample that timed out or failed counts as not
    quorate (``Quorate: unknown``). No samples: no facts (the condition stays undecided).
    """
    answers = _SAMPLE.findall(obs.text)
    if not answers:
        return []
    yes = sum(1 for a in answers if a == "Yes")
    evidence = f"quorate in {yes} of {len(answers)} samples"
    return [Fact("quorum.samples", len(answers), obs.node, evidence=evidence),
            Fact("quorum.quorate_samples", yes, obs.node, evidence=evidence),
            Fact("quorum.steady", yes == len(answers), obs.node, evidence=evidence)]


#: Fact rules by verdict name: a step with ``verdict = "quorum"`` yields findings *and* facts.
