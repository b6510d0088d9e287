"""A parameter that chooses a node names exactly ONE inventory node, whatever is typed.

The original outage's mistake was `config.db` wiped on every node; the shipped cluster-db-reset
made it reachable by typing `all` for its "ONE damaged node" parameter. These tests hold the
rails for every input: the value is refused where it is given (--set, the TUI's start, an input
step), the engine refuses it again at the target, and `max_targets` bounds a step whatever
produced its targets.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.targets import TargetError, plan, resolve_targets
from pverunbook.inventory import Cluster, Node, load_cluster
from pverunbook.runbook.loader import RunbookError, load_file, load_text
from pverunbook.runbook.model import Runbook, Step
from pverunbook.runbook.params import ParamValueError, resolve
from pverunbook.transport.local import LocalTransport

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((REPO / "runbooks").glob("*.toml"))
NYC = load_cluster(REPO / "runbooks" / "clusters" / "nyc.toml")
THREE = Cluster("lab", (Node("pve1", "localhost", addr="10.0.0.1"),
                        Node("pve2", "localhost", addr="10.0.0.2"),
                        Node("pve3", "localhost", addr="10.0.0.3")))

#: What people type that is not one node: keywords, lists, patterns, near misses.
NOT_ONE_NODE = ["all", "first", "local", "ALL", " all", "ryanrishi,pve001", "ryanrishi pve001",
                "pve*", "pve00?", "pve00[1]", "{pve001,ryanrishi}", "PVE001", "pve001 ",
                "pve0011", "nope", "", "<damaged_node>", "all,pve001", "pve001;ryanrishi"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120, stdin=subprocess.DEVNULL)


def rb(body: str) -> Runbook:
    return load_text('id = "t"\ntitle = "T"\n' + textwrap.dedent(body), "t.toml")


@pytest.mark.parametrize("value", ["all", "first", "local", "ryanrishi,pve001"])
def test_plan_refuses_a_damaged_node_that_is_not_one_node(value: str) -> None:
    r = cli("plan", "cluster-db-reset", "--set", f"damaged_node={value}")
    assert r.returncode == 2, r.stdout
    assert "Traceback" not in r.stderr
    assert "damaged_node" in r.stderr and "ryanrishi, pve001" in r.stderr
    assert "PLAN" not in r.stdout


def test_plan_accepts_one_node_and_shows_its_name_as_the_confirmation() -> None:
    r = cli("plan", "cluster-db-reset", "--set", "damaged_node=pve001")
    assert r.returncode == 0, r.stderr
    block = r.stdout.split("(move-db-aside)")[1].split("\n\n")[0]
    commands = [ln.strip() for ln in block.splitlines()
                if ln.strip().startswith(("pve001:", "ryanrishi:"))]
    assert commands and all(c.startswith("pve001: ") for c in commands), commands
    assert any("mv /var/lib/pve-cluster/config.db " in c for c in commands), commands
    assert "operator must type 'pve001'" in block


@pytest.mark.parametrize("value", NOT_ONE_NODE)
def test_resolve_with_the_cluster_refuses_everything_but_a_node_name(value: str) -> None:
    book = load_file(REPO / "runbooks" / "cluster-db-reset.toml")
    with pytest.raises(ParamValueError) as exc:
        resolve(book, {"damaged_node": value}, nodes=NYC.names)
    assert "ryanrishi, pve001" in str(exc.value)
    values, _ = resolve(book, {"damaged_node": "pve001"}, nodes=NYC.names)
    assert values["damaged_node"] == "pve001"


def test_a_target_parameter_is_marked_and_others_are_not() -> None:
    book = load_file(REPO / "runbooks" / "cluster-db-reset.toml")
    assert book.param("damaged_node").chooses_node
    assert not book.param("stop_ha").chooses_node


ONE_NODE_BOOK = '''
    [[params]]
    name = "victim"
    regex = '.*'
    [[steps]]
    id = "wipe"
    title = "Wipe"
    targets = "{{victim}}"
    destructive = true
    no_backup_reason = "test"
    commands = ["echo {{node}} >> OUT"]
'''


@pytest.mark.parametrize("value", ["all", "first", "local", "pve1,pve2", "pve*"])
async def test_engine_refuses_before_anything_runs_even_without_resolve(
        value: str, tmp_path: Path) -> None:
    """The regex allows anything and nobody called resolve(): the engine is the net."""
    out = tmp_path / "out"
    book = rb(ONE_NODE_BOOK.replace("OUT", str(out)))
    engine = Engine(book, THREE, LocalTransport(), ScriptedDecider(confirm_text="pve1"),
                    params={"victim": value}, run_id="r1")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    with pytest.raises(ParamValueError, match="pve1, pve2, pve3"):
        await engine.run()
    assert seen == [] and not out.exists()


async def test_engine_target_check_catches_a_value_set_after_the_start(tmp_path: Path) -> None:
    out = tmp_path / "out"
    book = rb(ONE_NODE_BOOK.replace("OUT", str(out)))
    step = book.steps[0]
    for value in ("all", "first", "local", ["pve1", "pve2"], "pve1,pve2", 1, None):
        with pytest.raises(TargetError, match="pve1, pve2, pve3"):
            resolve_targets(step, THREE, {"victim": value})
    assert [n.name for n in resolve_targets(step, THREE, {"victim": "pve2"})] == ["pve2"]


async def test_input_step_refuses_all_and_asks_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    book = rb(ONE_NODE_BOOK.replace("OUT", str(out)).replace(
        '[[steps]]\n    id = "wipe"',
        '[[steps]]\n    id = "ask"\n    title = "Which?"\n    kind = "input"\n'
        '    params = ["victim"]\n    [[steps]]\n    id = "wipe"'))
    engine = Engine(book, THREE, LocalTransport(),
                    ScriptedDecider(confirm_text="pve1", params={"victim": "all"}), run_id="r1")
    seen: list[ev.Event] = []
    engine.subscribe(seen.append)
    status = await engine.run()
    assert status == "aborted" and not out.exists()
    notes = [e.text for e in seen if isinstance(e, ev.Note) and e.level == "error"]
    assert notes and all("victim" in n and "pve1, pve2, pve3" in n for n in notes)


def test_max_targets_refuses_whatever_produced_the_targets() -> None:
    book = rb('''
        [[steps]]
        id = "one"
        title = "One"
        targets = ["pve1", "pve2"]
        max_targets = 1
        commands = ["true"]
    ''')
    with pytest.raises(TargetError, match="at most 1 node.*pve1, pve2"):
        plan(book, THREE, {})
    book = rb('''
        [[steps]]
        id = "two"
        title = "Two"
        targets = "all"
        max_targets = 2
        commands = ["true"]
    ''')
    with pytest.raises(TargetError, match="at most 2"):
        plan(book, THREE, {})
    assert [n.name for n in plan(book, NYC, {})[0].nodes] == ["ryanrishi", "pve001"]


async def test_engine_fails_a_step_over_max_targets_without_running_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    book = rb(f'''
        [[steps]]
        id = "many"
        title = "Many"
        targets = "all"
        max_targets = 1
        commands = ["echo x >> {out}"]
    ''')
    engine = Engine(book, THREE, LocalTransport(), ScriptedDecider(), run_id="r1")
    status = await engine.run()
    assert status == "failed" and not out.exists()


@pytest.mark.parametrize(("targets", "message"), [
    ('"{{victim}} pve1"', "exactly '{{name}}'"),
    ('"{{node}}"', "not a built-in"),
    ('"{{count}}"', "type str or choice"),
])
def test_loader_refuses_target_forms_that_could_name_several_nodes(targets: str,
                                                                    message: str) -> None:
    with pytest.raises(RunbookError) as exc:
        rb(f'''
            [[params]]
            name = "victim"
            [[params]]
            name = "count"
            type = "int"
            default = 1
            [[steps]]
            id = "s"
            title = "S"
            targets = {targets}
            commands = ["true"]
        ''')
    assert message in str(exc.value) and "t.toml:" in str(exc.value)


def test_loader_refuses_max_targets_below_one() -> None:
    with pytest.raises(RunbookError, match="max_targets must be 1 or more"):
        rb('[[steps]]\nid = "s"\ntitle = "S"\nmax_targets = 0\ncommands = ["true"]\n')


# -- every shipped one-node step, every value ------------------------------------------------

def _one_node_steps() -> list[tuple[Runbook, Step]]:
    """Shipped steps that run on ONE node: a single `first`, node or {{param}} target."""
    out = []
    for path in RUNBOOKS:
        book = load_file(path)
        for step in book.steps:
            if len(step.targets) == 1 and step.targets[0] not in ("all", "local") \
                    and (step.commands or step.action or step.destructive):
                out.append((book, step))
    return out


ONE_NODE_STEPS = _one_node_steps()


def test_the_shipped_one_node_steps_are_enumerated() -> None:
    ids = {(b.id, s.id) for b, s in ONE_NODE_STEPS}
    assert {("cluster-db-reset", "move-db-aside"), ("cluster-db-reset", "stop-cluster-services"),
            ("corosync-tuning", "expected-one"), ("corosync-tuning", "apply")} <= ids


@pytest.mark.parametrize(("book", "step"), ONE_NODE_STEPS,
                         ids=[f"{b.id}:{s.id}" for b, s in ONE_NODE_STEPS])
def test_every_shipped_one_node_step_that_acts_or_uses_a_parameter_declares_max_targets(
        book: Runbook, step: Step) -> None:
    acts = step.destructive or step.kind.value in ("run", "action") or "{{" in step.targets[0]
    if acts:
        assert step.max_targets == 1, f"{book.id}:{step.id} runs on ONE node: max_targets = 1"


_values = st.one_of(
    st.sampled_from(NOT_ONE_NODE + NYC.names + THREE.names),
    st.text(max_size=12),
    st.lists(st.sampled_from(NYC.names), min_size=2, max_size=3).map(",".join),
    st.lists(st.sampled_from(NYC.names), min_size=2, max_size=3).map(" ".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_parameter_value_makes_a_one_node_step_touch_two_nodes(data: Any) -> None:
    """For any shipped one-node step and any values of its runbook's string parameters:
    either the value is refused (resolve or the engine's target check) or one node runs."""
    book, step = data.draw(st.sampled_from(ONE_NODE_STEPS))
    cluster = data.draw(st.sampled_from([NYC, THREE]))
    given_values: dict[str, Any] = {}
    for p in book.params:
        if p.type.value in ("str", "choice"):
            given_values[p.name] = data.draw(_values, label=p.name)
    try:
        values, _ = resolve(book, given_values, nodes=cluster.names)
    except ParamValueError:
        values = given_values  # refused at --set; the engine must refuse it too
    try:
        nodes = resolve_targets(step, cluster, values)
    except TargetError:
        return
    assert len(nodes) <= 1, (step.id, values, [n.name for n in nodes])
    for p in book.params:
        if p.chooses_node and "{{" + p.name + "}}" in step.targets[0]:
            assert nodes[0].name == values[p.name]


@pytest.mark.parametrize("value", ["all", "ryanrishi,pve001"])
def test_rehearse_refuses_before_anything_runs(value: str, tmp_path: Path) -> None:
    pytest.importorskip("asyncssh")
    import os

    env = {**os.environ, "PVERUNBOOK_STATE_DIR": str(tmp_path / "state"),
           "PVERUNBOOK_DATA_DIR": str(tmp_path / "data")}
    r = subprocess.run([sys.executable, "-m", "pverunbook", "rehearse", "cluster-db-reset",
                        "--headless", "--set", f"damaged_node={value}", "--confirm", "nyc"],
                       capture_output=True, text=True, cwd=REPO, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "one of ryanrishi, pve001" in r.stderr and "Traceback" not in r.stderr
    assert not list((tmp_path / "state").rglob("*.jsonl"))  # no journal: nothing ran
