"""Emulated programs of the rehearsal nodes; importing this package registers them all."""

from __future__ import annotations

from pverunbook.sim.commands import (  # noqa: F401 - registers commands
    core,
    corosync_tools,
    detach,
    files,
    listing,
    lvm,
    net,
    patterns,
    pve,
    sed,
    services,
    system,
    text,
    tls,
)

#: Where `which`/`command -v` say a program lives.
BIN_LOCATION: dict[str, str] = {
    **{n: "/usr/sbin" for n in (
        "pvecm", "qm", "pct", "corosync", "corosync-cfgtool", "corosync-quorumtool",
        "corosync-cmapctl", "ha-manager", "pveversion", "lvs", "vgs", "blockdev", "ip", "bridge",
        "ethtool", "nft", "ss", "iptables", "killall5", "mtr")},
    **{n: "/usr/bin" for n in ("pmxcfs", "systemctl", "journalctl", "sqlite3", "openssl", "curl",
                               "ping", "ps", "pgrep", "pkill", "killall", "umount", "mount")},
}

#: Programs only a Proxmox VE node has (the QNetd host answers ``not found``).
PVE_ONLY = frozenset({
    "pvecm", "qm", "pct", "pveversion", "ha-manager", "pmxcfs", "corosync", "corosync-cfgtool",
    "corosync-quorumtool", "corosync-cmapctl", "corosync-qdevice-tool", "lvs", "vgs"})
