"""How "stop" means stop on a node reached over SSH: a marked command and one guardian per link.

OpenSSH without a pty does not kill a command when its channel closes, nor when the connection
dies (session.c: only a pty session is hung up). Two pieces make up for it:

- Every command is sent marked (:func:`wrap_command`)::

      PVERUNBOOK_RUN=<link>.<n>.$$ exec /bin/sh -c -- '<command>' </dev/null

  or, where the login shell is /bin/sh itself, ``exec </dev/null; export
  PVERUNBOOK_RUN=<link>.<n>.$$; <command>``.

  The login shell (bash on a Proxmox VE node) execs ``/bin/sh`` so the command has sh
  semantics, stdin is empty, and the exit status is the command's. sshd gives every session a
  session and process group of its own (session.c ``do_exec_no_pty`` → ``setsid``), so ``$$``
  names the session, its process group and its leader; the marker carries it into the
  environment of everything the command starts (``/proc/PID/environ`` keeps what a program was
  started with). Nothing else runs on the node per command: no watcher, no fork of our own.

- One **guardian** per connection (:func:`guard_command`), a long-lived ``/bin/sh`` on a
  channel of its own, reads lines from the client. ``stop <link>.<n>`` kills command *n*;
  end-of-file — the client closed the connection, or the connection died, or pverunbook did —
  kills every command of this link still running. "Running" means its leader (the process
  whose pid the marker names) is alive and still leads that session; a command whose shell has
  ended is left alone, as are programs it detached with ``setsid`` (a rollback timer, a
  daemon): they lead a session of their own. Killing is SIGTERM to the process group, then,
  for a group still there after 3 s, SIGKILL.

The client also sends sshd a ``signal TERM`` request for a stopped command (session.c
``session_signal_req``: ``killpg`` of the session), which stops it at once on any OpenSSH
since 7.9; the guardian is what makes it certain (the KILL after a grace period, programs that
ignore TERM, a dead connection). The rehearsal cluster's server calls :func:`unwrap_command`
and :func:`parse_guard_command` and honours the same contract.
"""

from __future__ import annotations

import re
import shlex

#: The environment variable carrying ``<link>.<n>.<session id>`` into a command's processes.
MARK = "PVERUNBOOK_RUN"
_LINK = re.compile(r"[0-9a-f]{8,32}")
_TOKEN = re.compile(r"[0-9a-f]{8,32}\.[0-9]{1,12}")

# --------------------------------------------------------------------------------------------
# The guardian. No single quote inside, so it sits in one '...' literal; $1 is the link id.
#  m PATTERN  prints the session id of each running command whose token matches the ERE
#             (grep over every process's initial environment; -z: entries end in NUL)
#  z PATTERN  TERMs those sessions' process groups, waits up to 3 s, KILLs what is left
# A leader is "running" when /proc/S/stat says it leads session S and process group S; a pid
# number is not reused while it names a live group or session, so the test is not fooled.
# --------------------------------------------------------------------------------------------
_GUARD_NAME = "pverunbook-guard"
_GUARD_SCRIPT = (
    "trap \"\" HUP INT TERM PIPE; exec >/dev/null 2>&1; c=$1; "
    "m() { grep -azohE \"^" + MARK + "=$1[.][0-9]+$\" /proc/[0-9]*/environ | tr \"\\0\" \"\\n\" "
    "| while read -r v; do s=${v##*.}; read -r l < /proc/$s/stat || continue; "
    "set -- ${l##*) }; [ \"$3\" = \"$s\" ] && [ \"$4\" = \"$s\" ] && echo \"$s\"; done; }; "
    "z() { g=$(m \"$1\"); [ -n \"$g\" ] || return 0; for s in $g; do kill -TERM -$s; done; "
    "i=0; while [ $i -lt 15 ]; do sleep 0.2 2>/dev/null || sleep 1; a=; "
    "for s in $g; do kill -0 -$s && a=1; done; [ -n \"$a\" ] || return 0; i=$((i+1)); done; "
    "for s in $g; do kill -KILL -$s; done; }; "
    "while read -r a b; do case $a:$b in "
    "stop:*[!0-9a-f.]*|stop:) ;; stop:$c.*) z \"$b\" & ;; esac; done; "
    "z \"$c[.][0-9]+\""
)
#: First the guardian says which program the login shell is, and which /bin/sh is: where they
#: are the same, commands need no exec of their own (:func:`wrap_command`'s ``login_sh``).
_GUARD_PREFIX = (f"readlink -f /proc/$$/exe /bin/sh; "
                 f"exec /bin/sh -c '{_GUARD_SCRIPT}' {_GUARD_NAME} ")

