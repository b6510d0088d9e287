"""Shell command lines as words: enough of sh to find what a runbook command really runs.

Not a shell parser: a quote-aware split at ``; && || | &`` and newlines, wrappers peeled off
(``timeout 5``, ``sudo``, ``env X=1``, ``sh -c '...'``), so that the lint sees ``rm`` in
``timeout 10 sudo rm -rf /etc/corosync/*``. Used by the lint only.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

_WRAPPERS = {"sudo", "nohup", "env", "nice", "ionice", "command", "exec", "builtin", "xargs",
             "stdbuf", "chroot"}
_PROTECTED = ("/etc/pve", "/etc/corosync", "/var/lib/pve-cluster")
_BACKUP_SUFFIX = re.compile(r"(\.bak|\.orig|\.new|\.backup|\.old|\.broken[^/]*|~)$|/backup/")


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def _split_unquoted(command: str) -> list[str]:
    """Split at ; && || | & and newlines that are not inside quotes (quote-aware, no parser)."""
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    i = 0
    while i < len(command):
        ch = command[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(command):
                buf.append(command[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
            buf.append(ch)
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == "\\" and i + 1 < len(command):
            buf.append(command[i:i + 2])
            i += 2
            continue
        elif ch in ";|&\n":
            if ch == ">" or (ch == "&" and buf and buf[-1] in "<>"):
                buf.append(ch)
            else:
                parts.append("".join(buf))
                buf = []
                if command[i:i + 2] in ("&&", "||"):
                    i += 1
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _simple_commands(command: str) -> Iterator[list[str]]:
    """The simple commands of a command line, wrappers (timeout, sudo, sh -c) peeled off."""
    for part in _split_unquoted(command):
        words = _words(part.lstrip("({!").rstrip(")}").strip())
        words = _peel(words)
        if not words:
            continue
        if words[0] in ("sh", "bash", "dash") and "-c" in words:
            i = words.index("-c")
            if i + 1 < len(words):
                yield from _simple_commands(words[i + 1])
                continue
        yield words


def _peel(words: list[str]) -> list[str]:
    while words:
        head = words[0].rsplit("/", 1)[-1]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        elif head == "timeout":
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                opt = rest.pop(0)
                if opt in ("-k", "-s", "--kill-after", "--signal") and rest:
                    rest.pop(0)
            words = rest[1:] if rest else []
        elif head in _WRAPPERS:
            rest = words[1:]
            while rest and (rest[0].startswith("-") or "=" in rest[0]):
                opt = rest.pop(0)
                if opt in ("-n", "-u", "-g", "-c") and rest and head in ("nice", "sudo", "ionice"):
                    rest.pop(0)
            words = rest
        else:
            break
    if words:
        words = [words[0].rsplit("/", 1)[-1], *words[1:]]
    return words


def _under(path: str, roots: tuple[str, ...] = _PROTECTED) -> bool:
    p = path.strip("'\"")
    return any(p == r or p.startswith(r + "/") for r in roots)


def _operands(words: list[str]) -> list[str]:
    return [w for w in words[1:] if not w.startswith("-")]


def _redirect_targets(command: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?<![0-9&<>])>>?\s*([^\s;&|<>]+)", command)]


def _units(words: list[str]) -> list[str]:
    return [w[:-8] if w.endswith(".service") else w for w in _operands(words)[1:]]
