"""What an operator types in the rehearsal's ``$`` shell: ``exit`` anywhere on a line ends the
session, ``clear`` clears, ``cat`` shows what its options show (or refuses one it lacks, as GNU
cat does). ``cd; exit`` left the session open, ``clear`` printed nothing and ``cat -A`` printed
the file unchanged."""

from __future__ import annotations

import asyncio

from pverunbook.sim import SimCluster
from tests.sim.conftest import sh
from tests.sim.test_server import connect


async def test_cat_options_show_what_gnu_cat_shows(sim: SimCluster) -> None:
    st, out, _ = await sh(sim, "ryanrishi", "printf 'a\\tb\\001\\177\\n\\n\\n\\nz' > /tmp/x; "
                                            "echo 'é' >> /tmp/x; cat -A /tmp/x")
    assert (st, out) == (0, "a^Ib^A^?$\n$\n$\n$\nzM-CM-)$\n")
    _, out, _ = await sh(sim, "ryanrishi", "cat -v /tmp/x | head -1; cat -sn /tmp/x")
    assert out == "a\tb^A^?\n     1\ta\tb\x01\x7f\n     2\t\n     3\tzé\n"
    _, out, _ = await sh(sim, "ryanrishi", "cat -b /tmp/x; printf 'q\\tr\\n' | cat --show-tabs")
    assert out == "     1\ta\tb\x01\x7f\n\n\n\n     2\tzé\nq^Ir\n"
    _, out, _ = await sh(sim, "ryanrishi", "cat -e /tmp/x | tail -1; cat -u /tmp/x | tail -1")
    assert out == "zM-CM-)$\nzé\n"
    st, out, err = await sh(sim, "ryanrishi", "cat -Z /tmp/x; echo rc=$?; cat --nope /tmp/x")
    assert out == "rc=2\n"
    assert err == ("cat: invalid option -- 'Z'\nTry 'cat --help' for more information.\n"
                   "cat: unrecognized option '--nope'\nTry 'cat --help' for more "
                   "information.\n")


async def test_clear_needs_a_terminal_type_and_clears(sim: SimCluster) -> None:
    st, out, err = await sh(sim, "ryanrishi", "clear")
    assert (st, out, err) == (1, "", "TERM environment variable not set.\n")
    st, out, _ = await sh(sim, "ryanrishi", "TERM=xterm-256color clear")
    assert (st, out) == (0, "\x1b[H\x1b[2J\x1b[3J")


async def _session(sim: SimCluster, lines: list[str]) -> tuple[int | None, str]:
    """Type ``lines`` in an interactive ssh session with a pty, each after the prompt that
    follows the one before; the exit status (None: still open after the last line) and
    everything it printed."""
    async with await connect(sim) as c:
        proc = await c.create_process(term_type="xterm", encoding=None)
        buf = b""
        for line in lines:
            while buf.count(b"# ") <= lines.index(line):  # its prompt
                buf += await asyncio.wait_for(proc.stdout.read(4096), 5)
            proc.stdin.write(line.encode() + b"\r")
        try:
            while True:
                chunk = await asyncio.wait_for(proc.stdout.read(4096), 5)
                if not chunk:
                    break
                buf += chunk
        except TimeoutError:
            proc.close()
            return None, buf.decode("utf-8", "replace")
        await asyncio.wait_for(proc.wait(), 5)
        return proc.exit_status, buf.decode("utf-8", "replace")


async def test_exit_after_other_commands_on_the_line_ends_the_session(sim: SimCluster) -> None:
    status, out = await _session(sim, ["cd /tmp; exit 3"])
    assert status == 3, out
    status, out = await _session(sim, ["clear; cd; exit"])
    assert status == 0 and "\x1b[H\x1b[2J\x1b[3J" in out  # the pty's TERM: clear works there
    # exit in a subshell ends only the subshell, as in sh
    status, out = await _session(sim, ["(exit 4); echo still here $?", "exit"])
    assert status == 0 and "still here 4" in out
