"""Lossless parser, editor and checker for corosync.conf.

The file is kept as its original lines; the section tree only points into them. Unchanged
files therefore dump back byte for byte, and an edit touches only the lines it must, so the
diff an operator reviews before touching /etc/pve/corosync.conf is as small as possible.

The parser follows corosync 3.1's own (exec/coroparse.c ``parse_section``), checked against
the real ``corosync -t``: comments are whole lines whose first non-blank is ``#`` (a ``#``
after a value is part of the value), a line containing ``{`` opens a section and may hold
nothing after it, then ``key: value`` lines, then a line that is only ``}``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["fatal", "error", "warning"]

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
_UINT_KEYS = frozenset(
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
_UINT_LIMITS = {
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
_ENUMS = {
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
    | {k for k in _UINT_KEYS if not k.startswith(("nodelist.", "totem.interface."))}
)


# Keys a file may hold that `set` refuses to touch (config_version is bumped, the rest are
# corosync 2 leftovers corosync 3 still reads or ignores knowingly).
_KNOWN_IN_FILES = frozenset(("totem.config_version", "totem.rrp_mode", "quorum.device"))


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


_KEY_CHARS = re.compile(r"[A-Za-z0-9._/:-]*")  # icmap_is_valid_name_char
_RING_ADDR = re.compile(r"ring(\d+)_addr")


class CorosyncParseError(ValueError):
    """A file corosync's parser would refuse; ``line`` is 1-based like corosync's message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`validate`; ``fatal`` means real corosync refuses to run."""

    severity: Severity
    key: str
    message: str
    line: int | None = None


@dataclass
class Item:
    key: str
    value: str
    line: int  # 0-based index into CorosyncConf.lines


@dataclass
class Section:
    name: str
    open_line: int | None  # None for the implicit top level
    close_line: int | None = None
    children: list[Item | Section] = field(default_factory=list)

    def sections(self, name: str) -> list[Section]:
        return [c for c in self.children if isinstance(c, Section) and c.name == name]

    def items(self) -> dict[str, Item]:
        """Keys of this section; a repeated key keeps its last value, as corosync does."""
        return {c.key: c for c in self.children if isinstance(c, Item)}


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) if text else []


def _content(raw: str) -> str:
    """Line text as coroparse sees it: no newline, no trailing CR, blanks or tabs."""
    line = raw.rstrip("\n")
    line = line.removesuffix("\r")
    return line.rstrip(" \t")


def _build(lines: list[str]) -> Section:
    root = Section("", None)
    stack = [root]
    for idx, raw in enumerate(lines):
        lineno = idx + 1
        line = _content(raw)
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        cur = stack[-1]
        if "{" in line:
            before, _, after = line.partition("{")
            if after.strip(" \t"):
                raise CorosyncParseError(lineno, "Extra characters after opening bracket '{'")
            name = before.strip(" \t").rstrip(":{ \t")
            if not name:
                raise CorosyncParseError(lineno, "Missing section name before opening bracket '{'")
            sec = Section(name, idx)
            cur.children.append(sec)
            stack.append(sec)
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip(" \t").rstrip(":{ \t")
            path = _path_of(stack, key)
            if _KEY_CHARS.fullmatch(path) is None:
                raise CorosyncParseError(lineno, f'Key name "{path}" contains invalid characters')
            cur.children.append(Item(key, value.lstrip(" \t"), idx))
            continue
        if "}" in line:
            if stripped != "}":
                raise CorosyncParseError(
                    lineno, "Extra characters before or after closing bracket '}'"
                )
            if len(stack) == 1:
                raise CorosyncParseError(lineno, "Unexpected closing brace")
            stack.pop().close_line = idx
            continue
        raise CorosyncParseError(lineno, "Line is not opening or closing section or key value")
    if len(stack) > 1:
        open_line = stack[-1].open_line
        raise CorosyncParseError(
            (open_line or 0) + 1,
            f"Missing closing brace for section '{stack[-1].name}' opened here",
        )
    return root


def _path_of(stack: list[Section], key: str) -> str:
    return ".".join([s.name for s in stack[1:]] + [key])


class CorosyncConf:
    """A parsed corosync.conf that remembers its exact text."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.root = _build(lines)

    # --- reading -------------------------------------------------------------------------

    def dump(self) -> str:
        return "".join(self.lines)

    def copy(self) -> CorosyncConf:
        return CorosyncConf(list(self.lines))

    def _section(self, names: list[str]) -> Section | None:
        sec: Section | None = self.root
        for name in names:
            found = sec.sections(name) if sec else []
            sec = found[0] if found else None
        return sec

    def item(self, path: str) -> Item | None:
        """The Item for a dotted path (first section of each name, last repeat of the key)."""
        *secs, key = path.split(".")
        sec = self._section(secs)
        return sec.items().get(key) if sec else None

    def get(self, path: str) -> str | None:
        it = self.item(path)
        return it.value if it else None

    def line_of(self, path: str) -> int | None:
        """1-based line of a key, or of the section for a section path."""
        it = self.item(path)
        if it:
            return it.line + 1
        sec = self._section(path.split("."))
        return sec.open_line + 1 if sec and sec.open_line is not None else None

    def nodes(self) -> list[dict[str, str]]:
        nodelist = self._section(["nodelist"])
        if nodelist is None:
            return []
        return [{k: it.value for k, it in n.items().items()} for n in nodelist.sections("node")]

    def node_sections(self) -> list[Section]:
        nodelist = self._section(["nodelist"])
        return nodelist.sections("node") if nodelist else []

    @property
    def config_version(self) -> int | None:
        value = self.get("totem.config_version")
        return int(value) if value is not None and value.isdigit() else None

    # --- editing -------------------------------------------------------------------------

    def _reparse(self) -> None:
        self.root = _build(self.lines)

    def _indent_unit(self) -> str:
        for raw in self.lines:
            m = re.match(r"[ \t]+", raw)
            if m and _content(raw).strip():
                return m.group(0)
        return "  "

    def _newline(self) -> str:
        return "\r\n" if self.lines and self.lines[0].endswith("\r\n") else "\n"

    def _child_indent(self, sec: Section) -> str:
        for child in sec.children:
            line = child.line if isinstance(child, Item) else child.open_line
            if line is not None:
                raw = self.lines[line]
                return raw[: len(raw) - len(raw.lstrip(" \t"))]
        if sec.open_line is None:
            return ""
        raw = self.lines[sec.open_line]
        return raw[: len(raw) - len(raw.lstrip(" \t"))] + self._indent_unit()

    def _insert_at(self, sec: Section) -> int:
        """Index where a new child of ``sec`` goes: before its closing brace, or at EOF."""
        if sec.close_line is not None:
            return sec.close_line
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += self._newline()
        return len(self.lines)

    def ensure_section(self, names: list[str]) -> Section:
        """The section at ``names``, appending any missing level (edits re-parse the tree)."""
        for depth in range(1, len(names) + 1):
            if self._section(names[:depth]) is None:
                parent = self._section(names[: depth - 1])
                assert parent is not None
                self.add_section(parent, names[depth - 1], {})
        found = self._section(names)
        assert found is not None
        return found

    def add_section(self, parent: Section, name: str, items: dict[str, str]) -> None:
        """Append a new section with ``items`` at the end of ``parent``."""
        indent, unit, nl = self._child_indent(parent), self._indent_unit(), self._newline()
        new = [f"{indent}{name} {{{nl}"]
        new += [f"{indent}{unit}{k}: {v}{nl}" for k, v in items.items()]
        new.append(f"{indent}}}{nl}")
        at = self._insert_at(parent)
        self.lines[at:at] = new
        self._reparse()

    def set_in(self, sec: Section, key: str, value: str) -> None:
        """Set ``key`` in one given section (needed for repeated sections like node)."""
        it = sec.items().get(key)
        if it is not None:
            raw = self.lines[it.line]
            body = raw.rstrip("\r\n")
            nl = raw[len(body) :]
            colon = body.index(":")
            rest = body[colon + 1 :]
            gap = rest[: len(rest) - len(rest.lstrip(" \t"))] or " "
            self.lines[it.line] = f"{body[: colon + 1]}{gap}{value}{nl}"
        else:
            at = self._insert_at(sec)
            self.lines.insert(at, f"{self._child_indent(sec)}{key}: {value}{self._newline()}")
        self._reparse()

    def set(self, path: str, value: str) -> None:
        """Set a dotted key, creating missing sections; edits only the affected line."""
        if "\n" in value or "\r" in value:
            raise ValueError("corosync values cannot span lines")
        *secs, key = path.split(".")
        if not secs:
            raise ValueError(f"{path!r}: corosync keys live inside a section, e.g. totem.{path}")
        self.set_in(self.ensure_section(secs), key, value)

    def unset(self, path: str) -> bool:
        """Remove every occurrence of a key in its section; True if something was removed."""
        *secs, key = path.split(".")
        sec = self._section(secs)
        if sec is None:
            return False
        drop = [c.line for c in sec.children if isinstance(c, Item) and c.key == key]
        for line in sorted(drop, reverse=True):
            del self.lines[line]
        self._reparse()
        return bool(drop)


