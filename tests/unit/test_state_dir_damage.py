"""A damaged rehearsal state dir is named with its file and what to do (``--reset``).

Wrong types in ``world.json``, a non-UTF-8 ``nodes/.sim-state``, a node directory replaced by a
file and a garbage key file ended in unhandled exceptions (or "Invalid private key" with no
path). Each is now refused before the simulated cluster starts, naming the file.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from pverunbook.cli import main
from pverunbook.sim.cluster import SimCluster


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("rehearsal") / "state"

    async def build() -> None:
        sim = SimCluster(state_dir=state)
        await sim.start()
        await sim.stop()

    asyncio.run(build())
    assert (state / "world.json").is_file() and (state / "nodes" / ".sim-state").is_file()
    return state


def _world(change):  # type: ignore[no-untyped-def]
    def damage(state: Path) -> Path:
        data = json.loads((state / "world.json").read_text())
        change(data)
        (state / "world.json").write_text(json.dumps(data))
        return state / "world.json"
    return damage


def _node_is_a_file(state: Path) -> Path:
    node = sorted(p for p in (state / "nodes").iterdir() if p.is_dir())[0]
    shutil.rmtree(node)
    node.write_text("x\n")
    return node


def _marker(state: Path) -> Path:
    (state / "nodes" / ".sim-state").write_bytes(b"\xff\xfe\x00")
    return state / "nodes" / ".sim-state"


def _key(state: Path) -> Path:
    key = state / "keys" / "rehearsal_ed25519"
    key.write_text("garbage\n")
    return key


def _truncated_key(state: Path) -> Path:
    """A real key cut short (a disk that filled while it was written): still PEM-shaped."""
    key = state / "keys" / "rehearsal_ed25519"
    lines = key.read_text().splitlines()
    key.write_text("\n".join(lines[:2] + lines[-1:]) + "\n")
    return key


def _first_node(data: dict) -> dict:  # type: ignore[type-arg]
    return data["nodes"][sorted(data["nodes"])[0]]


DAMAGE = {
    "nodes-a-list": _world(lambda d: d.update(nodes=[1, 2])),
    "units-a-number": _world(lambda d: _first_node(d).update(units=5)),
    "vms-text": _world(lambda d: _first_node(d).update(vms="100")),
    "qdevice-a-string": _world(lambda d: _first_node(d).update(qdevice="yes")),
    "node-dir-a-file": _node_is_a_file,
    "sim-state-not-utf8": _marker,
    "garbage-key": _key,
    "truncated-key": _truncated_key,
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damage_is_named_with_its_file_and_what_to_do(
        saved: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    shutil.copytree(saved, state, symlinks=True)
    damaged = DAMAGE[kind](state)
    rc = main(["rehearse", "network-triage", "--state-dir", str(state), "--headless"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert str(damaged) in err, err
    assert ("--reset" in err) if not kind.endswith("-key") else ("delete that file" in err), err
    assert "could not handle this input" not in err and "Traceback" not in err


def test_the_saved_keys_pass_the_quick_check_without_asyncssh(saved: Path) -> None:
    """The keys the simulator writes are recognised by the structural check alone (asyncssh,
    slow to import, is only asked about keys of another shape)."""
    from pverunbook.commands.inputs import _whole_openssh_ed25519

    keys = [k for k in (saved / "keys").iterdir()
            if k.suffix != ".pub" and k.name != "password" and not k.name.startswith(".")]
    assert keys and all(_whole_openssh_ed25519(k.read_bytes()) for k in keys)
    whole = keys[0].read_bytes()
    assert not _whole_openssh_ed25519(whole.replace(b"\n", b"", 1)[:-60] + whole[-36:])
