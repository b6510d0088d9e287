"""Issue 13 kinds 2-4 on inputs found in public material (files in tests/data/outputs/realworld).

Each file is a few lines copied from the public page named in ``SOURCES.toml`` next to it (the
audit in test_output_sources_audit.py checks every file there is named, with its source, and
that each sub-kind has at least two found inputs). The right answer asserted here is the one an
operator reading the original thread would want.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from pathlib import Path

import pytest

from pverunbook.pve import outputs
from pverunbook.pve.qemu import split_cmdline
from pverunbook.pve.qemu.argv import opt_value
from pverunbook.pve.verdicts import PeerNames, verdict_journal, verdict_mtr, verdict_quorum, worst

FOUND = Path(__file__).resolve().parents[2] / "data" / "outputs" / "realworld"


def found(name: str) -> str:
    return (FOUND / name).read_text(encoding="utf-8")


def titles(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.title for f in findings]


# --- kind 3: a QDevice that is registered but gives no vote -----------------------------------


def test_qdevice_not_voting_in_a_pasted_membership_list() -> None:
    """Only the membership block was pasted: say the quorate line is missing, still name the NV."""
    text = found("qdevice-nv_larshlunde-proxmoxqdevice.txt")
    names = PeerNames(by_addr={"192.168.111.110": "pve1", "192.168.111.111": "pve2"})
    got = verdict_quorum(text, names=names)
    assert titles(got) == [
        "could not read the quorum status: a 'Quorate:' or 'Flags:' line not found",
        "QDevice is registered but NOT voting",
    ]
    qd = got[1]
    assert qd.severity == "warning" and "qnetd" in qd.detail
    assert qd.evidence == ("pve1 (192.168.111.110): A,NV,NMW, pve2 (192.168.111.111): A,NV,NMW; "
                           "Qdevice row votes 0 of 1 configured")
    assert not any(f.severity == "ok" for f in got)


def test_qdevice_lost_on_a_quorate_cluster_pcs_fixture() -> None:
    """NA on every node and the Qdevice row at 0 of 4 votes; 6 of 6 needed votes are left."""
    got = verdict_quorum(found("qdevice-lost_pcs-test-live-quorate.txt"))
    assert titles(got) == [
        "quorate: 6 of 10 expected votes, 6 needed",
        "QDevice daemon not running or not registered on rh70-node1, rh70-node2, rh70-node3",
    ]
    qd = got[1]
    assert qd.severity == "warning" and "losing any one node now loses quorum" in qd.detail
    assert qd.evidence is not None and qd.evidence.endswith("Qdevice row votes 0 of 4 configured")
    # the flags column is read as flags (pcs spells NMW "MNW"), never as part of a node name
    assert "Members: rh70-node1 (id 1), rh70-node2 (id 2), rh70-node3 (id 3)." in got[0].detail


def test_qdevice_unregistered_on_a_node_that_lost_quorum_pcs_fixture() -> None:
    got = verdict_quorum(found("qdevice-lost_pcs-test-live-not-quorate.txt"))
    assert [(f.severity, f.title) for f in got] == [
        ("critical", "NOT quorate: 1 of 3 expected votes, 2 needed"),
        ("critical", "QDevice daemon not running or not registered on rh70-node1"),
    ]
    # quorum is already lost: no advice about what losing one more node would do
    assert "losing any one node" not in got[1].detail


def test_a_voting_qdevice_in_a_quoted_paste_is_not_flagged() -> None:
    """Pasted as a '> ' quote in an issue; the QDevice votes, but two votes are missing."""
    got = verdict_quorum(found("pvecm-qdevice-voting-quoted_pegaprox-252.txt"))
    assert [(f.severity, f.title) for f in got] == [
        ("ok", "quorate: 3 of 4 expected votes, 3 needed"),
        ("warning", "1 expected vote(s) missing"),
    ]
    assert "no vote to spare" in got[1].detail
    assert not any("QDevice" in t for t in titles(got))


# --- kind 2: rsyslog's "message repeated N times", as a support article prints it -------------


def test_rsyslog_repeated_retransmits_with_a_placeholder_host() -> None:
    """No pid after 'corosync', a host written as '[node name]': every copy still counts."""
    text = found("rsyslog-repeated_azure-suse-node-reboots.log")
    s = outputs.parse_corosync_log(text)
    assert s.counts["retransmit"] == 156 + 3
    (f,) = verdict_journal(text)
    assert (f.severity, f.title) == ("warning", "159 'Retransmit List' line(s) in 4 min")


# --- kind 2: the interactive mtr screen of older releases -------------------------------------


def test_mtr_085_screen_with_multipath_lines() -> None:
    """mtr 0.85: ctime date, no '-> target', a second address under a hop; indented by Markdown."""
    text = found("mtr-screen-0.85_knorrie-bgp-contd.txt")
    rep = outputs.parse_mtr(text)
    assert (rep.layout, rep.src, rep.dst) == ("screen", "R2", "2001:db8:10::12")
    assert [(h.hop, h.host, h.sent) for h in rep.hops] == [
        (1, "2001:db8:0:1::ff", 36), (2, "2001:db8:0:3::11", 36), (3, "2001:db8:10::12", 35)]
    got = verdict_mtr(text)
    assert "2001:db8:10::12 is 3 hops away" in titles(got)
    assert worst(got) == "warning"


# --- kind 2: kvm command lines wrapped by a mail client ----------------------------------------

# Bugzilla mails wrap at spaces only, so joining the lines again gives back the one-line ps output.
MAILED = ["cmdline-mail_kernel-bugzilla-205801-c1.txt",
          "cmdline-mail_kernel-bugzilla-203477-c6.txt"]


@pytest.mark.parametrize("name", MAILED)
def test_kvm_line_wrapped_by_bugzilla_mail(name: str) -> None:
    text = found(name)
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("/usr/bin/kvm "))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip() or "```" in lines[i])
    one_line = " ".join(lines[start:end])
    argv = split_cmdline(text)
    assert argv == one_line.split() == split_cmdline(one_line)
    assert not any("\n" in a for a in argv)
    assert (opt_value(argv, "-netdev") or "").startswith("type=tap,id=net0,ifname=tap")


def test_kvm_line_wrapped_by_bugzilla_mail_values() -> None:
    a = split_cmdline(found("cmdline-mail_kernel-bugzilla-205801-c1.txt"))
    assert a[:4] == ["/usr/bin/kvm", "-id", "302", "-name"]
    assert opt_value(a, "-smp") == "1,sockets=1,cores=4,maxcpus=4"
    assert opt_value(a, "-m") == "size=1024,slots=255,maxmem=4194304M"
    assert a.count("-device") == 27 and a.count("-object") == 16
    b = split_cmdline(found("cmdline-mail_kernel-bugzilla-203477-c6.txt"))
    assert [b[i + 1] for i, x in enumerate(b) if x == "-cpu"] == [
        "kvm64,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,"
        "hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep",
        "host,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,"
        "hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep,+svm,"
        "-hypervisor",
    ]


def test_pretty_command_line_quoted_three_levels_deep_in_a_reply() -> None:
    """qemu-devel reply: `qm showcmd --pretty`-style lines behind '> >>>' quote marks."""
    text = found("cmdline-mail-quoted_qemu-devel-20230412.txt")
    body = [re.sub(r"^> >>>\s?", "", ln).rstrip().removesuffix("\\")
            for ln in text.splitlines() if ln.startswith("> >>>")]
    argv = split_cmdline(text)
    assert argv == shlex.split(" ".join(body))
    assert argv[0] == "./qemu-system-x86_64" and opt_value(argv, "-accel") == "kvm"
    assert opt_value(argv, "-machine") == "type=pc-i440fx-6.2"
    assert opt_value(argv, "-smp") == "4,sockets=1,cores=4,maxcpus=4"


# --- kind 2: a log pasted with its line numbers; kind 4: a status trimmed to a few lines --------


def test_log_pasted_with_line_numbers() -> None:
    """corosync 2 log lines numbered 253-256 in an issue: times are read, nobody 'only joined'."""
    text = found("journal-numbered_corosync-issue-6.log")
    s = outputs.parse_corosync_log(text)
    assert [e.kind for e in s.events] == ["failed_to_receive", "quorum_lost", "members"]
    assert all(e.time is not None for e in s.events)
    got = verdict_journal(text)
    assert [(f.severity, f.title) for f in got] == [
        ("warning", "membership changed 1 time(s) in 2 s; which members left is not in these "
                    "lines"),
        ("critical", "quorum lost 1 time(s) in 2 s"),
        ("critical", "FAILED TO RECEIVE"),
    ]
    # rows that start with a number but are not numbered lines stay as they are
    rows = "1          1    A,V,NMW vm1 (local)\n2          1    A,V,NMW vm2\n"
    assert outputs.clean(rows) == rows


def test_quorumtool_output_trimmed_to_the_votequorum_lines() -> None:
    """No 'Quorate:' line, but 'Activity blocked' is printed only when the node is not quorate."""
    got = verdict_quorum(found("quorumtool-trimmed_hotsos-511.txt"))
    assert [(f.severity, f.title) for f in got] == [
        ("critical", "NOT quorate: 2 of 4 expected votes, 3 needed")]


def test_pvecm_status_without_its_votequorum_block_says_the_votes_are_missing() -> None:
    """A saved `pvecm status` whose 'Votequorum information' block was left out: 'Quorate: Yes'
    still says quorate (corosync-quorumtool prints it from quorum_getquorate, before the
    block), but the vote counts are unknown - said, never printed as 'None of None'."""
    got = verdict_quorum(found("pvecm-no-votequorum-block_sre-ai-team-verify.txt"))
    assert [(f.severity, f.title) for f in got] == [
        ("ok", "quorate: vote counts not in this output (no 'Votequorum information' block)")]
    assert "None" not in got[0].detail and got[0].evidence == "Quorate: Yes"
    assert "192.168.10.202 (id 2)" in got[0].detail


def test_start_up_with_brackets_lost_in_the_paste_is_not_a_cut_off() -> None:
    """corosync's start-up ('Service engine loaded') then knet waiting for the first heartbeat of
    host 31065, pasted with the tags' ']' lost and the program name before the time."""
    text = found("journal-startup-brackets-lost_edgefs-386.log")
    s = outputs.parse_corosync_log(text)
    assert s.counts["startup"] == 5 and s.counts["no_active_links"] == 2
    assert s.events[0].time is not None
    waits = outputs.peer_links(s)[31065]
    assert (waits.cut_offs, waits.startup_waits) == (0, 2)
    got = verdict_journal(text)
    # the paste ends before the peer's first heartbeat: a start-up, named as one
    assert [(f.severity, f.title) for f in got] == [
        ("info", "corosync started here; knet waited for the first heartbeat of nodeid 31065"),
        ("ok", "no corosync instability in the log")]
    assert "journalctl -p warning" not in got[0].detail


