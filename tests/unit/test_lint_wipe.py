"""PVR013: lint looks at WHERE a command runs, not only at what it is.

Separating a node (`rm -r /etc/corosync/*`, `rm /etc/pve/corosync.conf` under `pmxcfs -l`),
moving its config.db aside or `pvecm delnode` is done to ONE node while the others stay
quorate. On every node it dissolves the cluster: the kind of the original outage. Inputs of the
kind, from public sources:

- weidmarkgit/pve-tools `remove-pve-node.sh` (GitHub): stop, `pmxcfs -l`, `rm -r
  /etc/corosync/*`, `rm /etc/pve/corosync.conf`, `killall pmxcfs`, start
  (tests/data/lint/lint-wipe-corosync-on-all-nodes.toml, also ../shared/cases/realworld/).
- marrobHD/proxmox-tools `leave-cluster.sh` (GitHub): `sqlite3 config.db` "delete from tree
  where name = 'corosync.conf'", `pmxcfs -l`, `rm /etc/corosync/*`, `rm /var/lib/corosync/*`.
- pve-docs `pvecm.adoc`, "Separate a Node Without Reinstalling"
  (https://git.proxmox.com/?p=pve-docs.git;a=blob;f=pvecm.adoc): the same sequence, meant for
  the one node being separated; `pvecm delnode` is run once, on a remaining node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pverunbook.runbook.lint import lint
from pverunbook.runbook.loader import load_file, load_text

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "lint" / "lint-wipe-corosync-on-all-nodes.toml"
SHARED_CASE = REPO.parent / "shared" / "cases" / "realworld" / \
    "lint-wipe-corosync-on-all-nodes.toml"


def codes(text: str) -> list[str]:
    book = load_text('id = "t"\ntitle = "T"\n' + textwrap.dedent(text), "t.toml")
    return [i.code for i in lint(book) if i.severity == "error"]


def step(targets: str, commands: list[str], extra: str = "") -> str:
    cmds = ", ".join(json.dumps(c) for c in commands)
    return f'''
        [[params]]
        name = "victim"
        [[steps]]
        id = "s"
        title = "S"
        targets = {targets}
        destructive = true
        no_backup_reason = "test"
        explain = "test"
        commands = [{cmds}]
        {extra}
    '''


def test_the_case_file_is_a_lint_error_via_validate() -> None:
    r = subprocess.run([sys.executable, "-m", "pverunbook", "validate", str(DATA)],
                       capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 2
    assert "PVR013" in r.stdout + r.stderr and "every node" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_the_shared_case_is_a_lint_error() -> None:
    if not SHARED_CASE.exists():
        pytest.skip("needs ../shared (the shared cases folder)")
    issues = lint(load_file(SHARED_CASE, lint=False))
    found = {(i.code, i.pos.line) for i in issues if i.severity == "error"}
    assert ("PVR013", 14) in found and ("PVR013", 15) in found  # rm -r /etc/corosync/*, rm conf


@pytest.mark.parametrize("commands", [
    ["rm -r /etc/corosync/*"],
    ["timeout 10 sh -c 'rm -rf /etc/corosync/*'"],
    ["rm /var/lib/corosync/*"],
    ["rm -f /var/lib/pve-cluster/config.db*"],
    ["mv /var/lib/pve-cluster/config.db /root/config.db.old"],
    ["pvecm delnode pve2"],
    ["find /etc/corosync -type f -delete"],
    ["sqlite3 /var/lib/pve-cluster/config.db \"delete from tree where name = 'corosync.conf'\""],
    ["pmxcfs -l", "echo x > /etc/pve/datacenter.cfg"],
    ["pmxcfs -l", "rm /etc/pve/corosync.conf", "killall pmxcfs"],
])
@pytest.mark.parametrize("targets", ['"all"', '["pve1", "pve2"]', '"{{victim}}"'])
def test_wiping_cluster_state_on_several_or_unbounded_nodes_is_an_error(
        commands: list[str], targets: str) -> None:
    assert "PVR013" in codes(step(targets, commands))


@pytest.mark.parametrize("commands", [
    ["rm -r /etc/corosync/*"],
    ["pvecm delnode pve2"],
    ["mv /var/lib/pve-cluster/config.db /var/lib/pve-cluster/config.db.broken-1"],
])
def test_one_node_is_fine(commands: list[str]) -> None:
    for targets, extra in (('"first"', ""), ('"pve1"', ""),
                           ('"{{victim}}"', "max_targets = 1")):
        assert "PVR013" not in codes(step(targets, commands, extra)), targets


def test_read_only_and_backup_commands_on_all_nodes_are_fine() -> None:
    assert "PVR013" not in codes(step('"all"', [
        "ls -la /etc/corosync/", "cp /var/lib/pve-cluster/config.db /root/config.db.bak",
        "rm -f /tmp/config.db.scratch-copy.bak", "timeout 5 cat /etc/pve/corosync.conf"]))


def test_lint_ok_cannot_accept_it() -> None:
    text = step('"all"', ["rm -r /etc/corosync/*"], 'lint_ok = ["PVR013", "PVR009"]\n'
                '        [steps.backup]\n        files = ["/etc/corosync/corosync.conf"]')
    assert "PVR013" in codes(text)


def test_shipped_runbooks_have_no_wipe_on_many_nodes() -> None:
    for path in sorted((REPO / "runbooks").glob("*.toml")):
        assert not [i for i in lint(load_file(path)) if i.code == "PVR013"], path.name
