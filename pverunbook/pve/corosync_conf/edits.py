"""Edits an operator reviews as a diff: set or unset keys, add a knet link, bump config_version.

Every edit returns a copy (the original stays for the diff) and bumps ``totem.config_version``,
because pmxcfs only propagates a higher version (pve-docs, "Edit corosync.conf").
"""

from __future__ import annotations

import difflib

from pverunbook.pve.corosync_conf.keys import check_settable
from pverunbook.pve.corosync_conf.tree import CorosyncConf, Item


def bump_version(conf: CorosyncConf) -> CorosyncConf:
    """Increment totem.config_version in place and return ``conf`` for chaining.

    pve-docs: "omitting this can lead to problems" - pmxcfs only propagates a higher version.
    For an untouched original use ``set_totem(conf, {})``, which bumps a copy.
    """
    current = conf.config_version
    conf.set("totem.config_version", str((current or 0) + 1))
    return conf


def set_totem(conf: CorosyncConf, changes: dict[str, str | None]) -> CorosyncConf:
    """Return a copy with totem keys set (None unsets) and config_version bumped by one.

    Keys are checked first (:func:`check_settable`): an unknown key raises UnknownKeyError
    (a ValueError) and nothing is changed.
    """
    for key in changes:
        check_settable(key)
    new = conf.copy()
    for key, value in changes.items():
        path = check_settable(key)
        if value is None:
            new.unset(path)
        else:
            new.set(path, value)
    bump_version(new)
    return new


def add_link(
    conf: CorosyncConf, linknumber: int, addrs: dict[str, str], priority: int | None = None
) -> CorosyncConf:
    """Return a copy with a new knet link: ringN_addr per node plus ``interface {}`` in totem.

    This is domain.md 8(c)'s fix for a flaky network: a second, redundant link instead of
    ``transport: udpu``. Every node must get an address, since corosync refuses a nodelist
    where nodes have different numbers of links.
    """
    if not 0 <= linknumber <= 7:
        raise ValueError("knet supports links 0..7")
    new = conf.copy()
    key = f"ring{linknumber}_addr"
    nodes = new.node_sections()
    names = [n.items()["name"].value if "name" in n.items() else None for n in nodes]
    missing = [n for n in names if n is None or n not in addrs]
    unknown = sorted(set(addrs) - {n for n in names if n})
    if missing or unknown:
        raise ValueError(
            f"addresses must cover exactly the named nodes {names}; "
            f"missing {missing}, unknown {unknown}"
        )
    for idx, sec in enumerate(nodes):
        if key in sec.items():
            raise ValueError(f"node {names[idx]} already has {key}")
    for idx in range(len(nodes)):
        sec = new.node_sections()[idx]
        name = names[idx]
        assert name is not None
        new.set_in(sec, key, addrs[name])
    totem = new.ensure_section(["totem"])
    for iface in totem.sections("interface"):
        if iface.items().get("linknumber", Item("", "0", 0)).value == str(linknumber):
            raise ValueError(f"totem already has an interface for link {linknumber}")
    items = {"linknumber": str(linknumber)}
    if priority is not None:
        items["knet_link_priority"] = str(priority)
    new.add_section(totem, "interface", items)
    bump_version(new)
    return new


def unified_diff(old_text: str, new_text: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{name} (current)",
            tofile=f"{name} (new)",
        )
    )
