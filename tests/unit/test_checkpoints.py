"""Checkpoints through the real engine, LocalTransport and the real sqlite3 CLI.

The property that matters: a destructive step never runs unless its checkpoint verified, or the
operator typed the exact override phrase (which the journal records).
"""
# The tests inspect small temp files after the engine is done; blocking there is harmless.
# ruff: noqa: ASYNC240

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.checkpoints import (
    CheckpointStore,
    list_checkpoints,
    load_checkpoint,
)
from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    CheckpointFailure,
    ScriptedDecider,
)
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal, read_journal
from pverunbook.engine.restore import restore
from pverunbook.inventory import Node, local_cluster
from pverunbook.runbook.loader import load_text
from pverunbook.transport.base import CommandResult, TransportError
from pverunbook.transport.local import LocalTransport

CLUSTER = local_cluster()
NODE = CLUSTER.nodes[0].name


def runbook(backup: str, command: str) -> str:
    return f"""
id = "ckpt"
title = "Checkpoint test"

[[steps]]
id = "wipe"
title = "Destroy something"
destructive = true
commands = [{json.dumps(command)}]

[steps.backup]
{backup}
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SequenceDecider(ScriptedDecider):
    """The operator's answers to failed checkpoints, in order (the last one repeats)."""

    def __init__(self, answers: list[Answer], **kw: Any) -> None:
        super().__init__(**kw)
        self.answers = answers

    async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
        self.asked.append(f"checkpoint:{failure.step.id}")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def run(text: str, store: CheckpointStore, *, transport: LocalTransport | None = None,
              decider: ScriptedDecider | None = None,
              journal: Path | None = None) -> tuple[str, list[ev.Event], ScriptedDecider]:
    decider = decider or ScriptedDecider(confirm_text="local")
    engine = Engine(load_text(text), CLUSTER, transport or LocalTransport(), decider,
                    run_id="r1", checkpointer=store)
    events: list[ev.Event] = []
    engine.subscribe(events.append)
    j = None
    if journal is not None:
        j = Journal(journal)
        engine.subscribe(j)
        engine.flushers.append(j.flush)
    try:
        status = await engine.run()
    finally:
        if j is not None:
            j.close()
    return status, events, decider


