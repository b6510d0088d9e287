"""The boot order: ``boot: order=`` from the bootindex= of each device."""

from __future__ import annotations

from pverunbook.pve.qemu.state import Recovery

_DRIVE_ORDER = (
    [f"ide{i}" for i in range(4)] + [f"scsi{i}" for i in range(31)]
    + [f"virtio{i}" for i in range(16)] + [f"sata{i}" for i in range(6)]
    + ["efidisk0", "tpmstate0"]
)

def boot(r: Recovery) -> None:
    disks = [s for s in _DRIVE_ORDER if s in r.disks]
    cds = {s for s in disks if ",media=cdrom" in r.o.get(s, "")}
    if not r.bootindex:
        if [d for d in disks if d not in ("efidisk0", "tpmstate0")] or r.nets:
            r.o["boot"] = " "
        return
    consecutive = sorted(r.bootindex.values()) == list(
        range(100, 100 + len(r.bootindex)))
    for legacy in _legacy_candidates():
        if consecutive and legacy != "cdn":
            break  # `boot: order=` explains it too, and is what PVE >= 6.3 writes
        for bootdisk in [None] + [d for d in disks if d not in cds]:
            if _legacy_order(legacy, bootdisk, disks, cds, r.nets) == r.bootindex:
                if legacy != "cdn":
                    r.o["boot"] = legacy
                if bootdisk:
                    r.o["bootdisk"] = bootdisk
                return
    order = sorted(r.bootindex, key=lambda k: r.bootindex[k])
    r.o["boot"] = "order=" + ";".join(order)

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

def _legacy_order(legacy: str, bootdisk: str | None, disks: list[str], cds: set[str],
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
