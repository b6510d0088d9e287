"""corosync-tuning on the real-pmxcfs lab (real corosync, pmxcfs, sshd), three nodes.

- The inventory's first node is cut off while the other two are a quorate majority: even with
  every confirmation given, the run never runs ``pvecm expected 1`` (the split brain issue 19
  reproduced on Proxmox's real pmxcfs), the cut-off node stays inquorate with its expected
  votes unchanged, there is one quorate partition only, and corosync.conf is unchanged.
- A healthy cluster, token 5000, COMMIT typed: every node's corosync runs the new token
  (``corosync-cmapctl -g totem.token``), config_version went up by exactly one and no rollback
  timer is left on any node.
- One node's corosync is stopped when the change is made: the run names the node and what to
  do (the ``catch-up-stopped`` step); following that text (new local corosync.conf first, then
  ``systemctl start corosync``) brings every node to the new token with quorum.

Sources: votequorum.c (``expected_votes < total_votes`` refused; raised again on rejoin),
dcdb.c ``dcdb_sync_corosync_conf`` (local copy + one ``corosync-cfgtool -R`` on the writer),
corosync cmap.c (a node with a lower config_version exits when it joins).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bed import IP
from tests.integration.lab import Lab
from tests.integration.lab_fixture import RUNBOOKS, Run, _env, run_json

NODES = ("alpha", "bravo", "charlie")


def wait_for(what: str, cond: Any, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, f"the lab never got there: {what}"
        time.sleep(0.3)


def pve_version(lab: Lab, name: str) -> int:
    text = lab.read(name, "/etc/pve/corosync.conf") or ""
    m = re.search(r"^\s*config_version:\s*(\d+)", text, re.M)
    assert m, text
    return int(m.group(1))


def local_version(lab: Lab, name: str) -> int:
    text = lab.on(name, "cat /etc/corosync/corosync.conf").stdout
    m = re.search(r"^\s*config_version:\s*(\d+)", text, re.M)
    assert m, text
    return int(m.group(1))


def cmap(lab: Lab, name: str, key: str) -> str:
    """``corosync-cmapctl -g KEY`` on the node: the value, or '' when corosync does not answer."""
    out = lab.on(name, f"corosync-cmapctl -g {key}").stdout
    return out.rsplit("=", 1)[-1].strip() if "=" in out else ""


def quorumtool(lab: Lab, name: str) -> dict[str, str]:
    """``corosync-quorumtool -s`` on the node as {field: value} (Quorate, Expected votes, ...)."""
    out = lab.on(name, "corosync-quorumtool -s").stdout
    return {m.group(1).strip(): m.group(2).strip()
            for m in re.finditer(r"^([A-Za-z][A-Za-z ]+?):\s+(\S.*)$", out, re.M)}


def step_events(run: Run, step: str) -> list[dict[str, Any]]:
    return [e for e in run.events if e.get("step_id") == step]


def no_rollback_timer(lab: Lab) -> None:
    for n in NODES:
        ps = lab.on(n, "ps -eo args").stdout
        assert "rollback.sh" not in ps, (n, ps)


def test_lab_cut_off_first_node_never_lowers_expected_votes(healthy_lab: Lab,
                                                           tmp_path: Path) -> None:
    lab = healthy_lab
    first = lab.nodes[0].name
    assert first == "alpha"
    v = pve_version(lab, "bravo")
    expected_before = quorumtool(lab, first)["Expected votes"]
    lab.cut_off(first)
    try:
        wait_for("bravo and charlie quorate without alpha",
                 lambda: lab.quorum("bravo") == (True, 2) and lab.quorum("charlie") == (True, 2)
                 and not lab.quorum(first)[0])
        run = run_json(lab, "corosync-tuning", tmp_path, "--set", "token=5000",
                       "--confirm", first, "--confirm", "COMMIT")
        # the run does not go through: the first node cannot write /etc/pve
        assert run.rc != 0, run.explain()
        # expected-one never started and never ran a command anywhere
        ev = step_events(run, "expected-one")
        assert not [e for e in ev if e.get("kind") in ("step_started", "command_started")], ev
        assert not [e for e in run.events if e.get("kind") == "command_started"
                    and "pvecm expected" in str(e.get("command"))], run.explain()
        skipped = [e for e in ev if e.get("kind") == "step_skipped"]
        apply_ran = [e for e in step_events(run, "apply") if e.get("kind") == "command_started"]
        assert not apply_ran, apply_ran
        # or the run stopped before it got that far; either way expected-one did not act
        assert skipped or "expected-one" not in {e.get("step_id") for e in run.events}
        # on the real nodes: alpha is still inquorate with its expected votes unchanged, and
        # bravo + charlie are the only quorate partition
        alpha = quorumtool(lab, first)
        assert alpha.get("Quorate") == "No", alpha
        assert alpha.get("Expected votes") == expected_before, (alpha, expected_before)
        for n in ("bravo", "charlie"):
            assert lab.quorum(n) == (True, 2), (n, quorumtool(lab, n))
        # nothing changed
        for n in NODES:
            assert local_version(lab, n) == v, n
        assert pve_version(lab, "bravo") == v
        assert lab.read("bravo", "/etc/pve/corosync.conf.new") is None
    finally:
        lab.heal()
        lab.restore()
    # after the heal alpha rejoins with the cluster's expected votes
    assert quorumtool(lab, first).get("Expected votes") == expected_before
    for n in NODES:
        assert local_version(lab, n) == v, n


def test_lab_token_5000_runs_on_every_node_and_version_plus_one(healthy_lab: Lab,
                                                               tmp_path: Path) -> None:
    lab = healthy_lab
    v = pve_version(lab, "alpha")
    assert {local_version(lab, n) for n in NODES} == {v}
    assert {cmap(lab, n, "totem.token") for n in NODES} != {"5000"}, \
        "the lab already runs token 5000: this test would prove nothing"
    run = run_json(lab, "corosync-tuning", tmp_path, "--set", "token=5000",
                   "--confirm", "alpha", "--confirm", "COMMIT")
    assert run.rc == 0, run.explain()
    for n in NODES:
        assert cmap(lab, n, "totem.token") == "5000", (n, lab.log(n)[-2000:])
        assert local_version(lab, n) == v + 1, n
        assert cmap(lab, n, "totem.config_version") == str(v + 1), n
        assert lab.quorum(n) == (True, 3), n
    assert pve_version(lab, "alpha") == v + 1
    assert "token: 5000" in (lab.read("alpha", "/etc/pve/corosync.conf") or "")
    no_rollback_timer(lab)


def test_lab_stopped_node_catches_up_by_following_the_runbook(healthy_lab: Lab,
                                                             tmp_path: Path) -> None:
    """On a terminal (a pty), so the manual step waits while its text is followed."""
    pexpect = pytest.importorskip("pexpect", reason="pexpect (the test extra) drives the pty")
    lab = healthy_lab
    v = pve_version(lab, "alpha")
    token = "5500" if cmap(lab, "alpha", "totem.token") != "5500" else "6500"
    lab.stop_corosync("charlie")
    lab.wait_quorate(["alpha", "bravo"], members=2, within=60)
    journal = tmp_path / "run.jsonl"
    env = {**os.environ, **_env(tmp_path), "HOME": str(lab.home)}
    argv = ["netns", "exec", lab.switch_ns, sys.executable, "-m", "pverunbook", "run",
            str(RUNBOOKS / "corosync-tuning.toml"), "--cluster", str(lab.inventory),
            "--headless", "--confirm", lab.cluster, "--confirm", "alpha", "--confirm", "COMMIT",
            "--set", f"token={token}", "--journal", str(journal)]
    # searchwindowsize: the prompts are matched in the last 4 KiB only. Matching them against
    # everything read so far made each read slower as verify-logs printed 15 minutes of the
    # nodes' logs, the pty filled, and the run's own writes to it stalled for a minute
    child = pexpect.spawn(IP, argv, env=env, encoding="utf-8", timeout=600,
                          dimensions=(50, 400), maxread=65536, searchwindowsize=4096)
    transcript = io.StringIO()
    child.logfile_read = transcript
    told = ""
    try:
        while True:
            what = child.expect([r"done\? \[y/N\] ", r"\[a\]bort(?: the run)?\? ", r"\]: ",
                                 pexpect.EOF])
            if what == 0:
                current = started_steps(journal)[-1]
                if current != "catch-up-stopped":
                    child.sendline("n")  # no other manual step may act here
                    continue
                told = transcript.getvalue()
                # the change went in on the two running nodes; charlie has the old file
                wait_for("bravo's local file has the new version",
                         lambda: local_version(lab, "bravo") == v + 1)
                assert local_version(lab, "charlie") == v
                # 1. copy the new file from a node that has it  2. check its config_version
                # 3. systemctl start corosync; corosync-quorumtool -s shows it quorate
                new = lab.on("alpha", "cat /etc/corosync/corosync.conf").stdout
                assert f"config_version: {v + 1}" in new
                assert lab.write("charlie", "/etc/corosync/corosync.conf", new).returncode == 0
                assert local_version(lab, "charlie") == v + 1
                lab.start_corosync("charlie")
                lab.wait_quorate(within=90)
                child.sendline("y")
            elif what == 1:
                child.sendline("f")  # follow the runbook, as without a terminal
            elif what == 2:
                child.sendline("")  # a parameter: keep the value given by --set
            else:
                break
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
    out = transcript.getvalue()
    # the run said what to do for the stopped node before it went on
    assert "catch-up-stopped" in started_steps(journal), out[-4000:]
    assert "systemctl start corosync" in told and "config_version" in told, told[-3000:]
    # exit 3 = completed with failures: only the pre-change reads of the stopped node's
    # corosync (on_failure = continue) failed; every step from apply on passed
    finished = step_statuses(journal)
    assert child.exitstatus == 3, out[-6000:]
    assert {s for s, st in finished.items() if st != "ok"} == {"quorum", "runtime-token"}, \
        finished
    for s in ("apply", "catch-up-stopped", "verify-local-copy", "reload-all", "verify-token",
              "verify-quorum"):
        assert finished.get(s) == "ok", (s, finished)
    for n in NODES:
        assert cmap(lab, n, "totem.token") == token, (n, lab.log(n)[-2000:])
        assert lab.quorum(n) == (True, 3), n
        assert local_version(lab, n) == v + 1, n
    no_rollback_timer(lab)


def step_statuses(journal: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in journal.read_text().splitlines():
        e = json.loads(line)
        if isinstance(e, dict) and e.get("kind") == "step_finished":
            out[str(e.get("step_id"))] = str(e.get("status"))
    return out


def started_steps(journal: Path) -> list[str]:
    out = []
    for line in (journal.read_text() if journal.exists() else "").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # the line being written
        if isinstance(e, dict) and e.get("kind") == "step_started":
            out.append(str(e.get("step_id")))
    return out
