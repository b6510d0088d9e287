"""LVM's report tools on a rehearsal node: ``lvs`` and ``vgs`` of the installer's volume group.

Every node has the Proxmox VE installer's LVM layout: volume group ``pve`` with ``root``,
``swap``, the thin pool ``data`` and one thin volume per VM disk (the files under /dev/pve,
each holding its size in bytes). ``lvs`` honours what lvs(8) documents and what the runbooks and
PVE's storage plugins pass (pve-storage LVMPlugin.pm ``lvm_list_volumes``: ``--separator :
--noheadings --units b --unbuffered --nosuffix --config report/time_format="%s" --options
vg_name,lv_name,lv_size,... [VG]``; LvmThinPlugin.pm ``status``: the same with ``VG/POOL``):

- ``-o``/``--options``: a field list, names with or without their ``lv_`` prefix; ``+list``
  adds to the default columns; an unknown field: ``Unrecognised field: X``, exit 5;
- ``--noheadings``; ``--separator S`` (columns joined by S, no longer aligned; the two-space
  prefix of every line stays), ``--aligned`` aligns them again;
- ``--units``: ``h``/``H`` (the default: the largest unit that fits, ``<`` when the shown
  value was rounded up), ``b s k m g t p e`` (powers of 1024; upper case: powers of 1000);
  ``--nosuffix`` drops the unit except with ``h``/``H``; anything else: ``Invalid units
  specification``, exit 3;
- ``VG`` and ``VG/LV`` arguments select rows (each row once); an unknown one: ``Volume group
  "X" not found`` / ``Failed to find logical volume "VG/LV"``, exit 5;
- rows sorted by VG then LV name; aligned columns padded to their widest value (numbers to
  the right), headings on the left, every line padded to its full width.

Checked against lvm2 2.03.16 (Debian 12) on a volume group of the same shape.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

from pverunbook.sim.commands.core import gopt
from pverunbook.sim.node import SimNode
from pverunbook.sim.shell.executor import Ctx, UsageError, command

GIB = 1 << 30
VG = "pve"
#: the installer's thin pool, root and swap (bytes), as lvs shows them: <348.82g, 96g, 8g
POOL_SIZE = 374_538_764_288
POOL_META = 3_774_873_600  # <3.52g
DATA_PCT, META_PCT = "31.25", "1.41"
THIN_DATA_PCT = "42.17"

DEFAULT = ("lv_name", "vg_name", "lv_attr", "lv_size", "pool_lv", "origin", "data_percent",
           "metadata_percent", "move_pv", "mirror_log", "copy_percent", "convert_lv")
#: field -> (heading, right-aligned)
FIELDS: dict[str, tuple[str, bool]] = {
    "lv_name": ("LV", False), "vg_name": ("VG", False), "lv_attr": ("Attr", False),
    "lv_size": ("LSize", True), "pool_lv": ("Pool", False), "origin": ("Origin", False),
    "data_percent": ("Data%", True), "metadata_percent": ("Meta%", True),
    "snap_percent": ("Snap%", True), "move_pv": ("Move", False), "mirror_log": ("Log", False),
    "copy_percent": ("Cpy%Sync", True), "convert_lv": ("Convert", False),
    "lv_uuid": ("LV UUID", False), "lv_tags": ("LV Tags", False),
    "lv_metadata_size": ("MSize", True), "lv_time": ("CTime", False),
    "lv_path": ("Path", False), "lv_full_name": ("LV", False), "lv_active": ("Active", False),
    "segtype": ("Type", False),
}
#: names lvs also takes for a field (the ``lv_`` prefix may be left out)
ALIASES = {"uuid": "lv_uuid", "tags": "lv_tags", "metadata_size": "lv_metadata_size",
           "time": "lv_time", "path": "lv_path", "full_name": "lv_full_name",
           "name": "lv_name", "size": "lv_size", "attr": "lv_attr", "active": "lv_active"}
UNITS = "hHbBsSkKmMgGtTpPeE"


@dataclass(frozen=True)
class LV:
    name: str
    attr: str
    size: int
    pool: str = ""
    data: str = ""
    meta: str = ""
    meta_size: int | None = None
    segtype: str = "linear"
    ctime: float = 0.0

    def value(self, field: str, units: str, suffix: bool, time_format: str) -> str:
        if field == "lv_size":
            return size_text(self.size, units, suffix)
        if field == "lv_metadata_size":
            return "" if self.meta_size is None else size_text(self.meta_size, units, suffix)
        uuid = f"{zlib.crc32(self.name.encode()):08x}"
        return {
            "lv_name": self.name, "vg_name": VG, "lv_attr": self.attr, "pool_lv": self.pool,
            "data_percent": self.data, "metadata_percent": self.meta,
            "lv_uuid": f"{uuid[:6]}-{uuid[6:]}pv-e000-0000-0000-0000-{self.name[:6]:0<6}",
            "lv_time": (str(int(self.ctime)) if time_format == "%s" else time.strftime(
                "%Y-%m-%d %H:%M:%S +0000", time.gmtime(self.ctime))),
            "lv_path": "" if self.segtype == "thin-pool" else f"/dev/{VG}/{self.name}",
            "lv_full_name": f"{VG}/{self.name}", "lv_active": "active",
            "segtype": self.segtype,
        }.get(field, "")


def _volumes(node: SimNode) -> list[tuple[str, int]]:
    """The VM disks' thin volumes: (name, size in bytes) of each file under /dev/pve."""
    out: list[tuple[str, int]] = []
    try:
        names = node.fs.listdir("/dev/pve")
    except OSError:
        return out
    for n in names:
        try:
            size = int(node.fs.read_bytes(f"/dev/pve/{n}").split()[0])
        except (OSError, ValueError, IndexError):
            size = 0
        out.append((n, size))
    return out


