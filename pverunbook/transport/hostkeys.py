"""Host key checking the way OpenSSH does it: known_hosts (hashed or not), pins, first contact.

A recovery tool that silently trusts a changed key would hand root on a broken cluster to
whoever answers, so an unknown key is refused or asked about, and a changed one is refused with
both fingerprints and the command that removes the old line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from pverunbook.transport.base import TransportError

_ACCEPT_HINT = ("if this is the right machine, verify the fingerprint out of band (on the node: "
                "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then accept it in the TUI "
                "or rerun with --accept-new-host-keys")


class HostKeyUnknown(TransportError):
    """The node presented a host key that nothing vouches for (first contact)."""

    def __init__(self, node: str, fingerprint: str, host: str = "") -> None:
        self.fingerprint = fingerprint
        self.host = host
        super().__init__(node, f"unknown host key {fingerprint}"
                         + (f" for {host}" if host else ""), _ACCEPT_HINT)


class HostKeyChanged(TransportError):
    """The node presented a key different from the one known or pinned: possible MITM."""

    def __init__(self, node: str, expected: Sequence[str], presented: str, host: str = "",
                 source: str = "known_hosts") -> None:
        self.expected = list(expected)
        self.presented = presented
        self.host = host
        shown = host or node
        hint = ("verify the node's key out of band (on the node: ssh-keygen -lf "
                "/etc/ssh/ssh_host_ed25519_key.pub); if the change is legitimate (reinstall), ")
        if source == "known_hosts":
            hint += f"remove the old line with: ssh-keygen -R '{shown}' and connect again"
        else:
            hint += "update host_key for this node in the cluster inventory"
        super().__init__(node, f"HOST KEY CHANGED for {shown}: expected {' or '.join(expected)} "
                         f"({source}), but the node presented {presented} — refusing to connect",
                         hint)


def _fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


def _host_pattern(host: str, port: int | None) -> str:
    return f"[{host}]:{port}" if port and port != 22 else host


def _hashed(pattern: str) -> str:
    salt = secrets.token_bytes(20)
    digest = hmac.new(salt, pattern.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _config_says_hash(paths: Sequence[str | Path]) -> bool:
    """Whether OpenSSH would hash new known_hosts entries (first HashKnownHosts wins).

    Host/Match scoping is ignored: HashKnownHosts is in practice set globally (Debian ships
    ``HashKnownHosts yes`` under ``Host *`` in /etc/ssh/ssh_config).
    """
    for path in [*paths, "/etc/ssh/ssh_config"]:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.replace("=", " ").split()
            if len(words) >= 2 and words[0].lower() == "hashknownhosts":
                return words[1].lower() == "yes"
    return False


_KNOWN_HOSTS_CACHE: dict[tuple[tuple[str, int, int], ...], Any] = {}


def _read_known_hosts(files: Sequence[str]) -> Any:
    """``asyncssh.read_known_hosts(files)``, parsed once per version of the files.

    A run opens one connection per node; with a long known_hosts, parsing it again for every
    connection cost more than the handshake. The key is each file's (path, mtime, size), so a
    key appended by :meth:`SSHTransport._remember` (or by ``ssh``) is seen at the next connect.
    """
    key = tuple((f, st.st_mtime_ns, st.st_size) for f in files for st in [os.stat(f)])
    cached = _KNOWN_HOSTS_CACHE.get(key)
    if cached is None:
        if len(_KNOWN_HOSTS_CACHE) > 16:
            _KNOWN_HOSTS_CACHE.clear()
        cached = _KNOWN_HOSTS_CACHE[key] = asyncssh.read_known_hosts(list(files))
    return cached


@dataclass
class _HostKeyCheck:
    """What one connection attempt decided about the host key, read after it fails."""

    trusted: list[asyncssh.SSHKey]
    source: str
    extra: list[asyncssh.SSHKey] = field(default_factory=list)
    host: str = ""
    port: int | None = None
    presented: asyncssh.SSHKey | None = None


class _Client(asyncssh.SSHClient):
    def __init__(self, check: _HostKeyCheck) -> None:
        self._check = check

    def validate_host_public_key(self, host: str, addr: str, port: int,
                                 key: asyncssh.SSHKey) -> bool:
        # Only called for keys not in the trusted set: remember it and refuse; the caller turns
        # this into HostKeyChanged/HostKeyUnknown, and may retry trusting exactly this key.
        self._check.presented = key
        return key in self._check.extra
