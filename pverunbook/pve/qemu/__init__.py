"""Rebuild a Proxmox VE VM config from the QEMU command line of the running VM.

When ``/etc/pve/qemu-server/<vmid>.conf`` is lost but the ``kvm`` process still runs, its
command line (``ps aux``, ``/proc/<pid>/cmdline`` or ``qm showcmd --pretty``) is the best
evidence left.  This package inverts qemu-server's ``config_to_command`` (PVE 7/8 ``-drive``
and PVE 9 ``-blockdev`` forms) as far as the command line allows, and lists everything it
cannot see for review instead of guessing (disk sizes, bridges, VLAN tags, onboot, ...).

One module per thing the command line shows, so the rule for a flag is found in one place:

- :mod:`.argv` — finding the argv in pasted text (``ps``, NUL-separated ``/proc``, ``qm showcmd
  --pretty``, lines wrapped by a mail client or forum);
- :mod:`.machine` — ``-machine``, ``-cpu``, ``-smp``, ``-m``/NUMA, ``-smbios``;
- :mod:`.drives` — ``-drive``/``-blockdev`` and their controllers, with :mod:`.storage` for
  mapping paths back to ``<storage>:<volume>`` and :mod:`.volnames` for the volume names each
  storage plugin takes;
- :mod:`.firmware` — OVMF/SeaBIOS, the EFI vars disk, the TPM (``swtpm``);
- :mod:`.devices` — NICs, display, USB, serial, PCI passthrough, agent, RNG, watchdog, audio;
- :mod:`.boot` — ``boot: order=`` from the devices' ``bootindex``;
- :mod:`.recover` — runs them in order; :mod:`.state` holds what they share.

Each module's docstring names the qemu-server source its rules were derived from.
"""

from pverunbook.pve.qemu.argv import CmdlineError, find_swtpm, split_all, split_cmdline
from pverunbook.pve.qemu.config import RecoveredConfig
from pverunbook.pve.qemu.recover import recover_config
from pverunbook.pve.qemu.storage import Storage, StorageMap, parse_storage_cfg

__all__ = [
    "CmdlineError",
    "RecoveredConfig",
    "Storage",
    "StorageMap",
    "find_swtpm",
    "parse_storage_cfg",
    "recover_config",
    "split_all",
    "split_cmdline",
]