_RUN_PREFIX = re.compile(rf"{MARK}=([0-9a-f]+\.[0-9]+)\.\$\$ exec /bin/sh -c -- ")
_RUN_TAIL = " </dev/null"
_SH_PREFIX = re.compile(rf"exec </dev/null; export {MARK}=([0-9a-f]+\.[0-9]+)\.\$\$; ")


def wrap_command(command: str, token: str, *, login_sh: bool = False) -> str:
    """The string sent to sshd for ``command``, marked with ``token`` (``<link>.<n>``).

    The login shell puts the marker into the environment of the ``/bin/sh`` it execs (a
    variable assignment before ``exec``: POSIX sh, bash, zsh and ksh; not csh or fish), so
    the command is exactly what ``sh -c`` gets — a single simple command is exec'd by sh
    itself, as it would be without pverunbook. With ``login_sh`` (the login shell *is*
    /bin/sh, as the guardian reported: :func:`login_shell_is_sh`) that exec would start the
    same program again, so the login shell runs the command itself, after the marker on the
    same line (sh's messages keep their line numbers). Raises ValueError for a token that
    :func:`guard_command`'s guardian would not accept.
    """
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"not a command token: {token!r}")
    if login_sh:
        return f"exec </dev/null; export {MARK}={token}.$$; {command}"
    return f"{MARK}={token}.$$ exec /bin/sh -c -- {shlex.quote(command)}{_RUN_TAIL}"


def login_shell_is_sh(first_lines: str) -> bool:
    """Whether the guardian's first two lines (``readlink -f`` of the login shell and of
    /bin/sh) name the same program; False when they are missing or unreadable."""
    lines = first_lines.splitlines()
    return len(lines) >= 2 and lines[0].startswith("/") and lines[0] == lines[1]


def unwrap_command(sent: str) -> tuple[str, str] | None:
    """(inner command, token) if ``sent`` came from :func:`wrap_command`, else None."""
    m = _SH_PREFIX.match(sent)
    if m is not None:
        return (sent[m.end():], m.group(1)) if _TOKEN.fullmatch(m.group(1)) else None
    m = _RUN_PREFIX.match(sent)
    if m is None or not sent.endswith(_RUN_TAIL) or not _TOKEN.fullmatch(m.group(1)):
        return None
    quoted = sent[m.end():len(sent) - len(_RUN_TAIL)]
    try:
        words = shlex.split(quoted)
    except ValueError:
        return None
    if len(words) != 1 or shlex.quote(words[0]) != quoted:
        return None
    return words[0], m.group(1)


def guard_command(link: str) -> str:
    """The guardian's command line for connection ``link`` (8–32 lowercase hex digits)."""
    if not _LINK.fullmatch(link):
        raise ValueError(f"not a link id: {link!r}")
    return _GUARD_PREFIX + link


def parse_guard_command(sent: str) -> str | None:
    """The link id if ``sent`` is :func:`guard_command`'s, else None."""
    if not sent.startswith(_GUARD_PREFIX):
        return None
    link = sent[len(_GUARD_PREFIX):]
    return link if _LINK.fullmatch(link) else None


def stop_line(token: str) -> bytes:
    """What the client writes to the guardian to stop the command marked ``token``."""
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"not a command token: {token!r}")
    return f"stop {token}\n".encode()
