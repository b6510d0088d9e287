"""corosync.conf as read off a node: is it valid, and do all nodes run the same one.

Only ever judged when the read succeeded (``cat`` exit 0): the empty output of a ``cat`` on a
hung /etc/pve is not a file without a nodelist (the engine passes the exit status; see
:func:`pverunbook.pve.verdicts.judge`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from pverunbook.pve import corosync_conf
from pverunbook.pve.verdicts.base import Finding, Level, PeerNames, not_understood

_CONF_LEVEL: dict[str, Level] = {"fatal": "critical", "error": "critical", "warning": "warning"}


def verdict_corosync_conf(text: str, names: PeerNames | None = None) -> list[Finding]:
    """Wrap corosync_conf.validate() so runbooks can judge a ``cat corosync.conf``."""
    del names
    if not text.strip():
        return [Finding(
            "warning",
            "could not read corosync.conf: the output is empty",
            "The command printed nothing, so there is no file to judge. A corosync.conf is "
            "never empty: check the path, and whether /etc/pve is mounted (pmxcfs running).",
        )]
    try:
        conf = corosync_conf.parse(text)
    except corosync_conf.CorosyncParseError as exc:
        return [
            Finding(
                "critical",
                f"corosync cannot parse this file (line {exc.line})",
                f"{exc.message}. corosync refuses to start with it.",
                evidence=f"line {exc.line}",
            )
        ]
    problems = corosync_conf.validate(conf)
    out = [
        Finding(
            _CONF_LEVEL.get(p.severity, "warning"),
            f"{p.severity}: {p.key}",
            p.message,
            evidence=f"line {p.line}" if p.line else None,
        )
        for p in problems
    ]
    if not out:
        out.append(
            Finding(
                "ok",
                f"corosync.conf is valid (config_version {conf.config_version})",
                f"Effective token {corosync_conf.effective_token(conf)} ms.",
            )
        )
    return out


_VERSION_RE = re.compile(r"config_version\s*:\s*(\d{1,12})")  # pmxcfs's own regex

#: What a comparison of one node's config_version says: it proves nothing about agreement.
ONE_NODE = ("the only node compared: there is no other node's to compare it with, so this "
            "does not show that the cluster's nodes agree")


def compare_config_versions(seen: Sequence[tuple[str, int | None, str]]
                            ) -> tuple[list[tuple[str, bool, str]], bool]:
    """The ``same-config-version`` guard's rule: ``seen`` is (node, config_version or None,
    why it could not be read) per node. Returns (node, agrees, what was found) per node, and
    whether there was nothing to compare (one node: never "agrees", whatever its version)."""
    versions = {v for _, v, _ in seen if v is not None}
    if len(seen) == 1 and versions:
        ((node, v, _),) = seen
        return [(node, False, f"config_version {v}, {ONE_NODE}")], True
    same = len(versions) <= 1 and all(v is not None for _, v, _ in seen)
    highest = max(versions) if versions else None
    out: list[tuple[str, bool, str]] = []
    for node, v, why in seen:
        if v is None:
            out.append((node, False, why))
        elif same:
            out.append((node, True, f"config_version {v}"))
        else:
            note = "" if v == highest else f" (behind {highest})"
            out.append((node, False, f"config_version {v}{note}"))
    return out, False
_TOTEM_RE = re.compile(r"^\s*totem\s*\{", re.M)


def verdict_config_versions(confs: dict[str, str],
                            names: PeerNames | None = None) -> list[Finding]:
    """All nodes must run the same corosync.conf; compare config_version like pmxcfs does."""
    del names
    versions: dict[str, int | None] = {}
    out: list[Finding] = []
    for node, text in confs.items():
        if not _TOTEM_RE.search(text):
            # Not a corosync.conf at all (an error page, another file): say so, and do not
            # report its missing config_version as if the cluster's file had none.
            unread = not_understood("corosync.conf", "a 'totem {' section", text)
            out.append(dataclasses.replace(unread, node=node))
            continue
        m = _VERSION_RE.search(text)
        versions[node] = int(m.group(1)) if m else None
    known = {v for v in versions.values() if v is not None}
    for node, v in versions.items():
        if v is None or v == 0:
            out.append(
                Finding(
                    "critical",
                    f"{node}: config_version missing or 0",
                    "pmxcfs treats a missing or zero config_version as unparsable.",
                    node=node,
                )
            )
    if len(known) > 1:
        listing = ", ".join(f"{n}={v}" for n, v in versions.items())
        hi, lo = max(known), min(known)
        out.append(
            Finding(
                "critical",
                f"config_version differs between nodes ({hi} vs {lo})",
                "The nodes run different corosync.conf files. pmxcfs copies /etc/pve's file "
                "to /etc/corosync only when its version is not lower; a node with an older or "
                "hand-edited local file keeps it. Make /etc/pve/corosync.conf correct with a "
                "higher version, or with no quorum edit /etc/corosync/corosync.conf "
                "identically on all nodes.",
                evidence=listing,
            )
        )
        return out
    texts = {confs[n].strip() for n in versions}
    if len(texts) > 1 and known:
        out.append(
            Finding(
                "warning",
                "same config_version but different contents",
                "Someone edited a file without bumping config_version; pmxcfs will not "
                "propagate it and the nodes disagree silently.",
                evidence=", ".join(confs),
            )
        )
    if not out and len(confs) == 1:
        # one file compared with nothing: never "ok", never "identical on every node"
        node = next(iter(confs))
        out.append(
            Finding(
                "info",
                f"only {node}'s corosync.conf was read (config_version "
                f"{next(iter(known), '?')}): nothing to compare it with",
                f"This compares the nodes' config_version; with one node's file it is "
                f"{ONE_NODE}. Read every node's file (a step on all nodes of an inventory "
                "that lists each of them).",
                node=node,
            )
        )
    elif not out and confs:
        out.append(
            Finding(
                "ok",
                f"all {len(confs)} nodes have config_version {next(iter(known), '?')}",
                "Identical corosync.conf on every node.",
            )
        )
    return out