def taken(events: list[ev.Event]) -> list[ev.CheckpointTaken]:
    return [e for e in events if isinstance(e, ev.CheckpointTaken)]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CheckpointStore:
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))
    return CheckpointStore(root=tmp_path / "checkpoints", part_timeout=10.0)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small /etc/pve-like tree with a private key and odd permissions."""
    root = tmp_path / "pve"
    (root / "priv").mkdir(parents=True)
    (root / "nodes" / NODE / "qemu-server").mkdir(parents=True)
    (root / "storage.cfg").write_text("dir: local\n\tpath /var/lib/vz\n")
    vm = root / "nodes" / NODE / "qemu-server" / "108.conf"
    vm.write_text("cores: 4\nmemory: 4096\nname: media\n")
    os.chmod(vm, 0o640)
    key = root / "priv" / "authkey.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n")
    os.chmod(key, 0o600)
    (root / "local").symlink_to(f"nodes/{NODE}")
    return root


async def test_checkpoint_hashes_match_the_nodes_files(store: CheckpointStore, tree: Path,
                                                       tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = runbook(f"files = [{json.dumps(str(tree))}]\noutputs = [\"ls -la {tree}\"]",
                   f"touch {marker}")
    status, events, _ = await run(text, store)
    assert status == "ok" and marker.exists()
    (cp_event,) = taken(events)
    assert cp_event.ok and not cp_event.problems
    cp = load_checkpoint(cp_event.checkpoint_id, root=store.root)
    assert cp.id == "r1-wipe-1" and cp.ok
    files = {it["path"]: it for it in cp.items if it["kind"] == "file"}
    on_node = sorted(str(p) for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    assert sorted(files) == on_node
    for path, it in files.items():
        data = Path(path).read_bytes()
        assert it["sha256_remote"] == it["sha256_local"] == sha(data)
        assert cp.read_copy(it) == data
        assert cp.local_path(it).stat().st_mode & 0o777 == 0o600
        assert it["mode"] == f"{os.stat(path).st_mode & 0o7777:04o}"
    assert files[str(tree / "nodes" / NODE / "qemu-server" / "108.conf")]["mode"] == "0640"
    links = [it for it in cp.items if it["kind"] == "symlink"]
    assert [(it["path"], it["target"]) for it in links] == [(str(tree / "local"),
                                                             f"nodes/{NODE}")]
    for d in [p for p in cp.path.rglob("*") if p.is_dir()] + [cp.path]:
        assert d.stat().st_mode & 0o777 == 0o700, d
    manifest = (cp.path / "manifest.json").read_text()
    assert "SECRETKEYMATERIAL" not in manifest and "cores: 4" not in manifest
    (out,) = [it for it in cp.items if it["kind"] == "output"]
    assert out["ok"] and "108.conf" not in cp.local_path(out).read_text()  # ls of top only
    assert "storage.cfg" in cp.local_path(out).read_text()


async def test_missing_database_blocks_the_destructive_step(store: CheckpointStore,
                                                            tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    missing = tmp_path / "var" / "lib" / "pve-cluster" / "config.db"
    status, events, decider = await run(
        runbook(f"sqlite = [{json.dumps(str(missing))}]", f"touch {marker}"), store)
    assert status == "aborted" and not marker.exists()
    # The question is asked while the copy runs; the failure is handled after the answer.
    assert decider.asked == ["confirm:wipe", "checkpoint:wipe"]
    (cp,) = taken(events)
    assert not cp.ok
    assert "No such file" in cp.problems[0] and str(missing) in cp.problems[0]
    finished = [e for e in events if isinstance(e, ev.StepFinished)]
    assert finished[-1].status == "blocked"
    assert not any(isinstance(e, ev.CommandStarted) for e in events)
    # The failed attempt is still on disk, with a manifest that says so.
    (info,) = list_checkpoints(store.root)
    assert info.complete and not info.ok


async def test_absent_file_is_recorded_and_restore_removes_what_the_step_created(
        store: CheckpointStore, tree: Path, tmp_path: Path) -> None:
    """`pvecm updatecerts` with the CA gone: the CA files do not exist before the step, which
    creates them. The checkpoint records them as absent (it does not block the step), and a
    restore takes the cluster back to before: it removes them, keeping them in a pre-restore
    checkpoint. A path that is still absent is left alone."""
    ca = tree / "pve-root-ca.pem"
    key = tree / "priv" / "pve-root-ca.key"
    other = tree / "never-made.pem"
    declared = json.dumps([str(ca), str(key), str(other)])
    status, events, _ = await run(
        runbook(f"files = {declared}", f"echo NEWCA > {ca} && echo NEWKEY > {key}"), store)
    assert status == "ok" and ca.exists() and key.exists()
    (taken_cp,) = taken(events)
    assert taken_cp.ok
    cp = load_checkpoint(taken_cp.checkpoint_id, root=store.root)
    assert sorted((it["kind"], it["path"]) for it in cp.items) == sorted(
        ("absent", str(p)) for p in (ca, key, other))
    asked: list[str] = []

    async def yes(summary: str, expected: str) -> str | None:
        asked.append(summary)
        return expected

    res = await restore(cp, LocalTransport(), CLUSTER, confirm=yes, store=store)
    assert res.ok, res.problems
    assert not ca.exists() and not key.exists()
    assert f"{NODE}:{ca}: did not exist when the checkpoint was taken; will be removed" \
        in asked[0]
    assert f"{NODE}:{other}: already identical" in asked[0]
    pre = load_checkpoint(res.pre_checkpoint_id, root=store.root)
    assert {pre.read_copy(i) for i in pre.items} == {b"NEWCA\n", b"NEWKEY\n"}
    # a directory made there since is named, never deleted
    ca.mkdir()
    again = await restore(cp, LocalTransport(), CLUSTER, confirm=yes, store=store)
    assert not again.ok and ca.is_dir()
    assert any("is a directory now" in p for p in again.problems)


class DeniedTransport(LocalTransport):
    """A node where one directory cannot be read (as root here, so EACCES is reproduced)."""

    def __init__(self, denied: Path) -> None:
        self.denied = str(denied)

    async def stream(self, node: Node, command: str, **kw: Any) -> tuple[CommandResult, str]:
        # tar skips what it cannot read (and exits 2); the rest of the archive is good.
        skip = shlex.quote("--exclude=" + self.denied.lstrip("/"))
        return await super().stream(node, command.replace("tar -cf - ", f"tar -cf - {skip} "),
                                    **kw)

    async def read_file(self, node: Node, path: str, *, timeout: float) -> bytes:
        if path.startswith(self.denied + "/"):
            raise TransportError(node.name, f"cannot read {path}: Permission denied")
        return await super().read_file(node, path, timeout=timeout)


async def test_unreadable_file_blocks(store: CheckpointStore, tree: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    status, events, _ = await run(runbook(f"files = [{json.dumps(str(tree))}]",
                                          f"touch {marker}"),
                                  store, transport=DeniedTransport(tree / "priv"))
    assert status == "aborted" and not marker.exists()
    (cp,) = taken(events)
    assert not cp.ok
    assert any("authkey.key" in p and "Permission denied" in p for p in cp.problems)
    # Everything else was still captured and verified.
    good = [it for it in cp.items if it["kind"] == "file" and it["ok"]]
    assert len(good) == 2


async def test_hanging_path_times_out_and_blocks(store: CheckpointStore,
                                                 tmp_path: Path) -> None:
    """Reading /etc/pve hangs when pmxcfs is blocked; a FIFO without writer hangs the same."""
    fifo = tmp_path / "hung"
    os.mkfifo(fifo)
    marker = tmp_path / "ran"
    store.part_timeout = 1.0
    start = time.monotonic()
    try:
        status, events, _ = await run(runbook(f"files = [{json.dumps(str(fifo))}]",
                                              f"touch {marker}"), store)
    finally:
        _unblock(fifo)
    assert time.monotonic() - start < 15
    assert status == "aborted" and not marker.exists()
    (cp,) = taken(events)
    assert not cp.ok and "timed out" in cp.problems[0]
    assert cp.items[0]["status"] == "missing"
    assert "pmxcfs" in cp.problems[0]


def _unblock(fifo: Path) -> None:
    """Open the FIFO for writing so any reader still blocked on it returns."""
    def poke() -> None:
        with contextlib.suppress(OSError):
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    threading.Thread(target=poke, daemon=True).start()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a 64k tmpfs to simulate a full disk: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


async def test_disk_full_locally_blocks(tiny_disk: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.cfg"
    big.write_bytes(os.urandom(200 * 1024))
    marker = tmp_path / "ran"
    store = CheckpointStore(root=tiny_disk / "checkpoints", part_timeout=10)
    status, events, _ = await run(runbook(f"files = [{json.dumps(str(big))}]",
                                          f"touch {marker}"), store)
    assert status == "aborted" and not marker.exists()
    (cp,) = taken(events)
    assert not cp.ok
    assert any("No space left on device" in p for p in cp.problems)
    assert "PVERUNBOOK_DATA_DIR" in cp.problems[0]


async def test_sqlite_wal_backup_has_uncheckpointed_rows(store: CheckpointStore,
                                                         tmp_path: Path) -> None:
    db = tmp_path / "var lib" / "config.db"  # a space: the path must be shell-quoted
    db.parent.mkdir()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE tree (inode INTEGER PRIMARY KEY, name TEXT, data BLOB)")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for i in range(1, 201):
        con.execute("INSERT INTO tree VALUES (?, ?, ?)", (i, f"{100 + i}.conf", b"cores: 2\n"))
    con.commit()  # in the -wal only; the connection stays open like pmxcfs'
    try:
        # What `cp` would have saved: the main file alone has none of the rows.
        plain = tmp_path / "plain.db"
        shutil.copyfile(db, plain)
        pc = sqlite3.connect(plain)
        assert pc.execute("SELECT count(*) FROM tree").fetchone() == (0,)
        pc.close()
        marker = tmp_path / "ran"
        status, events, _ = await run(runbook(f"sqlite = [{json.dumps(str(db))}]",
                                              f"touch {marker}"), store)
    finally:
        con.close()
    assert status == "ok" and marker.exists()
    (cp_event,) = taken(events)
    assert cp_event.ok
    cp = load_checkpoint("r1-wipe", root=store.root)
    (item,) = cp.items
    assert item["kind"] == "sqlite" and item["integrity_check"] == "ok"
    assert item["sha256_remote"] == item["sha256_local"]
    copy = sqlite3.connect(f"file:{cp.local_path(item)}?mode=ro&immutable=1", uri=True)
    assert copy.execute("SELECT count(*), max(name) FROM tree").fetchone() == (200, "300.conf")
    copy.close()
    assert not list(Path("/tmp").glob("pverunbook-r1-wipe-1-*.db"))  # remote temp removed


async def test_restore_brings_back_bytes_mode_owner_and_is_checkpointed_first(
        store: CheckpointStore, tree: Path, tmp_path: Path) -> None:
    vm = tree / "nodes" / NODE / "qemu-server" / "108.conf"
    os.chown(vm, 1234, 5678)
    original = vm.read_bytes()
    key = tree / "priv" / "authkey.key"
    key_bytes = key.read_bytes()
    # The destructive step: the story's mistake, on our fake tree.
    damage = f"printf 'garbage\\n' > {vm} && chmod 644 {vm} && chown 0:0 {vm} && rm {key}"
    status, events, _ = await run(runbook(f"files = [{json.dumps(str(tree))}]", damage), store)
    assert status == "ok" and vm.read_bytes() == b"garbage\n" and not key.exists()
    cp = load_checkpoint(taken(events)[0].checkpoint_id, root=store.root)

    asked: list[tuple[str, str]] = []

    async def wrong(summary: str, expected: str) -> str | None:
        asked.append((summary, expected))
        return "yes"

    refused = await restore(cp, LocalTransport(), CLUSTER, confirm=wrong, store=store)
    assert refused.refused and not refused.ok
    assert vm.read_bytes() == b"garbage\n"  # nothing written
    summary, expected = asked[0]
    assert expected == NODE
    assert "-garbage" in summary and "+cores: 4" in summary
    assert "authkey.key: missing on the node" in summary
    assert "SECRETKEYMATERIAL" not in summary

    notes: list[ev.Event] = []

    async def right(summary: str, expected: str) -> str | None:
        return expected

    done = await restore(cp, LocalTransport(), CLUSTER, confirm=right, store=store,
                         emit=notes.append)
    assert done.ok, done.problems
    assert vm.read_bytes() == original
    st = vm.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    assert key.read_bytes() == key_bytes and key.stat().st_mode & 0o777 == 0o600
    assert f"{NODE}:{vm}" in done.written
    # Restore was checkpointed first: the pre-restore checkpoint holds the garbage version.
    pre = load_checkpoint(done.pre_checkpoint_id, root=store.root)
    assert pre.ok and pre.manifest["step_id"] == "pre-restore"
    (pre_vm,) = [it for it in pre.items if it["path"] == str(vm)]
    assert pre.read_copy(pre_vm) == b"garbage\n"
    assert isinstance(notes[0], ev.Note) and "verified" in notes[0].text
    # A second restore finds nothing to do and asks nothing.
    again = await restore(cp, LocalTransport(), CLUSTER, confirm=wrong, store=store)
    assert again.ok and not again.written and len(asked) == 1


async def test_restore_sqlite_is_staged_never_live(store: CheckpointStore,
                                                   tmp_path: Path) -> None:
    db = tmp_path / "config.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    status, events, _ = await run(runbook(f"sqlite = [{json.dumps(str(db))}]",
                                          f"rm -f {db}"), store)
    assert status == "ok" and not db.exists()
    cp = load_checkpoint(taken(events)[0].checkpoint_id, root=store.root)

    async def yes(summary: str, expected: str) -> str | None:
        assert "live database is NOT touched" in summary
        return expected

    res = await restore(cp, LocalTransport(), CLUSTER, confirm=yes, store=store)
    assert res.ok, res.problems
    staged = Path(str(db) + ".pverunbook-restore")
    assert not db.exists() and staged.exists() and staged.stat().st_mode & 0o777 == 0o600
    text = "\n".join(res.instructions)
    assert "systemctl stop pve-cluster" in text and "systemctl start pve-cluster" in text
    assert text.index("stop pve-cluster") < text.index(f"mv {staged}")


async def test_override_needs_the_exact_phrase_and_is_journaled(store: CheckpointStore,
                                                                 tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    journal = tmp_path / "run.jsonl"
    decider = SequenceDecider([Answer(CheckpointChoice.OVERRIDE, text="yes", reason="hurry"),
                               Answer(CheckpointChoice.OVERRIDE, text=OVERRIDE_PHRASE,
                                      reason="no disk left for a backup")],
                              confirm_text="local")
    status, _, _ = await run(runbook(f"sqlite = [{json.dumps(str(tmp_path / 'nope'))}]",
                                     f"touch {marker}"), store, decider=decider,
                             journal=journal)
    assert status == "ok" and marker.exists()
    events = read_journal(journal)
    overrides = [e for e in events if isinstance(e, ev.ConfirmationGiven)
                 and e.what == "checkpoint override"]
    assert [(o.typed, o.accepted) for o in overrides] == [("yes", False),
                                                          (OVERRIDE_PHRASE, True)]
    assert overrides[1].reason == "no disk left for a backup" and overrides[1].operator
    # Two failed attempts were journaled before the override let the step run.
    assert [e.ok for e in events if isinstance(e, ev.CheckpointTaken)] == [False, False]
    started = [i for i, e in enumerate(events) if isinstance(e, ev.CommandStarted)]
    assert started and started[0] > events.index(overrides[1])


async def test_retry_takes_a_new_checkpoint_id(store: CheckpointStore, tmp_path: Path) -> None:
    path = tmp_path / "appears.db"

    class CreateThenRetry(ScriptedDecider):
        async def checkpoint_failed(self, failure: CheckpointFailure) -> Answer:
            sqlite3.connect(path).execute("CREATE TABLE t (x)")  # the operator fixed it
            return Answer(CheckpointChoice.RETRY)

    status, events, _ = await run(runbook(f"sqlite = [{json.dumps(str(path))}]", "true"), store,
                                  decider=CreateThenRetry(confirm_text="local"))
    assert status == "ok"
    assert [(c.checkpoint_id, c.ok) for c in taken(events)] == [("r1-wipe-1", False),
                                                                ("r1-wipe-2", True)]


def test_interrupted_checkpoint_never_looks_complete(store: CheckpointStore) -> None:
    (store.root / "r9-wipe-1" / "node" / "files").mkdir(parents=True)
    (info,) = list_checkpoints(store.root)
    assert not info.complete and not info.ok
    with pytest.raises(FileNotFoundError, match="interrupted"):
        load_checkpoint("r9-wipe-1", root=store.root)


def test_checkpoints_list_fits_80_columns_and_never_cuts_a_node_name(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The NODES column cut the joined names at 20 characters: a checkpoint on pve001 ..
    pve005 was listed as on "pve001,pve002,pve003,pve0" (a node that does not exist), and a
    line was 107 columns wide. Whole names now, the rest counted, within 80 columns."""
    from pverunbook.cli import main
    from pverunbook.engine import checkpoint_index

    nodes = tuple(f"pve00{i}" for i in range(1, 6))
    info = checkpoint_index.CheckpointInfo(
        id="20261207-103840-d4e20f-apply-1", path=Path("/nonexistent"), run_id="r",
        step_id="apply", created=0.0, nodes=nodes, ok=True, complete=True, items=12)
    monkeypatch.setattr(checkpoint_index, "list_checkpoints", lambda root=None: [info])
    assert main(["checkpoints", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    shown = lines[1].split()[-2:]  # "pve001 +4" or the like
    names, rest = shown[0].split(","), int(shown[1].lstrip("+"))
    assert all(n in nodes for n in names) and len(names) + rest == len(nodes), lines


CONF = "totem {{\n  cluster_name: nyc\n  config_version: {v}\n  token: {t}\n}}\n"


async def test_restore_of_a_corosync_conf_says_a_lower_version_will_not_be_in_effect(
        store: CheckpointStore, tmp_path: Path) -> None:
    """A corosync.conf put back with a config_version not above the one in place is not what
    corosync runs (dcdb.c copies /etc/pve/corosync.conf only with a higher version; corosync
    keeps what it loaded): the restore said "verified" and nothing more."""
    conf = tmp_path / "pve" / "corosync.conf"
    conf.parent.mkdir()
    conf.write_text(CONF.format(v=3, t=1000))
    change = f"printf {json.dumps(CONF.format(v=4, t=5000))} > {conf}"
    status, events, _ = await run(runbook(f"files = [{json.dumps(str(conf))}]", change), store)
    assert status == "ok" and "config_version: 4" in conf.read_text()
    cp = load_checkpoint(taken(events)[0].checkpoint_id, root=store.root)
    shown: list[str] = []

    async def yes(summary: str, expected: str) -> str | None:
        shown.append(summary)
        return expected

    done = await restore(cp, LocalTransport(), CLUSTER, confirm=yes, store=store)
    assert done.ok, done.problems
    assert conf.read_text() == CONF.format(v=3, t=1000)  # the bytes as they were
    assert "config_version 3 is not above the 4 in place now" in shown[0]
    assert any("raise its config_version above 4" in i and "corosync-cfgtool -R" in i
               for i in done.instructions), done.instructions
    # a checkpoint whose version is above the file's now: nothing to say
    conf.write_text(CONF.format(v=2, t=1000))
    shown.clear()
    again = await restore(cp, LocalTransport(), CLUSTER, confirm=yes, store=store)
    assert again.ok and "not above" not in shown[0]
    assert not any("config_version" in i for i in again.instructions)
