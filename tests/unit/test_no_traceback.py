"""No traceback, ever: every command turns bad input into what / where / what to do, exit 2.

Kinds (reliability cases and fuzzing): a duplicate key inside a ``[[steps]]`` entry
(``duplicate-key-in-step.toml``), non-UTF-8 and BOM files, truncated / nested / mistyped journals
and a directory named ``*.jsonl``. Further real inputs of the kind: tomlkit raises
``KeyAlreadyPresent`` with no position for a key repeated inside an array-of-tables entry
(the same exception escaping ``tomlkit.loads``: https://github.com/python-poetry/tomlkit/issues/4),
and
Windows editors save UTF-8 with a byte order mark (Python's own ``utf-8-sig`` codec exists for it:
https://docs.python.org/3/library/codecs.html#encodings-and-unicode). The TOML spec makes any
repeated key an error (https://github.com/toml-lang/toml/issues/350).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.cli import main
from pverunbook.engine.journal import JournalError, iter_journal
from pverunbook.inventory import InventoryError, parse_cluster
from pverunbook.pve.corosync_conf import CorosyncParseError
from pverunbook.pve.corosync_conf import parse as parse_corosync
from pverunbook.runbook.loader import RunbookError, load_text

DATA = Path(__file__).resolve().parents[1] / "data" / "reliability"
GOOD_RUNBOOK = 'id = "x"\ntitle = "t"\n[[steps]]\nid = "a"\ntitle = "a"\ncommands = "true"\n'


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_duplicate_key_in_step_case(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = DATA / "duplicate-key-in-step.toml"
    rc, out = run_cli(capsys, "validate", str(f))
    assert rc == 2
    assert out.startswith(f"{f}:8:1: duplicate key 'timeout' in step 'a' (first given at line 7)"
                          " — keep only one of them")
    rc, out = run_cli(capsys, "--runbooks", str(DATA), "list")
    assert rc == 2
    assert f"{f}:8:1: duplicate key 'timeout' in step 'a' (first given at line 7)" in out
    assert "network-triage" in out  # the valid ones are still listed


@pytest.mark.parametrize("text, where", [
    ('id="x"\ntitle="t"\n[[steps]]\nid="a"\ntitle="a"\ncommands="true"\n'
     '[[steps]]\nid="b"\ntitle="b"\ncommands="true"\ncommands="false"\n[[steps]]\nid="c"\n',
     "in step 'b'"),
    ('id="x"\nid="y"\n', "duplicate key 'id'"),
    ('id="x"\ntitle="t"\n[[params]]\nname="p"\ntype="str"\ntype="int"\n', "in parameter 'p'"),
])
def test_duplicate_keys_anywhere_name_the_place(text: str, where: str) -> None:
    with pytest.raises(RunbookError) as info:
        load_text(text, "rb.toml")
    assert where in str(info.value) and str(info.value).startswith("rb.toml:")


@pytest.mark.parametrize("text, expected", [
    # tomlkit finds a duplicate when its table is complete; the operator is shown the second
    # one, where it is written, with the line of the first.
    ('id="x"\ntitle="t"\n[[steps]]\nid="a"\ntitle="a"\ncommands="true"\n'
     '[[steps]]\nid="b"\ntitle="b"\ncommands="true"\ncommands="false"\n[[steps]]\nid="c"\n',
     "rb.toml:11:1: duplicate key 'commands' in step 'b' (first given at line 10)"),
    ('id="x"\nid="y"\n', "rb.toml:2:1: duplicate key 'id' (first given at line 1)"),
    # Columns are 1-based: the newline after 'title = ' is the 9th character of line 2.
    ('id = "x"\ntitle = \n', "rb.toml:2:9: 'title' has no value after '='"),
])
def test_toml_positions_are_one_based_on_every_tomlkit(text: str, expected: str) -> None:
    """tomlkit 0.15 moved the duplicate-key error from ``KeyAlreadyPresent`` (no position) to
    ``ParseError`` (0-based column); the operator sees the same 1-based place on both."""
    with pytest.raises(RunbookError) as info:
        load_text(text, "rb.toml")
    assert str(info.value).split(" — ")[0] == expected


def test_bom_runbook_is_read_and_non_utf8_is_pointed_at(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD_RUNBOOK.encode())
    assert run_cli(capsys, "validate", str(bom))[0] == 0
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(GOOD_RUNBOOK.replace('title = "t"', 'title = "caf\xe9"').encode("latin-1"))
    rc, out = run_cli(capsys, "validate", str(bad))
    assert rc == 2 and f"{bad}:2:13: runbook is not UTF-8 text (byte 0xe9)" in out


def _garbage(tmp_path: Path) -> dict[str, Path]:
    g = tmp_path / "garbage"
    g.mkdir()
    files = {
        "nonutf8": (b"\xff\xfe\x00bad\n", ".toml"),
        "bom-garbage": (b"\xef\xbb\xbf[[[\n", ".toml"),
        "torn": (b'{"kind":"run_started"', ".jsonl"),
        "nested": (b"[" * 100_000 + b"\n", ".jsonl"),
        "mistyped": (b'{"kind":"run_started","ts":"x","run_id":5,"params":[1]}\n[1]\n', ".jsonl"),
        "binary": (bytes(range(256)) * 4, ".conf"),
        "dup": ((DATA / "duplicate-key-in-step.toml").read_bytes(), ".toml"),
        "empty": (b"", ".sql"),
    }
    out: dict[str, Path] = {}
    for name, (data, suffix) in files.items():
        p = g / f"{name}{suffix}"
        p.write_bytes(data)
        out[name] = p
    d = g / "dir.jsonl"
    d.mkdir()
    out["dir"] = d
    return out


def _commands(f: Path) -> list[list[str]]:
    s = str(f)
    return [
        ["validate", s], ["plan", s], ["plan", "network-triage", "--cluster", s],
        ["run", s, "--local", "--headless"], ["run", s, "--dry-run", "--headless"],
        ["run", "network-triage", "--cluster", s, "--headless"],
        ["run", "--resume", s, "--headless"], ["run", "--resume", s, "--local", "--headless"],
        ["run", s, "--local"], ["tui", s], ["tui", "--resume", s], ["tui", "--cluster", s],
        ["journal", "show", s], ["journal", "show", s, "--json"], ["report", s],
        ["corosync", "check", s], ["corosync", "set", s, "token=5000"],
        ["vm-config", "--from-cmdline", s], ["pmxcfs", "extract", s],
        ["checkpoints", "show", s], ["restore", s], ["--runbooks", str(f.parent), "list"],
        ["rehearse", s, "--headless"], ["rehearse", "network-triage", "--headless",
                                        "--scenario", f.stem],
    ]


# Commands that accept some garbage as valid input (an unreadable journal shown raw, ...).
_MAY_SUCCEED = {("journal", "show", "--json")}
# `corosync check` answers "corosync would refuse this file" with exit 1 and FILE:LINE, like
# `corosync -t`; that is its verdict on the file, not an unhandled input. (`corosync set`, for
# which the file is an input, exits 2.)
_VERDICT_1 = (("corosync", "check"),)


def test_every_command_on_garbage_exits_2_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failures: list[str] = []
    for name, f in _garbage(tmp_path).items():
        for argv in _commands(f):
            try:
                rc, out = run_cli(capsys, *argv)
            except SystemExit as exc:  # argparse usage errors exit 2 themselves
                rc, out = int(exc.code or 0), capsys.readouterr().err
            key = tuple(a for a in argv if not a.startswith(str(tmp_path)))
            if "Traceback" in out or "could not handle this input" in out:
                failures.append(f"{name}: {' '.join(argv)}: unhandled: {out[-300:]}")
            elif rc == 1 and tuple(argv[:2]) in _VERDICT_1 and f"{f}:" in out:
                continue
            elif rc != 2 and not (key in _MAY_SUCCEED and rc == 0):
                failures.append(f"{name}: {' '.join(argv)}: exit {rc}: {out[-200:]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("argv", [["journal", "show"], ["report"], ["run", "--resume"]])
def test_run_given_as_a_path_that_is_not_a_journal_file(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An absolute path without the .jsonl suffix used to reach Path.glob() in the runs folder,
    # which raises NotImplementedError ("Non-relative patterns are unsupported").
    from pverunbook.engine.journal import runs_dir

    runs_dir().mkdir(parents=True)
    for f in (tmp_path / "missing", tmp_path / "sub" / "no-such.txt", tmp_path):
        rc, out = run_cli(capsys, *argv, str(f))
        assert rc == 2, out
        assert "could not handle this input" not in out and "Traceback" not in out, out
        assert str(f) in out and "journal list" in out, out


def test_journal_directory_in_the_runs_folder_is_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pverunbook.engine.journal import runs_dir

    runs_dir().mkdir(parents=True)
    (runs_dir() / "weird.jsonl").mkdir()
    (runs_dir() / "bad.jsonl").write_bytes(b"\xff\n[1]\n")
    rc, out = run_cli(capsys, "journal", "list")
    assert rc == 0 and "Traceback" not in out


def test_journal_show_names_damaged_lines(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = {"kind": "note", "ts": 1.0, "step_id": "a", "text": "hello", "level": "info"}
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "ts": "noon"}) + "\n"
                 + "[" * 5000 + "\n" + json.dumps(good) + "\n")
    rc, out = run_cli(capsys, "journal", "show", str(p))
    assert rc == 0
    assert out.count("hello") == 2
    assert f"{p}:2: note: field 'ts' is str" in out
    assert f"{p}:3: JSON nested too deeply" in out


# -- property tests: arbitrary input raises only the module's documented error ---------------

_TOML_BITS = st.lists(st.sampled_from([
    "[[steps]]\n", "[[params]]\n", "[steps.backup]\n", 'id = "a"\n', 'id = "a"\n', 'title = "T"\n',
    'commands = "true"\n', 'commands = ["a", "b"]\n', "timeout = 5\n", "timeout = -1\n",
    'kind = "check"\n', 'kind = "bogus"\n', "destructive = true\n", 'targets = "all"\n',
    'name = "p"\n', 'type = "str"\n', "secret = true\n", "[[steps.expect]]\n", 'match = "("\n',
    'on_failure = "goto:x"\n', "= 1\n", '"\n', "x = [\n", "\ufeff", "\x00", "a.b.c = 1\n",
    'when = "p == 1"\n', "[steps]\n", "steps = 3\n", "[[steps.guards]]\n", 'check = "quorate"\n',
]), max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TOML_BITS, st.text(max_size=200)))
def test_runbook_loader_raises_only_runbook_error(text: str) -> None:
    with contextlib.suppress(RunbookError):
        load_text(text, "fuzz.toml")


_INV_BITS = st.lists(st.sampled_from([
    "[cluster]\n", 'name = "nyc"\n', "[[nodes]]\n", 'name = "pve001"\n', 'host = "h"\n',
    "port = 22\n", "port = 0\n", 'port = "x"\n', "addr1 = 3\n", 'user = "root"\n', "x = 1\n",
    "[[nodes]]\nname = 1\n", "nodes = 1\n", "cluster = []\n", "\ufeff", "[",
]), max_size=20).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_INV_BITS, st.text(max_size=200)))
def test_inventory_parser_raises_only_inventory_error(text: str) -> None:
    with contextlib.suppress(InventoryError):
        parse_cluster(text, "nodes.toml")


_COROSYNC_BITS = st.lists(st.sampled_from([
    "totem {\n", "}\n", "nodelist {\n", "node {\n", "quorum {\n", "interface {\n",
    "  version: 2\n", "  config_version: 3\n", "  config_version: x\n", "  token: 3000\n",
    "  cluster_name: nyc\n", "  ring0_addr: 10.0.0.1\n", "  nodeid: 1\n", "  name: pve001\n",
    "  linknumber: 0\n", "# c\n", "{\n", ":\n", "a: b: c\n", "  provider: corosync_votequorum\n",
    "\r\n", "\t", "  secauth: on\n", "  two_node: 1\n",
]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_COROSYNC_BITS, st.text(max_size=200)))
def test_corosync_parser_and_writer_raise_only_parse_error(text: str) -> None:
    from pverunbook.pve.corosync_conf import set_totem, validate

    try:
        conf = parse_corosync(text)
    except CorosyncParseError:
        return
    dumped = conf.dump()
    assert parse_corosync(dumped).dump() == dumped  # the writer's output reads back the same
    validate(conf)
    with contextlib.suppress(ValueError):  # documented: set_totem refuses bad keys/values
        set_totem(conf, {"token": "5000"})


_EVENT_LINES = st.one_of(
    st.binary(max_size=100),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                 | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.sampled_from(["kind", "ts", "step_id", "params", "nodes",
                                                    "index", "run_id", "text", "status"]),
                                   inner, max_size=5),
                 max_leaves=12).map(lambda v: json.dumps(v).encode()),
    st.builds(lambda k, extra: json.dumps({"kind": k, **extra}).encode(),
              st.sampled_from(["run_started", "step_started", "step_finished", "output",
                               "command_finished", "run_finished", "note", "finding"]),
              st.dictionaries(st.sampled_from(["ts", "step_id", "params", "nodes", "index",
                                               "run_id", "status", "text"]),
                              st.none() | st.integers() | st.text(max_size=5)
                              | st.lists(st.integers(), max_size=2), max_size=4)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_EVENT_LINES, max_size=8), st.booleans())
def test_journal_reader_raises_nothing_on_any_content(tmp_path_factory: pytest.TempPathFactory,
                                                      lines: list[bytes], torn: bool) -> None:
    from pverunbook.engine.resume import ResumeError, load_resume

    p = tmp_path_factory.mktemp("j") / "run.jsonl"
    p.write_bytes(b"\n".join(lines) + (b"" if torn else b"\n"))
    problems: list[str] = []
    events = list(iter_journal(p, problems))
    for e in events:  # what is yielded is well-typed enough to print
        e.to_dict()
    with contextlib.suppress(ResumeError):
        load_resume(p)


def test_journal_reader_error_is_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="directory"):
        list(iter_journal(tmp_path))
    with pytest.raises(JournalError, match="cannot read"):
        list(iter_journal(tmp_path / "missing.jsonl"))


@pytest.mark.parametrize("manifest", [b"\xff[", b"[1, 2]", b'{"id": 5}', b'{"items": "x"}',
                                      b'{"items": [{"path": 3}]}', b"[" * 50_000])
def test_damaged_checkpoint_manifest_is_named_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: bytes) -> None:
    from pverunbook.engine.checkpoints import checkpoints_dir

    d = checkpoints_dir() / "cp-1"
    d.mkdir(parents=True)
    (d / "manifest.json").write_bytes(manifest)
    assert run_cli(capsys, "checkpoints", "list")[0] == 0
    for argv in (["checkpoints", "show", "cp-1"], ["restore", "cp-1", "--local"]):
        rc, out = run_cli(capsys, *argv)
        assert rc == 2 and "no readable manifest.json (missing or damaged)" in out, out
        assert "Traceback" not in out and "could not handle" not in out
