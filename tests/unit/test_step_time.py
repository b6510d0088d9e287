"""A value that makes a step certain to outlast its own timeout on this cluster is refused
before the run, with the limit for the cluster's node count (trial: ping_count=1000 on five
nodes was accepted, then the ping step timed out after 600 s: 4 peers x 1000 x 0.2 s = 800 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pverunbook.runbook.loader import RunbookError, load_file, load_text
from pverunbook.runbook.params import ParamValueError, resolve

TRIAGE = Path(__file__).resolve().parents[2] / "runbooks" / "network-triage.toml"
FIVE = ["n1", "n2", "n3", "n4", "n5"]


def test_ping_count_that_cannot_finish_on_five_nodes_is_refused_with_the_limit() -> None:
    rb = load_file(TRIAGE)
    with pytest.raises(ParamValueError) as got:
        resolve(rb, {"ping_count": "1000"}, nodes=FIVE)
    said = str(got.value)
    assert "step 'ping'" in said and "800 s" in said and "5-node" in said
    assert "600 s timeout" in said
    assert "ping_count at most 749" in said  # 4 x 749 x 0.2 = 599.2 s, below 600
    values, _ = resolve(rb, {"ping_count": "749"}, nodes=FIVE)
    assert values["ping_count"] == 749
    # three nodes: two peers x 1000 x 0.2 s = 400 s fits
    assert resolve(rb, {"ping_count": "1000"}, nodes=FIVE[:3])[0]["ping_count"] == 1000
    with pytest.raises(ParamValueError, match="mtr_cycles at most 149"):
        resolve(rb, {"mtr_cycles": "150"}, nodes=FIVE)


def test_without_the_cluster_nothing_is_estimated() -> None:
    rb = load_file(TRIAGE)
    assert resolve(rb, {"ping_count": "1000"})[0]["ping_count"] == 1000


BASE = """
id = "t"
title = "t"
[[params]]
name = "n"
type = "{kind}"
default = {default}
[[steps]]
id = "s"
title = "s"
kind = "check"
commands = ["true"]
seconds_per_peer = {{ n = {secs} }}
"""


def test_seconds_per_peer_names_an_int_parameter_and_positive_seconds() -> None:
    with pytest.raises(RunbookError, match="not an int parameter"):
        load_text(BASE.format(kind="str", default='"x"', secs=1))
    with pytest.raises(RunbookError, match="number of seconds above 0"):
        load_text(BASE.format(kind="int", default=1, secs=0))
    rb = load_text(BASE.format(kind="int", default=1, secs=2.5))
    assert rb.steps[0].seconds_per_peer == {"n": 2.5}


async def test_the_engine_refuses_it_before_anything_runs() -> None:
    """Headless `run` resolves --set values before the cluster is known: the engine checks
    again, before anything runs or is journaled."""
    from pverunbook.engine import events as ev
    from pverunbook.engine.decisions import ScriptedDecider
    from pverunbook.engine.engine import Engine
    from pverunbook.inventory import Cluster, Node
    from pverunbook.transport.dryrun import DryRunTransport

    rb = load_file(TRIAGE)
    cluster = Cluster(name="nyc", nodes=tuple(Node(name=n, host="127.0.0.1") for n in FIVE))
    values, _ = resolve(rb, {"ping_count": "1000"})
    engine = Engine(rb, cluster, DryRunTransport(), ScriptedDecider(), params=values,
                    run_id="r1")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    with pytest.raises(ParamValueError, match="ping_count at most 749"):
        await engine.run()
    assert seen == []
