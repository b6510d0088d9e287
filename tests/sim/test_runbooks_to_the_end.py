"""Shipped runbooks that need more than the two nodes, rehearsed to their last step.

qdevice-setup needs a QNetd host outside the cluster: the story's scenarios carry one
(``qnetd``, 192.168.4.250: Debian with corosync-qnetd, reachable over SSH from the nodes),
so the runbook goes from its preconditions through ``pvecm qdevice setup`` to the checks that
every node counts the QDevice's vote.
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.engine import events as ev
from pverunbook.session import Mode, Session, SessionConfig
from tests.integration.test_rehearsal_runbooks import rehearse, run_on, status_of


async def test_qdevice_setup_rehearses_to_the_end_after_the_network_fix(tmp_path: Path) -> None:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="nyc-network-fixed",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        status, events, _ = await rehearse(tmp_path, "qdevice-setup", session=session,
                                           sets={"qnetd_host": "192.168.4.250"})
        steps = status_of(events)
        assert status == "ok", steps
        assert list(steps)[-1] == "verify-qdevice" and set(steps.values()) == {"ok"}
        assert any(isinstance(e, ev.ConfirmationGiven) for e in events)
        for node in ("ryanrishi", "pve001"):
            out = await run_on(session, node, "pvecm status")
            assert "Flags:            Quorate Qdevice \n" in out
            assert "Total votes:      3\n" in out
        assert session.sim is not None
        qnetd = session.sim.node("qnetd")
        assert qnetd.units["corosync-qnetd"].state == "active"
    finally:
        await session.close()


async def test_qdevice_setup_on_four_nodes_expects_nodes_plus_one(tmp_path: Path) -> None:
    """Expected votes = nodes + 1 (pvecm.pm setup_qdevice: ffsplit, votes 1), checked by the
    runbook itself on every node — not a fixed 3."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="four-node",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        refused = await run_on(session, "ryanrishi",
                               "pvecm qdevice setup qnetd.lan 2>&1; echo exit $?")
        status, events, _ = await rehearse(tmp_path, "qdevice-setup", session=session,
                                           sets={"qnetd_host": "192.168.4.250"})
        steps = status_of(events)
        outs = {n: await run_on(session, n, "corosync-quorumtool -s")
                for n in ("ryanrishi", "pve001", "pve002", "pve003")}
    finally:
        await session.close()
    assert "address: value does not look like a valid IP address" in refused
    assert refused.rstrip().endswith("exit 255")
    assert status == "ok", [(e.step_id, e.node, e.text) for e in events
                            if isinstance(e, ev.OutputChunk) and e.step_id in
                            [k for k, v in steps.items() if v != "ok"]]
    assert set(steps.values()) == {"ok"}
    for node, out in outs.items():
        assert "Expected votes:   5\n" in out and "Total votes:      5\n" in out, node
    lines = [e.text for e in events if isinstance(e, ev.OutputChunk)
             and e.step_id == "verify-status"]
    assert any("expected votes 5: every node and the QDevice" in t for t in lines)


async def add_to_quorum(session: Session, line: str) -> None:
    """``line`` into the quorum section of /etc/pve/corosync.conf the documented way (.new,
    config_version + 1, mv), as an administrator once did."""
    out = await run_on(session, "ryanrishi", "grep config_version /etc/pve/corosync.conf")
    v = int(out.split(":")[1])
    await run_on(session, "ryanrishi",
                 "cp /etc/pve/corosync.conf /etc/pve/corosync.conf.new && "
                 f"sed -i 's/config_version: {v}/config_version: {v + 1}/; "
                 f"s/provider: corosync_votequorum/provider: corosync_votequorum\\n  {line}/' "
                 "/etc/pve/corosync.conf.new && "
                 "mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf")


