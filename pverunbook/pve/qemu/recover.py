"""Rebuild a VM config from one QEMU argv: runs the rule modules in a fixed order."""

from __future__ import annotations

from pverunbook.pve.qemu import boot, devices, drives, firmware, machine
from pverunbook.pve.qemu.config import RecoveredConfig
from pverunbook.pve.qemu.state import Recovery
from pverunbook.pve.qemu.storage import StorageMap


def recover_config(
    argv: list[str],
    storage: StorageMap | None = None,
    vmid: int | None = None,
    disk_sizes: dict[str, int] | None = None,
    tap_bridges: dict[str, str] | None = None,
    swtpm: tuple[str, bool] | None = None,
) -> RecoveredConfig:
    """Rebuild a VM config from a QEMU argv (see :func:`split_cmdline`).

    ``storage`` maps paths to storage ids (default: Proxmox's stock ``local``/``local-lvm``);
    ``disk_sizes`` (path -> bytes, e.g. from ``blockdev --getsize64``) fills ``size=``;
    ``tap_bridges`` (tap name -> bridge, from ``ip -o link show``) fills ``bridge=``/``tag=``.
    ``swtpm`` is ``(state path, TPM 2.0?)`` of the VM's swtpm process (see
    :func:`find_swtpm`) and fills ``tpmstate0:``.
    Raises :class:`CmdlineError` when ``argv`` is not a QEMU command line; parts it cannot
    understand are listed in ``missing`` of the result (then ``complete`` is False).
    """
    r = Recovery(argv, storage, vmid, disk_sizes, tap_bridges, swtpm)
    machine.simple(r)
    machine.cpu(r)
    machine.memory(r)
    machine.machine(r)
    drives.backends(r)
    firmware.firmware(r)
    drives.disks(r)
    firmware.tpm(r)
    devices.nets(r)
    devices.passthrough(r)
    machine.finish_cpu(r)
    devices.display_and_usb(r)
    devices.misc_devices(r)
    boot.boot(r)
    devices.rtc(r)
    devices.leftovers(r)
    devices.final_todos(r)
    return r.cfg
