"""The recovery runbooks (certificate-regeneration, vm-config-recovery, cluster-db-reset)
rehearsed over SSH on simulated clusters of three and more nodes, each in a state the review of
these runbooks against Proxmox's source named (../shared/cases/review/README.md):

- certificate-regeneration with the cluster CA gone: ONE node creates the CA, every node ends
  with a certificate that verifies against it (Setup.pm ``gen_pve_node_files``: only the node
  that created the CA is forced; ``gen_pveca_cert`` takes no cluster lock).
- vm-config-recovery from a database copy: each config goes to the node whose kvm runs the VM
  now, a VM running nowhere is only listed, a VMID configured on another node is reported.
- cluster-db-reset: pve-cluster only is restarted (Setup.pm ``finish_join``), corosync keeps
  running, a deleted database counts as damaged, a second damaged node is a refusal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pverunbook.engine import events as ev
from pverunbook.engine.decisions import (
    OVERRIDE_PHRASE,
    Answer,
    CheckpointChoice,
    ConfirmRequest,
    ScriptedDecider,
)
from pverunbook.engine.journal import read_journal
from pverunbook.runbook.catalog import builtin_dir
from pverunbook.runbook.loader import load_file
from pverunbook.runbook.params import resolve
from pverunbook.session import Mode, Session, SessionConfig
from pverunbook.sim import certs

pytest.importorskip("asyncssh")


class Operator(ScriptedDecider):
    """Types what each confirmation asks; says manual steps are done; may override a failed
    checkpoint (a deliberate decision, e.g. a missing CA that updatecerts will recreate)."""

    def __init__(self, override: bool = False, **kw: Any) -> None:
        cp = Answer(CheckpointChoice.OVERRIDE, text=OVERRIDE_PHRASE) if override else None
        super().__init__(manual=True, checkpoint=cp, **kw)

    async def confirm(self, request: ConfirmRequest) -> str | None:
        return request.expected


async def start(tmp_path: Path, scenario: str) -> Session:
    session = Session(SessionConfig(mode=Mode.REHEARSAL, scenario=scenario,
                                    sim_state_dir=tmp_path / "sim", time_scale=0.02))
    await session.start()
    return session


async def rehearse(session: Session, tmp_path: Path, runbook: str,
                   sets: dict[str, str] | None = None, override: bool = False,
                   ) -> tuple[str, list[ev.Event]]:
    rb = load_file(builtin_dir() / f"{runbook}.toml")
    values, _ = resolve(rb, sets or {})
    journal = tmp_path / f"{runbook}-{len(session.journals)}-{id(values)}.jsonl"
    engine = session.engine(rb, Operator(override=override, params=sets or {}), values,
                            journal_path=journal)
    try:
        status = await engine.run()
    finally:
        for j in session.journals:
            j.close()
        session.journals.clear()
    return status, read_journal(journal)


async def run_on(session: Session, node: str, command: str) -> tuple[int, str]:
    assert session.cluster is not None and session.transport is not None
    out: list[str] = []
    res = await session.transport.run(session.cluster.node(node), command, timeout=60,
                                      on_output=lambda s, t: out.append(t))
    return res.exit_status or 0, "".join(out)


def status_of(events: list[ev.Event]) -> dict[str, str]:
    return {e.step_id: e.status for e in events if isinstance(e, ev.StepFinished)}


def started(events: list[ev.Event]) -> dict[str, tuple[str, ...]]:
    return {e.step_id: e.nodes for e in events if isinstance(e, ev.StepStarted)}


def text_of(events: list[ev.Event], step: str) -> str:
    return "".join(getattr(e, "text", "") or getattr(e, "message", "") for e in events
                   if getattr(e, "step_id", "") == step)


# -- certificate-regeneration --------------------------------------------------------------

async def test_new_ca_is_created_by_one_node_and_every_certificate_verifies(
        tmp_path: Path) -> None:
    # The CA and its key are gone, the five node certificates (signed by the old CA) are not.
    # Run everywhere at once (the old runbook), one node makes a new CA and only its own
    # certificate follows: the four others keep certificates the new CA did not sign.
    session = await start(tmp_path, "five-node")
    try:
        assert session.cluster is not None
        names = list(session.cluster.names)
        await run_on(session, names[0], "rm /etc/pve/pve-root-ca.pem "
                                        "/etc/pve/priv/pve-root-ca.key")
        status, events = await rehearse(session, tmp_path, "certificate-regeneration",
                                        override=True)
        assert status == "ok", status_of(events)
        runs = started(events)
        fingerprints = set()
        for n in names:
            code, out = await run_on(session, n, "openssl verify -CAfile "
                                     f"/etc/pve/pve-root-ca.pem /etc/pve/nodes/{n}/pve-ssl.pem")
            assert code == 0 and out.strip().endswith("pve-ssl.pem: OK"), (n, out)
            _, fp = await run_on(session, n, "openssl x509 -noout -fingerprint -sha256 "
                                             "-in /etc/pve/pve-root-ca.pem")
            fingerprints.add(fp)
        assert len(fingerprints) == 1
        assert runs["updatecerts-first"] == (names[0],)
        order = [e.step_id for e in events if isinstance(e, ev.StepStarted)]
        assert order.index("updatecerts-first") < order.index("ca-present") \
            < order.index("updatecerts") < order.index("verify-chain")
        assert "not signed by the current CA" in text_of(events, "updatecerts")
    finally:
        await session.close()


async def test_certificate_regeneration_refuses_a_ca_about_to_expire(tmp_path: Path) -> None:
    # updatecerts refuses to sign with less than two weeks left on the CA (Setup.pm
    # gen_pve_ssl_cert): the runbook stops at inspect-ca, before anything is changed.
    session = await start(tmp_path, "nyc-healthy")
    try:
        assert session.sim is not None and session.sim.world is not None
        assert session.cluster is not None and session.transport is not None
        now = session.sim.world.clock.now()
        key = certs.rsa_key_pem(None)
        # make_ca's CA starts 700 days before its `now` and lasts 3650 days: this one ends
        # in 7 days
        ca = certs.make_ca(key, now - (3650 - 700 - 7) * 86400)
        first = session.cluster.node(session.cluster.names[0])
        await session.transport.write_file(first, "/etc/pve/pve-root-ca.pem", ca, timeout=30)
        await session.transport.write_file(first, "/etc/pve/priv/pve-root-ca.key", key,
                                           timeout=30)
        status, events = await rehearse(session, tmp_path, "certificate-regeneration")
        assert status != "ok"
        assert status_of(events)["inspect-ca"] == "failed"
        assert "updatecerts-first" not in started(events)
    finally:
        await session.close()
