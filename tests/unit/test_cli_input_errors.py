"""Every subcommand on bad input: what, where (the file, file:line or the name given) and what
to do, exit 2, never a traceback.

The inputs are constructed here (missing, a directory, binary bytes, empty, a path under a
file, UTF-16 with a byte order mark, bad --set values, unknown names). A permission-denied file
is not among them: the tests run as root in CI, where every file is readable; a path whose
parent is a file fails to open the same way (an OSError from open), so it stands in for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.cli import main

#: Words that start the "what to do" part of a message; every error must carry one.
ADVICE = ("give ", "save ", "pass ", "check ", "fix ", "point ", "choose ", "convert ",
          "shows ", "pick ", "use ", "is it ", "resume ", "name ", "add ")

FILE_KINDS = {
    "missing": None,
    "directory": "dir",
    "binary": bytes(range(128, 256)) + b"\n",
    "empty": b"",
    "under-a-file": "under",
    "utf16": "\ufeffid = 1\n".encode("utf-16-le"),
}

# (argv with {f} for the file, {kind: exit} where the input is not an input error there:
# `corosync check` answers an empty file with exit 1 and FILE:LINE, as corosync -t does (its
# verdict on the file; `corosync set`, for which the file is an input, exits 2), and an empty
# folder is a valid --runbooks folder)
COMMANDS: list[tuple[list[str], dict[str, int]]] = [
    (["validate", "{f}"], {}),
    (["plan", "{f}"], {}),
    (["plan", "network-triage", "--cluster", "{f}"], {}),
    (["run", "{f}", "--dry-run", "--headless"], {}),
    (["run", "network-triage", "--cluster", "{f}", "--headless"], {}),
    (["run", "--resume", "{f}", "--headless"], {}),
    (["tui", "{f}"], {}),
    (["tui", "--cluster", "{f}"], {}),
    (["journal", "show", "{f}"], {}),
    (["report", "{f}"], {}),
    (["corosync", "check", "{f}"], {"empty": 1}),
    (["corosync", "set", "{f}", "token=5000"], {}),
    (["pmxcfs", "extract", "{f}"], {}),
    (["vm-config", "--from-cmdline", "{f}"], {}),
    (["--runbooks", "{f}", "list"], {"directory": 0}),
]


def _make(tmp_path: Path, kind: str) -> Path:
    content = FILE_KINDS[kind]
    f = tmp_path / f"input-{kind}.toml"
    if content == "dir":
        f.mkdir()
    elif content == "under":
        (tmp_path / "plain").write_text("x\n")
        f = tmp_path / "plain" / "input.toml"
    elif isinstance(content, bytes):
        f.write_bytes(content)
    return f


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        rc = int(exc.code or 0)
    out = capsys.readouterr()
    return rc, out.out + out.err


def _says_what_where_and_todo(out: str, where: str) -> list[str]:
    wrong = []
    if "Traceback" in out or "could not handle this input" in out:
        wrong.append("unhandled")
    if where not in out:
        wrong.append(f"does not name {where}")
    if f"{where}: {where}" in out or f"{where} {where}" in out:
        wrong.append(f"repeats {where}")
    if not any(a in out for a in ADVICE):
        wrong.append("says nothing to do")
    return wrong


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_every_file_argument_on_bad_input(kind: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = _make(tmp_path, kind)
    failures = []
    for template, other in COMMANDS:
        argv = [a.replace("{f}", str(f)) for a in template]
        rc, out = _run(capsys, argv)
        want = other.get(kind, 2)
        if want == 0:
            assert rc == 0, out
            continue
        wrong = [f"exit {rc}, expected {want}"] if rc != want else []
        if want == 1:  # a verdict on the file names file:line and needs no "what to do"
            wrong += [w for w in _says_what_where_and_todo(out, f"{f}:")
                      if w != "says nothing to do"]
        else:
            wrong += _says_what_where_and_todo(out, str(f))
        if wrong:
            failures.append(f"{' '.join(template)}: {', '.join(wrong)}\n    {out.strip()[:300]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("argv, where", [
    (["plan", "corosync-tuning", "--set", "token=fast"], "token: 'fast'"),
    (["plan", "corosync-tuning", "--set", "token="], "token: ''"),
    (["plan", "corosync-tuning", "--set", "token"], "'token'"),
    (["plan", "corosync-tuning", "--set", "tokn=5000"], "tokn"),
    (["plan", "corosync-tuning", "--set", "=5000"], "'=5000'"),
    (["rehearse", "network-triage", "--set", "=5"], "'=5'"),  # the app's path: before the screen
    (["run", "corosync-tuning", "--dry-run", "--headless", "--set", "token=-5"], "token: -5"),
    (["plan", "cluster-db-reset", "--set", "damaged_node=pve999"], "'pve999'"),
    (["plan", "no-such-runbook"], "'no-such-runbook'"),
    (["run", "no-such-runbook", "--local", "--headless"], "'no-such-runbook'"),
    (["rehearse", "no-such-runbook", "--headless"], "'no-such-runbook'"),
    (["tui", "no-such-runbook"], "'no-such-runbook'"),
    (["rehearse", "network-triage", "--headless", "--scenario", "nope"], "'nope'"),
    (["run", "--resume", "no-such-run", "--headless"], "'no-such-run'"),
    (["journal", "show", "no-such-run"], "'no-such-run'"),
    (["report", "no-such-run"], "'no-such-run'"),
    (["checkpoints", "show", "no-such-cp"], "'no-such-cp'"),
    (["restore", "no-such-cp", "--local"], "'no-such-cp'"),
    # a VM id PVE cannot have was taken and written into the rebuilt config ("VM -3")
    (["vm-config", "--from-cmdline", "-", "--vmid", "-3"], "'-3'"),
    (["vm-config", "--from-cmdline", "-", "--vmid", "0"], "'0'"),
    (["vm-config", "--from-cmdline", "-", "--vmid", "1000000000"], "'1000000000'"),
])
def test_bad_values_and_unknown_names(argv: list[str], where: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(capsys, argv)
    assert rc == 2, out
    wrong = _says_what_where_and_todo(out, where)
    assert not wrong, f"{wrong}: {out}"


def test_journal_in_utf16_says_not_utf8_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "run.jsonl"
    f.write_bytes(b"\xff\xfe" + '{"kind": "note"}\n'.encode("utf-16-le"))
    for argv in (["journal", "show", str(f)], ["report", str(f)]):
        rc, out = _run(capsys, argv)
        assert rc == 2
        assert f"{f}:1: not UTF-8 but UTF-16 text" in out, out
        assert "iconv -f UTF-16 -t UTF-8" in out and "codec" not in out, out


def test_report_of_a_missing_path_names_it_once(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "missing.jsonl"
    rc, out = _run(capsys, ["report", str(f)])
    assert rc == 2
    assert out.count(str(f)) == 1, out
    assert out.startswith(f"pverunbook: report: {f}: no such run journal"), out


def test_report_output_into_a_directory(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "run.jsonl"
    journal.write_text('{"kind": "note", "ts": 1.0, "step_id": "a", "text": "hi", '
                       '"level": "info"}\n')
    target = tmp_path / "out"
    target.mkdir()
    rc, out = _run(capsys, ["report", str(journal), "-o", str(target)])
    assert rc == 2
    assert not _says_what_where_and_todo(out, str(target)), out


def test_check_takes_one_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """``check --json --json-events``: the README writes them as alternatives, and given both
    --json-events won without a word; now argparse refuses the pair (exit 2)."""
    rc, out = _run(capsys, ["check", "--json", "--json-events"])
    assert rc == 2 and "not allowed with argument --json" in out, out


@pytest.mark.parametrize("argv", [["check", "--scenario", "nyc-healthy"],
                                  ["rehearse", "network-triage"], ["tui"], []])
def test_the_app_without_a_terminal_says_so_and_how_to_print_instead(
        argv: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`pverunbook check > out.txt` (cron, a pipe, stdin from /dev/null) opened the
    full-screen app: its escape codes went into the file and it waited for keys forever."""
    import pverunbook.ui.app as app

    def opened(*_: object, **__: object) -> object:
        raise AssertionError("the app was opened without a terminal")

    monkeypatch.setattr(app, "make_app", opened)
    rc, out = _run(capsys, argv)  # pytest's stdin is not a terminal
    assert rc == 2, out
    assert "the app needs a terminal and stdin is not one" in out, out
    assert ("add --headless" if argv[:1] in (["check"], ["rehearse"]) else "--headless") in out
