"""Input typed ahead in the rehearsal's interactive shell is kept and run in order, as a real
node's pty and bash keep it: a pasted two-line fix ran only its first line, a line typed while
a command ran was read and thrown away, and so was the first line typed after ``clear``.
Ctrl+C still discards what was typed ahead of it, as the tty does (termios(3): ISIG without
NOFLSH flushes the input queue).

Each test waits for what the shell has printed (never for a time): a line typed while a
command runs is echoed at once, as the pty echoes it; the command that blocks loops until the
test creates a file on the node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncssh
import pytest

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh
from tests.sim.test_server import connect

PROMPT = b"root@ryanrishi:~# "
#: Runs until the test touches /tmp/go on the node, then prints "released".
BLOCK = "while ! test -e /tmp/go; do sleep 1; done; echo released"


class Term:
    """The client side of an interactive session: what it printed so far, and waiting for it."""

    def __init__(self, proc: asyncssh.SSHClientProcess[bytes]) -> None:
        self.proc = proc
        self.out = b""

    def type(self, text: str) -> None:
        self.proc.stdin.write(text.encode())

    async def until(self, cond: Callable[[bytes], bool]) -> None:
        """Read until ``cond(everything printed)`` holds; the bound only ends a broken run."""
        while not cond(self.out):
            chunk = await asyncio.wait_for(self.proc.stdout.read(4096), 10)
            assert chunk, f"the session ended; it printed {self.out!r}"
            self.out += chunk

    async def printed(self, text: bytes, times: int = 1) -> None:
        await self.until(lambda out: out.count(text) >= times)


@pytest.fixture
async def term(sim: SimCluster) -> AsyncIterator[Term]:
    async with await connect(sim) as c:
        proc = await c.create_process(term_type="xterm", encoding=None)
        t = Term(proc)
        await t.printed(PROMPT)
        yield t
        proc.close()


async def test_a_pasted_two_line_fix_runs_both_lines(term: Term) -> None:
    term.type("echo $((20+1))\recho $((30+2))\r")
    await term.printed(b"\r\n32\r\n")
    assert term.out.index(b"\r\n21\r\n") < term.out.index(b"\r\n32\r\n")
    await term.printed(PROMPT, 3)  # the second line ran at a prompt of its own


async def test_the_first_line_after_clear_runs(term: Term) -> None:
    term.type("clear\recho $((40+2))\r")
    await term.printed(b"\r\n42\r\n")
    assert term.out.index(b"\x1b[H\x1b[2J\x1b[3J") < term.out.index(b"\r\n42\r\n")


async def test_lines_typed_while_a_command_runs_run_after_it_in_order(
        sim: SimCluster, term: Term) -> None:
    term.type(BLOCK + "\r")
    await term.printed(BLOCK.encode() + b"\r\n")  # read: it runs now
    term.type("echo $((1+1))\r")
    term.type("echo $((2+1))\r")
    term.type("echo $((3")  # half a line when the command ends
    await term.printed(b"echo $((3")  # echoed as typed, as the pty echoes
    await sh(sim, "ryanrishi", "touch /tmp/go")
    await term.printed(b"\r\n3\r\n")
    # "released" follows the half line's echo on the same line, as on a real terminal
    assert term.out.index(b"released\r\n" + PROMPT) < term.out.index(b"\r\n2\r\n") \
        < term.out.index(b"\r\n3\r\n")
    # the half line is still there, after the prompt that follows, and ends as typed
    await term.until(lambda out: out.endswith(PROMPT + b"echo $((3"))
    term.type("+1))\r")
    await term.printed(b"\r\n4\r\n")


async def test_ctrl_c_stops_the_command_and_what_was_typed_ahead_of_it(
        term: Term) -> None:
    term.type(BLOCK + "\r")
    await term.printed(BLOCK.encode() + b"\r\n")
    term.type("echo $((5+5))\r")
    await term.printed(b"echo $((5+5))\r\n")
    term.type("\x03")
    await term.printed(b"^C\r\n" + PROMPT)
    term.type("echo $?; echo $((7+7))\r")
    await term.printed(b"\r\n130\r\n14\r\n")
    assert b"\r\nreleased\r\n" not in term.out and b"\r\n10\r\n" not in term.out


async def test_without_a_pty_lines_sent_ahead_run_in_order(sim: SimCluster) -> None:
    async with await connect(sim) as c:
        proc = await c.create_process(encoding=None)  # `ssh -T node`, a script on stdin
        proc.stdin.write(b"echo $((6+1))\necho $((6+2))\n")
        proc.stdin.write_eof()
        out = await asyncio.wait_for(proc.stdout.read(), 10)
        await asyncio.wait_for(proc.wait(), 10)
    assert out.count(b"# 7\n") == 1 and out.count(b"# 8\n") == 1, out
    assert out.index(b"# 7\n") < out.index(b"# 8\n")
