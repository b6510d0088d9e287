"""A runbook with a TOML syntax error is reported as ``file:line:col: what — what to do`` at the
place to fix, with that line shown under a caret: never the parser's own words alone.

tomlkit reports where its parser gave up (tomlkit/parser.py), which is often not the mistake: a
string left open becomes a "control character" at the end of its line, a list without ``]`` an
"Unexpected character" at the next key. The cases are the ones people make by hand (TOML 1.0,
https://toml.io/en/v1.0.0): a string not closed, '=' missing, a key given twice, a value that
is not a TOML value, a list not closed, a regex escape in a double-quoted string.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.cli import main
from pverunbook.runbook.loader import RunbookError, load_text

HEAD = 'id = "x"\ntitle = "t"\n'
STEP = '[[steps]]\nid = "a"\ntitle = "a"\ncommands = "true"\n'


def error_of(text: str) -> str:
    with pytest.raises(RunbookError) as info:
        load_text(text, "runbooks/x.toml")
    assert len(info.value.errors) == 1
    return str(info.value.errors[0])


@pytest.mark.parametrize("text, where, says, fix", [
    # unclosed string: pointed at its opening quote, not at tomlkit's "control character"
    (HEAD + STEP + 'hint = "check the link\n', "7:8", "this string is not closed on its line",
     'add the closing "'),
    (HEAD + STEP + 'hint = "no end', "7:8", "this string is not closed", 'add the closing "'),
    (HEAD + STEP + 'commands = """\nsystemctl restart corosync\n', "7:12",
     'the text that starts here with """ is never closed', 'add """ where it ends'),
    # missing '='
    (HEAD + STEP + 'timeout 30\n', "7:8", "'=' is missing after the key 'timeout'",
     "write timeout = 30"),
    (HEAD + STEP + 'destructive\n', "7:12", "'destructive' has no '=' and no value",
     "write destructive = <value>"),
    # '=' without a value
    (HEAD + STEP + 'timeout =\n', "7:10", "'timeout' has no value after '='",
     "give one: a string in quotes"),
    # duplicate key: at the second one, naming the first and the step
    (HEAD + STEP + 'timeout = 5\ntimeout = 6\n', "8:1",
     "duplicate key 'timeout' in step 'a' (first given at line 7)", "keep only one of them"),
    # bad values
    (HEAD + STEP + 'destructive = yes\n', "7:15", "'yes' is not a TOML value",
     "write true (lowercase"),
    (HEAD + STEP + 'timeout = 30s\n', "7:11", "'30s' as the value of 'timeout' is not a number",
     "write just the number (30)"),
    (HEAD + STEP + 'kind = manual\n', "7:8", "'manual' as the value of 'kind' is not a TOML value",
     'put text in quotes ("manual")'),
    (HEAD + STEP + 'destructive = treu\n', "7:15", "'treu' is not a TOML value",
     "did you mean true?"),
    (HEAD + STEP + 'timeout = 30 # s\nretries = 3 4\n', "8:13",
     "unexpected '4' after the value of 'retries'", "one key = value per line"),
    # a regex in "..." (the escape TOML refuses), pointed at the backslash
    (HEAD + STEP + '[steps.expect]\nmatch = "ring\\d+"\n', "8:14",
     "'\\d' is not an escape TOML knows", "use single quotes ('...')"),
    # a list or header left open
    (HEAD + 'tags = ["network", "corosync"\n' + STEP, "3:8", "this list '[' is not closed",
     "add ']' after its last item"),
    (HEAD + 'tags = ["network" "corosync"]\n' + STEP, "3:19",
     "list items are separated by ','", "add ',' before"),
    (HEAD + '[[steps]\nid = "a"\n', "3:9", "this table header is not closed",
     "end it with ']'"),
])
def test_syntax_errors_say_what_where_and_what_to_do(text: str, where: str, says: str,
                                                     fix: str) -> None:
    err = error_of(text)
    headline, *shown = err.split("\n")
    assert headline.startswith(f"runbooks/x.toml:{where}: "), err
    what, _, todo = headline.partition(" — ")
    assert says in what and fix in todo, err
    line, col = (int(n) for n in where.split(":"))
    # the offending line, and a caret under the column
    assert shown == [f"  {line} | {text.splitlines()[line - 1]}",
                     f"  {' ' * len(str(line))} | {' ' * (col - 1)}^"], err
    assert "Unexpected character" not in err and "control character" not in err.lower()


@pytest.mark.parametrize("text", [
    'a = "x\n', "a = [1,\n", "a = {b = 1\n", "[a\n", "= 1\n", "a = 1979-13-01\n", "[[[\n",
    "a b = 1\n", 'a = "\\u12"\n', "a = 1 2\n", "a = \"\x01\"\n"])
def test_the_parsers_words_never_reach_the_operator_alone(text: str) -> None:
    """Whatever tomlkit raised, the headline has a place, an explanation and what to do."""
    headline = error_of(text).split("\n")[0]
    assert headline.startswith("runbooks/x.toml:") and " — " in headline, headline


def test_validate_prints_the_line_and_list_stays_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text(HEAD + STEP + 'hint = "check the link\n')
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:7:8: this string is not closed on its line" in err
    assert '  7 | hint = "check the link\n    |        ^' in err
    assert main(["--runbooks", str(tmp_path), "list"]) == 2
    listed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("x ")]
    assert len(listed) == 1 and "INVALID" in listed[0] and f"{bad}:7:8:" in listed[0]


_BITS = st.lists(st.sampled_from([
    "[[steps]]\n", "[[steps]\n", "[steps\n", 'id = "a"\n', 'id = "a\n', "id =\n", "id\n",
    'id "a"\n', "x = [\n", 'x = ["a" "b"]\n', "x = {a = 1\n", "x = yes\n", "x = 10s\n",
    'x = "\\d"\n', 'x = """\n', "x = '''\n", "x = 1 2\n", "a b = 1\n", "= 1\n", "[[[\n",
    "x = 2020-13-01\n", '"\n', "'\n", "]\n", "}\n", "# c\n", "\t", " ", "\r\n", "é", "\x01",
]), min_size=1, max_size=20).map("".join)


@settings(max_examples=300, deadline=None)
@given(_BITS)
def test_every_syntax_error_is_placed_on_a_line_of_the_file(text: str) -> None:
    """Whatever the mix, the explanation points at a real line (shown) and says what to do."""
    try:
        load_text(text, "f.toml")
    except RunbookError as exc:
        first = exc.errors[0]
        assert 1 <= first.pos.line <= text.count("\n") + 1
        if first.excerpt:
            assert " — " in first.message, first.message
            shown = first.excerpt.split("\n")[0].split(" | ", 1)[1]
            assert shown == text.split("\n")[first.pos.line - 1].rstrip("\r")[:160]


def test_an_explanation_that_fails_still_gives_the_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a traceback: a text the explanation misreads gets tomlkit's place and words."""
    from pverunbook.runbook import toml_explain

    def broken(text: str, exc: Exception) -> tuple[int, int, str]:
        raise IndexError("misread")

    monkeypatch.setattr(toml_explain, "explain", broken)
    err = error_of(HEAD + "title = \n")
    assert err.startswith("runbooks/x.toml:3:9: the TOML parser cannot read this "
                          "(Unexpected character: '\\n') — "), err
    assert err.split("\n")[1:] == ["  3 | title = ", "    |         ^"]
