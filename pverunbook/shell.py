"""An interactive shell on one node, with OpenSSH's ``ssh`` and the transport's host-key rules.

The app hands the terminal to ``ssh`` (the TUI suspends) so the operator can do what a runbook
cannot: edit a route, look around, fix a cable's consequences. The same rules as the SSH
transport (``transport/ssh.py``) apply:

- a node with a pinned ``host_key`` (every rehearsal node; an inventory may pin live ones) is
  accepted with exactly that key: a generated ``known_hosts`` holds it under the node's name
  (``HostKeyAlias``) and ``StrictHostKeyChecking yes`` refuses any other;
- otherwise the operator's own ``known_hosts`` decides; an unknown key is asked about
  (``StrictHostKeyChecking ask``) and a changed key is always refused (OpenSSH does that in
  every mode).

What is typed in the shell is never recorded; the journal gets one note saying that a shell was
used on which node and for how long (see ``shell_note``). Source for the options: ssh(1),
ssh_config(5).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pverunbook.inventory import Node


class ShellUnavailable(RuntimeError):
    """No ``ssh`` client on this machine: says what to install."""


@dataclass(frozen=True)
class ShellPlan:
    """``argv`` runs an interactive login on ``node``; append a command to run just that."""

    node: str
    argv: tuple[str, ...]
    #: "pinned" (exactly the inventory's/simulator's key) or "known_hosts" (the user's files).
    host_keys: str


def known_hosts_line(node: Node) -> str:
    """A ``known_hosts`` line for a pinned key, keyed by the node's name (used as HostKeyAlias)."""
    parts = node.host_key.split()
    return f"{node.name} {' '.join(parts[:2])}\n"


def shell_plan(node: Node, *, workdir: Path, identity: Path | None = None,
               ssh: str | None = None) -> ShellPlan:
    """The ``ssh`` command line for an interactive session on ``node``.

    ``workdir``: where a generated ``known_hosts`` for a pinned key is written (created if
    needed). ``identity``: a private key to offer first (the rehearsal cluster's client key);
    live sessions use the operator's agent and ``~/.ssh/config`` as ``ssh node`` would.
    Raises :class:`ShellUnavailable` when no ``ssh`` client is installed.
    """
    binary = ssh or shutil.which("ssh")
    if binary is None:
        raise ShellUnavailable("no 'ssh' client found on PATH; install OpenSSH's client "
                               "(Debian: apt-get install openssh-client)")
    argv = [binary]
    if node.host_key:
        workdir.mkdir(parents=True, exist_ok=True)
        kh = workdir / f"known_hosts.{node.name}"
        kh.write_text(known_hosts_line(node), encoding="utf-8")
        argv += ["-o", f"HostKeyAlias={node.name}", "-o", f"UserKnownHostsFile={kh}",
                 "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
                 "-o", "UpdateHostKeys=no"]
        mode = "pinned"
    else:
        argv += ["-o", "StrictHostKeyChecking=ask"]
        mode = "known_hosts"
    if identity is not None:
        argv += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]
    argv += ["-o", "LogLevel=ERROR"]
    if node.port:
        argv += ["-p", str(node.port)]
    if node.user:
        argv += ["-l", node.user]
    argv += [node.host]
    return ShellPlan(node.name, tuple(argv), mode)


def shell_note(node: str, seconds: float, exit_status: int) -> str:
    """The journal's words for a shell session: who, where, how long; never what was typed."""
    how = "ended normally" if exit_status == 0 else f"ended with exit status {exit_status}"
    return (f"operator used an interactive shell on {node} for {seconds:.0f} s ({how}); "
            "what was typed there is not recorded")
