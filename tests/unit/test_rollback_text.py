"""The rollback timer's text names what it undoes with the run's values: route-fix's reload
read ``ip route replace {{destination}} via {{via}}`` in the headless output, the journal and the
report, while the node's script ran it with the values (engine/rollback.py ``_undoes``). The
script now puts back the route's recorded line: the text is that command."""

from __future__ import annotations

from types import SimpleNamespace

from pverunbook.engine import events as ev
from pverunbook.engine.rollback import _undoes
from pverunbook.engine.rollback_probe import reload_commands
from pverunbook.engine.targets import step_values
from pverunbook.inventory import Cluster, Node
from pverunbook.report_rollback import timeline_line
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file


def test_route_fix_rollback_text_has_the_values() -> None:
    rb = load_file(builtin_dir() / "route-fix.toml")
    step = rb.step("delete")
    cluster = Cluster("nyc", (Node("ryanrishi", "localhost"), Node("pve001", "localhost")))
    params = {"route_node": "ryanrishi", "destination": "10.10.10.2", "via": "192.0.2.1"}
    engine = SimpleNamespace(
        cluster=cluster, values_for=lambda n: step_values(n, cluster, params, "r1"))
    recorded = ["10.10.10.2 via 192.0.2.1 dev vmbr0"]
    reload = reload_commands(step.rollback.reload, engine.values_for(cluster.node("ryanrishi")),
                             recorded)
    text = _undoes(engine, step, "ryanrishi", (), reload)  # type: ignore[arg-type]
    assert text == "undoes the change (ip route replace 10.10.10.2 via 192.0.2.1 dev vmbr0)", \
        text
    # before anything was recorded (a resumed run's armed timer): said in words
    unrecorded = _undoes(engine, step, "ryanrishi", ())  # type: ignore[arg-type]
    assert "{{" not in unrecorded and "ip route replace <each line" in unrecorded, unrecorded
    # the report's timeline says what the timer undoes, not "no restored file recorded"
    line = timeline_line(ev.RollbackTimer(step_id="delete", node="ryanrishi", state="armed",
                                          seconds=120, message=f"{text} in 120 s unless COMMIT"))
    assert line.endswith("(120 s, undoes the change (ip route replace 10.10.10.2 via "
                         "192.0.2.1 dev vmbr0))"), line
