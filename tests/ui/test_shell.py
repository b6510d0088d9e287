"""The shell on a node: ssh's command line follows the transport's host-key rules."""

from __future__ import annotations

from pathlib import Path

from pverunbook.inventory import Node
from pverunbook.shell import shell_note, shell_plan

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNmTen8e1bi3f6Wl7RhjTzIG2XV/H1PaVFrEbbZ8kqM"


def _opts(argv: tuple[str, ...]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-o")


def test_pinned_key_is_the_only_key_accepted(tmp_path: Path) -> None:
    node = Node(name="ryanrishi", host="127.0.0.1", port=2222, user="root",
                host_key=KEY + " root@ryanrishi")
    plan = shell_plan(node, workdir=tmp_path, identity=tmp_path / "id", ssh="/usr/bin/ssh")
    opts = _opts(plan.argv)
    assert plan.host_keys == "pinned"
    assert opts["StrictHostKeyChecking"] == "yes" and opts["HostKeyAlias"] == "ryanrishi"
    assert opts["GlobalKnownHostsFile"] == "/dev/null"
    assert Path(opts["UserKnownHostsFile"]).read_text() == f"ryanrishi {KEY}\n"
    assert plan.argv[-5:] == ("-p", "2222", "-l", "root", "127.0.0.1")
    assert ["-i", str(tmp_path / "id")] == list(plan.argv[plan.argv.index("-i"):][:2])


def test_unpinned_node_uses_known_hosts_and_asks(tmp_path: Path) -> None:
    node = Node(name="pve001", host="192.168.4.201")
    plan = shell_plan(node, workdir=tmp_path / "w", ssh="/usr/bin/ssh")
    opts = _opts(plan.argv)
    assert plan.host_keys == "known_hosts"
    assert opts["StrictHostKeyChecking"] == "ask"
    assert "UserKnownHostsFile" not in opts and "-i" not in plan.argv
    assert plan.argv[-1] == "192.168.4.201" and "-p" not in plan.argv
    assert not (tmp_path / "w").exists()


def test_note_never_holds_what_was_typed() -> None:
    note = shell_note("ryanrishi", 42.4, 0)
    assert "ryanrishi" in note and "42 s" in note and "not recorded" in note
    assert "exit status 130" in shell_note("pve001", 1, 130)
