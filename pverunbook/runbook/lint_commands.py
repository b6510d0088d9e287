"""What one shell command does that the lint refuses: the findings of rules PVR001-PVR011.

Split from :mod:`pverunbook.runbook.lint` (the rule table and the driver, which places each
finding at its line): this module reads a command line word by word (``shellwords``) and says
which rule it breaks and why; it knows nothing of steps, targets or ``lint_ok``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pverunbook.runbook.shellwords import (
    _BACKUP_SUFFIX,
    Segment,
    _operands,
    _redirect_targets,
    _simple_commands,
    _under,
    _units,
    _words,
    segments,
)

UDPU = re.compile(r"transport\s*[:=]\s*[\"']?(udpu?)\b", re.I)
_TOKEN_RETRANSMIT = re.compile(r"\btoken_retransmit\b\s*[:=]\s*\S")
_SIGKILL = {"-9", "-KILL", "-SIGKILL", "-s9", "--signal=9", "--signal=KILL", "--signal=SIGKILL"}


def _is_sigkill(words: list[str]) -> bool:
    for i, w in enumerate(words[1:], 1):
        if w in _SIGKILL:
            return True
        if w in ("-s", "--signal") and i + 1 < len(words) \
                and words[i + 1].upper().removeprefix("SIG") in ("9", "KILL"):
            return True
    return False


def command_findings(command: str, state: dict[str, bool]) -> Iterator[tuple[str, str, str]]:
    """(code, offending text, detail) for one command line; updates the pmxcfs-running state."""
    if m := UDPU.search(command):
        yield "PVR004", m.group(0), ""
    if m := _TOKEN_RETRANSMIT.search(command):
        yield "PVR008", m.group(0), ""
    for target in _redirect_targets(command):
        if target.strip("'\"") == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
            yield "PVR007", f"> {target}", ""
        if target.strip("'\"") == "/etc/pve/corosync.conf":
            yield "PVR010", f"> {target}", ""
        if _under(target) and not _BACKUP_SUFFIX.search(target):
            yield "PVR009", f"> {target}", "redirects output into a cluster file"
    for words in _simple_commands(command):
        yield from _simple_findings(words, state)


def _simple_findings(words: list[str], state: dict[str, bool]) -> Iterator[tuple[str, str, str]]:
    cmd = words[0]
    text = " ".join(words)
    ops = _operands(words)
    if cmd == "rm":
        if any(re.search(r"(^|/)config\.db", o) or o.rstrip("/*") == "/var/lib/pve-cluster"
               for o in ops):
            yield "PVR001", text, ""
        if any(not _under(o, ("/tmp", "/var/tmp")) for o in ops):
            yield "PVR009", text, "deletes files"
    elif cmd in ("pkill", "killall", "kill"):
        if "pmxcfs" in text and _is_sigkill(words):
            yield "PVR002", text, ""
        if "pmxcfs" in text or "corosync" in text:
            yield "PVR009", text, "kills a cluster process"
    elif cmd == "umount" or cmd == "fusermount":
        lazy = any(re.fullmatch(r"-[a-zA-Z]*[lz][a-zA-Z]*|--lazy", w) for w in words[1:])
        if lazy and any(o.rstrip("/") == "/etc/pve" for o in ops):
            yield "PVR003", text, ""
        if any(o.rstrip("/") == "/etc/pve" for o in ops):
            yield "PVR009", text, "unmounts /etc/pve"
    elif cmd == "systemctl":
        verb = ops[0] if ops else ""
        units = _units(words)
        dup = sorted({u for u in units if units.count(u) > 1})
        if dup:
            yield "PVR005", text, ", ".join(dup)
        cluster_units = {"corosync", "pve-cluster"}
        if verb in ("stop", "restart", "kill", "disable", "mask", "try-restart",
                    "reload-or-restart") and cluster_units & set(units):
            yield "PVR009", text, "stops or restarts cluster services"
        if verb in ("reboot", "poweroff", "halt", "kexec"):
            yield "PVR009", text, "reboots or powers off the node"
        if "pve-cluster" in units:
            if verb in ("stop", "kill", "mask"):
                state["pmxcfs"] = False
            elif verb in ("start", "restart", "try-restart", "reload-or-restart"):
                state["pmxcfs"] = True
    elif cmd == "pmxcfs":
        state["pmxcfs"] = True
        yield "PVR009", text, "starts pmxcfs by hand"
    elif cmd in ("reboot", "poweroff", "shutdown", "halt"):
        yield "PVR009", text, "reboots or powers off the node"
    elif cmd in ("qm", "pct") and ops and ops[0] in ("destroy", "rollback", "delsnapshot"):
        yield "PVR009", text, f"{cmd} {ops[0]}"
    elif cmd == "pvecm" and ops:
        if ops[0] == "expected" and len(ops) > 1 and ops[1] == "1":
            yield "PVR006", text, ""
        if ops[0] in ("expected", "delnode", "add", "create", "qdevice", "updatecerts"):
            yield "PVR009", text, f"pvecm {ops[0]} changes the cluster"
    elif cmd == "corosync-quorumtool" and re.search(r"(^|\s)-e\s*1\b", text):
        yield "PVR006", text, ""
        yield "PVR009", text, "changes expected votes"
    elif cmd == "truncate" and _pmxcfs_refuses_size(words):
        pass  # pmxcfs refuses the size before changing anything (see _pmxcfs_refuses_size)
    elif cmd in ("mv", "cp", "install", "tee", "dd", "truncate", "ln"):
        dests = [w[3:] for w in words if w.startswith("of=")] if cmd == "dd" else (
            ops if cmd in ("tee", "truncate") else ops[-1:])
        if cmd == "mv":
            dests = ops  # moving a cluster file away is as destructive as overwriting one
        for d in dests:
            d = d.strip("'\"")
            if d == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if d == "/etc/pve/corosync.conf" and cmd in ("tee", "dd", "truncate"):
                yield "PVR010", text, ""
            if _under(d) and (cmd == "mv" or not _BACKUP_SUFFIX.search(d)):
                yield "PVR009", text, f"{cmd} over {d}"
    elif cmd in ("sed", "perl") and any(w.startswith("-i") or w == "--in-place" for w in words):
        for o in ops:
            o = o.strip("'\"")
            if o == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if o == "/etc/pve/corosync.conf":
                yield "PVR010", text, ""
            if _under(o):
                yield "PVR009", text, f"edits {o} in place"
    elif cmd in ("vi", "vim", "nano", "editor", "emacs", "ed"):
        for o in ops:
            if o == "/etc/corosync/corosync.conf" and state["pmxcfs"]:
                yield "PVR007", text, ""
            if o == "/etc/pve/corosync.conf":
                yield "PVR010", text, ""
    elif cmd == "sqlite3" and any("config.db" in w for w in words) and re.search(
            r"\.restore|\.import|\b(delete|update|insert|drop|replace)\b", text, re.I):
        yield "PVR009", text, "writes to the pmxcfs database"


#: pmxcfs's largest file (pve-cluster memdb.h MEMDB_MAX_FILE_SIZE, 1 MiB).
_PMXCFS_MAX_FILE = 1024 * 1024


def _pmxcfs_refuses_size(words: list[str]) -> bool:
    """``truncate --no-create -s N FILE…`` under /etc/pve with N above pmxcfs's file limit.

    pmxcfs refuses such a size change with EFBIG before it changes anything: memdb.c
    memdb_pwrite checks ``offset + count > MEMDB_MAX_FILE_SIZE`` before it raises the version
    or touches the file, on every node the write is replicated to (verified on pmxcfs 9.1.6:
    config.db's version unchanged). network-triage asks exactly this to learn whether pmxcfs
    accepts writes without writing anything. Without ``--no-create`` a missing file would be
    created, so that form still counts as a write.
    """
    if "-c" not in words and "--no-create" not in words:
        return False
    size = None
    for i, w in enumerate(words):
        if w == "-s" and i + 1 < len(words):
            size = words[i + 1]
        elif w.startswith("--size="):
            size = w.split("=", 1)[1]
    files = [w for w in _operands(words) if w != size]
    return (size is not None and size.isdigit() and int(size) > _PMXCFS_MAX_FILE
            and bool(files) and all(w.strip("'\"").startswith("/etc/pve/") for w in files))



#: POSIX reserved words that can start a simple command's segment (XCU 2.4)
_RESERVED = frozenset(("if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!",
                       "{", "}"))


def _pve_glob_unquoted(segment: Segment) -> bool:
    """An unquoted /etc/pve path with a glob (`ls /etc/pve/nodes/*/qemu-server/`).

    The shell expands a glob itself, reading the directories under /etc/pve *before* it runs
    `timeout`, so `timeout 5 ls /etc/pve/nodes/*/...` still hangs with a hung pmxcfs (a
    readdir through FUSE waits like any other access). Inside `timeout 5 sh -c '...'` the
    glob is quoted and expanded by the bounded shell.
    """
    return any(w.globbed and w.text.lstrip("$(`").startswith("/etc/pve") for w in segment.words)


def touches_pve_untimed(command: str) -> bool:
    """A simple command with an /etc/pve path operand that is not wrapped in `timeout`, or
    one whose /etc/pve glob the shell expands before `timeout` runs."""
    for segment in segments(command):
        if _pve_glob_unquoted(segment):
            return True
        part = segment.text
        words = _words(part)
        # assignments and the shell's reserved words (`if timeout 5 test ...; then ...`)
        # come before the command itself
        while words and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
                         or words[0] in _RESERVED):
            sub = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\$\((\S+)", words[0])
            # `x=$(timeout 5 ls /etc/pve/...)`: the command substitution is the command
            words = [sub.group(1), *words[1:]] if sub else words[1:]
        if not words:
            continue
        uses_pve = any(_under(w, ("/etc/pve",)) for w in words[1:]) or any(
            _under(t, ("/etc/pve",)) for t in _redirect_targets(part))
        if uses_pve and words[0].rsplit("/", 1)[-1] not in ("timeout", "test", "[") \
                and words[0] not in ("echo", "printf"):
            return True
        if uses_pve and words[0] in ("test", "["):
            return True
    return False
