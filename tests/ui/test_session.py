"""One launch rehearses the whole outage with the SHIPPED runbooks against the rehearsal
cluster over real SSH: network-triage → a shell on ryanrishi that removes the stale host route
→ corosync-tuning → vm-config-recovery → certificate-regeneration, back to the runbook list
after each run; the cluster ends healthy, and a second launch with the same state directory
finds it as it was left."""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.engine.journal import read_journal
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.ui.app import RunbookApp, make_app
from pverunbook.ui.autopilot import drive_run, start_from_list
from pverunbook.ui.screens.modals import ChoiceModal
from pverunbook.ui.screens.start import StartScreen
from tests.ui.conftest import form_ready, until

SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"
#: The story's real fix (story.md): ryanrishi reached pve001 through the gateway.
ROUTE_FIX = "ip route del 192.168.4.201"


def launch(state: Path) -> RunbookApp:
    config = SessionConfig(mode=Mode.REHEARSAL, sim_state_dir=state, time_scale=0.01)
    app = make_app(config, runbook_dirs=[SHIPPED])
    app.animation_level = "none"
    return app


async def run_cmd(session: Session, node: str, command: str) -> tuple[int | None, str]:
    assert session.cluster is not None and session.transport is not None
    out: list[str] = []
    res = await session.transport.run(session.cluster.node(node), command, timeout=30,
                                      on_output=lambda _s, text: out.append(text))
    return res.exit_status, "".join(out)


async def health(session: Session) -> dict[str, list[bool]]:
    """Per check, one bool per node: quorate, /etc/pve writable, VM configs, web UI cert."""
    assert session.cluster is not None
    got: dict[str, list[bool]] = {"quorate": [], "writable": [], "vms": [], "cert": []}
    for n in session.cluster.names:
        _, out = await run_cmd(session, n, "pvecm status")
        got["quorate"].append("Quorate:          Yes" in out)
        code, _ = await run_cmd(session, n, f"timeout 5 touch /etc/pve/nodes/{n}/h7-probe")
        got["writable"].append(code == 0)
        _, out = await run_cmd(session, n, "ls /etc/pve/qemu-server/")
        got["vms"].append(".conf" in out)
        code, out = await run_cmd(
            session, n, "timeout 10 openssl s_client -connect localhost:8006 "
            "-servername localhost < /dev/null 2>/dev/null | openssl x509 -noout -issuer "
            "-checkend 0")
        got["cert"].append(code == 0 and "Proxmox Virtual Environment" in out
                           and "will not expire" in out)
    return got


async def test_one_launch_rehearses_the_whole_outage(tmp_path: Path) -> None:
    state = tmp_path / "rehearsal"
    app = launch(state)
    statuses: dict[str, str] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session.cluster is not None
                    and isinstance(app.screen, StartScreen), "the rehearsal cluster", 3000)
        session = app.session
        before = await health(session)
        assert not any(before["vms"]) and not any(before["cert"])  # the story: both lost
        start = app.screen
        assert isinstance(start, StartScreen)
        # Where to begin: the health check is listed first, with why.
        assert start.shown[0].runbook is not None
        assert start.shown[0].runbook.id == "cluster-health-check"
        assert "Where to begin" in str(start.query_one("#start-guide").render())

        # 1. Triage: read-only, finds the route through the gateway.
        await start_from_list(pilot, app, "network-triage")
        run = await drive_run(pilot, app)
        statuses["network-triage"] = run.state.finished.status if run.state.finished else ""
        triage_journal = run.engine.journal_path if run.engine else None
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to the list")

        # 2. The shell: the same ssh command line the shell uses, with the fix typed into it.
        _, route = await run_cmd(session, "ryanrishi", "ip route")
        assert "192.168.4.201 via 192.168.4.1" in route
        app.open_shell("ryanrishi", command=ROUTE_FIX)
        await until(pilot, lambda: app.shells, "the shell to end", tries=3000)
        assert app.shells == [("ryanrishi", 0)]
        _, route = await run_cmd(session, "ryanrishi", "ip route")
        assert "192.168.4.201 via" not in route

        # 3–5. The fixes, each from the runbook list, the cluster carried over between them.
        await start_from_list(pilot, app, "corosync-tuning")
        await until(pilot, lambda: form_ready(app), "parameters")
        await pilot.press("ctrl+s")
        run = await drive_run(pilot, app)
        statuses["corosync-tuning"] = run.state.finished.status if run.state.finished else ""
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to the list")

        # As the diagnosis's "Run next" does: by id, with parameters pre-filled.
        assert app.start_runbook("vm-config-recovery", {"source": "processes"})
        await until(pilot, lambda: form_ready(app), "parameters")
        await pilot.press("ctrl+s")
        run = await drive_run(pilot, app)
        statuses["vm-config-recovery"] = run.state.finished.status if run.state.finished else ""
        assert run.params["source"] == "processes"
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to the list")

        await start_from_list(pilot, app, "certificate-regeneration")
        await until(pilot, lambda: form_ready(app), "parameters")
        await pilot.press("ctrl+s")
        run = await drive_run(pilot, app)
        statuses["certificate-regeneration"] = (run.state.finished.status
                                                if run.state.finished else "")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to the list")

        after = await health(session)
        # q asks first: a rehearsal cluster is running.
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "quit question")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running, "exit")

    # triage is read-only: what it found marks the nodes, no step of it fails
    assert statuses == {"network-triage": "ok", "corosync-tuning": "ok",
                        "vm-config-recovery": "ok", "certificate-regeneration": "ok"}
    assert after == {k: [True, True] for k in ("quorate", "writable", "vms", "cert")}
    # The journal says a shell was used, not what was typed in it.
    assert triage_journal is not None
    notes = [e for e in read_journal(triage_journal) if isinstance(e, ev.Note)]
    assert any("interactive shell on ryanrishi" in n.text for n in notes)
    assert not any(ROUTE_FIX in n.text for n in notes)

    # A second launch with the same state directory: the cluster as it was left.
    again = launch(state)
    async with again.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: again.session.cluster is not None, "the cluster", 3000)
        assert await health(again.session) == after
        _, route = await run_cmd(again.session, "ryanrishi", "ip route")
        assert "192.168.4.201 via" not in route
        await again.session.close()
