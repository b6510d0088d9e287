"""Compare the command line a VM runs with the one ``qm showcmd`` builds from its config.

This is the live proof that a rebuilt config is right: qemu-server's ``qm showcmd <vmid>``
(PVE/CLI/qm.pm -> QemuServer.pm ``vm_commandline`` -> ``config_to_command``) prints the command
line it would start the VM with (``'dry-run' => 1``, no vm_start).  What vm_start_nolock adds
at start time only — its ``$state_cmdline``: ``-incoming <uri> -S`` on a live-migration target,
or a lone ``-S`` for a paused start, pushed after everything else — is left out.
"""

from __future__ import annotations

import difflib

from pverunbook.pve.qemu.argv import NOARG


def option_lines(argv: list[str]) -> list[str]:
    """``argv`` as one ``-option value`` per line, without the binary and vm_start's tail."""
    lines: list[str] = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and a not in NOARG and i + 1 < len(argv):
            lines.append(f"{a} {argv[i + 1]}")
            i += 2
        else:
            lines.append(a)
            i += 1
    cut = next((n for n, ln in enumerate(lines) if ln.startswith("-incoming ")), None)
    if cut is not None:
        lines = lines[:cut] + [ln for ln in lines[cut + 1:] if ln != "-S"]
    elif lines and lines[-1] == "-S" and any(ln.startswith("-machine ") for ln in lines[:-1]):
        # vm_start_nolock's $state_cmdline for a paused start: the last option, after args:
        lines = lines[:-1]
    return lines


def showcmd_diff(running: list[str], showcmd: list[str], vmid: int | str) -> list[str]:
    """Unified diff (lines without newline) of the running argv against ``qm showcmd``'s.

    Empty when they agree.  Shapes: both are argv lists as :func:`split_cmdline` returns them.
    """
    return [ln.rstrip("\n") for ln in difflib.unified_diff(
        option_lines(running), option_lines(showcmd),
        fromfile=f"VM {vmid}: running (/proc/<pid>/cmdline)",
        tofile=f"VM {vmid}: qm showcmd {vmid} (from the rebuilt config)", lineterm="")]
