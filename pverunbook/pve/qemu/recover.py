"""Rebuild a VM config from one QEMU argv: runs the rule modules in a fixed order."""

from __future__ import annotations

from collections.abc import Callable

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
    for rule in _RULES:
        try:
            rule(r)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # A value no rule foresaw (found by fuzzing): the part is reported as not
            # understood, so the result is never silently partial, and nothing tracebacks.
            r.missing.append(f"{rule.__module__.rsplit('.', 1)[-1]}.{rule.__name__}: could not "
                             f"read the command line here ({type(exc).__name__}: {exc})")
    return r.cfg


_RULES: tuple[Callable[[Recovery], None], ...] = (
    machine.simple, machine.cpu, machine.memory, machine.machine, machine.globals_,
    drives.backends, firmware.firmware, drives.disks, firmware.tpm,
    devices.nets, devices.passthrough, machine.finish_cpu,
    devices.display_and_usb, devices.misc_devices, boot.boot, devices.rtc,
    devices.leftovers, devices.final_todos,
)
