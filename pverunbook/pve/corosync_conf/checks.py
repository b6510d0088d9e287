"""Checks of a parsed corosync.conf the way corosync 3.1 judges it, plus operator advice.

``fatal`` problems are what the real corosync 3.1.7 refuses (the integration tests prove each
one against ``corosync -t`` and start-up); the timing rules are totemconfig.c's
``totem_volatile_config_read``/``_validate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pverunbook.pve.corosync_conf.keys import (
    DEFAULT_DOWNCHECK_MS,
    DEFAULT_JOIN_MS,
    DEFAULT_MERGE_MS,
    DEFAULT_RETRANSMITS_BEFORE_LOSS,
    DEFAULT_TOKEN_COEFFICIENT_MS,
    DEFAULT_TOKEN_MS,
    ENUMS,
    HZ_MS,
    KNOWN_IN_FILES,
    MINIMUM_TIMEOUT_HOLD_MS,
    MINIMUM_TIMEOUT_MS,
    RING_ADDR,
    RUNTIME_READONLY,
    UINT_KEYS,
    UINT_LIMITS,
    UnknownKeyError,
    check_settable,
)
from pverunbook.pve.corosync_conf.tree import CorosyncConf, Item, Section
from pverunbook.pve.digits import is_uint

Severity = Literal["fatal", "error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`validate`; ``fatal`` means real corosync refuses to run."""

    severity: Severity
    key: str
    message: str
    line: int | None = None



def _int(conf: CorosyncConf, path: str) -> int | None:
    value = conf.get(path)
    return int(value) if value is not None and is_uint(value) else None


def effective_token(conf: CorosyncConf) -> int:
    """Token timeout corosync really uses (runtime.config.totem.token), in ms.

    totemconfig.c adds ``(nodes - 2) * token_coefficient`` to ``token`` when the nodelist has
    three or more nodes; defaults are 3000 ms (corosync >= 3.1.0) and 650 ms.
    """
    token = _int(conf, "totem.token") or DEFAULT_TOKEN_MS
    count = len(conf.nodes())
    if count >= 3:
        coeff = _int(conf, "totem.token_coefficient")
        token += (count - 2) * (DEFAULT_TOKEN_COEFFICIENT_MS if coeff is None else coeff)
    return token


def _timings(conf: CorosyncConf) -> dict[str, int]:
    """Effective timing values after corosync's defaults (totem_volatile_config_read)."""
    token = effective_token(conf)
    retransmits = _int(conf, "totem.token_retransmits_before_loss_const")
    retransmits = retransmits or DEFAULT_RETRANSMITS_BEFORE_LOSS
    token_retransmit = _int(conf, "totem.token_retransmit")
    if token_retransmit is None:
        token_retransmit = int(token / (retransmits + 0.2))
    hold = _int(conf, "totem.hold")
    if hold is None:
        hold = int(token_retransmit * 0.8 - HZ_MS)
    consensus = _int(conf, "totem.consensus")
    if consensus is None:
        consensus = int(1.2 * token)
    join = _int(conf, "totem.join")
    merge = _int(conf, "totem.merge")
    downcheck = _int(conf, "totem.downcheck")
    return {
        "token": token,
        "token_retransmit": token_retransmit,
        "hold": hold,
        "consensus": consensus,
        "join": DEFAULT_JOIN_MS if join is None else join,
        "merge": DEFAULT_MERGE_MS if merge is None else merge,
        "downcheck": DEFAULT_DOWNCHECK_MS if downcheck is None else downcheck,
        "retransmits": retransmits,
    }


def _walk(sec: Section, prefix: str = "") -> list[tuple[str, Item]]:
    out: list[tuple[str, Item]] = []
    for child in sec.children:
        if isinstance(child, Item):
            out.append((prefix + child.key, child))
        else:
            out.extend(_walk(child, f"{prefix}{child.name}."))
    return out


def _link_numbers(conf: CorosyncConf) -> set[int]:
    links: set[int] = set()
    for node in conf.nodes():
        for key in node:
            m = RING_ADDR.fullmatch(key)
            if m:
                links.add(int(m.group(1)))
    return links