def parse(text: str) -> CorosyncConf:
    """Parse corosync.conf text; raises CorosyncParseError where corosync would refuse it."""
    return CorosyncConf(_split_lines(text))


def bump_version(conf: CorosyncConf) -> CorosyncConf:
    """Increment totem.config_version in place and return ``conf`` for chaining.

    pve-docs: "omitting this can lead to problems" - pmxcfs only propagates a higher version.
    For an untouched original use ``set_totem(conf, {})``, which bumps a copy.
    """
    current = conf.config_version
    conf.set("totem.config_version", str((current or 0) + 1))
    return conf


def _totem_path(key: str) -> str:
    return key if "." in key else f"totem.{key}"


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


# --- checks ------------------------------------------------------------------------------


def _int(conf: CorosyncConf, path: str) -> int | None:
    value = conf.get(path)
    return int(value) if value is not None and value.isdigit() else None


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
            m = _RING_ADDR.fullmatch(key)
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
                and path not in _KNOWN_IN_FILES:
            try:
                check_settable(path)
            except UnknownKeyError as exc:
                near = f"; did you mean {exc.suggestion}?" if exc.suggestion else ""
                add("warning", path, f"{path} is not a corosync key: corosync ignores it "
                    f"silently, so it has no effect{near}", it.line + 1)
        if path in _UINT_KEYS or path == "totem.config_version":
            wide = path == "totem.config_version"
            limit = _UINT_LIMITS.get(path, 2**64 - 1 if wide else 2**32 - 1)
            if not it.value.isdigit() or int(it.value) > limit:
                hint = " (a '#' comment must be on its own line)" if "#" in it.value else ""
                add(
                    "fatal",
                    path,
                    f'{path} must be a whole number 0..{limit}, not "{it.value}"{hint}',
                    it.line + 1,
                )
        if path in _ENUMS and it.value not in _ENUMS[path]:
            add(
                "fatal",
                path,
                f"{path} is {it.value!r}; corosync only accepts {', '.join(_ENUMS[path])}",
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
        count = sum(1 for k in items if _RING_ADDR.fullmatch(k))
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
            if ln is not None and ln.value.isdigit():
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
        add("warning", "quorum.two_node", "two_node is ignored with more than two nodes")

    # Against the running/previous config.
    if previous is not None:
        old_v, new_v = previous.config_version, conf.config_version
        if old_v is not None and (new_v is None or new_v <= old_v):
            add(
                "error",
                "totem.config_version",
                f"config_version was not increased ({old_v} -> {new_v}); pmxcfs will not copy "
                "the file to /etc/corosync/corosync.conf (or logs 'local corosync.conf is newer')",
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
