"""Built-in actions over the real local transport, on real files."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import local_cluster
from pverunbook.pve import corosync_conf as cc
from pverunbook.pve.pmxcfs import create_db
from pverunbook.runbook.loader import load_text
from pverunbook.sim.scenarios import COROSYNC_CONF as STORY_CONF
from pverunbook.transport.local import LocalTransport

# The story's cluster config, with the hand-set token_retransmit the story added.
CONF = STORY_CONF.replace("  secauth: on\n", "  secauth: on\n  token_retransmit: 1000\n")


async def run_book(text: str) -> tuple[str, list[ev.Event]]:
    book = load_text('id = "a"\ntitle = "A"\n' + textwrap.dedent(text))
    engine = Engine(book, local_cluster(), LocalTransport(), ScriptedDecider(), run_id="r")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    return await engine.run(), seen


def output(seen: list[ev.Event]) -> str:
    return "".join(e.text for e in seen if isinstance(e, ev.OutputChunk))


async def test_corosync_edit_writes_new_file_with_one_version_bump(tmp_path: Path) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(CONF)
    status, seen = await run_book(f'''
        [[steps]]
        id = "edit"
        title = "Edit"
        kind = "action"
        action = "corosync-edit"
        [steps.args]
        source = "{src}"
        unset = ["token_retransmit"]
        [steps.args.set]
        token = "5000"
    ''')
    assert status == "ok", output(seen)
    new = cc.parse((tmp_path / "corosync.conf.new").read_text())
    assert new.get("totem.token") == "5000"
    assert new.get("totem.token_retransmit") is None
    assert new.config_version == 6
    assert src.read_text() == CONF  # nothing applied until the operator moves it into place
    text = output(seen)
    assert "+  token: 5000" in text.replace("\t", "  ") or "token: 5000" in text
    assert "config_version 5 -> 6" in text


async def test_corosync_edit_refuses_fatal_result(tmp_path: Path) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(CONF)
    status, seen = await run_book(f'''
        [[steps]]
        id = "edit"
        title = "Edit"
        kind = "action"
        action = "corosync-edit"
        [steps.args]
        source = "{src}"
        [steps.args.set]
        transport = "udpu"
    ''')
    assert status == "failed"
    assert not (tmp_path / "corosync.conf.new").exists()
    assert "corosync would refuse" in output(seen)


async def test_pmxcfs_restore_restores_only_missing_configs(tmp_path: Path) -> None:
    db = tmp_path / "config.db"
    create_db(db, {
        "corosync.conf": CONF.encode(),
        "nodes/pve001/qemu-server/108.conf": b"name: media\nmemory: 4096\n",
        "nodes/pve001/qemu-server/109.conf": b"name: other\n",
        "storage.cfg": b"dir: local\n\tpath /var/lib/vz\n",
    })
    dest = tmp_path / "pve"
    (dest / "nodes/pve001/qemu-server").mkdir(parents=True)
    (dest / "nodes/pve001/qemu-server/109.conf").write_text("name: keep-me\n")
    status, seen = await run_book(f'''
        [[steps]]
        id = "restore"
        title = "Restore"
        kind = "action"
        action = "pmxcfs-restore"
        [steps.args]
        source = "{db}"
        dest = "{dest}"
    ''')
    assert status == "ok", output(seen)
    assert (dest / "nodes/pve001/qemu-server/108.conf").read_bytes() == \
        b"name: media\nmemory: 4096\n"
    assert (dest / "nodes/pve001/qemu-server/109.conf").read_text() == "name: keep-me\n"
    assert not (dest / "storage.cfg").exists()  # outside the requested glob


async def test_action_plan_in_dry_run_describes_it() -> None:
    from pverunbook.transport.dryrun import DryRunTransport

    book = load_text('id = "a"\ntitle = "A"\n[[steps]]\nid = "e"\ntitle = "E"\n'
                     'kind = "action"\naction = "vm-config-rebuild"\n[steps.args]\nvmid = "108"\n')
    engine = Engine(book, local_cluster(), DryRunTransport(), ScriptedDecider(), run_id="r")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    assert await engine.run() == "planned"
    assert "would run on" in output(seen) and "vm-config-rebuild" in output(seen)


def test_unknown_action_and_args_are_load_errors() -> None:
    import pytest

    from pverunbook.runbook.loader import RunbookError

    with pytest.raises(RunbookError, match="unknown action 'nope'"):
        load_text('id = "a"\ntitle = "A"\n[[steps]]\nid = "e"\ntitle = "E"\nkind = "action"\n'
                  'action = "nope"\n')
    with pytest.raises(RunbookError, match="unknown argument 'colour'"):
        load_text('id = "a"\ntitle = "A"\n[[steps]]\nid = "e"\ntitle = "E"\nkind = "action"\n'
                  'action = "vm-config-rebuild"\n[steps.args]\ncolour = "red"\n')


async def test_corosync_edit_adds_link_from_inventory_addr1(tmp_path: Path) -> None:
    from pverunbook.inventory import Cluster, Node

    src = tmp_path / "corosync.conf"
    src.write_text(CONF)
    book = load_text(f'''id = "a"
title = "A"
[[steps]]
id = "edit"
title = "Edit"
kind = "action"
action = "corosync-edit"
targets = "first"
[steps.args]
source = "{src}"
[steps.args.set]
token = "5000"
[steps.args.add_link]
linknumber = 1
''')

    async def run(cluster: Cluster) -> tuple[str, list[ev.Event]]:
        engine = Engine(book, cluster, LocalTransport(), ScriptedDecider(), run_id="r")
        seen: list[ev.Event] = []
        engine.subscribe(seen.append)
        return await engine.run(), seen

    without = Cluster("nyc", (Node("ryanrishi", "localhost"), Node("pve001", "localhost")))
    status, seen = await run(without)
    assert status == "failed" and "add `addr1" in output(seen)
    assert not (tmp_path / "corosync.conf.new").exists()
    with_addr1 = Cluster("nyc", (Node("ryanrishi", "localhost", addr1="10.10.10.1"),
                                 Node("pve001", "localhost", addr1="10.10.10.2")))
    status, seen = await run(with_addr1)
    assert status == "ok", output(seen)
    new = cc.parse((tmp_path / "corosync.conf.new").read_text())
    rings = {n["name"]: n.get("ring1_addr") for n in new.nodes()}
    assert rings == {"ryanrishi": "10.10.10.1", "pve001": "10.10.10.2"}
    assert new.config_version == 6  # token and link in one edit: bumped exactly once
    assert not [p for p in cc.validate(new, previous=cc.parse(CONF)) if p.severity == "fatal"]
