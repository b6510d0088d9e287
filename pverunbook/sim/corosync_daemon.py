"""corosync as the simulated nodes run it: the config check real corosync 3.1.7 stops with,
what a running corosync loads (cmap), start/stop with the journal lines it writes,
corosync-cfgtool -R (volatile keys reload; read-only keys need a restart, cfg.c
remove_ro_entries), votequorum's expected votes, and cmap's config_version check at a node's
first sync.

Sources (corosync v3.1.x, ``exec/``):

- ``votequorum.c`` ``message_handler_req_lib_votequorum_setexpected``: "Setting
  expected_votes < total_votes doesn't make sense. For quorate cluster prevent cluster to
  become unquorate." → ``CS_ERR_INVALID_PARAM`` when ``expected < total_votes`` or when a
  quorate node would lose quorum; otherwise the value is sent to every member
  (``votequorum_exec_send_reconfigure``). ``recalculate_quorum``: "Keep expected_votes at the
  highest number of votes in the cluster" (``if (total_votes > us->expected_votes)
  us->expected_votes = total_votes``), so a lowered value is raised again as soon as more
  votes are present (a rejoin).
- ``cfg.c``/``corosync-cfgtool(8)`` ``-R``: "Tell all instances of corosync in this cluster to
  reload corosync.conf": every member reloads *its own* local file.
- ``cmap.c`` ``cmap_sync_activate``: at a node's first sync with other nodes, "Received config
  version (%) is different than my config version (%)! Exiting" when a member runs a higher
  ``totem.config_version`` than this node loaded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pverunbook.sim.world import SimNode, World

COROSYNC_VERSION = "3.1.7"
#: how corosync 3.1.7 reports a quorum section votequorum refuses at start-up (exit 20)
QUORUM_FAILED = "[SERV  ] Service engine 'corosync_quorum' failed to load for reason '"


# -- corosync --------------------------------------------------------------------------
def corosync_check(world: World, text: str, authkey: bytes | None,
                   test_only: bool = False) -> str | None:
    """The error real corosync 3.1.7 stops with for this config, or None. ``test_only``:
    what ``corosync -t`` says, which loads no service, so a quorum section votequorum refuses
    (two_node, last_man_standing ... beside a quorum device) passes it."""
    from pverunbook.pve.corosync_conf import (
        CorosyncParseError,
        parse,
        qdevice_conflict,
        validate,
    )

    try:
        conf = parse(text)
    except CorosyncParseError as exc:
        return f"parse error in config: {exc.message}"
    transport = conf.get("totem.transport") or "knet"
    crypto = conf.get("totem.secauth") == "on" or (
        conf.get("totem.crypto_cipher") or "none") != "none"
    if transport in ("udp", "udpu"):
        if crypto:
            return ("parse error in config: crypto_cipher & crypto_hash are only valid for "
                    "the Knet transport.")
        links = {k for node in conf.nodes() for k in node if k.endswith("_addr")}
        if len(links) > 1:
            return (f"parse error in config: {len(links)} is too many configured interfaces "
                    "for non-Knet transport.")
    if conf.get("totem.version") != "2":
        return "parse error in config: This totem parser can only parse version 2 " \
               "configurations."
    tok = int(conf.get("totem.token") or 3000)
    join = int(conf.get("totem.join") or 50)
    consensus = int(conf.get("totem.consensus") or int(tok * 1.2))
    if consensus < join:
        return (f"The consensus timeout parameter ({consensus} ms) may not be less than "
                f"join timeout ({join} ms).")
    if crypto and transport == "knet" and not authkey:
        return "Could not open /etc/corosync/authkey: No such file or directory"
    conflict = qdevice_conflict(conf)
    if conflict is not None and not test_only:
        # votequorum_readconfig at start-up: the quorum service does not load (real 3.1.7)
        return f"{QUORUM_FAILED}{conflict[1]}'"
    for prob in validate(conf):
        if prob.severity == "fatal" and not (conflict and prob.key == conflict[0]):
            return f"parse error in config: {prob.message}"
    return None


def qdevice_register_refused(n: SimNode, t: float) -> bool:
    """corosync-qdevice started while votequorum has disabled the device (a quorum section it
    refuses beside one, see ``cluster_reload``): ``votequorum_qdevice_register`` answers
    CS_ERR_ACCESS, the daemon exits 1 before it is ready (corosync-qdevice.c main ->
    qdevice_votequorum_init) and its Type=notify unit fails. True, logged and failed, then."""
    if not (n.corosync.running and n.corosync.qdevice_votes and n.corosync.qdevice_blocked):
        return False
    u = n.units["corosync-qdevice"]
    pid = n.alloc_pid()
    n.log("corosync-qdevice", "systemd", 1, "Starting corosync-qdevice.service - Corosync "
          "Qdevice daemon...", t)
    n.log("corosync-qdevice", "corosync-qdevice", pid, "Can't register votequorum device. "
          "Error CS_ERR_ACCESS", t)
    n.log("corosync-qdevice", "systemd", 1, "corosync-qdevice.service: Main process exited, "
          "code=exited, status=1/FAILURE", t)
    n.log("corosync-qdevice", "systemd", 1, "corosync-qdevice.service: Failed with result "
          "'exit-code'.", t)
    n.log("corosync-qdevice", "systemd", 1, "Failed to start corosync-qdevice.service - "
          "Corosync Qdevice daemon.", t)
    u.state, u.since, u.pid, u.result = "failed", t, 0, "exit-code"
    return True


def _load_runtime(world: World, n: SimNode, text: str) -> None:
    from pverunbook.pve.corosync_conf import effective_token, parse, qdevice_conflict

    conf = parse(text)
    cs = n.corosync
    cs.text = text
    cs.token = effective_token(conf)
    cs.consensus = int(conf.get("totem.consensus") or int(cs.token * 1.2))
    cs.config_version = int(conf.get("totem.config_version") or 0)
    cs.transport = conf.get("totem.transport") or "knet"
    cs.secauth = conf.get("totem.secauth") == "on"
    cs.cluster_name = conf.get("totem.cluster_name") or ""
    cs.two_node = conf.get("quorum.two_node") == "1"
    # pvecm qdevice setup adds quorum { device { model: net; votes: 1; net {...} } }
    cs.qdevice_votes = 1 if re.search(r"^\s*device\s*\{", text, re.M) else 0
    m = re.search(r"^\s*host\s*:\s*(\S+)", text, re.M)
    cs.qdevice_host = m.group(1) if m and cs.qdevice_votes else ""
    conflict = qdevice_conflict(conf)
    cs.qdevice_blocked = conflict[1] if conflict and cs.qdevice_votes else ""
    cs.nodes = [(d.get("name", ""), int(d.get("nodeid", "0") or 0), d.get("ring0_addr", ""))
                for d in conf.nodes()]


def corosync_start(world: World, n: SimNode, t: float) -> str | None:
    """Start corosync from /etc/corosync/corosync.conf; returns the error or None."""
    cs = n.corosync
    if cs.running:
        return None
    try:
        text = n.host("/etc/corosync/corosync.conf").read_text()
    except OSError:
        text = ""
    try:
        authkey: bytes | None = n.host("/etc/corosync/authkey").read_bytes()
    except OSError:
        authkey = None
    pid = n.alloc_pid()
    cs.pid = pid
    lg = n.corosync_log
    lg(f"[MAIN  ] Corosync Cluster Engine {COROSYNC_VERSION} starting up", t)
    lg("[MAIN  ] Corosync built-in features: dbus monitoring watchdog systemd xmlconf "
       "vqsim nozzle snmp pie relro bindnow", t)
    err = "Can't read file /etc/corosync/corosync.conf: No such file or directory" \
        if not text else world.corosync_check(text, authkey)
    if err and err.startswith(QUORUM_FAILED):
        lg("[QUORUM] Using quorum provider corosync_votequorum", t)
        lg("[QUORUM] Quorum provider: corosync_votequorum failed to initialize.", t)
        lg(err, t)
        lg("[MAIN  ] Corosync Cluster Engine exiting with status 20 at service.c:356.", t)
        return err[len("[SERV  ] "):]
    if err:
        lg(f"[MAIN  ] {err}", t)
        lg("[MAIN  ] Corosync Cluster Engine exiting with status 8 at main.c:1445.", t)
        return err
    world._load_runtime(n, text)
    cs.authkey = authkey or b""
    cs.running = True
    cs.vanished = False
    cs.forming_until = None
    cs.members = frozenset()
    cs.quorate = False
    cs.expected_override = None
    cs.first_sync = True
    lg(f"[TOTEM ] Initializing transport ({'Kronosnet' if cs.transport == 'knet' else 'UDP/IP Unicast'}).", t)  # noqa: E501
    lg("[TOTEM ] totemknet initialized", t)
    lg("[KNET  ] pmtud: MTU manually set to: 0", t)
    lg("[KNET  ] common: crypto_nss.so has been loaded from "
       "/usr/lib/x86_64-linux-gnu/kronosnet/crypto_nss.so", t)
    lg("[SERV  ] Service engine loaded: corosync configuration map access [0]", t)
    lg("[QB    ] server name: cmap", t)
    lg("[SERV  ] Service engine loaded: corosync configuration service [1]", t)
    lg("[QB    ] server name: cfg", t)
    lg("[SERV  ] Service engine loaded: corosync cluster closed process group service "
       "v1.01 [2]", t)
    lg("[QB    ] server name: cpg", t)
    lg("[SERV  ] Service engine loaded: corosync profile loading service [4]", t)
    lg("[SERV  ] Service engine loaded: corosync resource monitoring service [6]", t)
    lg("[WD    ] Watchdog not enabled by configuration", t)
    lg("[WD    ] resource load_15min missing a recovery key.", t)
    lg("[WD    ] resource memory_used missing a recovery key.", t)
    lg("[WD    ] no resources configured.", t)
    lg("[SERV  ] Service engine loaded: corosync watchdog service [7]", t)
    lg("[QUORUM] Using quorum provider corosync_votequorum", t)
    lg("[SERV  ] Service engine loaded: corosync vote quorum service v1.0 [5]", t)
    lg("[QB    ] server name: votequorum", t)
    lg("[SERV  ] Service engine loaded: corosync cluster quorum service v0.1 [3]", t)
    lg("[QB    ] server name: quorum", t)
    lg("[TOTEM ] Configuring link 0", t)
    lg(f"[TOTEM ] Configured link number 0: local addr: {n.addr}, port=5405", t)
    lg("[KNET  ] link: Resetting MTU for link 0 because host "
       f"{n.nodeid} joined", t)
    for p in n.peers():
        lg(f"[KNET  ] host: host: {p.nodeid} (passive) best link: 0 (pri: 1)", t)
        lg(f"[KNET  ] host: host: {p.nodeid} has no active links", t)
    world._membership_changed(n, frozenset(), frozenset({n.nodeid}), t)
    world._update_quorum(n, t)
    u = n.units["corosync"]
    u.pid = pid
    world.update_membership(t)
    return None


def corosync_stop(world: World, n: SimNode, t: float, by_sysadmin: bool = False,
                  sig: int = 15) -> None:
    """Stop ``n``'s corosync. ``by_sysadmin``: as ``systemctl stop corosync`` does on Debian
    and Proxmox VE (corosync.service ``ExecStop=/usr/sbin/corosync-cfgtool -H --force``):
    cfg's shutdown message reaches every member, each logs "Node N was shut down by sysadmin"
    (cfg.c ``message_handler_req_exec_cfg_shutdown``); otherwise the signal ``sig``.

    SIGTERM (and SIGINT, SIGQUIT) runs main.c ``sig_exit_handler``: "Node was shut down by a
    signal", the services unload and totemsrp_finalize sends the leave message, so the peers
    form the new membership at once. SIGKILL ends the process where it stands: it logs
    nothing, sends no leave message, and the peers find it gone only when the token times out
    (``timer_function_orf_token_timeout``: "A processor failed, forming new configuration")
    and then name it in "Failed to receive the leave message. failed: N"
    (``memb_state_operational_enter``)."""
    cs = n.corosync
    if not cs.running:
        return
    lg = n.corosync_log
    if sig == 9 and not by_sysadmin:
        cs.vanished = True
        cs.vanished_at = t
    elif by_sysadmin:
        for m in world.nodes.values():
            if m.corosync.running and m.nodeid in cs.members | {n.nodeid}:
                m.corosync_log(f"[CFG   ] Node {n.nodeid} was shut down by sysadmin", t)
    else:
        lg("[MAIN  ] Node was shut down by a signal", t)
    if not cs.vanished:
        lg("[SERV  ] Unloading all Corosync service engines.", t)
        lg("[QB    ] withdrawing server sockets", t)
        lg("[SERV  ] Service engine unloaded: corosync vote quorum service v1.0", t)
        lg("[MAIN  ] Corosync Cluster Engine exiting normally", t)
    cs.running = False
    cs.forming_until = None
    cs.members = frozenset()
    cs.quorate = False
    if n.pmxcfs.state == "running" and not n.pmxcfs.local_mode:
        n.cfs_log("[status] notice: node lost quorum", t)
        n.cfs_log("[dcdb] crit: cpg_dispatch failed: 2", t)
        n.cfs_log("[dcdb] crit: cpg_leave failed: 2", t)
        n.cfs_log("[confdb] crit: cmap_dispatch failed: 2", t)
        n.cfs_log("[quorum] crit: quorum_dispatch failed: 2", t)
        n.pmxcfs.synced_members = frozenset()
    world.update_membership(t)


def cluster_reload(world: World, n: SimNode, t: float) -> str | None:
    """``corosync-cfgtool -R`` run on ``n``: every running member of ``n``'s membership reloads
    its own ``/etc/corosync/corosync.conf`` (cfg.c ``message_handler_req_exec_cfg_reload_config``
    is delivered to all members). A node outside the membership keeps what it runs."""
    cs = n.corosync
    if not cs.running:
        return "Could not initialize corosync configuration API error 2"
    err = corosync_reload(world, n, t, requester=n.nodeid)
    for m in world.nodes.values():
        if m is not n and m.corosync.running and m.nodeid in cs.members:
            corosync_reload(world, m, t, requester=n.nodeid)
    return err


def set_expected(world: World, n: SimNode, value: int) -> str | None:
    """``corosync-quorumtool -e`` / ``pvecm expected``: votequorum's checks, then the new value
    for every member of ``n``'s membership; returns the error name or None."""
    world.tick()
    cs = n.corosync
    total = n.total_votes()
    newquorum = max((value + 2) // 2, (total + 2) // 2)
    if value < 1 or value < total or (cs.quorate and newquorum > total):
        return "CS_ERR_INVALID_PARAM"
    configured = max(len(cs.nodes), 1) + cs.qdevice_votes
    for m in world.nodes.values():
        if m.corosync.running and (m is n or m.nodeid in cs.members):
            m.corosync.expected_override = None if value == configured else value
    world.update_membership(world.clock.now())
    return None


def raise_expected(n: SimNode) -> None:
    """votequorum ``recalculate_quorum``: expected votes never stay below the votes present,
    so a value lowered with ``pvecm expected`` is raised again when nodes rejoin."""
    cs = n.corosync
    if cs.expected_override is None:
        return
    total = n.total_votes()
    if total > cs.expected_override:
        configured = max(len(cs.nodes), 1) + cs.qdevice_votes
        cs.expected_override = None if total >= configured else total


def first_sync_refused(world: World, n: SimNode, t: float) -> bool:
    """cmap.c ``cmap_sync_activate`` at ``n``'s first sync with other nodes: when a node it is
    about to join runs a higher ``totem.config_version`` than ``n`` loaded, ``n``'s corosync
    logs "Received config version (%) is different than my config version (%)! Exiting" and
    exits, before any membership with them (so its pmxcfs never syncs and its local
    corosync.conf stays old). Nodes past their first sync carry on. Returns True if ``n``
    exited now."""
    cs = n.corosync
    if not cs.running or not cs.first_sync or not cs.config_version:
        return False
    higher = [m.corosync.config_version for m in world.nodes.values()
              if m is not n and m.corosync.running and world.knet.get((n.name, m.name))
              and world.knet.get((m.name, n.name))
              and m.corosync.config_version > cs.config_version]
    if not higher:
        return False
    n.corosync_log(f"[CMAP  ] Received config version ({max(higher)}) is different than my "
                   f"config version ({cs.config_version})! Exiting", t)
    n.corosync_log("[MAIN  ] Corosync Cluster Engine exiting normally", t)
    cs.running = False
    cs.forming_until = None
    cs.members = frozenset()
    cs.quorate = False
    u = n.units["corosync"]
    u.state, u.result, u.since = "inactive", "success", t
    if n.pmxcfs.state == "running" and not n.pmxcfs.local_mode:
        n.cfs_log("[quorum] crit: quorum_dispatch failed: 2", t)
        n.pmxcfs.synced_members = frozenset()
    for m in world.nodes.values():
        world.knet.pop((n.name, m.name), None)
    return True


def corosync_reload(world: World, n: SimNode, t: float, requester: int | None = None
                    ) -> str | None:
    """One node's reload of its own local corosync.conf (volatile keys; read-only keys need a
    restart). Use :func:`cluster_reload` for what ``corosync-cfgtool -R`` does."""
    cs = n.corosync
    if not cs.running:
        return "Could not initialize corosync configuration API error 2"
    try:
        text = n.host("/etc/corosync/corosync.conf").read_text()
    except OSError:
        return "Reload of the configuration file failed with error CS_ERR_NOT_EXIST"
    from pverunbook.pve.corosync_conf import CorosyncParseError, parse

    try:
        conf = parse(text)
    except CorosyncParseError:
        n.corosync_log("[CFG   ] Cannot load new config file for reload.", t)
        return "Reload of the configuration file failed with error CS_ERR_INVALID_PARAM"
    n.corosync_log("[CFG   ] Config reload requested by node "
                   + str(n.nodeid if requester is None else requester), t)
    ro = {"totem.transport": (conf.get("totem.transport") or "knet", cs.transport),
          "totem.cluster_name": (conf.get("totem.cluster_name") or "", cs.cluster_name),
          "totem.secauth": ("on" if conf.get("totem.secauth") == "on" else "off",
                            "on" if cs.secauth else "off")}
    keep = {}
    for key, (new, old) in ro.items():
        if new != old:
            n.corosync_log(f"[CFG   ] Modified entry '{key}' in corosync.conf cannot be "
                           "changed at run-time", t)
            keep[key] = old
    old_token = cs.token
    transport, name, secauth = cs.transport, cs.cluster_name, cs.secauth
    world._load_runtime(n, text)
    cs.transport, cs.cluster_name, cs.secauth = transport, name, secauth
    if cs.qdevice_blocked:
        # votequorum.c votequorum_readconfig(runtime): logged, the device disabled
        n.corosync_log(f"[VOTEQ ] {cs.qdevice_blocked}", t)
        n.corosync_log("[VOTEQ ] disabling quorum device operations", t)
    if cs.token != old_token:
        n.corosync_log(f"[TOTEM ] Token Timeout ({cs.token} ms) retransmit timeout "
                       f"({int(cs.token / 4.2)} ms)", t)
    n.corosync_log("[KNET  ] pmtud: MTU manually set to: 0", t)
    world.update_membership(t)
    return None
