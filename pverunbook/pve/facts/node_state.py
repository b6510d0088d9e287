"""Fact rules over one node's own state: /etc/pve reads and writes (pmxcfs), the node
certificate (openssl), config.db's integrity (sqlite3).

Sources: coreutils timeout(1), openssl-x509(1), SQLite ``PRAGMA integrity_check``, domain notes
§4 and §5.
"""

from __future__ import annotations

import re

from pverunbook.pve.facts.model import Fact, Observation


def facts_pve_write(obs: Observation) -> list[Fact]:
    """``timeout 5 touch /etc/pve/...``: does pmxcfs accept writes, refuse them, or hang?

    Exit 124 comes from timeout(1): the write was still blocked after the limit, which is how
    a pmxcfs waiting for a stable corosync membership looks. Any other failure is a refusal
    (no quorum: ``Permission denied``).
    """
    if obs.exit_status is None:
        return [Fact("pmxcfs.write_hung", True, obs.node, evidence="command did not finish")]
    ok = obs.exit_status == 0
    said = obs.seen.strip()
    ev = f"exit {obs.exit_status}" + (f": {said.splitlines()[-1].strip()}" if said else "")
    return [Fact("pmxcfs.writable", ok, obs.node, evidence=ev),
            Fact("pmxcfs.write_hung", obs.exit_status == 124, obs.node, evidence=ev)]


def facts_pve_read(obs: Observation) -> list[Fact]:
    """``timeout 5 ls /etc/pve``: does pmxcfs answer reads (exit 124 = hung, not just r/o)."""
    if obs.exit_status is None:
        return [Fact("pmxcfs.readable", False, obs.node, evidence="command did not finish")]
    ev = f"exit {obs.exit_status}"
    if "Transport endpoint is not connected" in obs.seen:
        ev = obs.line_with("Transport endpoint")
    return [Fact("pmxcfs.readable", obs.exit_status == 0, obs.node, evidence=ev)]


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
    not damage: pmxcfs recreates an empty one (domain notes §4).
    """
    lines = [x.strip() for x in obs.seen.splitlines() if x.strip()]
    if any(re.search(r"unable to open database|No such file", x) for x in lines):
        return [Fact("db.integrity", "missing", obs.node,
                     evidence=next(x for x in lines if re.search(r"unable to open|No such", x)))]
    if any(x == "ok" for x in lines) and not any(
            re.search(r"malformed|not a database|corrupt|\*\*\* in database", x) for x in lines):
        return [Fact("db.integrity", "ok", obs.node, evidence="ok")]
    bad = next((x for x in lines if re.search(r"malformed|not a database|corrupt|"
                                              r"\*\*\* in database|Error", x)), None)
    if bad is None:
        return []
    return [Fact("db.integrity", "damaged", obs.node, evidence=bad)]
