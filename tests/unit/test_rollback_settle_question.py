"""rollback-settle's keep-or-undo question names each node's timer state (engine/rollback_settle.py)
from what its first step printed (pve/facts/health.py ``rollback.timer``)."""

from __future__ import annotations

from pverunbook.engine.rollback_settle import timer_states
from pverunbook.pve.facts import FactStore, Observation
from pverunbook.pve.facts.health import facts_rollbacks

D = "/var/lib/pverunbook/rollback/r1-apply-1"


def _shown(node: str, state: str, process: str, deadline: int = 1000, now: int = 958) -> str:
    """The first step's output on one node (runbooks/rollback-settle.toml ``show``)."""
    return (f"rollback timer of r1-apply-1 on this node\nstate: {state}\nmethod=setsid\n"
            f"pid=4242\ndeadline={deadline}\ncorosync=running\nboot=b1\nnow: {now}\n"
            f"timer process: {process}\n2026-12-07T10:00:00Z {node} pverunbook-rollback "
            f"r1-apply-1-{node}: armed\n")


def _store(outputs: dict[str, str]) -> FactStore:
    return FactStore(f for node, text in outputs.items()
                     for f in facts_rollbacks(Observation(node, text)))


def test_each_node_is_named_with_its_timer_state() -> None:
    store = _store({
        "n1": _shown("n1", "armed", "alive"),
        "n2": _shown("n2", "armed", "gone"),
        "n3": _shown("n3", "committed", "gone"),
        "n4": _shown("n4", "firing", "gone") + "restore interrupted: files may be half "
              "restored (the process putting them back is gone: a reboot or a kill)\n",
        "n5": _shown("n5", "done", "gone"),
        "n6": "no rollback timer of r1-apply-1 on this node\n",
    })
    assert [(f.node, f.value) for f in store.named("rollback.timer")] == [
        ("n1", "counting"), ("n2", "gone"), ("n3", "committed"), ("n4", "interrupted"),
        ("n5", "fired"), ("n6", "none")]
    said = timer_states(store)
    assert "n1: armed and counting: it restores the checkpoint by itself in 42 s" in said, said
    assert "n2: armed, its process gone (stale)" in said, said
    assert "n3: committed: the change stays" in said, said
    assert "n4: fired, its restore interrupted" in said, said
    assert "n5: fired: the checkpoint's files are back" in said, said
    assert "n6: no timer of this checkpoint" in said, said


def test_no_settle_step_says_nothing() -> None:
    """The health check's timer lines (``TIMER …``) are not rollback-settle's: no sentence."""
    store = _store({"n1": f"TIMER {D}-n1 armed deadline=1000 now=900 process=gone\n"})
    assert store.named("rollback.alive")
    assert timer_states(store) == ""
