"""What corosync 3.1 accepts key by key: defaults, number ranges, enums, what is settable.

Read off coroparse.c, totemconfig.c and cfg.c (corosync 3.1) and corosync.conf(5) /
votequorum(5); the checks (``checks.py``) and the editor (``edits.py``) both use these tables.
"""

from __future__ import annotations

import difflib
import re

DEFAULT_TOKEN_MS = 3000  # corosync >= 3.1.0 (1000 in 2.x/3.0.x)
DEFAULT_TOKEN_COEFFICIENT_MS = 650
DEFAULT_JOIN_MS = 50
DEFAULT_MERGE_MS = 200
DEFAULT_DOWNCHECK_MS = 1000
DEFAULT_RETRANSMITS_BEFORE_LOSS = 4
MINIMUM_TIMEOUT_MS = 30  # totemconfig.c MINIMUM_TIMEOUT: (1000/HZ)*3
MINIMUM_TIMEOUT_HOLD_MS = 14  # totemconfig.c: MINIMUM_TIMEOUT * 0.8 - 1000/HZ
HZ_MS = 10  # 1000/HZ with HZ=100

# Keys corosync stores as unsigned integers (coroparse.c main_config_parser_cb); any other
# text, including a trailing "# comment", makes corosync refuse the file.
UINT_KEYS = frozenset(
    f"totem.{k}"
    for k in [
        "version",
        "nodeid",
        "threads",
        "token",
        "token_coefficient",
        "token_retransmit",
        "hold",
        "token_retransmits_before_loss_const",
        "join",
        "send_join",
        "consensus",
        "merge",
        "downcheck",
        "fail_recv_const",
        "seqno_unchanged_const",
        "rrp_token_expired_timeout",
        "rrp_problem_count_timeout",
        "rrp_problem_count_threshold",
        "rrp_problem_count_mcast_threshold",
        "rrp_autorecovery_check_timeout",
        "heartbeat_failures_allowed",
        "max_network_delay",
        "window_size",
        "max_messages",
        "miss_count_const",
        "netmtu",
        "token_warning",
        "knet_pmtud_interval",
        "knet_mtu",
        "knet_compression_threshold",
    ]
) | frozenset(
    (
        "quorum.expected_votes",
        "quorum.votes",
        "quorum.last_man_standing_window",
        "quorum.leaving_timeout",
        "quorum.two_node",
        "quorum.expected_votes_tracking",
        "quorum.allow_downscale",
        "quorum.wait_for_all",
        "quorum.auto_tie_breaker",
        "quorum.last_man_standing",
        "quorum.device.timeout",
        "quorum.device.sync_timeout",
        "quorum.device.votes",
        "quorum.device.master_wins",
        "totem.interface.linknumber",
        "totem.interface.ringnumber",
        "totem.interface.mcastport",
        "totem.interface.ttl",
        "totem.interface.knet_link_priority",
        "totem.interface.knet_ping_interval",
        "totem.interface.knet_ping_timeout",
        "totem.interface.knet_ping_precision",
        "totem.interface.knet_pong_count",
        "nodelist.node.nodeid",
        "nodelist.node.quorum_votes",
    )
)
UINT_LIMITS = {
    "quorum.two_node": 255,
    "quorum.expected_votes_tracking": 255,
    "quorum.allow_downscale": 255,
    "quorum.wait_for_all": 255,
    "quorum.auto_tie_breaker": 255,
    "quorum.last_man_standing": 255,
    "quorum.device.master_wins": 255,
    "totem.interface.ringnumber": 255,
    "totem.interface.linknumber": 255,
    "totem.interface.ttl": 255,
    "totem.interface.knet_link_priority": 255,
    "totem.interface.mcastport": 65535,
}
ENUMS = {
    "totem.transport": ("knet", "udpu", "udp"),
    "totem.ip_version": ("ipv4", "ipv6", "ipv4-6", "ipv6-4"),
    "totem.link_mode": ("active", "passive", "rr"),
    "totem.crypto_cipher": ("none", "aes256", "aes192", "aes128"),
    "totem.crypto_hash": ("none", "md5", "sha1", "sha256", "sha384", "sha512"),
}

