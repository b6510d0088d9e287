"""Built-in actions: steps whose work is done by pverunbook itself rather than a shell command.

Editing corosync.conf with ``sed`` or rebuilding a VM config by eye is exactly how the original
outage went wrong. An action reads what it needs from the node through the transport, does the
careful part here with the domain library (which shows a diff and refuses fatal results), and
writes back through the transport. It runs per target node like a command, streams its output as
text, and is planned and journaled the same way.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import shlex
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pverunbook.inventory import Node
from pverunbook.runbook.actions import ACTIONS as CATALOGUE
from pverunbook.runbook.actions import ActionSignature
from pverunbook.runbook.actions import render_args as render_args
from pverunbook.transport.base import CommandResult, OutputCallback, Transport, TransportError


@dataclass
class ActionContext:
    node: Node
    transport: Transport
    args: dict[str, Any]
    timeout: float
    out: OutputCallback
    cluster_nodes: list[str] = field(default_factory=list)
    #: Second-link (ring1) address of every cluster node, from the inventory ("" if unknown).
    link1_addrs: dict[str, str] = field(default_factory=dict)
    #: The other cluster nodes, for an action that must know whether something is on another
    #: node (a VMID runs on one node: the others say "not here" instead of failing).
    peers: list[Node] = field(default_factory=list)
    #: Nodes that did not answer when the run started (name → why): not asked again.
    unreachable: dict[str, str] = field(default_factory=dict)

    def say(self, text: str) -> None:
        self.out("stdout", text if text.endswith("\n") else text + "\n")

    def warn(self, text: str) -> None:
        self.out("stderr", text if text.endswith("\n") else text + "\n")

    async def run(self, command: str) -> tuple[CommandResult, str, str]:
        """Run a helper command quietly; returns (result, stdout, stderr)."""
        out: list[str] = []
        err: list[str] = []

        def collect(stream: str, text: str) -> None:
            (out if stream == "stdout" else err).append(text)

        result = await self.transport.run(self.node, command, timeout=self.timeout,
                                          on_output=collect)
        return result, "".join(out), "".join(err)

    async def run_on(self, node: Node, command: str) -> tuple[CommandResult, str]:
        """Run a read-only helper command on another node quietly; returns (result, stdout)."""
        out: list[str] = []

        def collect(stream: str, text: str) -> None:
            if stream == "stdout":
                out.append(text)

        result = await self.transport.run(node, command, timeout=self.timeout,
                                          on_output=collect)
        return result, "".join(out)

    async def read(self, path: str) -> bytes:
        return await self.transport.read_file(self.node, path, timeout=self.timeout)

    async def exists(self, path: str) -> bool:
        result, _, _ = await self.run(f"test -e {shlex.quote(path)}")
        if result.timed_out:
            raise TransportError(self.node.name, f"checking {path} timed out after "
                                 f"{self.timeout:g}s (is /etc/pve hanging?)")
        return result.exit_status == 0

    async def write(self, path: str, data: bytes, mode: int | None = None) -> None:
        await self.transport.write_file(self.node, path, data, mode=mode, timeout=self.timeout)


ActionFn = Callable[[ActionContext], Awaitable[bool]]


@dataclass(frozen=True)
class ActionSpec:
    """A catalogue entry (``runbook/actions.py``) bound to the code that performs it."""

    signature: ActionSignature
    fn: ActionFn

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def summary(self) -> str:
        return self.signature.summary

    def check_args(self, args: dict[str, Any]) -> list[str]:
        return self.signature.check_args(args)

    def describe(self, args: dict[str, Any]) -> str:
        return self.signature.describe(args)

    @property
    def writes(self) -> Callable[[ActionContext], Awaitable[list[str]]] | None:
        """What the action writes on a node, read (nothing written) before its confirmation,
        one line a thing written; None for an action that cannot tell beforehand."""
        return _WRITES.get(self.name)


# -- corosync-edit --------------------------------------------------------------------------

async def corosync_edit(ctx: ActionContext) -> bool:
    from pverunbook.pve import corosync_conf as cc

    source = str(ctx.args.get("source", "/etc/pve/corosync.conf"))
    dest = str(ctx.args.get("dest", source + ".new"))
    changes: dict[str, str | None] = {
        str(k): (None if v in ("", None) else str(v))
        for k, v in dict(ctx.args.get("set", {})).items()}
    for key in ctx.args.get("unset", []):
        changes[str(key)] = None
    old_text = (await ctx.read(source)).decode("utf-8")
    try:
        old = cc.parse(old_text)
    except ValueError as exc:
        ctx.warn(f"{ctx.node.name}:{source}: cannot parse: {exc}")
        return False
    link = ctx.args.get("add_link")
    if isinstance(link, dict) and not link.get("addrs"):
        # No addresses in the runbook: take each node's `addr1` from the cluster inventory.
        missing = [n for n, a in ctx.link1_addrs.items() if not a]
        if missing or not ctx.link1_addrs:
            ctx.warn(f"no link-1 address for {', '.join(missing) or 'any node'} in the cluster "
                     "inventory: add `addr1 = \"<address>\"` to each [[nodes]] entry")
            return False
        link = {**link, "addrs": dict(ctx.link1_addrs)}
    wants_link = isinstance(link, dict) and bool(link.get("addrs"))
    # Each helper bumps config_version once; chain them so the file goes up by exactly one.
    new = cc.set_totem(old, changes) if changes or not wants_link else old
    if wants_link and isinstance(link, dict):
        addrs = {str(k): str(v) for k, v in dict(link["addrs"]).items()}
        prio = link.get("priority")
        linked = cc.add_link(new, int(link.get("linknumber", 1)), addrs,
                             int(prio) if prio not in (None, "") else None)
        if new is not old:
            linked.set("totem.config_version", str(new.config_version))
        new = linked
    new_text = new.dump()
    ctx.say(cc.unified_diff(old_text, new_text, source))
    problems = cc.validate(new, previous=old)
    for p in problems:
        line = f" (line {p.line})" if getattr(p, "line", None) else ""
        ctx.say(f"{p.severity}: {p.key}: {p.message}{line}")
    if any(p.severity == "fatal" for p in problems):
        ctx.warn(f"not writing {dest}: corosync would refuse this configuration")
        return False
    await ctx.write(dest, new_text.encode("utf-8"), mode=0o640)
    ctx.say(f"wrote {dest} (config_version {old.config_version} -> {new.config_version}); "
            f"nothing is applied until it is moved over {source}")
    return True


# -- vm-config-rebuild / vm-config-compare ----------------------------------------------------

_ID_RE = re.compile(r"(?:^|\s)-id\s+([0-9]{1,9})(?:\s|$)")


async def _running_vms(ctx: ActionContext) -> tuple[dict[int, int], str] | None:
    """Running kvm processes on the node as ({vmid: pid}, the ps text), None if ps failed."""
    result, ps_out, ps_err = await ctx.run("ps -eo pid=,args=")
    if result.exit_status != 0:
        result, ps_out, ps_err = await ctx.run("ps aux")
    if result.exit_status != 0:
        ctx.warn(f"cannot list processes on {ctx.node.name}: {ps_err.strip() or result}")
        return None
    return _kvm_ids(ps_out), ps_out


def _kvm_ids(ps_out: str) -> dict[int, int]:
    """{vmid: pid} of the kvm processes in a ``ps`` listing (``kvm -id <vmid>``)."""
    vms: dict[int, int] = {}
    for line in ps_out.splitlines():
        if "kvm" not in line and "qemu-system" not in line:
            continue
        m = _ID_RE.search(line)
        fields = line.split()
        pid_field = fields[0] if fields and _number(fields[0]) else (
            fields[1] if len(fields) > 1 and _number(fields[1]) else "")
        if m and pid_field:
            vms[int(m.group(1))] = int(pid_field)
    return vms


def _number(text: str, digits: int = 19) -> bool:
    """ASCII digits only, and not more than fit 64 bits: ``'800¹'.isdigit()`` is True, and
    ``int()`` of it raises (node output is never trusted to be a number)."""
    return 0 < len(text) <= digits and text.isascii() and text.isdigit()


async def _pick(ctx: ActionContext, vms: dict[int, int]) -> dict[int, int] | None:
    """The VMs of this node the step works on: all of them, or the one chosen VMID.

    A VM runs on exactly one node, and its config belongs to that node (qemu-server
    ``PVE::QemuConfig->config_file``: ``/etc/pve/nodes/<node>/qemu-server/<vmid>.conf``). So a
    chosen VMID that runs on another node is "not here" on this one ({}: nothing to do, not a
    failure); only a VMID that runs on no node, or a question no other node could answer, is
    a failure (None)."""
    want = str(ctx.args.get("vmid", "all")).strip()
    running = ", ".join(map(str, sorted(vms))) or "none"
    if want in ("", "all"):
        if not vms:
            ctx.say(f"no running VMs on {ctx.node.name}")
        return vms
    if _number(want) and int(want) in vms:
        return {int(want): vms[int(want)]}
    if not _number(want):
        ctx.warn(f"'{want}' is not a VMID (100..999999999) on {ctx.node.name}")
        return None
    vmid = int(want)

    async def ask(peer: Node) -> tuple[str, bool | None, str]:
        if peer.name in ctx.unreachable:
            return peer.name, None, "unreachable"
        try:
            res, out = await ctx.run_on(peer, "ps -eo pid=,args=")
        except TransportError as exc:
            return peer.name, None, exc.message
        if res.exit_status != 0:
            return peer.name, None, str(res)
        return peer.name, vmid in _kvm_ids(out), ""

    answers = await asyncio.gather(*(ask(p) for p in ctx.peers))
    there = [name for name, runs, _ in answers if runs]
    if there:
        ctx.say(f"VM {vmid}: not here: it runs on {', '.join(there)}, not on "
                f"{ctx.node.name} (running here: {running}); nothing to do on this node")
        return {}
    unasked = [f"{name} ({why})" for name, runs, why in answers if runs is None]
    if unasked:
        ctx.warn(f"no running VM {vmid} on {ctx.node.name} (running: {running}), and "
                 f"{', '.join(unasked)} could not be asked: check there that `kvm -id {vmid}` "
                 "runs, then re-run the step")
    else:
        ctx.warn(f"VM {vmid} runs on no node (running on {ctx.node.name}: {running}; "
                 f"{len(ctx.peers)} other node(s) asked): check the VMID (`ps -eo pid,args | "
                 "grep [k]vm` on each node); a VM that is stopped has no command line to "
                 "read")
    return None


async def _argv_of(ctx: ActionContext, vmid: int, pid: int) -> list[str] | None:
    try:
        raw = await ctx.read(f"/proc/{pid}/cmdline")
    except TransportError as exc:
        ctx.warn(f"VM {vmid}: cannot read /proc/{pid}/cmdline: {exc.message}")
        return None
    return [a for a in raw.decode("utf-8", "replace").split("\0") if a]


async def vm_config_rebuild(ctx: ActionContext) -> bool:
    """Rebuild ``<vmid>.conf`` of running VMs; review notes go to ``review_dir``, never into
    the config (qemu-server shows a config's leading ``#`` lines as the VM's Notes)."""
    from pverunbook.pve import qemu as qc

    dest_dir = str(ctx.args.get("dest_dir", "/etc/pve/qemu-server")).rstrip("/")
    suffix = str(ctx.args.get("suffix", ".conf"))
    review_dir = str(ctx.args.get("review_dir", "/root/pverunbook-recovered")).rstrip("/")
    overwrite = bool(ctx.args.get("overwrite", False))
    allow_partial = bool(ctx.args.get("allow_partial", False))
    found = await _running_vms(ctx)
    if found is None:
        return False
    all_vms, ps_out = found
    vms = await _pick(ctx, all_vms)
    if vms is None:
        return False
    if not vms:
        return True
    swtpms = qc.find_swtpm(ps_out)
    # The storage ids of the disks are only in storage.cfg; without it no id is guessed and
    # the VMs with storage-managed disks are not written (their disks are named as missing).
    storage_cfg = str(ctx.args.get("storage_cfg", "/etc/pve/storage.cfg"))
    storage = None
    try:
        storage = qc.parse_storage_cfg(
            (await ctx.read(storage_cfg)).decode("utf-8", errors="replace"))
    except TransportError as exc:
        ctx.warn(f"{storage_cfg} unreadable on {ctx.node.name} ({exc.message}): disks on a "
                 "storage cannot be mapped to <storage>:<volume>; restore storage.cfg (from a "
                 "config-*.sql.gz dump: `pverunbook pmxcfs extract`) and give its path as "
                 "storage_cfg")
    except qc.CmdlineError as exc:
        ctx.warn(f"{storage_cfg} on {ctx.node.name}: {exc}; disks on a storage cannot be mapped")
    taps: dict[str, str] = {}
    res, links, _ = await ctx.run("ip -o link show")
    if res.exit_status == 0:
        for m2 in re.finditer(r"^\d+:\s+(tap\S+?)(?:@\S+)?:.*?\bmaster\s+(\S+)", links, re.M):
            taps[m2.group(1)] = m2.group(2)
    ok = True
    for vmid, pid in sorted(vms.items()):
        target = f"{dest_dir}/{vmid}{suffix}"
        review_path = f"{review_dir}/{vmid}.conf.review"
        argv = await _argv_of(ctx, vmid, pid)
        if argv is None:
            ok = False
            continue
        sizes: dict[str, int] = {}
        paths = [p for arg in argv for p in re.findall(r"(?:file|filename)[=\":]+(/dev/[^,\"\s]+)",
                                                       arg)]
        if vmid in swtpms:
            paths.append(swtpms[vmid][0])
        for path in paths:
            if not path.startswith("/dev/"):
                continue
            r, out, _ = await ctx.run(f"blockdev --getsize64 {shlex.quote(path)}")
            if r.exit_status == 0 and _number(out.strip()):
                sizes[path] = int(out.strip())
        try:
            recovered = qc.recover_config(argv, storage=storage, vmid=vmid, disk_sizes=sizes,
                                          tap_bridges=taps, swtpm=swtpms.get(vmid))
        except ValueError as exc:
            ctx.warn(f"VM {vmid}: cannot rebuild: {exc}")
            ok = False
            continue
        text = recovered.render()
        review = recovered.render_review()
        ctx.say(f"--- VM {vmid} (pid {pid}) -> {target}")
        ctx.say(text)
        ctx.say(f"--- review notes for VM {vmid} -> {review_path}")
        ctx.say(review)
        # the review notes are written in any case: for an incomplete VM they say what is
        # missing (MISSING: lines), next to where the config would have gone
        await ctx.write(review_path, review.encode("utf-8"), mode=0o600)
        if not recovered.complete and not allow_partial:
            ctx.warn(f"VM {vmid}: {target} not written: the command line has parts no rule "
                     "reads (" + "; ".join(recovered.missing) + "); see " + review_path
                     + ", fix the input or set allow_partial = true")
            ok = False
            continue
        if not overwrite and await ctx.exists(target):
            ctx.warn(f"VM {vmid}: {target} exists; not overwriting (set overwrite = true "
                     "after comparing)")
            continue
        if not target.startswith("/etc/pve/") and await ctx.exists(target):
            await _keep_edited(ctx, vmid, target, text)
        elsewhere = await _vmid_owner(ctx, vmid) if target.startswith("/etc/pve/") else None
        if elsewhere and elsewhere != ctx.node.name:
            ctx.warn(f"VM {vmid}: not written: /etc/pve/nodes/{elsewhere}/qemu-server/"
                     f"{vmid}.conf already exists (/etc/pve/.vmlist), and pmxcfs refuses a "
                     f"second config for one VMID (File exists). VM {vmid} runs here on "
                     f"{ctx.node.name}: decide which node really owns it; if it is this one, "
                     f"move that config here by hand (mv /etc/pve/nodes/{elsewhere}/qemu-server/"
                     f"{vmid}.conf /etc/pve/nodes/{ctx.node.name}/qemu-server/) after comparing "
                     f"it with {review_path.rsplit('/', 1)[0]}")
            ok = False
            continue
        await ctx.write(target, text.encode("utf-8"), mode=0o640)
        ctx.say(f"wrote {target} (review notes: {review_path})")
    return ok


async def _keep_edited(ctx: ActionContext, vmid: int, target: str, text: str) -> None:
    """Before a fresh rebuild replaces the review copy ``target``, keep it as ``target.prev``
    when it differs: the operator may have edited it at the review step (vm-config-recovery
    writes the reviewed files as they are), and a runbook run again from its start rebuilt
    over those edits without a word. The fresh rebuild is what the next review starts from
    (an old copy may be from another day), and the old one is named so nothing typed is lost."""
    try:
        old = (await ctx.read(target)).decode("utf-8", "replace")
    except (TransportError, OSError):  # unreadable: the rebuild replaces it as before
        return
    if old == text:
        return
    await ctx.write(f"{target}.prev", old.encode("utf-8"), mode=0o600)
    ctx.warn(f"VM {vmid}: {target} differed from this rebuild (edited at an earlier review?): "
             f"it is kept as {target}.prev; compare (diff {target}.prev {target}) and carry "
             "over what you added before the configs are written")


_NAME_RE = re.compile(r"(?:^|\s)-name\s+([^,\s]+)")


async def vms_to_write(ctx: ActionContext, dest_dir: str
                       ) -> str | tuple[list[int], dict[int, str], dict[str, str], str]:
    """What a config-writing action's preview starts from (``vm-config-rebuild``,
    ``vm-config-install``): ``(vmids, names, owners, shown_dir)`` — the VMs running here
    (``ps``; one when the ``vmid`` argument names it), their ``-name``, the node each VMID's
    config sits on (/etc/pve/.vmlist, when ``dest_dir`` is in /etc/pve) and the directory as
    the operator reads it — or the one line to show instead (none runs here, ``ps`` failed)."""
    result, ps_out, ps_err = await ctx.run("ps -eo pid=,args=")
    if result.exit_status != 0:
        return (f"the running VMs could not be listed ({ps_err.strip() or result}): the step "
                "decides when it runs")
    names = {vmid: m.group(1) for line in ps_out.splitlines()
             if (m := _NAME_RE.search(line)) and (i := _ID_RE.search(line))
             for vmid in (int(i.group(1)),)}
    vms = sorted(_kvm_ids(ps_out))
    want = str(ctx.args.get("vmid", "all")).strip()
    if want not in ("", "all"):
        if not (_number(want) and int(want) in vms):
            return f"nothing: VM {want} does not run here"
        vms = [int(want)]
    if not vms:
        return "nothing: no VM runs here"
    owners: dict[str, str] = {}
    if dest_dir.startswith("/etc/pve/"):
        import json

        try:
            data = json.loads((await ctx.read("/etc/pve/.vmlist")).decode("utf-8", "replace"))
            owners = {str(k): str(v.get("node")) for k, v in data.get("ids", {}).items()
                      if isinstance(v, dict) and v.get("node")}
        except (TransportError, ValueError, AttributeError):
            owners = {}
    shown_dir = (f"/etc/pve/nodes/{ctx.node.name}/qemu-server"
                 if dest_dir == "/etc/pve/qemu-server" else dest_dir)
    return vms, names, owners, shown_dir


async def vm_config_writes(ctx: ActionContext) -> list[str]:
    """What ``vm-config-rebuild`` writes on this node, one line a VM (VMID, name, the file),
    read before its confirmation and writing nothing: ``ps`` for the VMs running here, the
    file itself and /etc/pve/.vmlist for a config that exists already (the step keeps it).
    A VM whose command line cannot be rebuilt is still listed: the step says so when it runs.
    """
    dest_dir = str(ctx.args.get("dest_dir", "/etc/pve/qemu-server")).rstrip("/")
    suffix = str(ctx.args.get("suffix", ".conf"))
    overwrite = bool(ctx.args.get("overwrite", False))
    here = await vms_to_write(ctx, dest_dir)
    if isinstance(here, str):
        return [here]
    vms, names, owners, shown_dir = here
    out: list[str] = []
    for vmid in vms:
        vm = f"VM {vmid}" + (f" ({names[vmid]})" if vmid in names else "")
        target = f"{dest_dir}/{vmid}{suffix}"
        owner = owners.get(str(vmid))
        if owner and owner != ctx.node.name:
            out.append(f"{vm}: not written, its config is on {owner}")
        elif not overwrite and await ctx.exists(target):
            out.append(f"{vm}: not written, {shown_dir}/{vmid}{suffix} exists")
        else:
            out.append(f"{vm} → {shown_dir}/{vmid}{suffix}")
    return out


async def _vmid_owner(ctx: ActionContext, vmid: int) -> str | None:
    """The node whose config holds ``vmid``, from pmxcfs's /etc/pve/.vmlist (JSON that pmxcfs
    builds from every ``nodes/<node>/qemu-server/*.conf``; pve-cluster src/pmxcfs/status.c
    ``cfs_create_vmlist_msg``), or None when it is not there or cannot be read."""
    import json

    try:
        data = json.loads((await ctx.read("/etc/pve/.vmlist")).decode("utf-8", "replace"))
        owner = data.get("ids", {}).get(str(vmid), {}).get("node")
    except (TransportError, ValueError, AttributeError):
        return None
    return str(owner) if owner else None


async def vm_config_compare(ctx: ActionContext) -> bool:
    """``qm showcmd`` of each VM's config against its running command line, a diff per VM."""
    from pverunbook.pve import qemu as qc
    from pverunbook.pve.qemu.compare import showcmd_diff

    found = await _running_vms(ctx)
    if found is None:
        return False
    vms = await _pick(ctx, found[0])
    if vms is None:
        return False
    if not vms:
        return True
    same: list[int] = []
    ok = True
    for vmid, pid in sorted(vms.items()):
        running = await _argv_of(ctx, vmid, pid)
        if running is None:
            ok = False
            continue
        res, out, err = await ctx.run(f"timeout 30 qm showcmd {vmid}")
        if res.exit_status != 0:
            ctx.warn(f"VM {vmid}: qm showcmd failed ({err.strip() or res}): is there a "
                     f"config for it on {ctx.node.name}?")
            ok = False
            continue
        try:
            built = qc.split_cmdline(out)
        except qc.CmdlineError as exc:
            ctx.warn(f"VM {vmid}: cannot read the qm showcmd output: {exc}")
            ok = False
            continue
        diff = showcmd_diff(running, built, vmid)
        if diff:
            ok = False
            ctx.warn(f"VM {vmid}: the config starts a different command line than the "
                     "running one; fix the config before the VM is restarted or migrated:")
            ctx.say("\n".join(diff))
        else:
            same.append(vmid)
            ctx.say(f"VM {vmid}: qm showcmd matches the running command line")
    ctx.say(f"{len(same)} of {len(vms)} VM(s) on {ctx.node.name} match")
    return ok


# -- pmxcfs-restore -------------------------------------------------------------------------

async def pmxcfs_restore(ctx: ActionContext) -> bool:
    from pverunbook.pve import pmxcfs

    source = str(ctx.args["source"])
    pattern = str(ctx.args.get("paths", "nodes/*/qemu-server/*.conf"))
    dest = str(ctx.args.get("dest", "/etc/pve")).rstrip("/")
    overwrite = bool(ctx.args.get("overwrite", False))
    only_list = bool(ctx.args.get("list_only", False))
    if any(ch in source for ch in "*?["):
        res, out, err = await ctx.run(f"ls -1t {source}")
        candidates = [line.strip() for line in out.splitlines() if line.strip()]
        if res.exit_status != 0 or not candidates:
            ctx.warn(f"no file matches {source} on {ctx.node.name}")
            return False
        source = candidates[0]
        ctx.say(f"newest match: {source}")
    data = await ctx.read(source)
    suffix = ".sql.gz" if source.endswith(".gz") else (".sql" if source.endswith(".sql")
                                                        else ".db")
    with tempfile.TemporaryDirectory(prefix="pverunbook-pmxcfs-") as tmp:
        local = Path(tmp) / f"source{suffix}"
        local.write_bytes(data)
        try:
            tree = pmxcfs.read_tree(local)
        except Exception as exc:  # sqlite/gzip errors: report, do not crash a recovery
            ctx.warn(f"{source} on {ctx.node.name} is not a readable pmxcfs database: {exc}")
            return False
    picked = {p: b for p, b in sorted(tree.items()) if fnmatch.fnmatch(p, pattern)}
    ctx.say(f"{source}: {len(tree)} files, {len(picked)} match {pattern}")
    for path, blob in picked.items():
        target = f"{dest}/{path}"
        if only_list:
            ctx.say(f"  {path} ({len(blob)} bytes)")
            continue
        if not overwrite and await ctx.exists(target):
            ctx.say(f"  {target} exists; kept")
            continue
        await ctx.write(target, blob, mode=0o640)
        ctx.say(f"  restored {target} ({len(blob)} bytes)")
    return True


async def vm_config_install(ctx: ActionContext) -> bool:
    """Write the reviewed VM configs (engine/vm_install.py, which uses the helpers above)."""
    from pverunbook.engine import vm_install

    return await vm_install.vm_config_install(ctx)


async def vm_install_writes(ctx: ActionContext) -> list[str]:
    from pverunbook.engine import vm_install

    return await vm_install.vm_install_writes(ctx)


_IMPLEMENTATIONS: dict[str, ActionFn] = {
    "corosync-edit": corosync_edit,
    "vm-config-rebuild": vm_config_rebuild,
    "vm-config-install": vm_config_install,
    "vm-config-compare": vm_config_compare,
    "pmxcfs-restore": pmxcfs_restore,
}

_WRITES: dict[str, Callable[[ActionContext], Awaitable[list[str]]]] = {
    "vm-config-rebuild": vm_config_writes,
    "vm-config-install": vm_install_writes,
}

ACTIONS: dict[str, ActionSpec] = {name: ActionSpec(CATALOGUE[name], fn)
                                  for name, fn in _IMPLEMENTATIONS.items()}
