"""The rehearsal nodes' sed reads a script as GNU sed does: ``;`` ends a command only outside the
delimiters of ``s``/``y`` and of a ``/re/`` address, and an escaped delimiter is literal. It split
the script on every ``;`` first, so ``s/a;b/c/`` became ``s/a`` and ``b/c/``.

The property test compares with the real GNU sed on small scripts and inputs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.sim.commands.sed import sed_text
from pverunbook.sim.shell.executor import UsageError


def _gnu_sed() -> bool:
    path = shutil.which("sed")
    if path is None:
        return False
    return "GNU" in subprocess.run([path, "--version"], capture_output=True, text=True).stdout


def test_semicolons_inside_s_belong_to_it() -> None:
    assert sed_text(["s/a;b/c/"], ["a;b", "ab"]) == ["c", "ab"]
    assert sed_text(["s/x/y;z/"], ["x"]) == ["y;z"]
    assert sed_text(["s/x/y;z/g;s/z/Z/"], ["xx"]) == ["y;Zy;z"]
    assert sed_text(["s|a\\|b|;|"], ["a|b"]) == [";"]
    assert sed_text(["s/a\\/b/;/"], ["a/b"]) == [";"]
    assert sed_text(["s/[/;]/X/g ; y/ab/ba/"], ["a/b;"]) == ["bXaX"]
    assert sed_text(["/a;b/d", "s/^/-/"], ["a;b", "c"]) == ["-c"]


def test_a_range_whose_first_line_was_deleted_starts_after_it() -> None:
    """GNU sed 4.9: ``2d;2,4p`` prints 3 and 4 (the range from line 2 starts on the first line
    it reaches), ``2,3d;2,3p`` nothing (past its end), and a range from a line number that
    ended never starts again."""
    lines = [str(i) for i in range(1, 7)]
    for script, want in (("2d;2,4p", ["3", "4"]), ("2,3d;2,3p", []), ("2d;2,/4/p", ["3", "4"]),
                         ("2d;2,$p", ["3", "4", "5", "6"]), ("2,/4/p", ["2", "3", "4"]),
                         ("/a/,/b/d;2,$p", ["2", "3", "4", "5", "6"])):
        assert sed_text([script], lines, quiet=True) == want, script
    assert sed_text(["/a/,/b/d;2,$p"], ["a", "b", ""]) == ["", ""]


def test_the_pattern_space_may_hold_a_newline() -> None:
    """After ``s/x/\\n/`` the pattern space holds a newline: ``.`` matches it, and ``$`` is
    only the end of the pattern space (GNU sed 4.9)."""
    assert sed_text(["s/;/\\n/;s/.//"], [";"]) == [""]
    assert sed_text(["s/a/&\\n/;s/$/X/"], ["a"]) == ["a\nX"]
    assert sed_text(["s/a\\$/X/"], ["a$"]) == ["X"]


def test_script_errors_are_sed_errors() -> None:
    for script in ("s/a;b", "s/a/b", "s/a/b/;x", "s/a/b/q", "y/ab/a/", "s/a/\\1/"):
        with pytest.raises(UsageError):
            sed_text([script], ["a"])


DELIMS = ["/", "|", ",", "#"]


@st.composite
def s_command(draw: st.DrawFn) -> str:
    d = draw(st.sampled_from(DELIMS))
    pat = draw(st.lists(st.sampled_from(
        ["a", "b", ";", ".", " ", "\\" + d, "[;]", f"[{d}]", "[^a]", "\\(a\\)", "x"]),
        min_size=1, max_size=4))
    rep = draw(st.lists(st.sampled_from(
        ["a", "b", ";", "&", "\\&", "\\" + d, " ", "\\1", "\\n", "y"]), max_size=4))
    flags = draw(st.sampled_from(["", "g", "2", "p", "gp", "I"]))
    start, end = draw(st.sampled_from(["", "^"])), draw(st.sampled_from(["", "$"]))
    return f"s{d}{start}{''.join(pat)}{end}{d}{''.join(rep)}{d}{flags}"


COMMAND = st.one_of(
    s_command(),
    st.sampled_from(["p", "d", "y/ab;/b;a/", "y,a;,;a,", "q"]))
ADDRESS = st.sampled_from(["", "", "1", "$", "/a;/", "2,$", "/a/,/b/", "1!", "\\,;,"])
SEPARATOR = st.sampled_from([";", "\n", " ; ", "; "])
LINE = st.text(alphabet="ab;/|,#x ", max_size=6)


@st.composite
def script(draw: st.DrawFn) -> list[str]:
    pieces = draw(st.lists(st.tuples(ADDRESS, COMMAND, SEPARATOR), min_size=1, max_size=3))
    cmds = [a + c for a, c, _ in pieces]
    text = "".join(c + s for c, (_, _, s) in zip(cmds, pieces, strict=True))[:-1]
    cut = draw(st.integers(0, len(cmds)))
    if 0 < cut < len(cmds):  # two -e pieces: sed joins them with a newline
        return [";".join(cmds[:cut]), ";".join(cmds[cut:])]
    return [text]


@pytest.mark.skipif(not _gnu_sed(), reason="needs GNU sed to compare with")
@settings(deadline=2000, max_examples=400)
@given(script(), st.lists(LINE, max_size=4), st.booleans())
def test_the_script_runs_as_gnu_sed_runs_it(scripts: list[str], lines: list[str],
                                             quiet: bool) -> None:
    argv = ["sed", *(["-n"] if quiet else [])]
    for s in scripts:
        argv += ["-e", s]
    real = subprocess.run(argv, input="".join(x + "\n" for x in lines).encode(),
                          capture_output=True, timeout=10)
    try:
        ours = sed_text(scripts, lines, quiet=quiet)
    except UsageError as exc:
        assert real.returncode != 0, f"GNU sed ran it ({real.stdout!r}), we said: {exc}"
        return
    assert real.returncode == 0, f"GNU sed refused it: {real.stderr!r}, we printed {ours!r}"
    assert "".join(x + "\n" for x in ours) == real.stdout.decode()