# corosync cfg.c remove_ro_entries (3.1.x, built with knet crypto reconfiguration, so the
# crypto_* keys are not in it): a reload logs "cannot be changed at run-time" and keeps the
# old value until corosync is restarted on every node.
RUNTIME_READONLY = frozenset(
    (
        "totem.secauth",
        "totem.version",
        "totem.threads",
        "totem.ip_version",
        "totem.rrp_mode",
        "totem.netmtu",
        "totem.interface.ringnumber",
        "totem.interface.bindnetaddr",
        "totem.interface.mcastaddr",
        "totem.interface.broadcast",
        "totem.interface.mcastport",
        "totem.interface.ttl",
        "totem.vsftype",
        "totem.transport",
        "totem.cluster_name",
        "quorum.provider",
        "qb.ipc_type",
    )
)

# Keys `corosync set` / the corosync-edit action may set, from corosync.conf(5) and
# votequorum(5) of corosync 3.1 (totem and interface keys, quorum, logging). A key outside
# these is a typo corosync would silently ignore (`tokn: 5000` leaves the token at 3000 ms),
# so editing refuses it and suggests the nearest known key.
SETTABLE_KEYS = (
    frozenset(
        f"totem.{k}"
        for k in (
            "cluster_name", "ip_version", "crypto_model", "crypto_cipher", "crypto_hash",
            "secauth", "link_mode", "knet_compression_model", "knet_compression_level",
            "transport", "clear_node_high_bit", "cancel_token_hold_on_retransmit",
            "block_unlisted_ips", "vsftype", "keyfile", "heartbeat_failures_allowed",
            "max_network_delay", "window_size",
        )
    )
    | frozenset(
        f"quorum.{k}"
        for k in ("provider", "auto_tie_breaker_node", "device.model", "device.net.host",
                  "device.net.algorithm", "device.net.tls", "device.net.port")
    )
    | frozenset(
        f"logging.{k}"
        for k in ("debug", "to_syslog", "to_stderr", "to_logfile", "logfile", "timestamp",
                  "fileline", "function_name", "syslog_facility", "syslog_priority",
                  "logfile_priority", "blackbox")
    )
    | {k for k in UINT_KEYS if not k.startswith(("nodelist.", "totem.interface."))}
)


# Keys a file may hold that `set` refuses to touch (config_version is bumped, the rest are
# corosync 2 leftovers corosync 3 still reads or ignores knowingly).
KNOWN_IN_FILES = frozenset(("totem.config_version", "totem.rrp_mode", "quorum.device"))


def _totem_path(key: str) -> str:
    return key if "." in key else f"totem.{key}"


class UnknownKeyError(ValueError):
    """A key corosync does not know; ``suggestion`` is the nearest known one, if any."""

    def __init__(self, key: str, suggestion: str | None) -> None:
        self.key = key
        self.suggestion = suggestion
        hint = f"; did you mean '{suggestion}'?" if suggestion else \
            " (see corosync.conf(5) and votequorum(5) for the keys)"
        super().__init__(f"unknown key '{key}': corosync has no {_totem_path(key)}{hint}")


def check_settable(key: str) -> str:
    """The dotted path of ``key`` (``token`` -> ``totem.token``) if corosync knows it.

    Raises UnknownKeyError naming the nearest known key (``tokn`` -> ``token``), and
    ValueError for config_version (bumped automatically). Short names mean totem keys.
    """
    path = _totem_path(key)
    if path == "totem.config_version":
        raise ValueError("config_version is bumped automatically; do not set it")
    if path in SETTABLE_KEYS:
        return path
    short = {k.removeprefix("totem."): k for k in SETTABLE_KEYS}
    pool = list(short) if "." not in key else sorted(SETTABLE_KEYS)
    close = difflib.get_close_matches(key, pool, n=1, cutoff=0.6)
    raise UnknownKeyError(key, close[0] if close else None)


#: A node's address on knet link N (``ring0_addr`` … ``ring7_addr``).
RING_ADDR = re.compile(r"ring(\d+)_addr")
