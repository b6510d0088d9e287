"""``pvecm qdevice setup ADDRESS [--force]`` for the lab's pvecm shim, step by step as
pve-cluster src/PVE/CLI/pvecm.pm ``setup_qdevice`` does it: the same checks and messages, the
same corosync-qnetd-certutil / corosync-qdevice-net-certutil calls over ssh/scp as root, the
``quorum.device`` section written with the version bump of PVE::Corosync::atomic_write_conf
(``.new``, then rename), corosync-qdevice started on every node, ``corosync-cfgtool -R``.
Only ``ssh-copy-id`` is left out: the lab's root keys are accepted everywhere already.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

SSH = ["ssh", "-o", "BatchMode=yes", "-lroot"]
SCP = ["scp", "-o", "BatchMode=yes"]
BASE = "/etc/corosync/qdevice/net"
DB_QNETD = "/etc/corosync/qnetd/nssdb"
DB_NODE = f"{BASE}/nssdb"
CA = "qnetd-cacert.crt"
CRQ = "qdevice-net-node.crq"
P12 = "qdevice-net-node.p12"


class Died(Exception):
    """A Perl ``die``: the message, exit 255."""


def run(argv: list[str], noerr: bool = False, prefix: str = "") -> None:
    """PVE::Tools::run_command: output passed through; a failure dies unless ``noerr``."""
    res = subprocess.run(argv, capture_output=True, text=True)
    for line in (res.stdout + res.stderr).splitlines():
        print(f"{prefix}{line}" if prefix else line)
    if res.returncode != 0 and not noerr:
        raise Died(f"command '{' '.join(argv)}' failed: exit code {res.returncode}")


def members() -> dict[str, dict[str, object]]:
    data = json.loads(Path("/etc/pve/.members").read_text())
    return dict(data.get("nodelist", {}))


def foreach_member(fn: object) -> None:
    for name, info in sorted(members().items()):
        fn(name, str(info.get("ip")))  # type: ignore[operator]


def ssh_node(name: str, ip: str) -> list[str]:
    """PVE::SSHInfo::ssh_info_to_command."""
    return ["ssh", "-e", "none", "-o", "BatchMode=yes", "-o", f"HostKeyAlias={name}",
            f"root@{ip}"]


def write_device(addr: str, algorithm: str) -> None:
    conf = Path("/etc/pve/corosync.conf").read_text()
    if re.search(r"^\s*device\s*\{", conf, re.M):
        raise Died("Qdevice already configured, must be removed before setting up new one!")
    m = re.search(r"config_version:\s*(\d+)", conf)
    if not m:
        raise Died("invalid corosync config - no config_version")
    conf = conf.replace(m.group(0), f"config_version: {int(m.group(1)) + 1}", 1)
    votes = "    votes: 1\n" if algorithm == "ffsplit" else ""
    device = (f"  device {{\n    model: net\n    net {{\n      algorithm: {algorithm}\n"
              f"      host: {addr}\n      tls: on\n    }}\n{votes}  }}\n")
    conf, n = re.subn(r"^quorum\s*\{\n", lambda q: q.group(0) + device, conf, count=1,
                      flags=re.M)
    if not n:
        raise Died("no quorum section in /etc/pve/corosync.conf")
    Path("/etc/pve/corosync.conf.new").write_text(conf)
    Path("/etc/pve/corosync.conf.new").rename("/etc/pve/corosync.conf")


def setup(addr: str, force: bool) -> None:
    if not Path("/etc/pve/corosync.conf").is_file():
        raise Died("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this "
                   "node part of a cluster?")
    nodes = members()
    for name in sorted(nodes):
        if not nodes[name].get("online"):
            raise Died(f"All nodes must be online! Node {name} is offline, aborting.")
    conf = Path("/etc/pve/corosync.conf").read_text()
    if re.search(r"^\s*device\s*\{", conf, re.M) and not force:
        raise Died("QDevice already configured!")
    algorithm = "ffsplit"
    if len(nodes) & 1:
        if not force:
            raise Died("Clusters with an odd node count are not officially supported!")
        algorithm = "lms"
    cluster = re.search(r"cluster_name:\s*(\S+)", conf)
    clustername = cluster.group(1) if cluster else ""
    if Path(DB_NODE).is_dir():
        if force:
            shutil.rmtree(DB_NODE)
        else:
            raise Died("QDevice certificate store already initialised, set force to delete!")
    print("\nINFO: initializing qnetd server")
    run([*SSH, addr, "corosync-qnetd-certutil", "-i"], noerr=True)
    print("\nINFO: copying CA cert and initializing on all nodes")
    run([*SCP, f"root@[{addr}]:{DB_QNETD}/{CA}", f"/etc/pve/{CA}"])
    foreach_member(lambda node, ip: run(
        [*ssh_node(node, ip), "--", "corosync-qdevice-net-certutil", "-i", "-c",
         f"/etc/pve/{CA}"], noerr=True, prefix=f"\nnode '{node}': "))
    Path(f"/etc/pve/{CA}").unlink(missing_ok=True)
    print("\nINFO: generating cert request")
    run(["corosync-qdevice-net-certutil", "-r", "-n", clustername])
    print("\nINFO: copying exported cert request to qnetd server")
    run([*SCP, f"{DB_NODE}/{CRQ}", f"root@[{addr}]:/tmp"])
    print("\nINFO: sign and export cluster cert")
    run([*SSH, addr, "corosync-qnetd-certutil", "-s", "-c", f"/tmp/{CRQ}", "-n", clustername])
    print("\nINFO: copy exported CRT")
    run([*SCP, f"root@[{addr}]:{DB_QNETD}/cluster-{clustername}.crt", DB_NODE])
    print("\nINFO: import certificate")
    run(["corosync-qdevice-net-certutil", "-M", "-c", f"{DB_NODE}/cluster-{clustername}.crt"])
    print("\nINFO: copy and import pk12 cert to all nodes")
    run([*SCP, f"{DB_NODE}/{P12}", "/etc/pve/"])
    foreach_member(lambda node, ip: run(
        [*ssh_node(node, ip), "--", "corosync-qdevice-net-certutil", "-m", "-c",
         f"/etc/pve/{P12}"], prefix=f"\nnode '{node}': "))
    Path(f"/etc/pve/{P12}").unlink(missing_ok=True)
    print("\nINFO: add QDevice to cluster configuration")
    write_device(addr, algorithm)

    def start(node: str, ip: str) -> None:
        print(f"\nINFO: start and enable corosync qdevice daemon on node '{node}'...")
        run([*ssh_node(node, ip), "--", "systemctl", "start", "corosync-qdevice"],
            prefix=f"\nnode '{node}': ")
        run([*ssh_node(node, ip), "--", "systemctl", "enable", "corosync-qdevice"],
            prefix=f"\nnode '{node}': ")

    foreach_member(start)
    run(["corosync-cfgtool", "-R"])


def qdevice_setup(args: list[str]) -> int:
    force = "--force" in args or "-force" in args
    rest = [a for a in args if not a.startswith("-")]
    if len(rest) != 1:
        print("400 not enough arguments\npvecm qdevice setup <address> [OPTIONS]",
              file=sys.stderr)
        return 255
    try:
        setup(rest[0], force)
    except (Died, OSError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 255
    return 0
