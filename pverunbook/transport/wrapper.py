"""How "stop" means stop on a node reached over SSH: a marked command and one guardian per link.

OpenSSH without a pty does not kill a command when its channel closes, nor when the connection
dies (session.c: only a pty session is hung up). Two pieces make up for it:

- Every command is sent marked (:func:`wrap_command`)::

      PVERUNBOOK_RUN=<link>.<n>.$$ exec /bin/sh -c -- '<command>' </dev/null

  or, where the login shell is /bin/sh itself, ``exec </dev/null; export
  PVERUNBOOK_RUN=<link>.<n>.$$; <command>``; a csh, tcsh or fish login shell gets ``exec
  /bin/sh -c -- 'export PVERUNBOOK_RUN=<link>.<n>.$$; <command>' </dev/null``.

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
# It first says which programs the login shell (sshd sets $SHELL) and /bin/sh are, which
# decides how commands are sent (:func:`login_shell`), then sends its output to /dev/null.
#  m PATTERN  prints the session id of each running command whose token matches the ERE
#             (grep over every process's initial environment; -z: entries end in NUL)
#  z PATTERN  TERMs those sessions' process groups, waits up to 3 s, KILLs what is left
# A leader is "running" when /proc/S/stat says it leads session S and process group S; a pid
# number is not reused while it names a live group or session, so the test is not fooled.
# S is never 0 or 1: `kill -TERM -1` is every process, and init leads session 1.
# --------------------------------------------------------------------------------------------
_GUARD_NAME = "pverunbook-guard"
_GUARD_SCRIPT = (
    "readlink -f \"$SHELL\" /bin/sh; "
    "trap \"\" HUP INT TERM PIPE; exec >/dev/null 2>&1; c=$1; "
    "m() { grep -azohE \"^" + MARK + "=$1[.][0-9]+$\" /proc/[0-9]*/environ | tr \"\\0\" \"\\n\" "
    "| while read -r v; do s=${v##*.}; [ \"$s\" -gt 1 ] || continue; "
    "read -r l < /proc/$s/stat || continue; "
    "set -- ${l##*) }; [ \"$3\" = \"$s\" ] && [ \"$4\" = \"$s\" ] && echo \"$s\"; done; }; "
    "z() { g=$(m \"$1\"); [ -n \"$g\" ] || return 0; for s in $g; do kill -TERM -$s; done; "
    "i=0; while [ $i -lt 15 ]; do sleep 0.2 2>/dev/null || sleep 1; a=; "
    "for s in $g; do kill -0 -$s && a=1; done; [ -n \"$a\" ] || return 0; i=$((i+1)); done; "
    "for s in $g; do kill -KILL -$s; done; }; "
    "while read -r a b; do case $a:$b in "
    "stop:*[!0-9a-f.]*|stop:) ;; stop:$c.*) z \"$b\" & ;; esac; done; "
    "z \"$c[.][0-9]+\""
)
_GUARD_PREFIX = f"exec /bin/sh -c '{_GUARD_SCRIPT}' {_GUARD_NAME} "

_RUN_PREFIX = re.compile(rf"{MARK}=([0-9a-f]+\.[0-9]+)\.\$\$ exec /bin/sh -c -- ")
_RUN_TAIL = " </dev/null"
_SH_PREFIX = re.compile(rf"exec </dev/null; export {MARK}=([0-9a-f]+\.[0-9]+)\.\$\$; ")
_OTHER_HEAD = "exec /bin/sh -c -- "
_OTHER_PREFIX = re.compile(rf"export {MARK}=([0-9a-f]+\.[0-9]+)\.\$\$; ")

#: How the login shell takes a command (:func:`login_shell`): it is /bin/sh itself; it is
#: another POSIX-syntax shell (bash, zsh, ksh: root's bash on a PVE node); or it is not
#: (csh, tcsh, fish: no ``VAR=value exec`` and no ``$$``).
LOGIN_SH, LOGIN_POSIX, LOGIN_OTHER = "sh", "posix", "other"
_NOT_POSIX = ("csh", "tcsh", "fish")


def login_shell(first_lines: str) -> str:
    """The login shell's kind from the guardian's first two lines (``readlink -f`` of $SHELL
    and of /bin/sh): LOGIN_SH where both name one program, LOGIN_OTHER for csh, tcsh and
    fish, else LOGIN_POSIX (also when the lines are missing: the exec form is always right
    in a POSIX shell)."""
    lines = first_lines.splitlines()
    if len(lines) < 2 or not lines[0].startswith("/"):
        return LOGIN_POSIX
    if lines[0] == lines[1]:
        return LOGIN_SH
    return LOGIN_OTHER if lines[0].rsplit("/", 1)[-1] in _NOT_POSIX else LOGIN_POSIX


def wrap_command(command: str, token: str, *, login: str = LOGIN_POSIX) -> str:
    """The string sent to sshd for ``command``, marked with ``token`` (``<link>.<n>``).

    The login shell puts the marker into the environment of the ``/bin/sh`` it execs (a
    variable assignment before ``exec``: POSIX sh, bash, zsh and ksh; not csh or fish), so
    the command is exactly what ``sh -c`` gets — a single simple command is exec'd by sh
    itself, as it would be without pverunbook. ``login`` is what the guardian reported
    (:func:`login_shell`): where the login shell *is* /bin/sh (LOGIN_SH) that exec would
    start the same program again, so the login shell runs the command itself, after the
    marker on the same line (sh's messages keep their line numbers); csh, tcsh and fish
    (LOGIN_OTHER) get a plain ``exec /bin/sh -c '...'`` that sets the marker inside. Raises
    ValueError for a token that :func:`guard_command`'s guardian would not accept.
    """
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"not a command token: {token!r}")
    if login == LOGIN_SH:
        return f"exec </dev/null; export {MARK}={token}.$$; {command}"
    if login == LOGIN_OTHER:
        inner = f"export {MARK}={token}.$$; {command}"
        return f"exec /bin/sh -c -- {shlex.quote(inner)}{_RUN_TAIL}"
    return f"{MARK}={token}.$$ exec /bin/sh -c -- {shlex.quote(command)}{_RUN_TAIL}"


def unwrap_command(sent: str) -> tuple[str, str] | None:
    """(inner command, token) if ``sent`` came from :func:`wrap_command`, else None."""
    m = _SH_PREFIX.match(sent)
    if m is not None:
        return (sent[m.end():], m.group(1)) if _TOKEN.fullmatch(m.group(1)) else None
    if sent.startswith(_OTHER_HEAD):
        inner = _one_word(sent[len(_OTHER_HEAD):])
        m = _OTHER_PREFIX.match(inner or "")
        if inner is None or m is None or not _TOKEN.fullmatch(m.group(1)):
            return None
        return inner[m.end():], m.group(1)
    m = _RUN_PREFIX.match(sent)
    if m is None or not _TOKEN.fullmatch(m.group(1)):
        return None
    command = _one_word(sent[m.end():])
    return (command, m.group(1)) if command is not None else None


def _one_word(rest: str) -> str | None:
    """The one shell-quoted word ``rest`` holds before _RUN_TAIL, exactly as shlex.quote
    wrote it, else None."""
    if not rest.endswith(_RUN_TAIL):
        return None
    quoted = rest[:len(rest) - len(_RUN_TAIL)]
    try:
        words = shlex.split(quoted)
    except ValueError:
        return None
    if len(words) != 1 or shlex.quote(words[0]) != quoted:
        return None
    return words[0]


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
