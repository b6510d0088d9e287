"""The start screen's "Still wrong" line says the last check's faults in words: it listed rule
ids ("network: udp-lost-icmp-ok; configs: vm-without-config"), which an operator at the console
cannot read."""

from __future__ import annotations

from types import SimpleNamespace

from pverunbook.ui.still_wrong import health_lines


def test_still_wrong_says_each_phase_in_words_with_a_count() -> None:
    faults = (
        SimpleNamespace(rule="udp-lost-icmp-ok", statement=(
            "corosync's UDP between pve001 and pve002 is lost while ICMP gets through (ping "
            "0% pve001→pve002, 0% back); the knet link went down 85 times")),
        SimpleNamespace(rule="partition", statement=(
            "the cluster is partitioned (ryanrishi, pve002 | pve001): ryanrishi, pve002 have "
            "quorum")),
        SimpleNamespace(rule="vm-without-config",
                        statement="1 VM(s) run without a config in /etc/pve (pve001: 104)"),
    )
    line = health_lines(SimpleNamespace(faults=faults))
    assert "udp-lost-icmp-ok" not in line and "vm-without-config" not in line, line
    assert ("network: corosync's UDP between pve001 and pve002 is lost while ICMP gets "
            "through (+1 more)") in line, line
    assert "configs: 1 VM(s) run without a config in /etc/pve" in line, line
    assert line.startswith("\n[b]Still wrong[/] (3 faults, last check): ")
