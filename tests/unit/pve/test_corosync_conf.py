"""corosync.conf parser, editor and validator."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pverunbook.commands import corosync as cmd
from pverunbook.pve.corosync_conf import (
    CorosyncParseError,
    Problem,
    add_link,
    bump_version,
    effective_token,
    parse,
    set_totem,
    unified_diff,
    validate,
)

TESTDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata"
CONF_DIR = TESTDATA / "corosync-conf"

needs_testdata = pytest.mark.skipif(
    not CONF_DIR.is_dir(), reason=f"shared testdata not found at {CONF_DIR}"
)

# What Proxmox VE 8 writes for the story's 2-node cluster "nyc" (Corosync.pm create_conf).
PVE_CONF = """\
logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve001
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 192.168.4.201
  }
  node {
    name: ryanrishi
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 192.168.4.200
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: nyc
  config_version: 5
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}
"""

# The totem block exactly as story.md shows it, inside an otherwise normal file.
STORY_TOTEM = """\
totem {
  cluster_name: nyc
  config_version: 6
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
  token: 5000              # Increased from 3000ms
  token_retransmit: 1000   # Increased from 714ms
  token_retransmits_before_loss_const: 10  # Increased from 4
  consensus: 6000          # Increased from 3600ms
  join: 100                # Added
  max_messages: 20         # Added
}
""".replace("714ms\n", "714ms  \n")  # story.md has two trailing blanks on that line


def story_conf(totem: str = STORY_TOTEM) -> str:
    return PVE_CONF.split("totem {")[0] + totem


def severities(problems: list[Problem]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in problems:
        out.setdefault(p.severity, set()).add(p.key)
    return out


# --- round trip -----------------------------------------------------------------------------


@needs_testdata
@pytest.mark.parametrize("name", ["single-node.conf", "multiple-nodes.conf", "old.conf"])
def test_round_trip_proxmox_test_configs(name: str) -> None:
    data = (CONF_DIR / name).read_bytes()
    text = data.decode()
    assert parse(text).dump().encode() == data


@pytest.mark.parametrize(
    "text",
    [
        PVE_CONF,
        story_conf(),
        "",
        "# only a comment",
        "totem {\r\n  version: 2\r\n}\r\n",
        "\t# tabbed comment\ntotem{\n\tversion:2\n  cluster_name :  a b  \n}   \n\n\n",
        "totem {\n  version: 2\n}",  # no final newline
        "a {\n  b {\n    c {\n      d: 1\n    }\n  }\n}\n",
    ],
)
def test_round_trip_own_configs(text: str) -> None:
    assert parse(text).dump() == text


# --- parser strictness (each case checked against corosync -t 3.1.7) ---------------------


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("totem { version: 2\n}\n", 1, "after opening bracket"),
        ("totem {\n  version: 2\n  interface { }\n}\n", 3, "after opening bracket"),
        ("totem { # note\n}\n", 1, "after opening bracket"),
        ("totem {\n  cluster_name: a{b\n}\n", 2, "after opening bracket"),
        ("totem {\n  version: 2\n} x\n", 3, "closing bracket"),
        ("totem {\n  version 2\n}\n", 2, "not opening or closing"),
        ("totem {\n}\n}\n", 3, "Unexpected closing brace"),
        ("totem {\n  version: 2\n", 1, "Missing closing brace"),
        ("{\n}\n", 1, "Missing section name"),
        ("totem {\n  my key: 1\n}\n", 2, "invalid characters"),
    ],
)
def test_parse_errors_carry_line_numbers(text: str, line: int, fragment: str) -> None:
    with pytest.raises(CorosyncParseError) as err:
        parse(text)
    assert err.value.line == line
    assert fragment in err.value.message


def test_hash_after_value_is_part_of_the_value() -> None:
    conf = parse(story_conf())
    assert conf.get("totem.token") == "5000              # Increased from 3000ms"


def test_get_paths_and_nodes() -> None:
    conf = parse(PVE_CONF)
    assert conf.get("totem.cluster_name") == "nyc"
    assert conf.get("totem.interface.linknumber") == "0"
    assert conf.get("quorum.provider") == "corosync_votequorum"
    assert conf.get("totem.token") is None
    assert conf.get("nosuch.key") is None
    assert conf.config_version == 5
    assert [n["name"] for n in conf.nodes()] == ["pve001", "ryanrishi"]
    assert conf.nodes()[1] == {
        "name": "ryanrishi",
        "nodeid": "1",
        "quorum_votes": "1",
        "ring0_addr": "192.168.4.200",
    }


def test_repeated_key_last_wins_like_corosync() -> None:
    conf = parse("totem {\n  version: 2\n  token: 1000\n  token: 4000\n}\n")
    assert conf.get("totem.token") == "4000"
    assert "totem.token" in severities(validate(conf))["warning"]


# --- editing ---------------------------------------------------------------------------------


def test_set_existing_key_changes_only_that_line() -> None:
    conf = parse(PVE_CONF)
    conf.set("totem.link_mode", "active")
    diff = unified_diff(PVE_CONF, conf.dump(), "corosync.conf")
    assert "-  link_mode: passive\n+  link_mode: active\n" in diff
    assert diff.count("\n-") == 1  # one changed line


def test_set_new_key_goes_inside_section_with_its_indent() -> None:
    conf = parse(PVE_CONF)
    conf.set("totem.token", "5000")
    assert "  version: 2\n  token: 5000\n}\n" in conf.dump()
    conf.set("quorum.device.votes", "1")
    assert "  provider: corosync_votequorum\n  device {\n    votes: 1\n  }\n}\n" in conf.dump()
    conf.set("resources.watchdog_timeout", "6")
    assert conf.dump().endswith("resources {\n  watchdog_timeout: 6\n}\n")
    assert parse(conf.dump()).get("quorum.device.votes") == "1"


def test_unset_and_crlf_preserved() -> None:
    crlf = PVE_CONF.replace("\n", "\r\n")
    conf = parse(crlf)
    assert conf.unset("totem.link_mode")
    assert not conf.unset("totem.link_mode")
    conf.set("totem.token", "4000")
    assert "\r\n  token: 4000\r\n" in conf.dump()
    assert "\n" not in conf.dump().replace("\r\n", "")


def test_set_rejects_multiline_and_top_level() -> None:
    conf = parse(PVE_CONF)
    with pytest.raises(ValueError):
        conf.set("totem.token", "1\n}")
    with pytest.raises(ValueError):
        conf.set("token", "1")


def test_bump_version() -> None:
    conf = parse(PVE_CONF)
    assert bump_version(conf) is conf
    assert conf.config_version == 6
    copy = set_totem(conf, {})
    assert (conf.config_version, copy.config_version) == (6, 7)
    assert bump_version(parse("totem {\n  version: 2\n}\n")).config_version == 1


def test_set_totem_returns_new_conf_and_bumps_once() -> None:
    old = parse(PVE_CONF)
    new = set_totem(old, {"token": "5000", "totem.token_coefficient": "125", "link_mode": None})
    assert old.dump() == PVE_CONF
    assert new.config_version == 6
    assert new.get("totem.token") == "5000"
    assert new.get("totem.token_coefficient") == "125"
    assert new.get("totem.link_mode") is None
    with pytest.raises(ValueError):
        set_totem(old, {"config_version": "9"})


def test_set_totem_story_values_minus_comments() -> None:
    new = set_totem(
        parse(PVE_CONF),
        {"token": "5000", "token_retransmits_before_loss_const": "10", "consensus": "6000"},
    )
    assert not [p for p in validate(new, parse(PVE_CONF)) if p.severity != "warning"]


def test_add_link() -> None:
    old = parse(PVE_CONF)
    new = add_link(old, 1, {"pve001": "10.10.10.2", "ryanrishi": "10.10.10.1"}, priority=20)
    text = new.dump()
    assert new.config_version == 6
    assert [n["ring1_addr"] for n in new.nodes()] == ["10.10.10.2", "10.10.10.1"]
    assert "  interface {\n    linknumber: 1\n    knet_link_priority: 20\n  }\n" in text
    assert new.get("totem.interface.linknumber") == "0"  # first interface still link 0
    assert not [p for p in validate(new, old) if p.severity in ("fatal", "error")]
    with pytest.raises(ValueError, match="missing"):
        add_link(old, 1, {"pve001": "10.10.10.2"})
    with pytest.raises(ValueError, match="already has ring0_addr"):
        add_link(old, 0, {"pve001": "a", "ryanrishi": "b"})
    with pytest.raises(ValueError):
        add_link(old, 8, {"pve001": "a", "ryanrishi": "b"})


def test_unified_diff_names() -> None:
    diff = unified_diff("a\n", "b\n", "corosync.conf")
    assert diff.startswith("--- corosync.conf (current)\n+++ corosync.conf (new)\n")
    assert unified_diff("a\n", "a\n", "x") == ""


# --- effective token -----------------------------------------------------------------------


def nodes_conf(count: int, totem: str = "") -> str:
    nodes = "".join(
        f"  node {{\n    name: n{i}\n    nodeid: {i}\n    ring0_addr: 10.0.0.{i}\n  }}\n"
        for i in range(1, count + 1)
    )
    return (
        f"totem {{\n  version: 2\n  cluster_name: c\n  config_version: 1\n{totem}}}\n"
        f"nodelist {{\n{nodes}}}\n"
    )


@pytest.mark.parametrize(
    ("count", "totem", "expected"),
    [
        (2, "", 3000),
        (1, "", 3000),
        (3, "", 3650),
        (5, "", 4950),  # domain.md: 5 nodes -> 4950 with defaults
        (5, "  token_coefficient: 125\n", 3375),
        (3, "  token: 5000\n", 5650),  # measured: runtime.config.totem.token = 5650
        (4, "  token: 1000\n  token_coefficient: 0\n", 1000),
    ],
)
def test_effective_token(count: int, totem: str, expected: int) -> None:
    assert effective_token(parse(nodes_conf(count, totem))) == expected


# --- validation --------------------------------------------------------------------------------


def test_pve_default_conf_is_clean() -> None:
    assert validate(parse(PVE_CONF)) == []


def test_story_totem_block_is_fatal_because_of_inline_comments() -> None:
    problems = validate(parse(story_conf()))
    fatal = [p for p in problems if p.severity == "fatal"]
    assert {p.key for p in fatal} == {
        "totem.token",
        "totem.token_retransmit",
        "totem.token_retransmits_before_loss_const",
        "totem.consensus",
        "totem.join",
        "totem.max_messages",
    }
    token = next(p for p in fatal if p.key == "totem.token")
    assert token.line == 35
    assert "own line" in token.message


def test_story_values_without_comments_warn_about_token_retransmit() -> None:
    totem = "\n".join(line.split("#")[0].rstrip() for line in STORY_TOTEM.splitlines()) + "\n"
    problems = validate(parse(story_conf(totem)))
    assert [(p.severity, p.key) for p in problems] == [("warning", "totem.token_retransmit")]
    assert "about 5 retransmits" in problems[0].message


@pytest.mark.parametrize(
    ("totem", "severity", "key"),
    [
        ("  token: 5000\n  consensus: 5100\n", "error", "totem.consensus"),
        ("  token: 5000\n  consensus: 6000\n  join: 7000\n", "fatal", "totem.consensus"),
        ("  join: 4000\n", "fatal", "totem.consensus"),  # default consensus 3600 < join
        ("  transport: udpu\n", "warning", "totem.transport"),
        ("  transport: udpu\n  secauth: on\n", "fatal", "totem.transport"),
        ("  transport: udp\n  crypto_cipher: aes256\n", "fatal", "totem.transport"),
        ("  token: 20\n", "fatal", "totem.token"),
        ("  token: 5000\n  token_retransmit: 1000\n  hold: 10\n", "fatal", "totem.hold"),
        ("  token_warning: 101\n", "fatal", "totem.token_warning"),
        ("  link_mode: fast\n", "fatal", "totem.link_mode"),
        ("  ip_version: ipv5\n", "fatal", "totem.ip_version"),
        ("  crypto_cipher: aes256\n  crypto_hash: none\n", "fatal", "totem.crypto_hash"),
        ("  config_version: abc\n", "fatal", "totem.config_version"),
    ],
)
def test_totem_checks(totem: str, severity: str, key: str) -> None:
    text = nodes_conf(2, totem)
    if "config_version: abc" in totem:
        text = text.replace("  config_version: 1\n", "")
    problems = validate(parse(text))
    assert key in severities(problems).get(severity, set()), problems


def test_version_must_be_two() -> None:
    conf = parse(nodes_conf(2).replace("version: 2", "version: 3"))
    assert "totem.version" in severities(validate(conf))["fatal"]
    assert "totem.version" in severities(validate(parse("nodelist {\n}\n")))["fatal"]


def test_consensus_message_explains_effective_token() -> None:
    conf = parse(nodes_conf(3, "  token: 3000\n  consensus: 3700\n"))
    (p,) = [p for p in validate(conf) if p.key == "totem.consensus"]
    assert p.severity == "error"
    assert "3650 ms effective" in p.message and p.line == 6


def test_nodelist_checks() -> None:
    text = nodes_conf(3)
    dup_id = text.replace("nodeid: 3", "nodeid: 1")
    assert "nodelist.node.nodeid" in severities(validate(parse(dup_id)))["fatal"]
    dup_name = text.replace("name: n3", "name: n1")
    assert "nodelist.node.name" in severities(validate(parse(dup_name)))["error"]
    no_ring = text.replace("    ring0_addr: 10.0.0.3\n", "")
    sev = severities(validate(parse(no_ring)))
    assert "nodelist.node.ring0_addr" in sev["error"]
    no_id = text.replace("    nodeid: 3\n", "")
    assert "nodelist.node.nodeid" in severities(validate(parse(no_id)))["fatal"]
    uneven = text.replace("ring0_addr: 10.0.0.3\n", "ring0_addr: 10.0.0.3\n    ring1_addr: x\n")
    assert "nodelist" in severities(validate(parse(uneven)))["fatal"]


@needs_testdata
def test_proxmox_multiple_nodes_duplicate_ids_are_fatal() -> None:
    problems = validate(parse((CONF_DIR / "multiple-nodes.conf").read_text()))
    dups = [p for p in problems if p.key == "nodelist.node.nodeid"]
    assert [p.line for p in dups] == [16, 23, 30]
    assert all(p.severity == "fatal" for p in dups)


def test_two_node_with_qdevice_is_fatal() -> None:
    text = nodes_conf(2) + (
        "quorum {\n  provider: corosync_votequorum\n  two_node: 1\n"
        "  device {\n    model: net\n    votes: 1\n  }\n}\n"
    )
    assert "quorum.two_node" in severities(validate(parse(text)))["fatal"]


def test_two_node_in_a_larger_cluster_is_an_error_not_ignored() -> None:
    """The validator said 'two_node is ignored with more than two nodes' (a warning). It is
    not: votequorum.c calculate_quorum forces quorum to 1 when two_node is set and two nodes
    or fewer are members, so a cut-off pair of a three-node cluster stays quorate."""
    quorum = "quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n"
    problems = [p for p in validate(parse(nodes_conf(3) + quorum)) if p.key == "quorum.two_node"]
    assert [p.severity for p in problems] == ["error"]
    assert "ignored" not in problems[0].message and "split brain" in problems[0].message
    assert not [p for p in validate(parse(nodes_conf(2) + quorum)) if p.key == "quorum.two_node"]


def test_missing_cluster_name_and_version() -> None:
    text = nodes_conf(2).replace("  cluster_name: c\n", "").replace("  config_version: 1\n", "")
    sev = severities(validate(parse(text)))
    assert {"totem.cluster_name", "totem.config_version"} <= sev["error"]


def test_equal_version_is_copied_by_pmxcfs_a_lower_one_is_not() -> None:
    """dcdb.c dcdb_sync_corosync_conf: `if (new_version < old_version)` refuses ("local
    corosync.conf is newer"); an equal version is copied (but is still an error: pve-docs)."""
    old = parse(PVE_CONF)
    same = parse(PVE_CONF.replace("link_mode: passive", "link_mode: active"))
    msg = next(p.message for p in validate(same, old) if p.key == "totem.config_version")
    assert "not increased" in msg and "still copies" in msg and "will not copy" not in msg
    v = old.config_version
    assert v is not None and v > 0
    lower = parse(PVE_CONF.replace(f"config_version: {v}", f"config_version: {v - 1}"))
    msg = next(p.message for p in validate(lower, old) if p.key == "totem.config_version")
    assert "went down" in msg and "will not copy" in msg and "local corosync.conf is newer" in msg
    assert not [p for p in validate(old, old) if p.key == "totem.config_version"]


def test_previous_version_and_readonly_keys() -> None:
    old = parse(PVE_CONF)
    same_version = parse(PVE_CONF.replace("link_mode: passive", "link_mode: active"))
    assert "totem.config_version" in severities(validate(same_version, old))["error"]
    new = set_totem(old, {"transport": "udpu", "secauth": "off", "cluster_name": "ny2"})
    problems = validate(new, old)
    warned = severities(problems)["warning"]
    assert {"totem.transport", "totem.secauth", "totem.cluster_name"} <= warned
    msg = next(p.message for p in problems if p.key == "totem.secauth")
    assert "restarted on all nodes" in msg
    assert not [p for p in validate(set_totem(old, {"token": "4000"}), old)]


def test_problem_is_frozen() -> None:
    p = Problem("fatal", "k", "m", 1)
    with pytest.raises(AttributeError):
        p.key = "x"  # type: ignore[misc]


# --- CLI -----------------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register = parser.add_subparsers(dest="command", required=True)
    cmd.register(register)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.conf"
    good.write_text(PVE_CONF)
    assert run_cli(["corosync", "check", str(good)]) == 0
    bad = tmp_path / "bad.conf"
    bad.write_text(story_conf())
    capsys.readouterr()
    assert run_cli(["corosync", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:35: fatal: totem.token must be a whole number" in out
    broken = tmp_path / "broken.conf"
    broken.write_text("totem {\n")
    assert run_cli(["corosync", "check", str(broken)]) == 1
    assert f"{broken}:1: fatal: Missing closing brace" in capsys.readouterr().out


def test_cli_set_writes_atomically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(PVE_CONF)
    out = tmp_path / "corosync.conf.new"
    rc = run_cli(["corosync", "set", str(src), "token=5000", "totem.link_mode=", "-o", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "-  config_version: 5\n+  config_version: 6\n" in captured.out
    new = parse(out.read_text())
    assert new.get("totem.token") == "5000" and new.get("totem.link_mode") is None
    assert src.read_text() == PVE_CONF
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corosync.conf", "corosync.conf.new"]

    rc = run_cli(["corosync", "set", str(src), "token=4000"])
    captured = capsys.readouterr()
    assert rc == 0 and parse(captured.out).get("totem.token") == "4000"
    assert "+  token: 4000" in captured.err


def test_cli_set_refuses_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(PVE_CONF)
    out = tmp_path / "out.conf"
    rc = run_cli(["corosync", "set", str(src), "transport=udpu", "-o", str(out)])
    assert rc == 1 and not out.exists()
    assert "refusing to write" in capsys.readouterr().err
    # an argument that is not KEY=VALUE is an input error, as argparse's are (exit 2)
    assert run_cli(["corosync", "set", str(src), "novalue"]) == 2


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_check_of_an_empty_file_says_it_is_empty(
        text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty (truncated) corosync.conf was answered "totem.version must be 2" and three
    more errors, none of which says the file is empty."""
    f = tmp_path / "corosync.conf"
    f.write_text(text)
    assert run_cli(["corosync", "check", str(f)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{f}:1: fatal: the file is empty"), out
    assert "totem.version" not in out, out
