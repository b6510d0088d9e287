"""``corosync set`` exits 2 for every input error (as argparse does) and 1 when the edit fails,
as its ``--help`` says: an unknown key and a malformed KEY=VALUE exited 1 while an unwritable
``-o`` exited 2, so a script could not tell "you called it wrong" from "it refused"."""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main
from tests.integration.bed import BedNode, corosync_conf

CONF = corosync_conf([BedNode(n, i, f"10.213.0.{i}", "", "")
                      for i, n in enumerate(("alpha", "bravo", "charlie"), 1)])


def _set(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        rc = main(["corosync", "set", *argv])
    except SystemExit as exc:  # argparse's own usage errors
        rc = int(exc.code or 0)
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(("assignment", "says"), [
    ("tokn=5000", "argument 'tokn=5000': unknown key 'tokn': corosync has no totem.tokn; "
                  "did you mean 'token'?"),
    ("token", "argument 'token': expected KEY=VALUE"),
    ("=5000", "argument '=5000': expected KEY=VALUE"),
    ("config_version=9", "argument 'config_version=9': config_version is bumped "
                         "automatically"),
    ("token=abc", "argument 'token=abc': totem.token must be a whole number 0..4294967295, "
                  "not 'abc'"),
    ("token=-5", "argument 'token=-5': totem.token must be a whole number"),
    ("quorum.two_node=300", "argument 'quorum.two_node=300': quorum.two_node must be a whole "
                            "number 0..255, not '300'"),
    ("transport=tcp", "argument 'transport=tcp': totem.transport is 'tcp'; corosync only "
                      "accepts knet, udpu, udp"),
])
def test_a_bad_argument_is_an_input_error(assignment: str, says: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "corosync.conf", tmp_path / "new.conf"
    src.write_text(CONF)
    rc, err = _set(capsys, str(src), "token=5000", assignment, "-o", str(out))
    assert rc == 2, err
    assert err.startswith(f"pverunbook: corosync set: {says}"), err
    assert "nothing was written" in err and "Traceback" not in err
    assert not out.exists() and src.read_text() == CONF


@pytest.mark.parametrize(("text", "says"), [
    ("", ":1: fatal: the file is empty"),
    ("totem {\n", ":1: fatal: Missing closing brace"),
])
def test_a_file_it_cannot_edit_is_an_input_error(text: str, says: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "corosync.conf", tmp_path / "new.conf"
    src.write_text(text)
    rc, err = _set(capsys, str(src), "token=5000", "-o", str(out))
    assert rc == 2, err
    assert err.startswith(f"{src}{says}") and "nothing was written" in err, err
    assert not out.exists()
    rc, err = _set(capsys, str(tmp_path / "missing.conf"), "token=5000")
    assert rc == 2 and err.startswith(f"{tmp_path / 'missing.conf'}: "), err


def test_a_refused_or_failed_edit_exits_1(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "corosync.conf", tmp_path / "new.conf"
    src.write_text(CONF)
    rc, err = _set(capsys, str(src), "token=5000", "consensus=1000", "-o", str(out))
    assert rc == 1 and "refusing to write" in err and not out.exists(), err
    unwritable = tmp_path / "no-such-dir" / "corosync.conf"
    rc, err = _set(capsys, str(src), "token=5000", "-o", str(unwritable))
    assert rc == 1, err
    assert f"corosync set -o {unwritable}: No such file or directory; nothing was written" in err
    assert _set(capsys, str(src), "token=5000", "-o", str(out))[0] == 0 and out.exists()


def test_help_documents_the_exit_statuses(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for command, said in (("set", ("0  the edited file was written", "1  the edit failed",
                                   "2  input error")),
                          ("check", ("0  no fatal problem", "1  rejected", "2  the file cannot "
                                                                          "be read"))):
        with pytest.raises(SystemExit):
            main(["corosync", command, "--help"])
        out = capsys.readouterr().out
        assert "exit status:" in out and all(s in out for s in said), out
