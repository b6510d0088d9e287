"""corosync log lines (``journalctl -u corosync``, ``systemctl status``, syslog, corosync.log).

Message texts come from corosync exec/totemsrp.c, exec/vsf_quorum.c, exec/main.c and
kronosnet's libknet (prefixed with the subsystem by totemknet.c); domain.md section 7. Both
corosync 3 (knet) and corosync 2 (``A new membership (10.0.0.1:1928)``, RRP ``Marking ringid 0
interface … FAULTY``) are understood.

As people paste logs, three more shapes appear and are read here:

- lines cut at the terminal width (``… forming new configuration: tok>``): an event is counted
  when the visible start names exactly one kind (see :data:`TEMPLATES`), never guessed;
- rsyslog's ``message repeated 5 times: [ … ]`` stands for five more copies of a line;
- lines wrapped by a mail client: a line without a timestamp continues the one before.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pverunbook.pve.outputs.text import clean, cut_at_width

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
#: journalctl prints the month with strftime's %b, which follows LC_TIME: a node set up in
#: Dutch writes "aug 03 18:36:51", in French "oct. 26 10:47:56" (the English abbreviations in
#: lower case, with a dot).  Those are read; other locales' names ("mei", "Okt") are not.
_SYSLOG_TS = re.compile(
    r"^([A-Za-z]{3})\.?\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s")
_ISO_TS = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s"
)
_BASE_YEAR = 2000  # leap year, so "Feb 29" parses; syslog lines carry no year


#: Some collectors print the program before the time: "corosync Oct 09 14:30:23 notice  [QB ...".
_IDENT_FIRST = re.compile(r"^[a-z][\w.-]{0,30}(?:\[\d{1,10}\])?:?\s+(?=[A-Z][a-z]{2}\s+\d)")


def parse_timestamp(line: str, year: int = _BASE_YEAR) -> datetime | None:
    """Timestamp at the start of a syslog/journal line (``Nov 25 10:33:02`` or ISO 8601).

    A program name in front of a syslog stamp (``corosync Oct 09 14:30:23 ...``) is skipped.
    """
    line = _IDENT_FIRST.sub("", line, count=1)
    m = _SYSLOG_TS.match(line)
    if m and m.group(1).capitalize() in _MONTHS:
        micro = int((m.group(6) or "0")[:6].ljust(6, "0"))
        try:
            return datetime(
                year,
                _MONTHS[m.group(1).capitalize()],
                int(m.group(2)),
                int(m.group(3)),
                int(m.group(4)),
                int(m.group(5)),
                micro,
            )
        except ValueError:  # "Feb 31 25:61:00" is no time
            return None
    m = _ISO_TS.match(line)
    if m:
        ts = m.group(1).replace(",", ".").replace(" ", "T")
        ts = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", ts).replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(ts)
            if parsed.tzinfo is not None:  # compare as naive UTC; syslog stamps carry no zone
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None
        return parsed
    return None


@dataclass(frozen=True)
class LogEvent:
    kind: str
    time: datetime | None
    lineno: int
    text: str
    host: int | None = None
    link: int | None = None
    count: int | None = None  # members in "Members[N]", ms in "Token has not been received"
    #: How many times the line stands for (rsyslog "message repeated N times" adds N).
    repeats: int = 1
    truncated: bool = False  # read from the visible start of a line cut at the terminal width
    joined: tuple[int, ...] = ()  # nodeids in "Members joined: 2 3"
    left: tuple[int, ...] = ()  # nodeids in "left: 1" / "Failed to receive the leave message"


#: Event kinds and the message they come from. ``{name}`` is a field; ``|`` marks how much of a
#: message must be visible on a cut line to be sure of the kind (the whole message without it).
TEMPLATES: list[tuple[str, str]] = [
    ("token_not_received", "Token has not been| received in {count} ms"),
    ("processor_failed", "A processor failed|, forming new configuration"),
    ("link_down", "link: host: {host} link: {link} is d|own"),
    ("link_up", "rx: host: {host} link: {link} is u|p"),
    ("link_up", "heartbeat: host: {host} link: {link} is u|p"),
    ("no_active_links", "host: host: {host} has no| active links"),
    ("members", "Members[{count}]:|"),
    ("retransmit", "Retransmit List|:"),
    ("new_membership", "A new membership|"),
    ("new_membership", "A processor joined or left the membership|"),
    ("failed_leave", "Failed to receive the l|eave message. failed: {rest}"),
    # vsf_quorum.c: "...within the primary component..." / "...within the non-primary..."
    ("quorum_lost", "This node is within the n|on-primary component"),
    ("quorum_regained", "This node is within the p|rimary component"),
    ("failed_to_receive", "FAILED TO RECEIVE|"),
    ("ring_faulty", "Marking ringid {link} interface {addr} FAULTY|"),
    ("ring_recovered", "Automatically recovered ring {link}|"),
    ("not_scheduled", "Corosync main process was not scheduled| for {ms} ms"),
    ("shutdown", "Corosync Cluster Engine exiting|"),
    # this node's own corosync stopping (main.c: a signal, or cfg's shutdown request, then
    # corosync_service_unlink_all): knet tears its links down on the way out and may log
    # "has no active links" for a peer before "exiting normally"
    ("stopping", "Unloading all Corosync service engines|"),
    ("stopping", "Node was shut down by a signal|"),
    ("startup", "Corosync Cluster Engine {rest} starting up|"),
    ("startup", "Corosync Cluster Engine ({rest}): started|"),
    # service.c logs each service it links in, only while corosync starts: a log that begins
    # after the "starting up" line still shows the start-up by these.
    ("startup", "Service engine loaded: |"),
    # cfg.c, when a peer leaves through `corosync-cfgtool -H` / a clean `systemctl stop`: its
    # leave and its links going down after this are the admin's doing, not a fault.
    ("admin_shutdown", "Node {host} was shut down by sysadmin|"),
    # Logged only while corosync starts, and at priority warning or higher, so they remain in a
    # log pulled with `journalctl -p warning` that lost the "starting up" line: wd.c's
    # watchdog set-up, and systemd's own line about the unit (its COROSYNC_OPTIONS default).
    ("startup", "Watchdog not enabled by configuration|"),
    ("startup", "resource {rest} missing a recovery key|"),
    ("startup", "corosync.service: Referenced but unset| environment variable"),
    ("startup", "Starting corosync.service|"),
    ("startup", "Starting Corosync Cluster Engine|"),
    # The running configuration changed. cfg.c message_handler_req_exec_cfg_reload_config logs
    # the request on every node (`corosync-cfgtool -R` reloads cluster-wide; pmxcfs runs it
    # after each corosync.conf change, dcdb.c), then one of its error lines if the new file
    # was refused (the running values stay). totemconfig.c configure_totem_links logs
    # "Configuring link N" when a configuration is made live: at start (totemsrp.c, once the
    # interface is up) and at the end of a successful reload (totemconfig_commit_new_params).
    ("config_reload", "Config reload requested by node {host}|"),
    ("config_applied", "Configuring link {link}|"),
    ("reload_failed", "Unable to reload config file|"),
    ("reload_failed", "Unable to create temporary icmap|"),
    ("reload_failed", "Cannot configure new interface definitions|"),
    ("reload_failed", "Crypto configuration is not valid|"),
    ("reload_failed", "Configuration is not valid|"),
    ("reload_failed", "Error making new config live|"),
    ("reload_failed", "Crypto reconfiguration is not supported|"),
    # knet (libknet/links.c, via totemknet.c): the link knet sends on after a change.
    ("best_link", "host: host: {host} ({rest}) best link: {link}|"),
    # pmxcfs (pve-cluster src/pmxcfs): its own view of quorum, of its corosync CPG messages and
    # of the resync after a membership change; "syncronisation" is pmxcfs's own spelling.
    ("pmxcfs_quorum_lost", "node lost quorum|"),  # status.c
    ("pmxcfs_quorum_ok", "node has quorum|"),  # status.c
    ("pmxcfs_send_failed", "cpg_send_message failed|"),  # dfsm.c dfsm_send_message_full
    ("pmxcfs_send_retried", "cpg_send_message retr|"),  # dfsm.c ("retried N times", "retry N")
    ("pmxcfs_wrong_member", "ignore sync request from wrong member|"),  # dfsm.c
    ("pmxcfs_sync", "starting data syncronisation|"),  # dfsm.c
    ("pmxcfs_synced", "all data is up to date|"),  # dfsm.c
    # dfsm.c dfsm_cpg_deliver_callback: the hourly check (service_dfsm_timer ->
    # dfsm_verify_request) that this node's database has the leader's checksum, and its failure
    # (pmxcfs then leaves the CPG group and resyncs).
    ("pmxcfs_verified", "data verification successful|"),
    ("pmxcfs_wrong_checksum", "wrong checksum {rest} - restarting|"),
    ("pmxcfs_db_failed", "DB load failed|"),  # database.c bdb_backend_load
    ("pmxcfs_db_failed", "memdb_open failed|"),  # pmxcfs.c main
    ("pmxcfs_conf_newer", "local corosync.conf is newer|"),  # dcdb.c
    ("pmxcfs_write_not_quorate", "received write while not quorate|"),  # dcdb.c
    ("pmxcfs_no_corosync", "cpg_initialize failed|"),  # dfsm.c
    ("pmxcfs_no_corosync", "quorum_initialize failed|"),  # quorum.c
    ("pmxcfs_no_corosync", "cmap_initialize failed|"),  # confdb.c
    # dfsm.c dfsm_cpg_confchg_callback: "[dcdb] notice: members: 1/1234, 2/5678" — pmxcfs is
    # in its CPG group, i.e. connected to corosync.
    ("pmxcfs_members", "members: {host}/|"),
    # A program whose write into /etc/pve failed (pve-ha-lrm/-crm "unable to write ... status
    # file - unable to open file '/etc/pve/...' - Permission denied"): EACCES is pmxcfs
    # refusing writes without quorum (dcdb.c dcdb_send_fuse_message), EBUSY a write that
    # could not go through corosync (its default result there).
    ("pve_write_denied", "unable to {rest}/etc/pve/{rest2} - Permission denied|"),
    ("pve_write_busy", "unable to {rest}/etc/pve/{rest2} - Device or resource busy|"),
]

#: Kinds that come from pmxcfs (and programs writing /etc/pve), not from corosync.
PMXCFS_KINDS = frozenset(k for k, _ in TEMPLATES if k.startswith(("pmxcfs_", "pve_write_")))

_FIELD = {"host": r"\d{1,10}", "link": r"\d{1,3}", "count": r"\d{1,9}", "addr": r"\S+",
          "rest": r".*", "rest2": r".*", "ms": r"\d{1,9}(?:\.\d{1,6})?"}
_PART = re.compile(r"\{(\w+)\}|\||[^{|]+")


def _parts(template: str) -> list[tuple[str, str]]:
    """("lit", text) | ("field", name) | ("key", "") parts of a template."""
    out: list[tuple[str, str]] = []
    for m in _PART.finditer(template):
        if m.group(1):
            out.append(("field", m.group(1)))
        elif m.group(0) == "|":
            out.append(("key", ""))
        else:
            out.append(("lit", m.group(0)))
    return out


def _regex(parts: list[tuple[str, str]]) -> re.Pattern[str]:
    body = "".join(
        re.escape(v) if k == "lit" else (f"(?P<{v}>{_FIELD[v]})" if k == "field" else "")
        for k, v in parts
    )
    return re.compile(body)


_COMPILED = [(kind, _parts(t), _regex(_parts(t))) for kind, t in TEMPLATES]
_TAG = re.compile(r"\[[A-Z]{2,8}\s*\]\s*")


def _prefix_match(parts: list[tuple[str, str]], msg: str,
                  need_key: bool = True) -> dict[str, str | None] | None:
    """Fields of a template whose start is ``msg`` (a cut message), or None.

    The visible text must reach the template's ``|`` key (or its end when it has none) unless
    ``need_key`` is false; a field cut by the terminal width is returned as None.
    """
    pos = 0
    fields: dict[str, str | None] = {}
    has_key = any(k == "key" for k, _ in parts)
    key_seen = not need_key
    for kind, value in parts:
        if kind == "key":
            key_seen = True
            continue
        rest = msg[pos:]
        if kind == "lit":
            if rest.startswith(value):
                pos += len(value)
                continue
            if value.startswith(rest):  # the message was cut inside this literal
                return fields if key_seen else None
            return None
        m = re.compile(_FIELD[value]).match(msg, pos)
        if not m:
            return None
        if m.end() >= len(msg):  # cut inside (or right after) the field: value unknown
            fields[value] = None
            return fields if key_seen else None
        fields[value] = m.group(0)
        pos = m.end()
    return fields if (key_seen or not has_key) else None


def _message(line: str) -> str:
    """The message part of a log line: after the ``[TOTEM ]`` tag, else after ``prog[pid]:``."""
    m = _TAG.search(line)
    if m:
        return line[m.end():]
    m = re.search(r"\w\[\d+\]:\s*", line)
    return line[m.end():] if m else line


def classify(line: str, cut: bool = False) -> tuple[str, dict[str, str | None]] | None:
    """(kind, fields) of one corosync log line, or None.

    A whole line is searched for every template. A line cut at the terminal width (``cut``)
    counts only if its visible start fits exactly one kind and reaches that kind's key.
    """
    if not cut:
        for kind, _, rx in _COMPILED:
            m = rx.search(line)
            if m:
                return kind, dict(m.groupdict())
        return None
    msg = _message(line)
    found: dict[str, dict[str, str | None]] = {}
    for kind, parts, rx in _COMPILED:
        m = rx.search(msg)
        fields = dict(m.groupdict()) if m else _prefix_match(parts, msg)
        if fields is not None:
            found.setdefault(kind, fields)
    if len(found) == 1:
        return next(iter(found.items()))
    return None


_PMXCFS = re.compile(r"\bpmxcfs\[\d{1,10}\]:")
_REPEATED = re.compile(r"message repeated (\d{1,9}) times?: \[\s*(.*?)\s*\]?\s*$")
_NODE_LIST = r"((?:\s+\d{1,10})+)"


@dataclass
class JournalSummary:
    events: list[LogEvent] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    #: Lines that look like log lines (a timestamp, a corosync tag or ``corosync[pid]``).
    log_lines: int = 0
    corosync_lines: int = 0  # lines from corosync itself (tagged or corosync[pid])
    pmxcfs_lines: int = 0  # lines from pmxcfs (``pmxcfs[pid]:``), the daemon of pve-cluster
    cut_lines: int = 0  # lines cut at the terminal width
    unreadable_cut: list[int] = field(default_factory=list)  # cut lines too short to tell
    no_entries: bool = False  # journalctl's "-- No entries --"
    suppressed: int = 0  # journald rate limit: "Suppressed N messages from corosync.service"

    @property
    def counts(self) -> Counter[str]:
        """Events per kind, counting rsyslog repeats."""
        c: Counter[str] = Counter()
        for e in self.events:
            c[e.kind] += e.repeats
        return c

    def link_downs(self) -> Counter[tuple[int, int]]:
        """How often each (host, link) went down, leaving out the downs that follow the host's
        own clean shutdown (see :meth:`shut_down_at`) and those of this node's own stop."""
        c: Counter[tuple[int, int]] = Counter()
        # this node's own stop ("Unloading all Corosync service engines" up to the next
        # start): knet tears every link down on the way out, not the network
        stopping = False
        for e in self.events:
            if e.kind in ("stopping", "startup"):
                stopping = e.kind == "stopping"
            elif (e.kind == "link_down" and not stopping and e.host is not None
                    and e.link is not None and self.shut_down_at(e.host, e.lineno) is None):
                c[(e.host, e.link)] += e.repeats
        return c

    def shut_down_at(self, host: int, lineno: int) -> LogEvent | None:
        """The line that explains an event of ``host`` at ``lineno`` as that node's own clean
        stop: the last "Node N was shut down by sysadmin" (cfg.c, `corosync-cfgtool -H`, the
        ExecStop of Debian's corosync.service) or membership it left cleanly
        (:meth:`left_cleanly`) before it, unless a link to the host came up since."""
        found: LogEvent | None = None
        for e in self.events:
            if e.lineno >= lineno:
                break
            if e.kind == "new_membership" and host in e.left and self.left_cleanly(e, host):
                found = e
                continue
            if e.host != host:
                continue
            if e.kind == "admin_shutdown":
                found = e
            elif e.kind == "link_up":
                found = None
        return found

    def left_cleanly(self, membership: LogEvent, host: int) -> bool:
        """``host`` left in ``membership`` (``Members left: N``) by sending its leave message:
        corosync stopped on it (SIGTERM, `systemctl stop`, a reboot), it was not cut off.

        totemsrp.c ``memb_state_operational_enter`` logs "A new membership (...) was formed.
        Members left: N" and, at once after it, "Failed to receive the leave message. failed:
        N" for every member that left without a leave message it received
        (``my_leave_memb_match``): a node that vanished (the network, a crash) is always
        named there. So a leaver is clean when the log goes on after the membership line and
        no such line names it before the next membership (a cut one that hides its ids names
        them all); the log ending on the membership line says nothing either way. Never clean:
        a node that left and joined in the same membership (it was lost and merged back), or
        a leave after a lost token ("A processor failed") since the membership before: an
        excerpt may have left its failed-leave line out, the token loss says enough.
        """
        return host in self._clean_leaves().get(membership.lineno, frozenset())

    def _clean_leaves(self) -> dict[int, frozenset[int]]:
        """Line number of each membership → the nodes that left it cleanly (cached)."""
        key = len(self.events)
        cached = self.__dict__.get("_clean_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        out: dict[int, frozenset[int]] = {}
        open_: tuple[int, set[int]] | None = None
        went_on = False  # an event came after the open membership line
        lost = False  # a token timed out since the membership before
        for e in self.events:
            if e.kind == "processor_failed":
                lost = True
            if e.kind == "new_membership":
                if open_ is not None and went_on:
                    out[open_[0]] = frozenset(open_[1])
                clean = set() if e.truncated or lost else set(e.left) - set(e.joined)
                open_, went_on, lost = (e.lineno, clean), False, False
                continue
            if open_ is None:
                continue
            went_on = True
            if e.kind == "failed_leave":
                if e.left:
                    open_[1].difference_update(e.left)
                else:
                    open_[1].clear()  # cut at the width: which ones is not known
        if open_ is not None and went_on:
            out[open_[0]] = frozenset(open_[1])
        self.__dict__["_clean_cache"] = (key, out)
        return out

    def config_loaded(self) -> LogEvent | None:
        """The last line saying corosync (re)loaded the configuration it runs now: a start-up,
        a successful reload (``Config reload requested`` not followed by one of cfg.c's error
        lines before the next event of its kind) or ``Configuring link N``; None when the log
        shows none (the running configuration is older than the log)."""
        found: LogEvent | None = None
        reload: LogEvent | None = None
        for e in self.events:
            if e.kind == "config_reload":
                if reload is not None:
                    found = reload  # the one before succeeded: nothing refused it
                reload = e
            elif e.kind == "reload_failed":
                reload = None
            elif e.kind in ("startup", "config_applied"):
                found, reload = e, None
        return reload if reload is not None else found

    def link_downs_after(self, lineno: int) -> Counter[tuple[int, int]]:
        """:meth:`link_downs` of the lines after ``lineno`` only."""
        c: Counter[tuple[int, int]] = Counter()
        for e in self.events:
            if (e.kind == "link_down" and e.host is not None and e.link is not None
                    and e.lineno > lineno and self.shut_down_at(e.host, e.lineno) is None):
                c[(e.host, e.link)] += e.repeats
        return c

    @property
    def span_s(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return (self.last - self.first).total_seconds()


def _unwrap(lines: list[str]) -> list[tuple[int, str]]:
    """Join lines a mail client wrapped back onto the timestamped line they continue."""
    stamped = sum(1 for ln in lines if parse_timestamp(ln) is not None)
    out: list[tuple[int, str]] = []
    for lineno, line in enumerate(lines, 1):
        if (
            stamped
            and out
            and line.strip()
            and parse_timestamp(line) is None
            and parse_timestamp(out[-1][1]) is not None
            and not line.lstrip().startswith(("--", "●", "Loaded:", "Active:"))
            and not re.match(r"\s*\S+@\S+[:~ ].*[#$]\s", line)  # a shell prompt
            and not cut_at_width(out[-1][1])[1]
        ):
            out[-1] = (out[-1][0], out[-1][1].rstrip() + " " + line.strip())
            continue
        out.append((lineno, line))
    return out


def parse_corosync_log(text: str, window_s: float | None = None) -> JournalSummary:
    """Classify corosync log/journal lines; with ``window_s`` keep only the last N seconds.

    The window ends at the newest timestamp in the text (the moment it was captured), which
    keeps the function pure. Syslog stamps have no year: a month going backwards is read as a
    new year so December-to-January logs stay in order. Never raises on odd text.
    """
    raw_events: list[LogEvent] = []
    year, last_month = _BASE_YEAR, 0
    stamps: list[datetime] = []
    summary = JournalSummary()
    for lineno, line in _unwrap(clean(text).splitlines()):
        stripped = line.strip()
        if stripped == "-- No entries --":
            summary.no_entries = True
            continue
        m = re.search(r"Suppressed (\d{1,9}) messages from corosync", line)
        if m:
            summary.suppressed += int(m.group(1))
        ts = parse_timestamp(line, year)
        if ts is not None and _SYSLOG_TS.match(line):
            if ts.month < last_month:
                year += 1
                ts = ts.replace(year=year)
            last_month = ts.month
        if ts is not None:
            stamps.append(ts)
        is_corosync = bool(_TAG.search(line)) or "corosync" in line
        if ts is not None or is_corosync:
            summary.log_lines += 1
        if is_corosync:
            summary.corosync_lines += 1
        if _PMXCFS.search(line):
            summary.pmxcfs_lines += 1
        repeats = 1
        m = _REPEATED.search(line)
        if m:  # rsyslog: the previous message N more times
            repeats, line = int(m.group(1)), m.group(2)
        visible, cut = cut_at_width(line)
        if cut:
            summary.cut_lines += 1
        found = classify(visible, cut)
        if found is None:
            if cut and is_corosync and _could_be_event(visible):
                summary.unreadable_cut.append(lineno)
            continue
        kind, fields = found
        raw_events.append(_event(kind, fields, ts, lineno, line.strip(), repeats, cut))
    if not stamps:
        summary.events = raw_events
        return summary
    end = max(stamps)
    start = end - timedelta(seconds=window_s) if window_s is not None else min(stamps)
    summary.events = [e for e in raw_events if e.time is None or e.time >= start]
    summary.first = start if window_s is not None else min(stamps)
    summary.last = end
    return summary


def _could_be_event(visible: str) -> bool:
    """A cut line whose visible message starts some event but stops before it says which."""
    msg = _message(visible)
    if not msg.strip():
        return False
    return any(_prefix_match(parts, msg, need_key=False) is not None
               for kind, parts, _rx in _COMPILED if kind != "best_link")


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _event(kind: str, fields: dict[str, str | None], ts: datetime | None, lineno: int,
           text: str, repeats: int, cut: bool) -> LogEvent:
    joined: tuple[int, ...] = ()
    left: tuple[int, ...] = ()
    if kind == "new_membership":
        m = re.search(r"joined:" + _NODE_LIST, text)
        joined = tuple(int(x) for x in m.group(1).split()) if m else ()
        m = re.search(r"left:" + _NODE_LIST, text)
        left = tuple(int(x) for x in m.group(1).split()) if m else ()
    elif kind == "failed_leave":
        m = re.search(r"failed:" + _NODE_LIST, text)
        left = tuple(int(x) for x in m.group(1).split()) if m else ()
    return LogEvent(kind, ts, lineno, text, _int(fields.get("host")), _int(fields.get("link")),
                    _int(fields.get("count")), repeats, cut, joined, left)


def _last_index(s: JournalSummary, *kinds: str, domain: str | None = None) -> int:
    return max((i for i, e in enumerate(s.events) if e.kind in kinds
                and (domain is None or f"[{domain}]" in e.text)), default=-1)


def pmxcfs_synced_at_end(s: JournalSummary) -> bool:
    """pmxcfs's database resync (its ``[dcdb]`` domain; ``[status]`` holds only volatile node
    state) finished with ``all data is up to date`` after the last trouble and after the last
    resync it started (pve-cluster dfsm.c dfsm_set_mode)."""
    done = _last_index(s, "pmxcfs_synced", domain="dcdb")
    trouble = _last_index(s, "pmxcfs_send_failed", "pmxcfs_wrong_member", "pmxcfs_quorum_lost",
                          "pmxcfs_wrong_checksum",
                          "pve_write_denied", "pve_write_busy", "pmxcfs_write_not_quorate")
    return (done >= 0 and done > trouble
            and done > _last_index(s, "pmxcfs_sync", domain="dcdb"))