def _nearest_line(conf: CorosyncConf, key: str) -> int:
    """Line of ``key``, else of the closest enclosing section that exists (a missing
    ``totem.config_version`` points at ``totem {``), else line 1: never 0."""
    parts = key.split(".")
    while parts:
        line = conf.line_of(".".join(parts))
        if line is not None:
            return line
        parts.pop()
    return 1


def qdevice_conflict(conf: CorosyncConf, with_two_node: bool = True
                     ) -> tuple[str, str] | None:
    """(key, votequorum's error) when the quorum section holds what votequorum refuses together
    with a quorum device (corosync exec/votequorum.c ``votequorum_readconfig``): at start-up
    corosync exits ("configuration error: ..."), on a reload it logs the error and disables
    the device ("disabling quorum device operations": corosync-qdevice cannot register, so the
    QDevice casts no vote). None without a device (``quorum.device.model``) or without a
    conflict. ``two_node`` is one too (validate reports it on its own)."""
    if not (conf.get("quorum.device.model") or ""):
        return None

    def on(key: str) -> bool:
        return conf.get(key) not in (None, "0")

    if with_two_node and on("quorum.two_node"):
        return ("quorum.two_node",
                "configuration error: two_node and quorum device cannot be configured at the "
                "same time!")
    for key in ("last_man_standing", "auto_tie_breaker", "allow_downscale"):
        if on(f"quorum.{key}"):
            return f"quorum.{key}", f"configuration error: quorum.device is not compatible " \
                                    f"with {key}"
    expected = _int(conf, "quorum.expected_votes")
    if expected:
        votes = _int(conf, "quorum.device.votes")
        if conf.get("quorum.device.votes") is None:
            return ("quorum.expected_votes", "configuration error: quorum.device.votes must be "
                    "specified when quorum.expected_votes is set")
        if votes is not None and votes > 0 and expected - votes < 2:
            return ("quorum.expected_votes", "configuration error: quorum.device.votes is too "
                    "high or expected_votes is too low")
    return None


