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
