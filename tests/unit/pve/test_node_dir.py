"""A node's own /etc/pve/nodes/<node> missing: named once per check.

Outputs are the check's steps as a node prints them: ``pve-mount`` (``ls /etc/pve/nodes``,
``test -d``), ``pve-write`` (coreutils stat/truncate messages for pmxcfs's ENOENT),
``cluster-conf`` (corosync.conf's nodelist) and ``vms`` (``pgrep -a kvm``, ``ls -1
/etc/pve/nodes/*/qemu-server/``). Sources: pve-cluster pmxcfs.c (the node is its host name),
memdb.c ``memdb_rename`` (no non-empty directory renamed), pmxcfs.adoc "POSIX Compatibility"
and "Recovering/Moving Guests from Failed Nodes", pvecm.adoc "Preparing Nodes".
"""

from __future__ import annotations

from pverunbook.pve.diagnosis.check import check_diagnose, phase_of
from pverunbook.pve.facts import Fact, Observation, extract

NODES = ["pve-new", "pve2"]


def facts(verdict: str, node: str, text: str, status: int = 0, stderr: str = "") -> list[Fact]:
    return [Fact(f.name, f.value, f.node, f.peer, f.evidence, verdict)
            for f in extract(verdict, Observation(node, text, status, stderr=stderr))]


def mount(node: str, listed: list[str], own: bool) -> list[Fact]:
    text = ("### mount\n/dev/fuse on /etc/pve type fuse (rw,nosuid,nodev,relatime,user_id=0,"
            "group_id=0,default_permissions,allow_other)\n### ls\n"
            + "".join(f"{d}\n" for d in listed) + "exit 0\n### own-dir\n"
            + ("yes" if own else "no") + "\n")
    return facts("pve-mount", node, text)


def write_enoent(node: str) -> list[Fact]:
    return facts("pve-write", node, "### probe\n", 1,
                 f"stat: cannot statx '/etc/pve/nodes/{node}': No such file or directory\n"
                 f"stat: cannot statx '/etc/pve/nodes/{node}/pve-ssl.pem': No such file or "
                 "directory\n"
                 f"truncate: cannot open '/etc/pve/nodes/{node}/pve-ssl.pem' for writing: "
                 "No such file or directory\n")


def write_ok(node: str) -> list[Fact]:
    return facts("pve-write", node, f"drwxr-xr-x /etc/pve/nodes/{node}\n### probe\n"
                 f"/etc/pve/nodes/{node}/pve-ssl.pem\n", 1,
                 f"truncate: failed to truncate '/etc/pve/nodes/{node}/pve-ssl.pem' at "
                 "1048577 bytes: File too large\n")


def conf(node: str, names: list[str]) -> list[Fact]:
    body = "".join(f"  node {{\n    name: {n}\n    nodeid: {i}\n    quorum_votes: 1\n"
                   f"    ring0_addr: 10.0.0.{i}\n  }}\n" for i, n in enumerate(names, 1))
    return facts("cluster-conf", node, f"nodelist {{\n{body}}}\n")


def vms(node: str, running: list[int], dirs: dict[str, list[int]]) -> list[Fact]:
    kvm = "".join(f"{2700 + i} /usr/bin/kvm -id {i} -name vm{i} -m 1024\n" for i in running)
    listing = "\n".join(f"/etc/pve/nodes/{d}/qemu-server/:\n"
                        + "".join(f"{i}.conf\n" for i in ids) for d, ids in dirs.items())
    return facts("vms", node, f"### kvm\n{kvm}### configs\n{listing}")


def renamed_cluster(nodelist: list[str]) -> list[Fact]:
    """pve-new was pve-old: its host name changed; pve2 is fine."""
    listed = ["pve-old", "pve2"]
    guests = {"pve-old": [100, 101], "pve2": [200]}
    return (mount("pve-new", listed, False) + mount("pve2", listed, True)
            + write_enoent("pve-new") + write_ok("pve2")
            + conf("pve-new", nodelist) + conf("pve2", nodelist)
            + vms("pve-new", [100, 101], guests) + vms("pve2", [200], guests)
            # its certificate is under the old name too: pve-ssl.pem is missing for pve-new
            + facts("cert-chain", "pve-new",
                    "### node-cert\nCould not open file or uri for loading certificate from "
                    "/etc/pve/nodes/pve-new/pve-ssl.pem\n### ca\nsubject=CN = Proxmox "
                    "Virtual Environment, OU = 1a2b, O = PVE Cluster Manager CA\n"
                    "### pveproxy\nactive\n"))


def test_a_missing_own_directory_is_named_once_per_check() -> None:
    # both probes see it: the pve-mount step's test -d and the write probe's ENOENT
    store = (mount("pve-new", ["pve-new", "pve2"], True) + mount("pve2", ["pve-new"], False)
             + write_ok("pve-new") + write_enoent("pve2"))
    diag = check_diagnose(store, nodes=NODES)
    dirs = [f for f in diag.faults
            if f.rule in ("pmxcfs-node-dir-missing", "pve-own-dir-missing")]
    assert [(f.rule, f.nodes) for f in dirs] == [("pmxcfs-node-dir-missing", ("pve2",))]
    (fault,) = dirs
    assert fault.statement.startswith("/etc/pve/nodes/pve2 is missing: ")
    assert "not a quorum problem" in fault.statement
    # the evidence of both probes, the proposal both made
    assert {e.step_id for e in fault.evidence} == {"pve-mount", "pve-write"}
    assert fault.next_runbook is not None and fault.next_runbook.label() == \
        "certificate-regeneration (force = false)"
    assert phase_of("pve-own-dir-missing") == phase_of("pmxcfs-node-dir-missing") == "database"


def test_the_pve_mount_step_alone_names_it_with_the_same_words() -> None:
    store = mount("pve2", ["pve-new"], False)
    (fault,) = check_diagnose(store, nodes=NODES).faults
    assert fault.rule == "pve-own-dir-missing" and fault.nodes == ("pve2",)
    both = check_diagnose(store + write_enoent("pve2"), nodes=NODES).faults
    assert [f.rule for f in both] == ["pmxcfs-node-dir-missing"]
    assert both[0].statement == fault.statement and both[0].action == fault.action
    assert both[0].next_runbook == fault.next_runbook
