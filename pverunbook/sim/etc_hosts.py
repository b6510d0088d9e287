"""How a simulated node resolves a name from its ``/etc/hosts`` (glibc's files backend).

The simulator has no DNS: ``/etc/hosts`` is all there is, as on a Proxmox VE node whose
installer wrote the node's name and cluster address there. pmxcfs asks getaddrinfo for its
node name and takes the first address that is not ``127.*`` or ``::1`` (pve-cluster
``src/pmxcfs/pmxcfs.c`` ``lookup_node_ip``); ``getent ahosts`` prints what getaddrinfo returns.
"""

from __future__ import annotations


def addresses(hosts: str, name: str) -> list[str]:
    """Every address ``/etc/hosts`` gives ``name`` (as a canonical name or an alias), in file
    order, without repeats: what getaddrinfo(AF_UNSPEC) returns from the files backend."""
    found: list[str] = []
    for line in hosts.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name in fields[1:] and fields[0] not in found:
            found.append(fields[0])
    return found


def is_loopback(addr: str) -> bool:
    """pmxcfs's test: ``127.`` prefix for IPv4, exactly ``::1`` for IPv6 (lookup_node_ip)."""
    return addr.startswith("127.") or addr == "::1"


def node_ip(hosts: str, name: str) -> str | None:
    """The address pmxcfs would take for node ``name``, or None (pmxcfs refuses to start:
    "Unable to resolve node name ... to a non-loopback IP address")."""
    return next((a for a in addresses(hosts, name) if not is_loopback(a)), None)
