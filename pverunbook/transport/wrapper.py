"""The command wrapper that makes "stop" mean stop on a node reached over SSH.

OpenSSH without a pty does not kill a command when its channel closes. Every command is sent
wrapped (:func:`wrap_command`): the wrapper kills the command's process group as soon as the
channel's stdin reaches end-of-file. The client never writes to stdin, so EOF means "stop now" —
sent on timeout or cancellation, and also what the node sees when the connection dies.
"""

from __future__ import annotations

import shlex

# --------------------------------------------------------------------------------------------
# The kill protocol. The script contains no single quote, so it sits in one '...' literal; the
# inner command is shell-quoted exactly once, as the last word. A server that emulates nodes
# (the rehearsal cluster) calls unwrap_command() and must honour the same contract:
#   * run the inner command with sh semantics, its stdin empty, exit status = the inner one's;
#   * stdin EOF or channel close from the client = kill the command (TERM, then KILL) at once;
#   * nothing the command started in its own process group may outlive that.
# --------------------------------------------------------------------------------------------
_WRAP_NAME = "pverunbook-run"
_WRAP_SCRIPT = (
    # Keep the channel's stdin on fd 3: a background job's stdin is /dev/null in a
    # non-interactive sh.
    "exec 3<&0; "
    # Fast path: sshd starts every session in a process group of its own (session.c calls
    # setsid()), so when this shell leads its group, the group is exactly "this command": run it
    # in a forked subshell (no extra exec) and let the watcher kill group 0 on EOF.
    # `kill -s 0 -- -$$` asks "does a group numbered $$ exist", which it does only if this shell
    # leads it (Linux keeps a pid number from reuse while it names a group): one system call,
    # where reading /proc/$$/stat with `read` cost ~300 one-byte reads, a quarter of what the
    # wrapper adds to each command on the node (README, Performance).
    "if kill -s 0 -- -$$ 2>/dev/null; then ( eval \"$1\" ) </dev/null 3<&- & p=$! "
    "; { trap \"\" TERM HUP; while read -r _; do :; done; kill -TERM 0; "
    "kill -0 \"$p\" 2>/dev/null && sleep 1; kill -KILL 0; } <&3 >/dev/null 2>&1 & "
    "w=$!; exec 3<&-; wait \"$p\"; s=$?; kill -9 \"$w\" 2>/dev/null; exit \"$s\"; fi; "
    # Otherwise make the command a process group of its own with setsid (set -m needs a tty in
    # dash); without setsid, fall back to walking the process tree with POSIX ps.
    "if command -v setsid >/dev/null 2>&1; then g=-; setsid /bin/sh -c -- \"$1\" </dev/null 3<&- & "
    "else g=; /bin/sh -c -- \"$1\" </dev/null 3<&- & fi; "
    "p=$!; "
    "t() { ps -A -o pid= -o ppid= | while read -r c q; do [ \"$q\" = \"$2\" ] && t \"$1\" \"$c\"; "
    "done; kill -\"$1\" \"$2\"; }; "
    "k() { if [ -n \"$g\" ]; then kill -\"$1\" -\"$p\"; else t \"$1\" \"$p\"; fi; }; "
    # The watcher: block until stdin EOF, then TERM the group, KILL it if it is still there.
    # It ignores TERM/HUP because sshd answers a "signal" request with killpg() on *this*
    # group (not the command's): the wrapper shell may die then, the watcher must not.
    "{ trap \"\" TERM HUP; while read -r _; do :; done; k TERM; for _ in 1 2 3; do sleep 1; "
    "kill -0 \"$g$p\" || exit 0; done; k KILL; } <&3 >/dev/null 2>&1 & "
    "w=$!; exec 3<&-; "
    "wait \"$p\"; s=$?; kill -9 \"$w\" 2>/dev/null; exit \"$s\""
)
_WRAP_PREFIX = f"exec /bin/sh -c '{_WRAP_SCRIPT}' {_WRAP_NAME} "


def wrap_command(command: str) -> str:
    """The string actually sent to sshd for ``command`` (see the kill protocol above)."""
    return _WRAP_PREFIX + shlex.quote(command)


def unwrap_command(sent: str) -> str | None:
    """The inner command if ``sent`` came from :func:`wrap_command`, else None."""
    if not sent.startswith(_WRAP_PREFIX):
        return None
    quoted = sent[len(_WRAP_PREFIX):]
    try:
        words = shlex.split(quoted)
    except ValueError:
        return None
    if len(words) != 1 or shlex.quote(words[0]) != quoted:
        return None
    return words[0]
