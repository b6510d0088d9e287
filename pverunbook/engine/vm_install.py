"""The ``vm-config-install`` action: write the VM configs the operator reviewed.

vm-config-recovery rebuilds each running VM's config into a node-local review file
(``<vmid>.conf.recovered``), asks the operator to read it and add what the command line cannot
tell (``onboot: 1``, the NIC's ``bridge=``/``tag=``), and then writes. Writing a *fresh*
rebuild there threw every edit away: a VM back with no ``onboot`` or on the wrong VLAN after its
next restart. This action writes the reviewed files as they are on the node now, with the
rebuild's rails: only a VM running on this node, never over an existing config, never a second
config for a VMID another node has, each file checked with qemu-server's line rules first
(:mod:`pverunbook.pve.qemu.conffile`) and written under a temporary name, then renamed.
"""

from __future__ import annotations

from pverunbook.engine.actions import (
    ActionContext,
    _argv_of,
    _pick,
    _running_vms,
    _vmid_owner,
    vms_to_write,
)
from pverunbook.transport.base import TransportError


def _paths(ctx: ActionContext) -> tuple[str, str, str]:
    from_dir = str(ctx.args.get("from_dir", "/root/pverunbook-recovered")).rstrip("/")
    suffix = str(ctx.args.get("suffix", ".conf.recovered"))
    dest_dir = str(ctx.args.get("dest_dir", "/etc/pve/qemu-server")).rstrip("/")
    return from_dir, suffix, dest_dir


def _running_name(argv: list[str]) -> str | None:
    """The VM's name from its command line (``-name web01,debug-threads=on``), None without."""
    for i, arg in enumerate(argv[:-1]):
        if arg == "-name":
            return argv[i + 1].split(",", 1)[0]
    return None


async def vm_config_install(ctx: ActionContext) -> bool:
    """Write ``<from_dir>/<vmid><suffix>`` as ``<dest_dir>/<vmid>.conf`` for each VM running
    here: every file is checked first; a deleted one is skipped and named; a broken one is
    named with what is wrong and not written, and fails the step."""
    from pverunbook.pve.qemu.conffile import reviewed_problems

    from_dir, suffix, dest_dir = _paths(ctx)
    found = await _running_vms(ctx)
    if found is None:
        return False
    vms = await _pick(ctx, found[0])
    if vms is None:
        return False
    if not vms:
        return True
    ok = True
    ready: list[tuple[int, str, bytes]] = []
    for vmid, pid in sorted(vms.items()):
        source = f"{from_dir}/{vmid}{suffix}"
        if not await ctx.exists(source):
            ctx.warn(f"VM {vmid}: skipped: the reviewed file {source} is not there (deleted "
                     f"after the review, or never rebuilt): no config is written for VM "
                     f"{vmid}; re-run the rebuild preview to get one")
            continue
        try:
            data = await ctx.read(source)
        except TransportError as exc:
            ctx.warn(f"VM {vmid}: {source} cannot be read ({exc.message}): not written")
            ok = False
            continue
        argv = await _argv_of(ctx, vmid, pid)
        if argv is None:
            ok = False
            continue
        text = data.decode("utf-8", errors="replace")
        problems = ["not UTF-8 text"] if "\ufffd" in text else []
        problems += reviewed_problems(text, vmid, _running_name(argv))
        if problems:
            ctx.warn(f"VM {vmid}: {source} is not a valid VM config, so nothing is written for "
                     f"it: " + "; ".join(problems) + f". Fix {source} and run this step again")
            ok = False
            continue
        ready.append((vmid, source, data))
    for vmid, source, data in ready:
        target = f"{dest_dir}/{vmid}.conf"
        if await ctx.exists(target):
            ctx.warn(f"VM {vmid}: {target} exists; not overwriting (compare it with {source} "
                     "by hand)")
            continue
        elsewhere = await _vmid_owner(ctx, vmid) if target.startswith("/etc/pve/") else None
        if elsewhere and elsewhere != ctx.node.name:
            ctx.warn(f"VM {vmid}: not written: /etc/pve/nodes/{elsewhere}/qemu-server/"
                     f"{vmid}.conf already exists (/etc/pve/.vmlist), and pmxcfs refuses a "
                     f"second config for one VMID (File exists). VM {vmid} runs here on "
                     f"{ctx.node.name}: decide which node really owns it; if it is this one, "
                     f"move that config here by hand (mv /etc/pve/nodes/{elsewhere}/qemu-server/"
                     f"{vmid}.conf /etc/pve/nodes/{ctx.node.name}/qemu-server/) after comparing "
                     f"it with {source}")
            ok = False
            continue
        await ctx.write(target, data, mode=0o640)
        ctx.say(f"VM {vmid}: wrote {target}, the reviewed {source} as it is")
    return ok


async def vm_install_writes(ctx: ActionContext) -> list[str]:
    """What ``vm-config-install`` writes on this node, one line a VM (VMID, name, the reviewed
    file and where it goes), read before its confirmation and writing nothing."""
    from_dir, suffix, dest_dir = _paths(ctx)
    here = await vms_to_write(ctx, dest_dir)
    if isinstance(here, str):
        return [here]
    vms, names, owners, shown_dir = here
    out: list[str] = []
    for vmid in vms:
        vm = f"VM {vmid}" + (f" ({names[vmid]})" if vmid in names else "")
        source = f"{from_dir}/{vmid}{suffix}"
        owner = owners.get(str(vmid))
        if owner and owner != ctx.node.name:
            out.append(f"{vm}: not written, its config is on {owner}")
        elif await ctx.exists(f"{dest_dir}/{vmid}.conf"):
            out.append(f"{vm}: not written, {shown_dir}/{vmid}.conf exists")
        elif not await ctx.exists(source):
            out.append(f"{vm}: not written, the reviewed {source} is gone")
        else:
            out.append(f"{vm}: the reviewed {source} → {shown_dir}/{vmid}.conf")
    return out
