"""The rehearsal's interactive shell recalls and edits lines as bash's readline does, over real
SSH with a pty: Up ran nothing before (the escape sequence was dropped), so an operator had to
retype a long command the runbook's shell key left them at."""

from __future__ import annotations

from tests.sim.test_shell_typeahead import PROMPT, Term, term  # noqa: F401 - the fixture

UP, LEFT = "\x1b[A", "\x1b[D"


async def test_up_runs_the_last_line_again(term: Term) -> None:  # noqa: F811
    term.type("echo $((6*7))\r")
    await term.printed(b"\r\n42\r\n")
    await term.printed(PROMPT, 2)
    term.type(UP)
    await term.printed(b"echo $((6*7))", 2)  # the recalled line is shown before it runs
    term.type("\r")
    await term.printed(b"\r\n42\r\n", 2)


async def test_a_line_is_edited_before_it_runs(term: Term) -> None:  # noqa: F811
    term.type("rm -rf /etc/pve\x15")  # Ctrl+U: the whole line is gone
    term.type("echo 1" + LEFT + "2\r")  # Left, then a character before the 1
    await term.printed(b"\r\n21\r\n")
    assert b"rm" not in term.out.split(b"\r\n21\r\n")[1]


async def test_ctrl_c_drops_the_line_but_keeps_the_history(term: Term) -> None:  # noqa: F811
    term.type("echo $((2+3))\r")
    await term.printed(b"\r\n5\r\n")
    term.type("echo never\x03")
    await term.printed(b"^C\r\n" + PROMPT)
    term.type(UP + "\r")
    await term.printed(b"\r\n5\r\n", 2)
    assert b"never\r\n" not in term.out


async def test_a_pasted_here_document_is_one_command(term: Term) -> None:  # noqa: F811
    """The check's storage.cfg fix is a here-document: pasted, its first line ran with no
    body and every further line ran as a command of its own ("dir:: not found"). The prompt
    now asks for more (PS2, "> ") until the here-document ends, and keeps its Tabs."""
    term.type("cat > /tmp/st.cfg <<'EOF' && cat -A /tmp/st.cfg\r"
              "dir: local\r\tpath /var/lib/vz\r\tcontent iso\rEOF\r")
    await term.printed(b"> EOF\r\n")  # a Tab is echoed as one column
    await term.printed(b"dir: local$\r\n^Ipath /var/lib/vz$\r\n^Icontent iso$\r\n")
    assert b"not found" not in term.out


async def test_an_open_quote_and_a_trailing_and_ask_for_more(term: Term) -> None:  # noqa: F811
    term.type("echo 'a\rb' &&\recho c$((1+1))\r")
    await term.printed(b"a\r\nb\r\nc2\r\n")
    assert term.out.count(b"\r\n> ") == 2
