"""Fact rules over one node's own state: /etc/pve reads and writes (pmxcfs), the node
certificate (openssl), config.db's integrity (sqlite3).

Sources: coreutils timeout(1), openssl-x509(1), SQLite ``PRAGMA integrity_check``, domain notes
§4 and §5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pverunbook.pve.facts.model import Fact, Observation


def facts_pve_write(obs: Observation) -> list[Fact]:
    """The /etc/pve write probe: does pmxcfs accept writes, refuse them, or hang?

    The probe (runbook network-triage) stats ``/etc/pve/nodes/<node>`` and then asks pmxcfs to
    grow an existing file past its 1 MiB limit: a replicated write that pmxcfs refuses with
    EFBIG before changing anything when writes work (memdb.c memdb_pwrite), with EACCES when it
    has no quorum (dcdb.c dcdb_send_fuse_message). ENOENT on the node's directory means the
    directory is gone, ENOTCONN that pmxcfs died and left its mount, exit 124 from timeout(1)
    that the write hung. An older probe (``touch``) reads the same way: exit 0 = writable.

    ``pmxcfs.write_error`` names the case: ``EFBIG`` (writable), ``EACCES``, ``EBUSY``,
    ``ENOENT``, ``ENOTCONN``, ``hung``, ``other``.
    """
    if obs.exit_status is None:
        return [Fact("pmxcfs.write_hung", True, obs.node, evidence="command did not finish"),
                Fact("pmxcfs.write_error", "hung", obs.node, evidence="command did not finish")]
    said = obs.seen.strip()
    last = said.splitlines()[-1].strip() if said else ""
    ev = f"exit {obs.exit_status}" + (f": {last}" if last else "")

    def line(needle: str) -> str:
        said_line = obs.line_with(needle)
        return f"exit {obs.exit_status}: {said_line}" if said_line else ev

    writable: bool | None
    if obs.exit_status == 124:
        kind, writable, why = "hung", False, ev
    elif "Transport endpoint is not connected" in said:
        kind, writable, why = "ENOTCONN", False, line("Transport endpoint")
    elif re.search(r"/etc/pve/nodes/[^/\s']+'?: No such file", said):
        kind, writable, why = "ENOENT", False, line("No such file")
    elif "File too large" in said:
        kind, writable, why = "EFBIG", True, line("File too large")
    elif "Permission denied" in said or "Read-only file system" in said:
        kind, writable, why = "EACCES", False, line("denied") if "denied" in said else ev
    elif "Device or resource busy" in said:
        kind, writable, why = "EBUSY", False, line("busy")
    elif "### probe" in obs.text and not _probe_targets(obs.text):
        kind, writable, why = "", None, "none of the node's own files exists to probe"
    elif obs.exit_status == 0:
        kind, writable, why = "", True, ev
    else:
        kind, writable, why = "other", False, ev
    out = [Fact("pmxcfs.write_hung", kind == "hung", obs.node, evidence=why)]
    if writable is not None:
        out.insert(0, Fact("pmxcfs.writable", writable, obs.node, evidence=why))
    if kind:
        out.append(Fact("pmxcfs.write_error", kind, obs.node, evidence=why))
    m = re.search(r"^(d[rwx-]{9}) /etc/pve/nodes/", obs.text, re.M)
    if m:
        # cfs-plug-memdb.c tree_entry_stat: directories are 0777 with quorum, 0555 without
        # (masked to 0755 by cfs_fuse_getattr): pmxcfs's own view of quorum, without a write
        out.append(Fact("pmxcfs.dir_writable", m.group(1)[2] == "w", obs.node,
                        evidence=obs.line_with(m.group(1))))
    return out


def _probe_targets(text: str) -> list[str]:
    """Files the probe found (``stat -c %n`` after the ``### probe`` line)."""
    after = text.split("### probe", 1)[1] if "### probe" in text else ""
    return [ln.strip() for ln in after.splitlines() if ln.strip().startswith("/etc/pve/")]


#: Exit statuses of ``timeout`` when the command did not finish in time: 124 (``timeout``'s
#: own), 137 (128 + SIGKILL, ``timeout -k`` or a kill after the signal was ignored).
TIMED_OUT = (124, 137)


def facts_pve_read(obs: Observation) -> list[Fact]:
    """``timeout 5 ls /etc/pve``, ``timeout 5 ls /etc/pve/nodes``: does pmxcfs answer reads.

    ``pmxcfs.read_error`` says why a read failed: ``timeout`` (exit 124/137 from ``timeout``,
    or the step's own timeout: pmxcfs hangs), ``ENOTCONN`` (pmxcfs died, its FUSE mount left
    behind) or ``ENOENT`` (``ls`` answered at once that the path is missing: no hang, the
    database lost it — a wiped config.db has no ``nodes/``).
    """
    if obs.exit_status is None:
        why = "command did not finish"
        return [Fact("pmxcfs.readable", False, obs.node, evidence=why),
                Fact("pmxcfs.read_error", "timeout", obs.node, evidence=why)]
    ev = f"exit {obs.exit_status}"
    kind = "timeout" if obs.exit_status in TIMED_OUT else ""
    if "Transport endpoint is not connected" in obs.seen:
        ev, kind = obs.line_with("Transport endpoint"), "ENOTCONN"
    elif obs.exit_status and "No such file or directory" in obs.seen and not kind:
        ev, kind = obs.line_with("No such file or directory"), "ENOENT"
    out = [Fact("pmxcfs.readable", obs.exit_status == 0, obs.node, evidence=ev)]
    if obs.exit_status and kind:
        out.append(Fact("pmxcfs.read_error", kind, obs.node, evidence=ev))
    return out


_NOT_AFTER = re.compile(r"notAfter=(.+)$", re.M)


def facts_cert(obs: Observation) -> list[Fact]:
    """``openssl x509 -noout -enddate [-checkend N] -in pve-ssl.pem``: is the node cert there.

    ``cert.not_after`` is the ``notAfter`` date as printed (GMT); the diagnosis compares it with
    the time of the run. ``Certificate will expire`` comes from ``-checkend``. Source:
    openssl-x509(1); the node certificate is ``/etc/pve/nodes/<node>/pve-ssl.pem``.
    """
    text = obs.seen
    missing = re.search(r"No such file|Could not open file|[Uu]nable to load certificate|"
                        r"Could not read certificate", text)
    if missing:
        return [Fact("cert.present", False, obs.node, evidence=obs.line_with(missing.group(0)))]
    m = _NOT_AFTER.search(text)
    out: list[Fact] = []
    if m:
        out.append(Fact("cert.present", True, obs.node, evidence=m.group(0).strip()))
        out.append(Fact("cert.not_after", m.group(1).strip(), obs.node,
                        evidence=m.group(0).strip()))
    if "Certificate will expire" in text:
        out.append(Fact("cert.expiring", True, obs.node, evidence="Certificate will expire"))
    elif "Certificate will not expire" in text:
        out.append(Fact("cert.expiring", False, obs.node, evidence="Certificate will not expire"))
    return out


def facts_db_integrity(obs: Observation) -> list[Fact]:
    """``sqlite3 config.db 'PRAGMA integrity_check'``: ``ok``, ``damaged`` or ``missing``.

    SQLite prints ``ok`` for a sound file; anything else (``database disk image is
    malformed``, ``file is not a database``, a list of problems) is damage. A missing file is
    not damage: pmxcfs recreates an empty one (domain notes §4). cluster-db-reset's own
    ``db-integrity`` step says "<path> was deleted" for it.
    """
    lines = [x.strip() for x in obs.seen.splitlines() if x.strip()]
    gone = re.compile(r"unable to open database|No such file|config\.db was deleted")
    if any(gone.search(x) for x in lines):
        return [Fact("db.integrity", "missing", obs.node,
                     evidence=next(x for x in lines if gone.search(x)))]
    if any(x == "ok" for x in lines) and not any(
            re.search(r"malformed|not a database|corrupt|\*\*\* in database", x) for x in lines):
        return [Fact("db.integrity", "ok", obs.node, evidence="ok")]
    bad = next((x for x in lines if re.search(r"malformed|not a database|corrupt|"
                                              r"\*\*\* in database|Error", x)), None)
    if bad is None:
        return []
    return [Fact("db.integrity", "damaged", obs.node, evidence=bad)]


def facts_reachability(names: Iterable[str], unreachable: Mapping[str, str]) -> list[Fact]:
    """``ssh.reachable[node]`` for every inventory node: False for a node that did not answer
    SSH when the run started or right before a destructive step (``unreachable``: name → what
    happened), True for the others. Not read off any output: the engine knows it, and a node
    it never reached has no other fact at all, so ``all(corosync.running)`` over the observed
    nodes says nothing about it; ``all(ssh.reachable)`` does."""
    return [Fact("ssh.reachable", name not in unreachable, name,
                 evidence=unreachable.get(name, "answered over SSH"))
            for name in names]
