"""rollback-settle on the real-pmxcfs lab: stale timers of one checkpoint undone on every node.

The timers are the engine's own (rollback_script.script and arm_command, with setsid as on a
node without systemd) on two of the three nodes; the file they guard lives in /etc/pve, so the
undo writes through the real pmxcfs. They are made stale as a reboot would (their ``sleep``
killed) after the file was changed. ``pverunbook check`` must name both stale timers and propose
rollback-settle with the checkpoint; the runbook, run headless as the check proposes it, puts the
file back (the same content on every node, replicated by pmxcfs); the check then names no timer.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from pverunbook.engine.rollback_script import Plan, arm_command, script
from tests.integration.lab import Lab
from tests.integration.lab_fixture import Run, pverunbook, run_runbook

CHECKPOINT = "r1-settle-1"
ARMED = ("alpha", "bravo")
GUARDED = "/etc/pve/pverunbook-settle-test.cfg"
BEFORE = "setting: before\n"
AFTER = "setting: after (the change the timer guards)\n"


def _check(lab: Lab, state: Path) -> Run:
    run = Run(pverunbook(lab, "check", "--json-events", "--cluster", str(lab.inventory),
                         state=state, timeout=600))
    assert run.diagnosis, run.explain()
    return run


def _rollback_faults(run: Run) -> list[tuple[str, list[str], object]]:
    return [(f["rule"], f["nodes"], f["next_runbook"]) for f in run.diagnosis["faults"]
            if str(f["rule"]).startswith("rollback-")]


def test_lab_rollback_settle_undoes_a_stale_timer_on_every_node(healthy_lab: Lab,
                                                                tmp_path: Path) -> None:
    lab = healthy_lab
    assert lab.write("alpha", GUARDED, BEFORE).returncode == 0
    try:
        for node in ARMED:
            plan = Plan(node=node, tag=f"{CHECKPOINT}-{node}", seconds=100000,
                        step_id="apply", run_id="r1", checkpoint_id=CHECKPOINT,
                        files=[GUARDED])
            d = plan.dir
            res = lab.on(node, f"mkdir -p {d}/restore/etc/pve && cp {GUARDED} "
                               f"{d}/restore{GUARDED} && printf %s {shlex.quote(script(plan))}"
                               f" > {d}/rollback.sh")
            assert res.returncode == 0, res
            armed = lab.on(node, arm_command(plan)).stdout
            assert armed.startswith("armed setsid "), armed
        assert lab.write("alpha", GUARDED, AFTER).returncode == 0
        for node in ARMED:  # as a reboot would: the timers' processes are gone
            d = f"/var/lib/pverunbook/rollback/{CHECKPOINT}-{node}"
            assert lab.on(node, f"kill $(sed -n 's/^pid=//p' {d}/armed)").returncode == 0

        before = _check(lab, tmp_path / "before")
        proposed = {"runbook": "rollback-settle", "params": {"checkpoint": CHECKPOINT}}
        assert _rollback_faults(before) == [("rollback-stale", [n], proposed)
                                            for n in ARMED], before.explain()

        run = Run(run_runbook(lab, "rollback-settle", tmp_path / "settle", "--json",
                              "--set", f"checkpoint={CHECKPOINT}", "--set", "decision=undo",
                              timeout=600))
        assert run.rc == 0, run.explain()
        for node in lab.nodes:
            lab.wait_file(node.name, GUARDED, BEFORE)
        for node in ARMED:
            state = lab.on(node, f"cat /var/lib/pverunbook/rollback/{CHECKPOINT}-{node}/state")
            assert state.stdout.strip() == "done", (node, state)
        assert "no rollback timer of" in run.outputs("show", "charlie")

        after = _check(lab, tmp_path / "after")
        assert _rollback_faults(after) == [], after.explain()
    finally:
        for node in ARMED:
            lab.on(node, f"rm -rf /var/lib/pverunbook/rollback/{CHECKPOINT}-{node}")
        lab.on("alpha", f"rm -f {GUARDED}")
