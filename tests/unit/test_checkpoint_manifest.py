"""A checkpoint's manifest is checked before it is shown verified or restored from.

A tampered ``stored`` field made restore read the operator's own private key and send it to the
node; a path outside the step's declared backup was restored over. Now the manifest is sealed
(HMAC under a key kept on this machine) and checked against what the step declared, before
``checkpoints show`` says "verified" and before restore reads or writes anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.engine.checkpoint_index import list_checkpoints, load_checkpoint
from pverunbook.engine.checkpoint_verify import seal, verify
from pverunbook.engine.checkpoints import CheckpointStore, Parts
from pverunbook.engine.restore import restore
from pverunbook.inventory import local_cluster
from pverunbook.transport.base import Transport
from pverunbook.transport.local import LocalTransport

CLUSTER = local_cluster()


class NoIO(LocalTransport):
    """Fails the test on any read or write on the node."""

    async def run(self, *a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("restore ran a command on the node")

    async def read_file(self, *a, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("restore read a file on the node")


async def _checkpoint(tmp_path: Path) -> tuple[Path, Path, str]:
    tree = tmp_path / "etc-pve"
    tree.mkdir()
    (tree / "a.conf").write_text("memory: 1\n")
    root = tmp_path / "cps"
    node = CLUSTER.nodes[0]
    outcome = await CheckpointStore(root=root).capture(
        "r", "s", [(node, LocalTransport(), Parts(files=[str(tree)]))])
    assert outcome.ok, outcome.problems
    return root, tree, outcome.checkpoint_id


def _edit(root: Path, cid: str, change, reseal: bool = False) -> None:  # type: ignore[no-untyped-def]
    path = root / cid / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    if reseal:
        m = seal({k: v for k, v in m.items() if k != "seal"})
    path.write_text(json.dumps(m))


async def test_an_untouched_checkpoint_verifies(tmp_path: Path) -> None:
    root, _, cid = await _checkpoint(tmp_path)
    assert verify(load_checkpoint(cid, root=root)) == []
    assert [c.ok for c in list_checkpoints(root)] == [True]


@pytest.mark.parametrize("how", ["stored-elsewhere", "path-outside", "resealed-outside",
                                 "resealed-absent", "no-seal", "copy-changed"])
async def test_a_tampered_manifest_is_not_verified_and_restore_touches_nothing(
        tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root, tree, cid = await _checkpoint(tmp_path)
    secret = tmp_path / "operator-key"
    secret.write_text("PRIVATE KEY\n")

    def files(m):  # type: ignore[no-untyped-def]
        return next(i for i in m["items"] if i["kind"] == "file")

    if how == "stored-elsewhere":  # restore would read the operator's own key
        _edit(root, cid, lambda m: files(m).update(stored=f"../../{secret.name}"))
    elif how == "path-outside":
        _edit(root, cid, lambda m: files(m).update(path="/etc/passwd"))
    elif how == "resealed-outside":  # even a manifest sealed again holds only declared paths
        _edit(root, cid, lambda m: files(m).update(path="/etc/passwd"), reseal=True)
    elif how == "resealed-absent":  # "absent" makes restore delete: only a declared path
        _edit(root, cid, lambda m: m["items"].append(
            {"node": files(m)["node"], "kind": "absent", "path": str(tree / "a.conf"),
             "stored": "", "ok": True, "status": "absent", "problem": ""}), reseal=True)
    elif how == "no-seal":
        _edit(root, cid, lambda m: m.pop("seal"))
    else:
        (root / cid / files(json.loads((root / cid / "manifest.json").read_text()))["stored"]
         ).write_text("changed on disk\n")
    cp = load_checkpoint(cid, root=root)
    assert verify(cp)
    if how != "copy-changed":  # listing skips hashing the copies
        assert [c.ok for c in list_checkpoints(root)] == [False]

    async def yes(summary: str, expected: str) -> str | None:
        raise AssertionError("restore asked to go ahead with an untrusted manifest")

    transport: Transport = NoIO()
    res = await restore(cp, transport, CLUSTER, confirm=yes,
                        store=CheckpointStore(root=tmp_path / "pre"))
    assert not res.ok and any("cannot be trusted" in p for p in res.problems)
    assert not (tmp_path / "pre").exists()  # no pre-restore checkpoint either

    shown = main(["checkpoints", "show", str(root / cid)])
    out = capsys.readouterr().out
    assert shown == 0 and "NOT verified" in out and ": verified" not in out
