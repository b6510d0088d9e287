"""network-triage on the lab (real corosync + Proxmox's real pmxcfs): what it leaves behind and
which pair it names.

- The write probe changes nothing: pmxcfs refuses the size change with EFBIG before it raises
  the database version (memdb.c memdb_pwrite), on the quorate side; the cut-off node refuses it
  with EACCES (dcdb.c dcdb_send_fuse_message) at once.
- 30% of corosync's UDP lost between two of three nodes (ICMP untouched): the diagnosis names
  that pair, on knet's own counters sampled twice, and no pair with the third node.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.lab import Lab
from tests.integration.lab_fixture import QUICK, run_json

PROBE = ("timeout 5 truncate --no-create -s 1048577 /etc/pve/nodes/{n}/pve-ssl.pem "
         "/etc/pve/nodes/{n}/lrm_status /etc/pve/nodes/{n}/pve-ssl.key")


def db_version(lab: Lab, name: str) -> str:
    res = lab.on(name, "sqlite3 /var/lib/pve-cluster/config.db 'select max(version) from tree'")
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_lab_write_probe_leaves_nothing_behind(healthy_lab: Lab) -> None:
    lab = healthy_lab
    names = [n.name for n in lab.nodes]
    before = {n: db_version(lab, n) for n in names}
    cert = lab.read(names[0], f"/etc/pve/nodes/{names[0]}/pve-ssl.pem")
    listing = lab.on(names[0], f"ls -la /etc/pve/nodes/{names[0]}").stdout
    res = lab.on(names[0], PROBE.format(n=names[0]))
    assert res.returncode == 1 and "File too large" in res.stderr, res
    assert {n: db_version(lab, n) for n in names} == before
    assert lab.read(names[0], f"/etc/pve/nodes/{names[0]}/pve-ssl.pem") == cert
    assert lab.on(names[0], f"ls -la /etc/pve/nodes/{names[0]}").stdout == listing
    # without quorum pmxcfs refuses the same probe with EACCES, at once
    lab.cut_off(names[2])
    deadline = time.monotonic() + 90
    while lab.pve_quorate(names[2]):
        assert time.monotonic() < deadline, "the cut-off node never lost quorum"
        time.sleep(0.3)
    refused = lab.on(names[2], PROBE.format(n=names[2]))
    assert refused.returncode == 1 and "Permission denied" in refused.stderr, refused


def test_lab_triage_names_the_pair_that_loses_udp(healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    a, b, c = (n.name for n in lab.nodes)
    lab.drop(a, b, 30)
    run = run_json(lab, "network-triage", tmp_path, *QUICK, "--set", "sample_s=60")
    faults = run.diagnosis.get("faults", [])
    link = [f for f in faults if f["rule"] in ("lossy-link", "flapping-link", "udp-lost-icmp-ok")]
    assert link, run.explain()
    assert set(link[0]["nodes"]) == {a, b}, run.explain()
    assert link[0]["severity"] == "critical"
    assert not any(c in f["nodes"] and f["rule"] in ("lossy-link", "flapping-link",
                                                      "udp-lost-icmp-ok") for f in faults)
    # corosync's own evidence: knet's counters grew between the two samples on that pair
    ev = " ".join(e["what"] for e in link[0]["evidence"])
    assert "between two samples" in ev or "ping" in ev, ev
