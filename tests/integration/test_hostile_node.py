"""A hostile node over real SSH: its ``tar``, ``find`` and ``stat`` lie (PATH shims).

Whatever the node sends, a checkpoint writes nothing outside its folder and nothing larger than
the node's own listing declared, and ``restore`` writes nothing outside what was backed up:

* ``tar`` sends a GNU sparse member named like the 11-byte file that expands to 1 GiB, or an
  endless stream;
* ``find`` also lists a file outside the declared backup;
* ``stat`` declares a file smaller than it is, or prints a line that does not parse.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pverunbook.engine.archive import tar_bound
from pverunbook.engine.checkpoint_index import load_checkpoint
from pverunbook.engine.checkpoint_verify import seal
from pverunbook.engine.checkpoints import CheckpointStore, Parts
from pverunbook.engine.restore import restore
from pverunbook.inventory import Cluster, Node
from pverunbook.transport.base import CommandResult
from pverunbook.transport.ssh import SSHTransport
from tests.integration.sshd_fixture import Sshd, sshd
from tests.integration.test_ssh_openssh import make, node

__all__ = ["sshd"]

TAR = shutil.which("tar") or "/usr/bin/tar"
FIND = shutil.which("find") or "/usr/bin/find"
STAT = shutil.which("stat") or "/usr/bin/stat"

SHIMS = {
    # A 10 KiB archive whose one member, named like the declared 11-byte file, is 1 GiB sparse.
    "sparse-tar": {"tar": f"""#!/bin/sh
for a; do rel=$a; done
d=$(mktemp -d)
truncate -s 1G "$d/big"
{TAR} -cSf - -C "$d" --transform "s|^big\\$|$rel/a.conf|" big
rm -rf "$d"
"""},
    "endless-tar": {"tar": "#!/bin/sh\nexec yes pverunbook-endless-stream\n"},
    # find also lists a file outside the declared backup
    "find-outside": {"find": f"""#!/bin/sh
{FIND} "$@"
{STAT} -c "$6" "$OUTSIDE"
"""},
    # stat declares every file as 11 bytes
    "stat-small": {"stat": f"""#!/bin/sh
{STAT} "$@" | sed -E 's/^([0-7]+ [0-9]+ [0-9]+ [^ ]+ [^ ]+) [0-9]+ /\\1 11 /'
"""},
    # stat prints a line that does not parse for one file
    "stat-garbage": {"stat": f"""#!/bin/sh
{STAT} "$@" | sed -E 's/^([0-7]+) [0-9]+ (.*b\\.conf)$/\\1 x \\2/'
"""},
}


class ShimmedSSH(SSHTransport):
    """The node's PATH starts with the shim directory (its tools lie)."""

    shims: Path
    outside: Path

    def _wrap(self, command: str) -> str:
        return f"PATH={self.shims}:$PATH OUTSIDE={self.outside}; export PATH OUTSIDE; {command}"

    async def run(self, node: Node, command: str, *, timeout: float,
                  on_output) -> CommandResult:  # type: ignore[no-untyped-def,override]
        return await super().run(node, self._wrap(command), timeout=timeout,
                                 on_output=on_output)

    async def stream(self, node: Node, command: str, *, idle_timeout: float,
                     sink) -> tuple[CommandResult, str]:  # type: ignore[no-untyped-def,override]
        return await super().stream(node, self._wrap(command), idle_timeout=idle_timeout,
                                    sink=sink)


def _tree(sshd: Sshd, name: str) -> tuple[Path, Path]:
    tree = sshd.scratch / f"pve-{name}"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.conf").write_text("memory: 1\n\n")  # 11 bytes
    (tree / "sub" / "b.conf").write_bytes(b"x" * 100_000)
    outside = sshd.scratch / f"outside-{name}.conf"
    outside.write_text("the operator's own file\n")
    for p in [tree, *tree.rglob("*"), outside]:
        p.chmod(0o755 if p.is_dir() else 0o644)
        os.chown(p, *_ids(sshd))
    return tree, outside


