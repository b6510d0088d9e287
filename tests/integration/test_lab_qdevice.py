"""qdevice-setup on the lab: 2 real corosync + pmxcfs nodes and a QNetd host running Debian's
real corosync-qnetd; ``pvecm qdevice setup`` is the lab's shim of pvecm.pm ``setup_qdevice``
(the real certutil calls over SSH). The cluster must end with the extra vote."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.lab import QNETD_ADDR, Lab
from tests.integration.lab_fixture import QUICK, LabFactory, run_json


def votes(lab: Lab, node: str) -> tuple[int, int]:
    out = lab.on(node, "corosync-quorumtool -s").stdout
    exp = re.search(r"^Expected votes:\s+(\d+)", out, re.M)
    tot = re.search(r"^Total votes:\s+(\d+)", out, re.M)
    return (int(exp.group(1)) if exp else 0, int(tot.group(1)) if tot else 0)


def test_lab_qdevice_setup_two_nodes_gets_the_extra_vote(lab_factory: LabFactory,
                                                          tmp_path: Path) -> None:
    lab = lab_factory(names=("alpha", "bravo"), cluster="qdev", qnetd=True)
    assert votes(lab, "alpha") == (2, 2)
    run = run_json(lab, "qdevice-setup", tmp_path, "--set", f"qnetd_host={QNETD_ADDR}")
    assert run.rc == 0, run.explain()
    for node in ("alpha", "bravo"):
        assert votes(lab, node) == (3, 3), lab.on(node, "corosync-quorumtool -s").stdout
        assert lab.running(node, "corosync-qdevice")
    conf = lab.read("bravo", "/etc/corosync/corosync.conf") or ""
    assert re.search(rf"host: {QNETD_ADDR}", conf) and "algorithm: ffsplit" in conf, conf
    # a stopped QNetd: the vote is gone, and triage names it
    lab.on_qnetd("systemctl stop corosync-qnetd", check=True)
    run2 = run_json(lab, "network-triage", tmp_path / "triage", *QUICK)
    said = " ".join(f["statement"] for f in run2.bad_faults())
    assert re.search(r"(?i)qnetd|qdevice", said), run2.explain()


def test_lab_qdevice_setup_four_nodes_expected_votes_nodes_plus_one(lab_factory: LabFactory,
                                                                    tmp_path: Path) -> None:
    """An even-sized cluster past two (the setup this is for: a 2:2 split keeps a side
    quorate): four nodes get the one QDevice vote, expected votes 4 -> 5 on every node."""
    names = ("alpha", "bravo", "charlie", "delta")
    lab = lab_factory(names=names, cluster="qdev4", qnetd=True)
    assert all(votes(lab, n) == (4, 4) for n in names)
    run = run_json(lab, "qdevice-setup", tmp_path, "--set", f"qnetd_host={QNETD_ADDR}")
    assert run.rc == 0, run.explain()
    for node in names:
        assert votes(lab, node) == (5, 5), lab.on(node, "corosync-quorumtool -s").stdout
        assert lab.running(node, "corosync-qdevice")
    # QNetd itself sees the four nodes of this cluster
    said = lab.on_qnetd("corosync-qnetd-tool -l").stdout
    assert len(re.findall(r"(?m)^\s+Node ID \d+", said)) == 4, said