def test_start_up_paged_at_the_terminal_width_in_a_dutch_locale() -> None:
    """crmsh issue 616: the head of `journalctl` (its pager, `less -S`) on a corosync 3.0.3 node
    whose LC_TIME writes "aug": the built-in features line is cut at the width ('noz>')."""
    text = found("cut-at-width_crmsh-616-corosync-3.0.3-start.log")
    s = outputs.parse_corosync_log(text)
    assert s.cut_lines == 1 and s.unreadable_cut == []  # cut, but no event could hide in it
    assert s.counts["startup"] == 2 and len(s.events) == 2
    # journalctl's %b follows the locale: "aug 03 18:36:51" is a timestamp all the same
    assert [e.time for e in s.events] == [datetime(2000, 8, 3, 18, 36, 51)] * 2
    assert [(f.severity, f.title) for f in verdict_journal(text)] == [
        ("ok", "no corosync instability in the log")]
    # corosync issue 162 (a French LC_TIME, `systemctl status corosync.service` on CentOS 7)
    assert outputs.parse_timestamp("oct. 26 10:47:56 archie corosync[6373]:  [MAIN  ] x") == \
        datetime(2000, 10, 26, 10, 47, 56)



def test_quorum_loss_read_from_systemctl_status_lines_cut_at_the_width() -> None:
    """A PVE 9 homelab blog post: `systemctl status corosync | tail -10` on the second node of a
    two-node cluster whose knet traffic Tailscale had rerouted; three lines are cut ('tok>',
    'non-primary component and >', 'ready to provid>').  The same post then shows the same ten
    lines uncut: the cut lines must read as those do (token lost, node 1 left, quorum lost)."""
    text = found("cut-at-width_tammynpm-pve-tailscale-systemctl-status-tail.log")
    s = outputs.parse_corosync_log(text)
    assert s.cut_lines == 3 and s.unreadable_cut == []  # each cut line still says what it is
    # the uncut ends, as the post shows them right below the cut block
    full = (text.replace("configuration: tok>", "configuration: token timed out (3000ms), "
                         "waiting 3600ms for consensus.")
                .replace("component and >", "component and will NOT provide any services.")
                .replace("ready to provid>", "ready to provide service."))
    assert outputs.parse_corosync_log(full).cut_lines == 0
    got = [(f.severity, f.title) for f in verdict_journal(text)]
    assert got == [(f.severity, f.title) for f in verdict_journal(full)]
    assert got == [
        ("critical", "no active link to nodeid 1: this node was cut off from it 1 time in 5 s"),
        ("critical", "token lost 1 time(s), token late 1 time(s) in 5 s"),
        ("warning", "members left the membership 1 time(s) in 5 s: nodeid 1 1x"),
        ("critical", "quorum lost 1 time(s) in 5 s"),
    ]


