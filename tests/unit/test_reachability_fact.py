"""``ssh.reachable``: the fact that lets a ``when`` count the nodes that did not answer SSH.

A node the run never reached has no fact at all, so ``all(corosync.running)`` over the observed
nodes was true with one node of three powered off: corosync-tuning's ``catch-up-stopped`` never
ran for it, and nothing said that node would boot into a cluster running another
config_version. The engine states ``ssh.reachable`` for every inventory node instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.targets import decide_when, node_vars
from pverunbook.inventory import Cluster, Node
from pverunbook.pve.facts import FactStore, facts_reachability
from pverunbook.runbook.loader import RunbookError, load_file, load_text
from pverunbook.transport.local import LocalTransport

BOOK = Path(__file__).resolve().parents[2] / "runbooks" / "corosync-tuning.toml"
THREE = Cluster("nyc", (Node("ryanrishi", "127.0.0.1"), Node("pve001", "127.0.0.2"),
                        Node("pve002", "127.0.0.3")))


def test_every_inventory_node_gets_the_fact_with_why() -> None:
    facts = facts_reachability(["ryanrishi", "pve001", "pve002"],
                               {"pve002": "connection refused"})
    assert [(f.key, f.value) for f in facts] == [
        ("ssh.reachable[ryanrishi]", True), ("ssh.reachable[pve001]", True),
        ("ssh.reachable[pve002]", False)]
    assert facts[2].evidence == "connection refused"


@pytest.mark.parametrize("step_id", ["accept-unreachable", "catch-up-unreachable"])
def test_corosync_tuning_counts_the_node_that_did_not_answer(step_id: str) -> None:
    step = load_file(BOOK).step(step_id)
    # what the quorum step observed on the two nodes that answered: all running
    seen = FactStore(facts_reachability(THREE.names, {"pve002": "connection refused"}))
    assert decide_when(step, {}, seen)[0] is True
    assert decide_when(step, {}, FactStore(facts_reachability(THREE.names, {})))[0] is False


async def test_the_engine_states_it_at_the_start_and_names_the_nodes() -> None:
    text = '''
id = "t"
title = "T"
[[steps]]
id = "gone"
title = "Gone"
kind = "check"
targets = "first"
when = "not all(ssh.reachable)"
commands = "echo missing {{unreachable}}"
'''
    cluster = Cluster("lab", (Node("here", "localhost"), Node("away", "localhost")))
    engine = Engine(load_text(text), cluster, LocalTransport(), ScriptedDecider(), run_id="r")
    engine.unreachable = {"away": "connection refused"}
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    await engine.run()
    said = "".join(e.text for e in seen if isinstance(e, ev.OutputChunk))
    assert said.strip() == "missing away"
    assert engine.facts.value("ssh.reachable", "away") is False
    assert engine.facts.value("ssh.reachable", "here") is True


def test_the_placeholder_is_the_unreachable_nodes_in_inventory_order() -> None:
    values = node_vars(THREE.nodes[0], THREE, unreachable=["pve002", "pve001"])
    assert values["unreachable"] == ["pve001", "pve002"]
    assert node_vars(THREE.nodes[0], THREE)["unreachable"] == []


def test_skip_unreachable_only_on_guards_that_compare_every_node() -> None:
    base = '''
id = "t"
title = "T"
[[steps]]
id = "s"
title = "S"
commands = "true"
destructive = true
no_backup_reason = "test"
[[steps.guards]]
check = "%s"
skip_unreachable = true
'''
    load_text(base % "same-config-version")
    load_text(base % "inventory-complete")
    with pytest.raises(RunbookError, match="skip_unreachable belongs to the guards"):
        load_text(base % "quorate")


@pytest.mark.parametrize("skip", [False, True])
async def test_a_comparing_guard_names_the_node_it_could_not_read(skip: bool) -> None:
    from pverunbook.engine.guards import ProxmoxGuards

    book = load_text(f'''
id = "t"
title = "T"
[[steps]]
id = "s"
title = "S"
targets = "first"
commands = "true"
destructive = true
no_backup_reason = "test"
[[steps.guards]]
check = "same-config-version"
skip_unreachable = {str(skip).lower()}
message = "The nodes run different config_versions."
''')
    cluster = Cluster("lab", (Node("a", "localhost"), Node("b", "localhost")))
    engine = Engine(book, cluster, LocalTransport(), ScriptedDecider(), run_id="r")
    engine.unreachable = {"a": "connection refused", "b": "timed out"}
    (result,) = await ProxmoxGuards().check(engine, book.steps[0], [cluster.nodes[0]])
    assert result.ok is skip
    word = "not compared" if skip else "cannot be read"
    assert f"a: {word}: did not answer SSH (connection refused)" in result.message
    # nobody saw a difference: never the runbook's message about one
    assert "different config_versions" not in result.message
    assert ("bring it back" in result.message) is not skip
