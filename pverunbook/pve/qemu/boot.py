"""The boot order: ``boot: order=`` from the bootindex= of each device.

Derived from qemu-server's ``PVE/QemuServer.pm`` (``device_bootorder``: ``order=`` numbers the
listed devices 100, 101, ...; ``bootorder_from_legacy``: a legacy ``boot: cdn`` gives disks
100+, CD-ROMs 200+, NICs 300+, only ``bootdisk`` among the disks) and ``PVE/QemuServer/PCI.pm``
/ ``USB.pm`` (hostpci and usb devices carry ``bootindex`` too).
"""

from __future__ import annotations

from pverunbook.pve.qemu.state import Recovery

_DRIVE_ORDER = (
    [f"ide{i}" for i in range(4)] + [f"scsi{i}" for i in range(31)]
    + [f"virtio{i}" for i in range(16)] + [f"sata{i}" for i in range(6)]
    + ["efidisk0", "tpmstate0"]
)

def boot(r: Recovery) -> None:
    """``boot:`` from the devices' ``bootindex=`` (QemuServer.pm device_bootorder)."""
    disks = [s for s in _DRIVE_ORDER if s in r.disks]
    cds = {s for s in disks if ",media=cdrom" in r.o.get(s, "")}
    if not r.bootindex:
        if [d for d in disks if d not in ("efidisk0", "tpmstate0")] or r.nets:
            r.o["boot"] = " "
        return
    order = sorted(r.bootindex, key=lambda k: r.bootindex[k])
    consecutive = sorted(r.bootindex.values()) == list(range(100, 100 + len(r.bootindex)))
    if consecutive:
        # QemuServer.pm device_bootorder: `boot: order=a;b;c` numbers them 100, 101, 102
        r.o["boot"] = "order=" + ";".join(order)
        return
    # Gaps (100, 200, 300...) are what a legacy `boot: cdn` + `bootdisk:` gives
    # (bootorder_from_legacy); only that reproduces the same bootindex values.
    for legacy in _legacy_candidates():
        for bootdisk in [None] + [d for d in disks if d not in cds]:
            if legacy_order(legacy, bootdisk, disks, cds, r.nets) == r.bootindex:
                if legacy != "cdn":
                    r.o["boot"] = legacy
                if bootdisk:
                    r.o["bootdisk"] = bootdisk
                r.notes.append(
                    "boot: the bootindex values have the gaps of a legacy boot order "
                    f"({legacy}" + (f", bootdisk {bootdisk}" if bootdisk else "") + "), which "
                    "is kept so qm showcmd matches; `boot: order=" + ";".join(order)
                    + "` boots the same devices in the same order")
                return
    r.o["boot"] = "order=" + ";".join(order)
    r.warn.append("boot: the bootindex values fit neither order= nor a legacy boot string; "
                  "order=" + ";".join(order) + " keeps their order but renumbers them")


def _legacy_candidates() -> list[str]:
    """Legacy ``boot:`` strings (letters c, d, n; a floppy never gets a bootindex)."""
    letters = "cdn"
    out = ["cdn"]
    from itertools import permutations

    for r in (3, 2, 1):
        for p in permutations(letters, r):
            s = "".join(p)
            if s not in out:
                out.append(s)
    return out

def legacy_order(legacy: str, bootdisk: str | None, disks: list[str], cds: set[str],
                  nets: list[str]) -> dict[str, int]:
    """qemu-server's bootorder_from_legacy(), to test whether a legacy boot value fits."""
    idx = {c: (i + 1) * 100 for i, c in enumerate(legacy)}
    out: dict[str, int] = {}
    for ds in disks:
        if ds in ("efidisk0", "tpmstate0"):
            continue
        if ds in cds:
            if "d" in idx:
                out[ds] = idx["d"]
                idx["d"] += 1
        elif "c" in idx:
            if bootdisk == ds:
                out[ds] = idx["c"]
            idx["c"] += 1
    if "n" in idx:
        for n in nets:
            out[n] = idx["n"]
            idx["n"] += 1
    return out
