"""One rule for "is this rollback timer's process still there": the health check's TIMER line
and the engine's status line (what a resumed run's COMMIT screen and the orphan sweep read) run
the same sh. The status line decided by ``kill -0`` alone and called a timer whose pid now
belongs to another process (after a reboot, a kill) still waiting."""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import rollback_script as rs
from pverunbook.runbook.loader import load_file

CHECK = load_file(Path(__file__).resolve().parents[2] / "runbooks" / "cluster-health-check.toml")


def test_the_health_check_and_the_status_line_share_the_liveness_rule() -> None:
    timers = [c for c in CHECK.step("rollbacks").commands if "TIMER" in c]
    assert len(timers) == 1, timers
    assert rs.timer_alive_sh("$d") in timers[0]
    status = rs.status_command(["r1-apply-1-pve001"])
    assert rs.timer_alive_sh("$D") in status
    # the rule's parts, so that sharing cannot mean sharing a weaker rule
    for part in ("/proc/$p/cmdline", "${D%/}/rollback.sh", "claim/pid", "claim/boot",
                 "s/^boot=//p", "random/boot_id"):
        assert part in status, part
