"""``lvs`` on a rehearsal node honours its arguments as lvs(8) does.

What the runbooks and PVE's storage plugins pass: ``lvs pve/data`` (the health check's fix for
a wiped storage.cfg), and pve-storage's LVMPlugin.pm ``lvm_list_volumes`` / LvmThinPlugin.pm
``status``: ``--separator : --noheadings --units b --unbuffered --nosuffix --options LIST``
with a VG or VG/LV name. The simulator printed the same table whatever it was given, so
``lvs pve/nope`` succeeded and PVE's parser read headings as a volume. The expected layouts
were taken from lvm2 2.03.16 (Debian 12) on a volume group of the same shape.
"""

from __future__ import annotations

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh

PVE_LIST = ("lvs --separator : --noheadings --units b --unbuffered --nosuffix "
            "--config 'report/time_format=\"%s\"' --options vg_name,lv_name,lv_size,lv_attr,"
            "pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,metadata_size,time")


async def lvs(cluster: SimCluster, args: str) -> tuple[int, list[str], str]:
    status, out, err = await sh(cluster, "ryanrishi", f"lvs {args}")
    return status, out.splitlines(), err


async def test_pve_storage_listing_is_colon_separated_bytes_without_headings(
        healthy: SimCluster) -> None:
    status, lines, err = await lvs(healthy, PVE_LIST[4:] + " pve")
    assert status == 0, err
    rows = [ln.strip().split(":") for ln in lines]
    assert all(ln.startswith("  pve:") for ln in lines), lines  # lvm's two-space prefix stays
    assert all(len(r) == 12 for r in rows), rows
    by_name = {r[1]: r for r in rows}
    assert sorted(by_name) == [r[1] for r in rows]  # sorted by VG, then LV
    root = by_name["root"]
    assert root[2] == str(96 << 30) and root[3] == "-wi-ao----" and root[11].isdigit()
    data = by_name["data"]
    assert data[3].startswith("t") and data[5] == "31.25" and data[10].isdigit()
    thin = [r for r in rows if r[1].startswith("vm-")]
    assert thin and all(r[4] == "data" and r[3].startswith("V") for r in thin)
    assert "LV" not in "".join(lines)


async def test_the_thin_pool_status_names_one_volume(healthy: SimCluster) -> None:
    status, lines, _ = await lvs(healthy, "--separator : --noheadings --units b --unbuffered "
                                          "--nosuffix --options vg_name,lv_name,lv_size,"
                                          "data_percent,metadata_percent,snap_percent pve/data")
    assert status == 0
    (row,) = lines
    vg, lv, size, data, meta, snap = row.strip().split(":")
    assert (vg, lv, data, meta, snap) == ("pve", "data", "31.25", "1.41", "")
    assert int(size) > 300 << 30


async def test_names_select_rows_and_unknown_ones_fail(healthy: SimCluster) -> None:
    status, lines, _ = await lvs(healthy, "pve/data")
    assert status == 0
    assert lines[0].split() == ["LV", "VG", "Attr", "LSize", "Pool", "Origin", "Data%",
                                "Meta%", "Move", "Log", "Cpy%Sync", "Convert"]
    assert [ln.split()[0] for ln in lines[1:]] == ["data"]
    status, lines, _ = await lvs(healthy, "--noheadings -o lv_name pve/swap pve/root pve/root")
    assert (status, [ln.strip() for ln in lines]) == (0, ["root", "swap"])
    status, lines, err = await lvs(healthy, "pve/nope")
    assert (status, lines, err) == (5, [], '  Failed to find logical volume "pve/nope"\n')
    status, lines, err = await lvs(healthy, "nope")
    assert (status, lines) == (5, [])
    assert err == '  Volume group "nope" not found\n  Cannot process volume group nope\n'
    _, out, _ = await sh(healthy, "ryanrishi", "lvs pve/nope && echo found || echo missing")
    assert out.splitlines()[-1] == "missing"


async def test_fields_units_and_alignment(healthy: SimCluster) -> None:
    status, lines, _ = await lvs(healthy, "-o name,size,attr --units G pve/root pve/swap")
    assert status == 0
    assert lines == ["  LV   LSize   Attr      ", "  root 103.08G -wi-ao----",
                     "  swap   8.59G -wi-ao----"]
    _, lines, _ = await lvs(healthy, "-o lv_size --units k --nosuffix --noheadings pve/swap")
    assert lines == ["  8388608.00"]
    _, lines, _ = await lvs(healthy, "-o lv_name,lv_size --units b pve/root")
    assert lines == ["  LV   LSize        ", "  root 103079215104B"]
    _, lines, _ = await lvs(healthy, "-o lv_size,data_percent --units b pve/data")
    assert lines[0] == "  LSize         Data% "  # a percentage column is 6 wide
    _, lines, _ = await lvs(healthy, "--units h -o lv_size,lv_name pve/data")
    assert lines[1].split() == ["<348.82g", "data"]  # rounded up: lvm marks it with <
    _, lines, _ = await lvs(healthy, "--separator , -o lv_name,vg_name")
    assert lines[:2] == ["  LV,VG", "  data,pve"]
    _, lines, _ = await lvs(healthy, "-o +lv_path pve/root")
    assert lines[0].split()[-2:] == ["Convert", "Path"] and lines[1].endswith("/dev/pve/root")


async def test_bad_fields_and_units_are_refused(healthy: SimCluster) -> None:
    status, lines, err = await lvs(healthy, "-o bogus")
    assert (status, lines, err) == (5, [], "  Unrecognised field: bogus\n")
    status, lines, err = await lvs(healthy, "--units q")
    assert (status, lines) == (3, [])
    assert err.startswith("  Invalid units specification\n")