async def test_qdevice_setup_refuses_what_votequorum_refuses_with_a_device(
        tmp_path: Path) -> None:
    """votequorum.c votequorum_readconfig: last_man_standing (or auto_tie_breaker,
    allow_downscale, a low expected_votes) with a quorum device disables the device at the
    reload and makes corosync exit at its next start. pvecm qdevice setup checks none of it,
    so the runbook must stop before it writes the device."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="four-node",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        await add_to_quorum(session, "last_man_standing: 1")
        conf = await run_on(session, "pve003", "cat /etc/corosync/corosync.conf")
        assert "last_man_standing: 1" in conf
        status, events, _ = await rehearse(tmp_path, "qdevice-setup", session=session,
                                           sets={"qnetd_host": "192.168.4.250"})
        steps = status_of(events)
        confs = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf")
                 for n in ("ryanrishi", "pve001", "pve002", "pve003")}
    finally:
        await session.close()
    assert status == "failed" and steps.get("no-two-node") == "failed", steps
    assert "setup" not in steps, steps
    for node, text in confs.items():
        assert "device {" not in text, node
    said = [e.text for e in events if isinstance(e, ev.OutputChunk | ev.Note)
            and getattr(e, "step_id", "") == "no-two-node"]
    assert said


async def test_simulated_votequorum_disables_a_device_beside_last_man_standing(
        tmp_path: Path) -> None:
    """What the runbook's refusal prevents, as real corosync 3.1.7 does it (checked against
    it: tests/integration/test_corosync_real.py): pvecm writes the device, the reload disables
    it (no Qdevice flag, no vote), and a corosync that restarts exits."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="four-node",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        await add_to_quorum(session, "last_man_standing: 1")
        setup = await run_on(session, "ryanrishi",
                             "pvecm qdevice setup 192.168.4.250 >/dev/null 2>&1; echo exit $?")
        status = await run_on(session, "pve001", "corosync-quorumtool -s; "
                              "systemctl is-active corosync-qdevice")
        restart = await run_on(session, "pve003", "systemctl restart corosync; echo exit $?; "
                               "journalctl -u corosync -n 40 --no-pager")
    finally:
        await session.close()
    # the device is written, then corosync-qdevice cannot register (CS_ERR_ACCESS) and its
    # start fails on the first node: pvecm dies there
    assert setup.strip() == "exit 255"
    assert status.endswith("\nfailed\n"), status
    assert "Total votes:      4\n" in status and "Qdevice" not in status.split("Flags:")[1] \
        .split("\n")[0], status
    assert "exit 0" not in restart, restart
    assert "quorum.device is not compatible with last_man_standing" in restart, restart


async def test_simulated_pvecm_writes_a_device_beside_two_node_and_votequorum_disables_it(
        tmp_path: Path) -> None:
    """pvecm.pm setup_qdevice checks nothing of the quorum section: beside ``two_node: 1`` it
    writes the device all the same, the reload disables it (votequorum.c: "two_node and quorum
    device cannot be configured at the same time", "disabling quorum device operations") and
    corosync-qdevice, refused its registration (CS_ERR_ACCESS), fails to start, which ends
    pvecm. The simulator used to refuse before writing anything, which the real one never does;
    the runbook's own ``no-two-node`` step is what refuses, before pvecm runs."""
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="nyc-network-fixed",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        await add_to_quorum(session, "two_node: 1")
        setup = await run_on(session, "ryanrishi",
                             "pvecm qdevice setup 192.168.4.250 2>&1; echo exit $?")
        outs = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf; "
                                "corosync-quorumtool -s; journalctl -u corosync --no-pager")
                for n in ("ryanrishi", "pve001")}
        # pvecm starts it node by node in name order: pve001 first, and dies there
        qdevice = await run_on(session, "pve001", "systemctl is-active corosync-qdevice; "
                               "journalctl -u corosync-qdevice --no-pager")
        never = await run_on(session, "ryanrishi", "systemctl is-active corosync-qdevice")
        by_hand = await run_on(session, "ryanrishi", "systemctl start corosync-qdevice; "
                               "echo exit $?; systemctl is-active corosync-qdevice")
    finally:
        await session.close()
    assert setup.rstrip().endswith("exit 255"), setup
    assert "two_node and a QDevice" not in setup
    assert "INFO: add QDevice to cluster configuration" in setup
    assert "systemctl start corosync-qdevice' failed: exit code 1" in setup, setup
    for node, out in outs.items():
        assert "two_node: 1" in out and "device {" in out, node
        assert "two_node and quorum device cannot be configured at the same time" in out, node
        assert "disabling quorum device operations" in out, node
        flags = out.split("Flags:")[1].split("\n")[0]
        assert "Qdevice" not in flags and "2Node" in flags, (node, flags)
        assert "Total votes:      2\n" in out, node
    assert qdevice.startswith("failed\n"), qdevice
    assert "Can't register votequorum device. Error CS_ERR_ACCESS" in qdevice
    assert never == "inactive\n"
    assert by_hand.endswith("exit 1\nfailed\n"), by_hand  # started by hand: refused too
    assert "node 'ryanrishi'" not in setup


async def test_qdevice_setup_refuses_two_node_before_pvecm_runs(tmp_path: Path) -> None:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario="nyc-network-fixed",
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    try:
        await add_to_quorum(session, "two_node: 1")
        status, events, _ = await rehearse(tmp_path, "qdevice-setup", session=session,
                                           sets={"qnetd_host": "192.168.4.250"})
        steps = status_of(events)
        confs = {n: await run_on(session, n, "cat /etc/corosync/corosync.conf")
                 for n in ("ryanrishi", "pve001")}
    finally:
        await session.close()
    assert status == "failed" and steps.get("no-two-node") == "failed", steps
    assert "setup" not in steps, steps
    assert not any(isinstance(e, ev.CommandStarted) and "pvecm qdevice" in e.command
                   for e in events)
    for node, text in confs.items():
        assert "two_node: 1" in text and "device {" not in text, node
    said = [e.message for e in events if isinstance(e, ev.ExpectationResult)
            and e.step_id == "no-two-node" and not e.ok]
    assert any("two_node is set" in m for m in said), said