def validate(conf: CorosyncConf, previous: CorosyncConf | None = None) -> list[Problem]:
    """Check a parsed config the way corosync 3.1 would, plus operator-level advice.

    ``fatal`` is reserved for what the real corosync 3.1.7 refuses (``corosync -t`` or start-up;
    the integration tests prove each one); ``error`` means corosync starts but the cluster
    will misbehave; ``warning`` is risky or needs care when applied.
    """
    out: list[Problem] = []

    def add(sev: Severity, key: str, msg: str, line: int | None = None) -> None:
        out.append(Problem(sev, key, msg, line if line is not None else _nearest_line(conf, key)))

    # Value syntax, as coroparse.c checks it while reading.
    seen: dict[str, int] = {}
    for path, it in _walk(conf.root):
        if path.count(".") == 1 and path.startswith(("totem.", "quorum.")) \
                and path not in KNOWN_IN_FILES:
            try:
                check_settable(path)
            except UnknownKeyError as exc:
                near = f"; did you mean {exc.suggestion}?" if exc.suggestion else ""
                add("warning", path, f"{path} is not a corosync key: corosync ignores it "
                    f"silently, so it has no effect{near}", it.line + 1)
        if path in UINT_KEYS or path == "totem.config_version":
            wide = path == "totem.config_version"
            limit = UINT_LIMITS.get(path, 2**64 - 1 if wide else 2**32 - 1)
            if not is_uint(it.value) or int(it.value) > limit:
                hint = " (a '#' comment must be on its own line)" if "#" in it.value else ""
                add(
                    "fatal",
                    path,
                    f'{path} must be a whole number 0..{limit}, not "{it.value}"{hint}',
                    it.line + 1,
                )
        if path in ENUMS and it.value not in ENUMS[path]:
            add(
                "fatal",
                path,
                f"{path} is {it.value!r}; corosync only accepts {', '.join(ENUMS[path])}",
                it.line + 1,
            )
        if not path.startswith("nodelist.node.") and not path.startswith("totem.interface."):
            if path in seen:
                add(
                    "warning",
                    path,
                    f"{path} is set twice (line {seen[path] + 1} and {it.line + 1}); "
                    "corosync silently uses the last one",
                    it.line + 1,
                )
            seen[path] = it.line

    if conf.get("totem.version") != "2":
        add(
            "fatal",
            "totem.version",
            "totem.version must be 2; corosync refuses anything else "
            "('This totem parser can only parse version 2 configurations.')",
            conf.line_of("totem.version") or conf.line_of("totem") or 1,
        )

    # Transport, crypto and links.
    transport = conf.get("totem.transport") or "knet"
    secauth = conf.get("totem.secauth") == "on"
    cipher = conf.get("totem.crypto_cipher") or "none"
    hashname = conf.get("totem.crypto_hash") or "none"
    links = _link_numbers(conf)
    if transport in ("udp", "udpu"):
        if secauth or cipher != "none" or hashname != "none":
            add(
                "fatal",
                "totem.transport",
                f"transport {transport} with secauth/crypto: corosync 3.1 refuses to start "
                "('crypto_cipher & crypto_hash are only valid for the Knet transport.')",
            )
        if len(links) > 1:
            add(
                "fatal",
                "totem.transport",
                f"transport {transport} with {len(links)} links: only knet supports more than "
                "one link per node",
            )
        add(
            "warning",
            "totem.transport",
            f"transport {transport} disables encryption and link redundancy (pvecm docs: not "
            "recommended); keep knet and add a second link instead",
        )
    # totemconfig.c totem_get_crypto: aes256/sha256 unless secauth (off → none/none) or the
    # crypto_* keys say otherwise; the keys win over secauth
    auth = conf.get("totem.secauth")
    eff_cipher = conf.get("totem.crypto_cipher") or ("none" if auth not in (None, "on")
                                                      else "aes256")
    eff_hash = conf.get("totem.crypto_hash") or ("none" if auth not in (None, "on")
                                                  else "sha256")
    if transport == "knet" and eff_cipher == "none" and eff_hash == "none":
        add(
            "warning",
            "totem.crypto_cipher",
            "cluster traffic is neither authenticated nor encrypted (crypto_cipher and "
            "crypto_hash are none, secauth is off): anyone on the cluster network can join or "
            "forge corosync messages. Proxmox VE writes `secauth: on` (knet's aes256/sha256); "
            "set it back and keep /etc/corosync/authkey identical on every node",
            conf.line_of("totem.crypto_cipher") or conf.line_of("totem.secauth")
            or conf.line_of("totem"),
        )
    rrp = conf.get("totem.rrp_mode")
    if rrp is not None:
        spelled = "" if rrp in ("none", "active", "passive") else (
            f" ('{rrp}' is not even one of corosync 2's values none/active/passive)")
        add(
            "warning",
            "totem.rrp_mode",
            "rrp_mode is a corosync 2 key (the redundant ring protocol); corosync 3 reads it "
            "only to ignore it, so it has no effect" + spelled + ". With knet, redundancy "
            "comes from a second link per node (ring1_addr) and `link_mode` (passive, active "
            "or rr) chooses how the links are used",
            conf.line_of("totem.rrp_mode"),
        )
    if cipher != "none" and hashname == "none" and transport == "knet":
        add(
            "fatal",
            "totem.crypto_hash",
            "crypto_cipher needs a crypto_hash other than none",
            conf.line_of("totem.crypto_cipher"),
        )

    # Nodelist.
    node_secs = conf.node_sections()
    if not node_secs:
        add("error", "nodelist", "no nodelist.node entries: Proxmox VE clusters need one")
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    link_counts = set()
    all_named = True
    for sec in node_secs:
        items = sec.items()
        line = (sec.open_line or 0) + 1
        label = items["name"].value if "name" in items else f"node at line {line}"
        if "nodeid" not in items:
            if transport == "knet":
                add(
                    "fatal",
                    "nodelist.node.nodeid",
                    f"{label} has no nodeid; knet requires an explicit nodeid for every node",
                    line,
                )
        else:
            nid = items["nodeid"].value
            if nid in ids:
                add(
                    "fatal",
                    "nodelist.node.nodeid",
                    f"nodeid {nid} appears twice (lines {ids[nid]} and "
                    f"{items['nodeid'].line + 1}); corosync refuses duplicate node ids",
                    items["nodeid"].line + 1,
                )
            ids.setdefault(nid, items["nodeid"].line + 1)
        if "name" in items:
            name = items["name"].value
            if name in names:
                add(
                    "error",
                    "nodelist.node.name",
                    f"node name {name!r} appears twice (lines {names[name]} and "
                    f"{items['name'].line + 1}); Proxmox VE identifies nodes by name",
                    items["name"].line + 1,
                )
            names.setdefault(name, items["name"].line + 1)
        else:
            all_named = False
            add("warning", "nodelist.node.name", f"{label} has no name; pvecm expects one", line)
        if "ring0_addr" not in items:
            add(
                "error",
                "nodelist.node.ring0_addr",
                f"{label} has no ring0_addr, so corosync ignores it on link 0",
                line,
            )
        count = sum(1 for k in items if RING_ADDR.fullmatch(k))
        if count:  # corosync skips nodes without any ringN_addr in this check
            link_counts.add(count)
    if len(link_counts) > 1:
        add(
            "fatal",
            "nodelist",
            "not all nodes have the same number of links (ringN_addr); corosync refuses this",
        )
    if len(links) > 1 and not all_named and node_secs:
        add(
            "fatal",
            "nodelist.node.name",
            "with more than one link every node needs a 'name'; corosync refuses otherwise",
        )
    totem = conf._section(["totem"])
    if totem is not None and transport == "knet":
        iface_links = set()
        for iface in totem.sections("interface"):
            ln = iface.items().get("linknumber") or iface.items().get("ringnumber")
            if ln is not None and is_uint(ln.value):
                iface_links.add(int(ln.value))
        extra = sorted(iface_links - links) if links else []
        if extra:
            add(
                "warning",
                "totem.interface",
                f"totem has interface sections for links {extra} but no node has an address on "
                "them",
            )

    if not conf.get("totem.cluster_name"):
        add(
            "error",
            "totem.cluster_name",
            "cluster_name is missing; Proxmox VE shows and checks it, and corosync falls back "
            "to a default that will not match the other nodes' configs",
        )
    version = conf.config_version
    if version is None or version == 0:
        add(
            "error",
            "totem.config_version",
            "config_version is missing or 0; pmxcfs treats that as unparsable and will not "
            "sync this file to the nodes' local copies",
        )

    # Timing (totem_volatile_config_validate).
    t = _timings(conf)
    for key in ("token", "token_retransmit", "join", "consensus", "merge", "downcheck"):
        if t[key] < MINIMUM_TIMEOUT_MS:
            add(
                "fatal",
                f"totem.{key}",
                f"{key} is {t[key]} ms; corosync's minimum is {MINIMUM_TIMEOUT_MS} ms",
            )
    if t["hold"] < MINIMUM_TIMEOUT_HOLD_MS:
        add(
            "fatal",
            "totem.hold",
            f"hold works out to {t['hold']} ms; corosync's minimum is {MINIMUM_TIMEOUT_HOLD_MS} ms",
        )
    warn = _int(conf, "totem.token_warning")
    if warn is not None and warn > 100:
        add("fatal", "totem.token_warning", "token_warning is a percentage from 0 to 100")
    if t["consensus"] < t["join"]:
        add(
            "fatal",
            "totem.consensus",
            f"consensus ({t['consensus']} ms) is below join ({t['join']} ms); corosync refuses "
            "to start ('may not be less than join timeout')",
            conf.line_of("totem.consensus") or conf.line_of("totem.join"),
        )
    if conf.get("totem.consensus") is not None and t["consensus"] < 1.2 * t["token"]:
        add(
            "error",
            "totem.consensus",
            f"consensus ({t['consensus']} ms) is below 1.2 x token ({t['token']} ms effective "
            f"= {int(1.2 * t['token'])} ms). corosync starts, but the man page says it must be "
            "at least that: a new membership can be declared before a slow token is really "
            "lost. Raise it, or remove it to get the 1.2 x token default",
        )
    if conf.get("totem.token_retransmit") is not None:
        fits = t["token"] // max(t["token_retransmit"], 1)
        add(
            "warning",
            "totem.token_retransmit",
            f"token_retransmit is set by hand ({t['token_retransmit']} ms): only about {fits} "
            f"retransmits fit in the {t['token']} ms token, so "
            f"token_retransmits_before_loss_const={t['retransmits']} "
            "no longer means what it says. Remove it and tune token instead; corosync derives "
            "token_retransmit = token / (retransmits + 0.2)",
        )

    # Quorum.
    two_node = conf.get("quorum.two_node")
    if two_node not in (None, "0") and conf._section(["quorum", "device"]) is not None:
        add(
            "fatal",
            "quorum.two_node",
            "two_node and a quorum device cannot be configured together: corosync's "
            "votequorum refuses to start (exit 20) although 'corosync -t' accepts the file",
        )
    if two_node not in (None, "0") and len(node_secs) > 2:
        # votequorum.c calculate_quorum: `if (two_node && total_nodes <= 2) newquorum = 1`,
        # whatever the nodelist holds: not ignored, it makes any one or two members quorate
        add("error", "quorum.two_node",
            f"two_node: 1 with {len(node_secs)} nodes: votequorum sets quorum to 1 whenever "
            "two nodes or fewer are members (votequorum.c calculate_quorum), so one or two "
            "nodes cut off from the rest stay quorate beside them (split brain); Proxmox VE "
            "never writes two_node: remove it")
    conflict = qdevice_conflict(conf, with_two_node=False)
    if conflict is not None:
        key, why = conflict
        add("fatal", key, f"{why}: corosync's votequorum refuses to start (exit 20) although "
            "'corosync -t' accepts the file, and a reload disables the quorum device")

    # Against the running/previous config.
    if previous is not None:
        old_v, new_v = previous.config_version, conf.config_version
        # pmxcfs dcdb.c dcdb_sync_corosync_conf copies a changed file unless
        # `new_version < old_version` ("local corosync.conf is newer"), and a version it cannot
        # parse (0 or none) not at all; an equal version IS copied, but nodes then run
        # different files under one version and corosync (cmap.c) cannot tell them apart.
        if old_v is not None and (new_v is None or new_v < old_v):
            add(
                "error",
                "totem.config_version",
                f"config_version went down ({old_v} -> {new_v}): pmxcfs will not copy the file "
                "to /etc/corosync/corosync.conf (it logs 'local corosync.conf is newer')"
                if new_v is not None else
                f"config_version is missing (was {old_v}): pmxcfs cannot parse it and copies "
                "nothing ('unable to parse cluster config_version')",
            )
        elif old_v is not None and new_v == old_v and conf.dump() != previous.dump():
            add(
                "error",
                "totem.config_version",
                f"config_version was not increased ({old_v} -> {new_v}): pmxcfs still copies "
                "the changed file, but nodes that miss it keep different content under the same "
                "version, which neither pmxcfs nor corosync can detect; pve-docs: increment it",
            )
        before = {p: it.value for p, it in _walk(previous.root)}
        after = {p: it.value for p, it in _walk(conf.root)}
        for path in sorted(RUNTIME_READONLY):
            if before.get(path) != after.get(path):
                add(
                    "warning",
                    path,
                    f"{path} changed ({before.get(path)} -> {after.get(path)}) but cannot change "
                    "at run time: corosync logs 'cannot be changed at run-time' and keeps the old "
                    "value until corosync is restarted on all nodes",
                )
    order = {"fatal": 0, "error": 1, "warning": 2}
    out.sort(key=lambda p: (order[p.severity], p.line or 0))
    return out