# --- kind 3: a peer its admin shut down leaves and loses its links: expected, not a fault -------


def test_a_node_shut_down_by_its_admin_is_not_a_network_fault() -> None:
    """A Proxmox VE cluster log: node 24 shut down for maintenance, then its links go down."""
    text = found("journal-admin-shutdown_corosync-issue-701.log")
    got = verdict_journal(text, names=PeerNames({24: "virt24"}))
    assert [(f.severity, f.title) for f in got] == [
        ("info", "virt24 (nodeid 24) shut corosync down cleanly ('was shut down by sysadmin')"),
        ("info", "membership formed 1 time(s) in 3.5 h; only nodes that shut corosync down "
                 "left (virt24 (nodeid 24))"),
        ("warning", "2 'Retransmit List' line(s) in 3.5 h"),
    ]
    # without the shutdown notice the leave is still clean: the membership formed at once, no
    # token was lost (a SIGTERM'd corosync sends its leave message too)
    bare = "".join(ln for ln in text.splitlines(True) if "sysadmin" not in ln)
    assert "nodeid 24 left the membership cleanly (its corosync stopped)" in titles(
        verdict_journal(bare))
    assert outputs.parse_corosync_log(bare).link_downs() == {}
    # and with corosync's "Failed to receive the leave message" for it (logged right after
    # the membership for a member whose leave never came), the same leave and link downs are
    # instability again
    lost = bare.replace("Members left: 24\n", "Members left: 24\nJul 07 10:01:19 virt2 "
                        "corosync[48695]:   [TOTEM ] Failed to receive the leave message. "
                        "failed: 24\n", 1)
    assert lost != bare
    assert "members left the membership 1 time(s) in 3.5 h: nodeid 24 1x" in titles(
        verdict_journal(lost))
    s = outputs.parse_corosync_log(text)
    assert s.link_downs() == {} and outputs.parse_corosync_log(lost).link_downs() == {
        (24, 0): 1, (24, 1): 1}


def test_a_fenced_node_that_stops_its_stack_is_told_from_the_leave_before() -> None:
    """node2 left (token lost), was fenced, came back and shut its corosync down: only the first
    leave is instability; the second follows the clean shutdown."""
    got = verdict_journal(found("journal-fenced-node-shutdown_azure-rhel-startup-issues.log"))
    assert [(f.severity, f.title) for f in got] == [
        ("critical", "token lost 1 time(s), token late 0 time(s) in 9 s"),
        ("info", "nodeid 2 shut corosync down cleanly ('was shut down by sysadmin')"),
        ("warning", "members left the membership 1 time(s) in 9 s: nodeid 2 1x"),
    ]
