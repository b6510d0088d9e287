"""`corosync set` refuses unknown keys and files `corosync check` rejects; `check` never says
line 0. Real corosync's agreement on the files `set` writes is proven on the test bed
(tests/integration/test_bed_corosync_set.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.commands import corosync as cmd
from pverunbook.pve.corosync_conf import (
    UnknownKeyError,
    check_settable,
    parse,
    set_totem,
    validate,
)
from tests.integration.bed import BedNode, corosync_conf

DATA = Path(__file__).resolve().parents[2] / "data" / "corosync"
CASES = Path(__file__).resolve().parents[4] / "shared" / "cases"

# What the test bed runs (a Proxmox-style 3-node file, our own): see tests/integration/bed.py.
BED_CONF = corosync_conf([BedNode(n, i, f"10.213.0.{i}", "", "")
                          for i, n in enumerate(("alpha", "bravo", "charlie"), 1)])


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def conf_file(tmp_path: Path) -> Path:
    path = tmp_path / "corosync.conf"
    path.write_text(BED_CONF)
    return path


@pytest.mark.parametrize(("typo", "meant"), [
    ("tokn", "token"),
    ("consenus", "consensus"),
    ("token_retransmits_before_lost_const", "token_retransmits_before_loss_const"),
    ("quorum.two_nodes", "quorum.two_node"),  # the typo of tests/data/corosync/pacemaker-...
    ("totem.link_mod", "totem.link_mode"),
])
def test_set_refuses_unknown_key_with_did_you_mean(
        conf_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        typo: str, meant: str) -> None:
    out = tmp_path / "new.conf"
    assert run_cli(["corosync", "set", str(conf_file), f"{typo}=5000", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"unknown key '{typo}'" in err and f"did you mean '{meant}'?" in err, err
    assert f"argument '{typo}=5000'" in err, err
    assert "nothing was written" in err and "Traceback" not in err
    assert not out.exists()
    assert conf_file.read_text() == BED_CONF


def test_unknown_key_refused_before_any_change() -> None:
    with pytest.raises(UnknownKeyError) as info:
        set_totem(parse(BED_CONF), {"token": "5000", "tokn": "5000"})
    assert info.value.suggestion == "token"
    assert check_settable("token") == "totem.token"
    assert check_settable("quorum.two_node") == "quorum.two_node"
    with pytest.raises(ValueError, match="bumped automatically"):
        check_settable("config_version")


def test_set_refuses_what_check_rejects(conf_file: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new.conf"
    rc = run_cli(["corosync", "set", str(conf_file), "token=5000", "consensus=1000",
                  "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and not out.exists(), err
    assert "consensus (1000 ms) is below 1.2 x token" in err
    assert "refusing to write" in err
    # ...and the same values, once consensus is left to its default, are written and pass check
    assert run_cli(["corosync", "set", str(conf_file), "token=5000", "-o", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["corosync", "check", str(out)]) == 0


@pytest.mark.skipif(not (CASES / "live").is_dir(), reason=f"shared cases not found at {CASES}")
def test_live_case_corosync_bed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = CASES / "live" / "corosync-bed.conf"
    before = src.read_text()
    out = tmp_path / "new.conf"
    assert run_cli(["corosync", "set", str(src), "tokn=5000", "-o", str(out)]) == 2
    assert "did you mean 'token'?" in capsys.readouterr().err
    assert run_cli(["corosync", "set", str(src), "token=5000", "consensus=1000",
                    "-o", str(out)]) == 1
    assert "refusing to write" in capsys.readouterr().err
    assert not out.exists() and src.read_text() == before


@pytest.mark.parametrize("argv", [["check"], ["set", "FILE", "token=5000"]])
def test_unreadable_file_says_what_to_do(argv: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for f in (tmp_path / "missing.conf", tmp_path):
        args = [str(f) if a == "FILE" else a for a in argv]
        assert run_cli(["corosync", *args] + ([] if "FILE" in argv else [str(f)])) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{f}: ") and "give the path of a corosync.conf" in err, err


def test_set_to_an_unwritable_output_says_so(conf_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no-such-dir" / "corosync.conf"
    assert run_cli(["corosync", "set", str(conf_file), "token=5000", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"corosync set -o {out}: No such file or directory; nothing was written" in err, err
    assert "could not handle" not in err and not out.parent.exists()


@pytest.mark.skipif(not (CASES / "realworld").is_dir(),
                    reason=f"shared cases not found at {CASES}")
def test_check_missing_config_version_points_at_totem_realworld(
        capsys: pytest.CaptureFixture[str]) -> None:
    src = CASES / "realworld" / "corosync-missing-config-version-line0.conf"
    assert run_cli(["corosync", "check", str(src)]) == 1
    out = capsys.readouterr().out
    totem = 1 + src.read_text().splitlines().index("totem {")
    assert f"{src}:{totem}: error: config_version is missing" in out, out
    assert f"{src}:0:" not in out


@pytest.mark.parametrize("name", ["upstream-example-udpu.conf",
                                  "pacemaker-howto-two-nodes.conf"])
def test_check_never_says_line_0(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / name
    run_cli(["corosync", "check", str(src)])
    out = capsys.readouterr().out
    lines = src.read_text().splitlines()
    totem = 1 + next(i for i, line in enumerate(lines) if line.startswith("totem {"))
    assert f"{src}:{totem}: error: config_version is missing" in out, out
    assert f"{src}:0:" not in out


def test_check_warns_about_a_key_corosync_ignores(capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / "pacemaker-howto-two-nodes.conf"
    run_cli(["corosync", "check", str(src)])
    out = capsys.readouterr().out
    line = 1 + src.read_text().splitlines().index("\ttwo_nodes: 1")
    assert f"{src}:{line}: warning: quorum.two_nodes is not a corosync key" in out
    assert "did you mean quorum.two_node?" in out


def test_known_keys_of_a_proxmox_file_are_not_flagged() -> None:
    assert not [p for p in validate(parse(BED_CONF)) if "not a corosync key" in p.message]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["token", "consensus", "join", "token_retransmit",
                                         "token_coefficient", "max_messages", "hold"]),
                       st.integers(0, 20000).map(str) | st.none(), max_size=4))
def test_every_problem_line_is_real(changes: dict[str, str | None]) -> None:
    """Whatever set produces, check's lines are inside the file (never 0, never past it)."""
    new = set_totem(parse(BED_CONF), changes)
    count = len(new.dump().splitlines())
    for p in validate(new):
        assert p.line is not None and 1 <= p.line <= count, p