def _ids(sshd: Sshd) -> tuple[int, int]:
    import pwd

    user = pwd.getpwnam(sshd.user)  # the login user's own group: restore can set it back
    return user.pw_uid, user.pw_gid


def _snapshot(root: Path, skip: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and skip not in p.parents}


@pytest.mark.parametrize("kind", sorted(SHIMS))
async def test_a_lying_node_cannot_grow_or_escape_a_checkpoint_or_its_restore(
        sshd: Sshd, tmp_path: Path, kind: str) -> None:
    tree, outside = _tree(sshd, f"{kind}-{tmp_path.name}")
    shims = sshd.scratch / f"shims-{kind}-{tmp_path.name}"
    shims.mkdir()
    for tool, script in SHIMS[kind].items():
        (shims / tool).write_text(script)
        (shims / tool).chmod(0o755)
    shims.chmod(0o755)
    t = make(sshd, tmp_path)
    t.__class__ = ShimmedSSH
    assert isinstance(t, ShimmedSSH)
    t.shims, t.outside = shims, outside
    root = tmp_path / "cps"
    seal({})  # the machine's seal key exists before the snapshot
    before = _snapshot(tmp_path, root)
    n = node(sshd)
    try:
        outcome = await CheckpointStore(root=root).capture(
            "r", "s", [(n, t, Parts(files=[str(tree)]))])
        # Nothing written outside the checkpoint folder; nothing larger than declared.
        assert _snapshot(tmp_path, root) == before
        used = sum(p.stat().st_blocks * 512 for p in root.rglob("*") if p.is_file())
        assert used < 1 << 20, f"{used} bytes on disk for a 100 KiB tree"
        declared = {i["stored"]: i.get("size") for i in outcome.items
                    if i.get("stored") and i.get("offset") is None}
        members: dict[str, dict[str, int]] = {}
        for i in outcome.items:
            if i.get("stored") and i.get("offset") is not None:
                members.setdefault(i["stored"], {})[i["path"]] = i.get("size") or 0
        # A tree's stored archive: no larger than an honest tar of the sizes the node listed.
        declared.update({rel: tar_bound(sizes) for rel, sizes in members.items()})
        for p in (root / outcome.checkpoint_id).rglob("*"):
            if p.is_file() and p.name != "manifest.json":
                rel = str(p.relative_to(root / outcome.checkpoint_id))
                assert rel in declared, f"{rel} is stored but not in the manifest"
                assert p.stat().st_size <= (declared[rel] or 0)
        stored_paths = {i["path"] for i in outcome.items if i.get("ok") and i.get("stored")}
        assert all(p == str(tree) or p.startswith(f"{tree}/") for p in stored_paths)
        if kind != "find-outside":
            assert not outcome.ok  # the lie is caught and named
            assert any(str(tree) in p or "b.conf" in p for p in outcome.problems), \
                outcome.problems
        else:
            assert any(str(outside) in p and "not under the declared backup" in p
                       for p in outcome.problems), outcome.problems
        # Restore writes only below what was backed up, whatever the node listed.
        cp = load_checkpoint(outcome.checkpoint_id, root=root)
        outside.write_text("changed since\n")
        (tree / "a.conf").write_text("changed\n")

        async def yes(summary: str, expected: str) -> str | None:
            return expected

        cluster = Cluster("c", (n,))
        res = await restore(cp, t, cluster, confirm=yes,
                            store=CheckpointStore(root=tmp_path / "pre"))
        assert outside.read_text() == "changed since\n"
        assert all(w.split(":", 1)[1] == str(tree) or w.split(":", 1)[1].startswith(f"{tree}/")
                   for w in res.written), res.written
        if kind == "find-outside":
            assert res.ok, res.problems
            assert (tree / "a.conf").read_text() == "memory: 1\n\n"
    finally:
        await t.close()
