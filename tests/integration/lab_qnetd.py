"""The lab's QNetd host: one more namespace on the lab's bridge, running Debian's real
corosync-qnetd (and an sshd, because ``pvecm qdevice setup`` works over SSH as root).

It is laid out like a node (own network, mount, UTS and PID namespaces, own /etc/corosync,
/run, /root) but runs no corosync or pmxcfs. Start and stop QNetd with its systemctl shim:
``lab.on_qnetd("systemctl stop corosync-qnetd")``.
"""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING

from tests.integration.bed import IP, SSHD, BedError, BedNode, _run

if TYPE_CHECKING:
    from tests.integration.lab import Lab

NAME = "qnetd"


def start_qnetd(lab: Lab, addr: str) -> BedNode:
    n = BedNode(name=NAME, nodeid=0, addr=addr, ns=f"pvrb-{lab.tag}-qn",
                dir=str(lab.dir / NAME))
    lab.qnetd_ns = n.ns
    lab.save()
    _run([IP, "netns", "add", n.ns])
    _run([IP, "-n", n.ns, "link", "add", "eth0", "type", "veth", "peer", "name", "pq",
          "netns", lab.switch_ns])
    _run([IP, "-n", lab.switch_ns, "link", "set", "pq", "master", "br0", "up"])
    for cmd in ("link set lo up", f"addr add {addr}/24 dev eth0", "link set eth0 up"):
        _run([IP, "-n", n.ns, *cmd.split()])
    lab._node_files(n, "")
    (n.path / "etc-corosync" / "corosync.conf").unlink()
    (n.path / "etc-corosync" / "authkey").unlink()
    (n.path / "hosts").write_text(f"127.0.0.1 localhost\n{addr} {NAME}\n")
    lab._start_node(n)
    proc = subprocess.Popen(
        [*lab._enter(n), SSHD, "-D", "-f", str(n.path / "sshd_config"), "-E",
         str(n.path / "sshd.log")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    n.sshd_pid = proc.pid
    deadline = time.monotonic() + 15
    log = n.path / "sshd.log"
    while "Server listening on" not in (log.read_text() if log.exists() else ""):
        if time.monotonic() > deadline:
            raise BedError(f"sshd on the QNetd host did not start: {log}")
        time.sleep(0.05)
    # Debian's corosync-qnetd postinst creates the NSS database the same way
    on = [*lab._enter(n), "env", "PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"]
    _run([*on, "corosync-qnetd-certutil", "-i"], timeout=60)
    _run([*on, "mkdir", "-p", "/run/corosync-qnetd"])
    _run([*on, "systemctl", "start", "corosync-qnetd"], timeout=60)
    return n
