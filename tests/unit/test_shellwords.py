"""One quote-aware tokenizer (shellwords.segments) serves the lint's split into simple commands
and its look for unquoted /etc/pve globs, which used to be two loops of their own.

The two old loops are kept here as the oracle: the split into segments agrees with the old
splitter on every input, and the words and glob marks agree with the old glob loop on every
input without a backslash. The old glob loop did not know backslashes (it read ``\\*`` as a
glob and ``it\\'s`` as opening a quote) where the splitter did; the one tokenizer reads them as
the shell does, which shlex (a POSIX-mode reading of quotes and backslashes) checks below.
"""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.runbook.lint_commands import touches_pve_untimed
from pverunbook.runbook.shellwords import Word, _split_unquoted, segments


def old_split_unquoted(command: str) -> list[str]:
    """shellwords._split_unquoted as it was before the tokenizer (verbatim)."""
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    i = 0
    while i < len(command):
        ch = command[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(command):
                buf.append(command[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
            buf.append(ch)
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == "\\" and i + 1 < len(command):
            buf.append(command[i:i + 2])
            i += 2
            continue
        elif ch in ";|&\n":
            if ch == ">" or (ch == "&" and buf and buf[-1] in "<>"):
                buf.append(ch)
            else:
                parts.append("".join(buf))
                buf = []
                if command[i:i + 2] in ("&&", "||"):
                    i += 1
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def old_glob_words(part: str) -> list[tuple[str, bool]]:
    """lint_commands._pve_glob_unquoted's loop as it was, returning its (word, globbed) pairs
    instead of testing each for /etc/pve (its test is kept in :func:`old_pve_glob`)."""
    quote = ""
    word: list[str] = []
    globbed = False
    found: list[tuple[str, bool]] = []
    for ch in part + " ":
        if quote:
            if ch == quote:
                quote = ""
            word.append(ch)
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch.isspace():
            if word:
                found.append(("".join(word), globbed))
            word, globbed = [], False
        else:
            globbed = globbed or ch in "*?["
            word.append(ch)
    return found


def old_pve_glob(part: str) -> bool:
    return any(g and w.lstrip("$(`").startswith("/etc/pve") for w, g in old_glob_words(part))


_PIECES = [*"ab/*?[]'\"$()`;|&<> \t\n.-=", "/etc/pve", "/etc/pve/nodes/", "timeout 5 ",
           "sh -c ", "ls ", "2>&1", "&&", "||", "$(", "x=", " # ", "\u00a0"]
_WITHOUT_BACKSLASH = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)
_WITH_BACKSLASH = st.lists(st.sampled_from([*_PIECES, "\\", "\\*", "\\'", '\\"', "\\\\"]),
                           max_size=30).map("".join)


@settings(max_examples=500, deadline=2000)
@given(st.one_of(_WITH_BACKSLASH, st.text(max_size=40)))
def test_segments_cut_where_the_old_splitter_cut(command: str) -> None:
    assert _split_unquoted(command) == old_split_unquoted(command)


@settings(max_examples=500, deadline=2000)
@given(_WITHOUT_BACKSLASH)
def test_words_and_glob_marks_agree_with_the_old_glob_loop(command: str) -> None:
    for segment in segments(command):
        assert [(w.text, w.globbed) for w in segment.words] == old_glob_words(segment.text)
    old = any(old_pve_glob(part) for part in old_split_unquoted(command))
    new = any(w.globbed and w.text.lstrip("$(`").startswith("/etc/pve")
              for segment in segments(command) for w in segment.words)
    assert new == old


@settings(max_examples=500, deadline=2000)
@given(_WITH_BACKSLASH.filter(lambda c: "\u00a0" not in c))
def test_word_boundaries_are_the_shells(command: str) -> None:
    """Each segment's words are the words shlex (POSIX quotes and backslashes) reads in it."""
    for segment in segments(command):
        try:
            expected = shlex.split(segment.text)
        except ValueError:  # an unclosed quote or a trailing backslash: no shell reading
            continue
        assert [shlex.split(w.text)[0] for w in segment.words] == expected


def test_a_glob_is_marked_only_outside_quotes_and_escapes() -> None:
    (segment,) = segments("""ls /a/* '/b/*' "/c/?" /d/\\* /e/[0-9]x 2>&1""")
    assert segment.words == (Word("ls", False), Word("/a/*", True), Word("'/b/*'", False),
                             Word('"/c/?"', False), Word("/d/\\*", False),
                             Word("/e/[0-9]x", True), Word("2>&1", False))


def test_backslashes_are_read_as_the_shell_reads_them() -> None:
    # An escaped star is not expanded, so `timeout` bounds the only access.
    assert not touches_pve_untimed("timeout 5 ls /etc/pve/nodes/\\*/qemu-server")
    # An escaped quote opens nothing: the glob after it is the shell's to expand, unbounded.
    assert touches_pve_untimed("timeout 5 echo it\\'s /etc/pve/nodes/*/qemu-server")
    assert touches_pve_untimed("timeout 5 ls /etc/pve/nodes/*/qemu-server")
    assert not touches_pve_untimed("timeout 5 sh -c 'ls /etc/pve/nodes/*/qemu-server'")
