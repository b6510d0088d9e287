"""``pverunbook vm-config`` and ``pverunbook pmxcfs extract``: get VM configs back.

Both read evidence only (a saved command line, a copy of config.db or its .sql.gz backup) and
print or write copies; nothing here touches /etc/pve, because the point is to recover after it
has already been damaged.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from pverunbook.runbook.readfile import open_regular, read_capped

#: A saved command line (or ps listing, storage.cfg) is kilobytes; more is the wrong file.
MAX_INPUT = 16 * 1024 * 1024


def _vmid(text: str) -> int:
    """A Proxmox VE VM id, 100 to 999999999 (pve-vmid): a negative or tiny id was taken and
    written into the rebuilt config and its review notes ("VM -3")."""
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0
    if not 100 <= value <= 999_999_999:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a VM id; give the VM's number, 100 to 999999999 (as in "
            "`qm list` or the -id option of its command line)")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    vm = subparsers.add_parser(
        "vm-config",
        help="rebuild a VM config from a running VM's QEMU command line",
        description="Reads `ps auxww` lines, /proc/<pid>/cmdline or `qm showcmd --pretty` "
                    "output (also as wrapped by a mail client or a forum) and prints the .conf "
                    "on stdout; review notes (what the command line cannot show) go to "
                    "stderr or --review FILE, never into the config. When part of the command "
                    "line cannot be understood, what was read is still printed, the missing "
                    "parts are named on stderr and the exit code is 2 (0 with "
                    "--allow-partial).",
    )
    vm.add_argument("--from-cmdline", required=True, metavar="FILE",
                    help="file with the command line, or - for stdin")
    vm.add_argument("--vmid", type=_vmid, help="VM id to pick when FILE holds several VMs")
    vm.add_argument("--storage-cfg", type=Path, metavar="FILE",
                    help="copy of the node's /etc/pve/storage.cfg: the only source of the disks' "
                         "storage ids (without it, a disk on a storage is not understood: "
                         "no storage id is guessed)")
    vm.add_argument("--review", type=Path, metavar="FILE",
                    help="write the review notes here instead of stderr")
    vm.add_argument("--allow-partial", action="store_true",
                    help="exit 0 even if parts of the command line were not understood "
                         "(they are still listed on stderr and in the review notes)")
    vm.set_defaults(func=cmd_vm_config)

    pm = subparsers.add_parser("pmxcfs", help="read a pmxcfs database (config.db) offline")
    sub = pm.add_subparsers(dest="pmxcfs_command", required=True)
    ex = sub.add_parser(
        "extract",
        help="list or write out the files in config.db or a config-*.sql.gz backup",
    )
    ex.add_argument("db", type=Path, metavar="DB")
    ex.add_argument("--out", type=Path, metavar="DIR",
                    help="write the tree here; without it, list paths and sizes")
    ex.set_defaults(func=cmd_pmxcfs_extract)


def _fail(what: str, why: str, todo: str) -> int:
    print(f"pverunbook: {what}: {why}; {todo}", file=sys.stderr)
    return 2


def cmd_vm_config(args: argparse.Namespace) -> int:
    from pverunbook.pve.qemu import (
        CmdlineError,
        StorageMap,
        find_swtpm,
        parse_storage_cfg,
        recover_config,
        split_all,
    )

    src = args.from_cmdline
    try:
        data = sys.stdin.buffer.read(MAX_INPUT + 1) if src == "-" else \
            read_capped(src, MAX_INPUT, "QEMU command line")
        if len(data) > MAX_INPUT:
            raise OSError(errno.EFBIG, f"more than {MAX_INPUT >> 20} MiB on stdin; that is "
                                       "not a saved command line")
    except OSError as exc:
        return _fail(src, exc.strerror or str(exc), "give a readable file or - for stdin")
    storage: StorageMap | None = None
    if args.storage_cfg is not None:
        try:
            storage = parse_storage_cfg(
                read_capped(args.storage_cfg, MAX_INPUT, "storage.cfg").decode("utf-8"))
        except OSError as exc:
            return _fail(str(args.storage_cfg), exc.strerror or str(exc),
                         "copy /etc/pve/storage.cfg from a backup or leave --storage-cfg out")
        except UnicodeDecodeError as exc:
            line = exc.object[:exc.start].count(b"\n") + 1
            return _fail(f"{args.storage_cfg}:{line}",
                         f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})",
                         "save the storage.cfg copy as UTF-8, or omit --storage-cfg")
        except CmdlineError as exc:
            return _fail(str(args.storage_cfg), str(exc), "fix or omit the storage.cfg copy")
    try:
        found = split_all(data)
        if args.vmid is not None and len(found) > 1:
            found = [a for a in found if _argv_id(a) == str(args.vmid)]
        if not found:
            where = "no kvm/qemu-system command line found" if args.vmid is None or \
                not split_all(data) else f"no QEMU process for VM {args.vmid}"
            return _fail(src, where, "save `ps auxww | grep kvm`, /proc/<pid>/cmdline or "
                                     "`qm showcmd <vmid> --pretty` to the file")
        if len(found) > 1:
            ids = ", ".join(sorted(_argv_id(a) or "?" for a in found))
            return _fail(src, f"{len(found)} QEMU processes (VM ids {ids})",
                         "choose one with --vmid")
        vmid_found = _argv_id(found[0])
        tpm = find_swtpm(data).get(int(vmid_found)) if vmid_found and vmid_found.isdigit() \
            else None
        cfg = recover_config(found[0], storage=storage, vmid=args.vmid, swtpm=tpm)
    except CmdlineError as exc:
        return _fail(src, str(exc), "check that the file holds one VM's full command line")
    review = cfg.render_review()
    if args.review is not None:
        try:
            args.review.write_text(review, encoding="utf-8")
        except OSError as exc:
            return _fail(str(args.review), exc.strerror or str(exc), "choose a writable path")
    else:
        sys.stderr.write(review)
    # What was read is always shown, so the operator sees the answer even while a part is
    # missing; the exit code and the lines below keep a partial config from passing for a
    # whole one (a script that writes stdout to a .conf must check the exit code).
    sys.stdout.write(cfg.render())
    if not cfg.complete and not args.allow_partial:
        for m in cfg.missing:
            print(f"pverunbook: {src}: not understood: {m}", file=sys.stderr)
        return _fail(src, f"the config of VM {cfg.vmid} on stdout is INCOMPLETE "
                          f"({len(cfg.missing)} part(s) above are missing from it)",
                     "do not install it as it is: fix the input (full `ps -ww` line, swtpm "
                     "line, --storage-cfg) and rerun, or pass --allow-partial to accept it")
    return 0


def _argv_id(argv: list[str]) -> str | None:
    for i, a in enumerate(argv[:-1]):
        if a == "-id":
            return argv[i + 1]
    return None


def cmd_pmxcfs_extract(args: argparse.Namespace) -> int:
    import zlib

    from pverunbook.pve.pmxcfs import PmxcfsError, extract, read_tree

    try:
        open_regular(args.db, "pmxcfs database").close()  # a FIFO/device: refused, not waited on
    except OSError as exc:
        return _fail(str(args.db), exc.strerror or str(exc),
                     "point at config.db or a config-*.sql.gz from /var/lib/pve-cluster/backup")
    try:
        if args.out is None:
            for rel, data in sorted(read_tree(args.db).items()):
                print(f"{len(data):>8}  {rel}")
            return 0
        written = extract(args.db, args.out)
    except PmxcfsError as exc:
        return _fail("pmxcfs extract", str(exc), "point at config.db (with its -wal) or a "
                                             "config-*.sql.gz from /var/lib/pve-cluster/backup")
    except (zlib.error, EOFError) as exc:  # a gzip stream broken inside its data
        return _fail(str(args.db), f"damaged gzip data ({exc})",
                     "the backup is corrupt: take an older config-*.sql.gz from "
                     "/var/lib/pve-cluster/backup")
    except OSError as exc:
        return _fail(str(args.out or args.db), exc.strerror or str(exc),
                     "choose a writable --out directory")
    print(f"wrote {len(written)} files below {args.out}")
    return 0
