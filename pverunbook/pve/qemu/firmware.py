"""Firmware: OVMF or SeaBIOS, the EFI vars disk, confidential-VM firmware, and the TPM.

Rules derived from qemu-server's ``PVE/QemuServer/OVMF.pm`` (``print_ovmf_commandline``,
``get_ovmf_files``: ``OVMF_CODE_4M*`` means ``efitype=4m``; a VM without ``efidisk0`` gets a
temporary copy of the vars file, ``/tmp/<vmid>-ovmf.fd`` — newer builds keep it under
``/run/qemu-server/`` — which is not a disk of the VM; SEV-SNP and TDX boot with
``-bios OVMF_SEV_4M.fd`` / ``OVMF_TDX_4M.ms.fd`` instead of pflash), ``CPUConfig.pm``
(``get_amd_sev_object``: the ``sev-guest``/``sev-snp-guest`` object and its policy bits) and
``QemuServer.pm`` (``start_swtpm``: the TPM state is opened by a separate ``swtpm socket
--tpmstate backend-uri=file://<path>`` process, ``--tpm2`` for version v2.0).
"""

from __future__ import annotations

import re

from pverunbook.pve.qemu.drives import emit_disk
from pverunbook.pve.qemu.optstr import kv, prop
from pverunbook.pve.qemu.state import Drive, Recovery

_TEMP_VARS = re.compile(r"/tmp/\d+-ovmf\.fd|/(?:var/)?run/qemu-server/.*")
_CVM_BIOS = re.compile(r"OVMF_(?:SEV|TDX)[\w.]*\.fd$")


def pflash_code(r: Recovery) -> str | None:
    """The OVMF code image of a ``-blockdev`` (PVE 9) command line, if any."""
    mach = r.one("-machine") or ""
    _h, md = kv(mach)
    node = md.get("pflash0")
    if node and node in r.bd_files:
        return r.bd_files[node]
    return None


def firmware(r: Recovery) -> None:
    """``bios:``, ``efidisk0:`` and ``amd-sev:`` from pflash drives, ``-bios`` and objects."""
    code = (r.pflash[0].file if 0 in r.pflash else pflash_code(r)) or ""
    bios = r.one("-bios") or ""
    if 0 in r.pflash or code or _CVM_BIOS.search(bios):
        r.o["bios"] = "ovmf"
        r.ovmf = True
    elif bios:
        r.missing.append(f"-bios {bios}: not a firmware qemu-server uses; set bios: by hand")
    _amd_sev(r)
    efi_drive = r.pflash.get(1) or r.drives.pop("drive-efidisk0", None)
    if efi_drive is not None and _TEMP_VARS.fullmatch(efi_drive.file or ""):
        # qemu-server's temporary vars copy: the config had no efidisk0
        r.notes.append(f"efidisk0: {efi_drive.file} is the temporary EFI vars copy qemu-server "
                       "makes for a VM without an efidisk0; not a disk of the VM")
        efi_drive = None
    if efi_drive is not None:
        eopts: dict[str, str] = {}
        if "_4M" in code:
            eopts["efitype"] = "4m"
        emit_disk(r, "efidisk0", efi_drive, {}, eopts, efi=True)
        if "_4M" in code:
            r.todos.append("efidisk0: pre-enrolled-keys (Microsoft Secure Boot keys) "
                           "only affected the disk's creation; add pre-enrolled-keys=1 "
                           "if the VM uses Secure Boot with the MS keys")
    elif r.ovmf and not _CVM_BIOS.search(bios):
        r.warn.append("OVMF without an efidisk0: EFI variables are not persistent")


def _amd_sev(r: Recovery) -> None:
    """``amd-sev:`` from the ``sev-guest``/``sev-snp-guest`` object (get_amd_sev_object)."""
    for _oid, (typ, od) in r.objects.items():
        if typ not in ("sev-guest", "sev-snp-guest"):
            continue
        try:
            policy = int(str(od.get("policy", "0")), 0)
        except ValueError:
            r.missing.append(f"amd-sev: policy {od.get('policy')!r} is not a number")
            return
        opts: dict[str, str] = {}
        if typ == "sev-snp-guest":
            kind = "snp"
            if not policy & (1 << 16):
                opts["allow-smt"] = "0"
            if not policy & (1 << 19):
                opts["no-debug"] = "1"
        else:
            kind = "es" if policy & (1 << 2) else "std"
            if policy & 1:
                opts["no-debug"] = "1"
            if policy & 2:
                opts["no-key-sharing"] = "1"
        if str(od.get("kernel-hashes", "")) in ("on", "True", "true"):
            opts["kernel-hashes"] = "1"
        r.o["amd-sev"] = prop(f"type={kind}", opts)


def tpm(r: Recovery) -> None:
    """``tpmstate0:`` from the swtpm process beside the VM (start_swtpm in QemuServer.pm)."""
    if not any(drv in ("tpm-tis", "tpm-crb", "tpm-tis-device") for drv, _ in r.devices):
        return
    if r.swtpm is None:
        r.missing.append(
            "tpmstate0: the VM has a TPM whose state volume is opened by its swtpm process, "
            "not by QEMU; include that process's line (`ps -ww -o args= -C swtpm`) with the "
            "kvm line")
        return
    path, v2 = r.swtpm
    drive = Drive(id="drive-tpmstate0", file=path, cache="none")
    emit_disk(r, "tpmstate0", drive, {}, {"version": "v2.0" if v2 else "v1.2"}, efi=True)