def logical_volumes(node: SimNode) -> list[LV]:
    """Every LV of the node's ``pve`` volume group, sorted by name."""
    born = node.boot_time - 86400 * 200  # installed long before this boot
    lvs = [LV("data", "twi-aotz--", POOL_SIZE, data=DATA_PCT, meta=META_PCT,
              meta_size=POOL_META, segtype="thin-pool", ctime=born),
           LV("root", "-wi-ao----", 96 * GIB, ctime=born),
           LV("swap", "-wi-ao----", 8 * GIB, ctime=born)]
    lvs += [LV(name, "Vwi-aotz--", size, pool="data", data=THIN_DATA_PCT, segtype="thin",
               ctime=born + 3600) for name, size in _volumes(node)]
    return sorted(lvs, key=lambda lv: lv.name)


def size_text(size: int, units: str, suffix: bool) -> str:
    """A size as lvm2's display code prints it for ``--units`` ``units``."""
    si = units.isupper()
    base = 1000 if si else 1024
    letters = "bkmgtpe"
    if units in "hH":
        exp = 0
        while exp < len(letters) - 1 and size >= base ** (exp + 1):
            exp += 1
        value = size / base ** exp
        shown = f"{value:.2f}"
        unit = letters[exp].upper() if si else letters[exp]
        less = "<" if float(shown) > value else ""
        return f"{less}{shown}{unit}"  # h/H keep their unit with --nosuffix (lvs(8))
    if units in "bB":
        return f"{size}{'B' if suffix else ''}"
    if units in "sS":
        return f"{size // 512}{'S' if suffix else ''}"
    value = size / base ** letters.index(units.lower())
    return f"{value:.2f}{units if suffix else ''}"


def _fields(spec: list[str]) -> list[str]:
    fields: list[str] = list(DEFAULT)
    for i, opt in enumerate(spec):
        names = opt[1:] if opt.startswith("+") else opt
        chosen = []
        for raw in names.split(","):
            name = ALIASES.get(raw.strip(), raw.strip())
            if name not in FIELDS:
                raise UsageError(f"  Unrecognised field: {raw.strip()}", 5)
            chosen.append(name)
        fields = fields + chosen if opt.startswith("+") or i else chosen
    return fields


def _select(lvs: list[LV], names: list[str]) -> tuple[list[LV], list[str]]:
    """The rows ``names`` (VG or VG/LV, a /dev/VG/LV path too) pick, and the errors."""
    if not names:
        return lvs, []
    want: set[str] = set()
    errors: list[str] = []
    for arg in names:
        a = arg.removeprefix("/dev/").strip("/")
        vg, _, lv = a.partition("/")
        if vg != VG:
            errors += [f'  Volume group "{vg}" not found', f"  Cannot process volume group {vg}"]
        elif not lv:
            want.update(x.name for x in lvs)
        elif lv in {x.name for x in lvs}:
            want.add(lv)
        else:
            errors.append(f'  Failed to find logical volume "{VG}/{lv}"')
    return [x for x in lvs if x.name in want], errors


def report(rows: list[list[str]], heads: list[str], right: list[bool], headings: bool,
           separator: str | None, aligned: bool) -> list[str]:
    """lvm2's report lines: aligned columns (numbers right), or joined by ``separator``."""
    table = ([heads] if headings else []) + rows
    if separator is not None and not aligned:
        return ["  " + separator.join(r) for r in table]
    # a column is as wide as its heading (shown or not), its widest value, and for a
    # percentage at least "100.00"
    widths = [max([len(r[i]) for r in rows] + [len(h), 6 if h.endswith("%") else 0])
              for i, h in enumerate(heads)]
    out = []
    for k, r in enumerate(table):
        cells = [c.ljust(w) if (not right[i] or (headings and k == 0)) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  " + (separator if separator is not None else " ").join(cells))
    return out


@command("lvs")
async def c_lvs(ctx: Ctx) -> int:
    opts, rest = gopt(ctx, "ao:O:v", [
        "options=", "noheadings", "separator=", "units=", "nosuffix", "unbuffered",
        "config=", "aligned", "all", "sort=", "readonly", "reportformat="])
    units = (opts.get("--units") or ["h"])[-1]
    if len(units) != 1 or units not in UNITS:
        raise UsageError("  Invalid units specification\n  Run `lvs --help' for more "
                         "information.", 3)
    fields = _fields(opts.get("-o", []) + opts.get("--options", []))
    config = " ".join(opts.get("--config", []))
    time_format = "%s" if "time_format" in config and '"%s"' in config else ""
    rows, errors = _select(logical_volumes(ctx.node), rest)
    suffix = "--nosuffix" not in opts
    table = [[lv.value(f, units, suffix, time_format) for f in fields] for lv in rows]
    seps = opts.get("--separator")
    sep = seps[-1] if seps else None
    lines = report(table, [FIELDS[f][0] for f in fields], [FIELDS[f][1] for f in fields],
                   "--noheadings" not in opts and bool(rows), sep, "--aligned" in opts)
    if lines:
        await ctx.out("\n".join(lines) + "\n")
    if errors:
        await ctx.err("\n".join(errors) + "\n")
        return 5
    return 0


@command("vgs")
async def c_vgs(ctx: Ctx) -> int:
    await ctx.out("  VG  #PV #LV #SN Attr   VSize    VFree \n"
                  f"  {VG}   1 {3 + len(_volumes(ctx.node)):>3}   0 wz--n- <465.26g <16.00g\n")
    return 0
