"""A step's ``summary``: its typed confirmation says in words what it does on each node, above
the shell commands. rollback-settle's undo confirmation listed only a page of ``D=…; if test …``
per node; now each node's line says what undo does there."""

from __future__ import annotations

import pytest

from pverunbook.engine.decisions import ConfirmRequest, ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.inventory import local_cluster
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.confirm_summary import lines
from pverunbook.runbook.loader import RunbookError, load_file, load_text
from pverunbook.transport.local import LocalTransport

BOOK = '''
id = "rb"
title = "rb"
[[params]]
name = "what"
type = "str"
default = "the flag"
[[steps]]
id = "change"
title = "change"
{keys}
commands = ["true"]
'''


class Declines(ScriptedDecider):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ConfirmRequest] = []

    async def confirm(self, request: ConfirmRequest) -> str | None:
        self.requests.append(request)
        return None  # nothing runs


async def test_the_confirmation_carries_the_summary_per_node() -> None:
    rb = load_text(BOOK.format(keys='confirm = "go"\nsummary = "sets {{what}} on {{node}}."'))
    decider = Declines()
    cluster = local_cluster()
    engine = Engine(rb, cluster, LocalTransport(), decider, run_id="r1",
                    params={"what": "the flag"})
    await engine.run()
    (request,) = decider.requests
    node = cluster.nodes[0].name
    assert request.summary == f"{node}: sets the flag on {node}.", request.summary
    assert request.changes == f"{node}: true"


def test_a_summary_belongs_to_a_step_that_asks_a_confirmation() -> None:
    with pytest.raises(RunbookError, match="asks none"):
        load_text(BOOK.format(keys='summary = "does it"'))
    with pytest.raises(RunbookError, match="unknown placeholder"):
        load_text(BOOK.format(keys='confirm = "go"\nsummary = "{{nope}}"'))


def test_rollback_settle_says_what_undo_and_keep_do_on_each_node() -> None:
    rb = load_file(builtin_dir() / "rollback-settle.toml")
    per_node = [(n, {"checkpoint": "cp-7", "node": n}) for n in ("ryanrishi", "pve001")]
    undo = lines(rb.step("undo"), per_node).splitlines()
    assert [u.split(":", 1)[0] for u in undo] == ["ryanrishi", "pve001"]
    assert "rollback script" in undo[1] and "puts back every file" in undo[1]
    assert "/var/lib/pverunbook/rollback/cp-7-pve001/restore/" in undo[1]
    assert "{{" not in "".join(undo)
    keep = lines(rb.step("keep"), per_node)
    assert "marks it committed" in keep and "no file changes" in keep


async def test_headless_prints_the_summary_with_the_question() -> None:
    import io

    from pverunbook.terminal_decider import TerminalDecider

    rb = load_text(BOOK.format(keys='confirm = "go"\nsummary = "sets it."'))
    out = io.StringIO()
    decider = TerminalDecider("go", interactive=False, out=out)
    got = await decider.confirm(ConfirmRequest(rb.step("change"), "confirm", "Type 'go'", "go",
                                               ("a", "b"), summary="a: sets it.\nb: sets it."))
    assert got == "go"
    assert "   Type 'go'\n   a: sets it.\n   b: sets it.\n" in out.getvalue(), out.getvalue()
