"""corosync-tuning's rollback timer on the real-pmxcfs lab (real corosync, pmxcfs, sshd, setsid).

- A corosync.conf that breaks the membership (charlie's ring0_addr is wrong in the new file)
  goes in through corosync-tuning's apply; pverunbook is SIGKILLed right after the change and
  charlie's corosync restarts on the new file (corosync keeps a node's old address on a
  reload), so charlie drops out. Without anyone, every node's timer puts the old file back with
  a higher config_version, corosync reloads it (charlie's is started again on it), and the three
  nodes are one quorate membership again.
- A good change with its checks passing and COMMIT typed: nothing is rolled back and no
  rollback timer is left on any node (``ps``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.bed import IP
from tests.integration.lab import Lab
from tests.integration.lab_fixture import RUNBOOKS, _env, run_runbook

NODES = ("alpha", "bravo", "charlie")
#: The shipped timer is 420 s; the lab's is short, the procedure the same.
SECONDS = 25


def runbook_with_wrong_address(lab: Lab, dest: Path) -> Path:
    """corosync-tuning, with the fault this test injects: before apply, charlie's ring0_addr
    in the new file names an address nobody has."""
    text = (RUNBOOKS / "corosync-tuning.toml").read_text()
    addr = lab.node("charlie").addr
    wrong = addr.rsplit(".", 1)[0] + ".199"
    edit = (f"timeout 10 sed -i 's/ring0_addr: {addr}$/ring0_addr: {wrong}/' "
            "/etc/pve/corosync.conf.new")
    fault = f'''[[steps]]
id = "inject-wrong-address"
title = "Test fault: charlie's ring0_addr is wrong in the new file"
kind = "run"
targets = "first"
destructive = true  # it edits a file (lint PVR009): marked so, as any runbook must
no_backup_reason = "Test fault: edits the run's own scratch copy, corosync.conf.new."
commands = ["{edit}",
            "timeout 10 grep -c 'ring0_addr: {wrong}' /etc/pve/corosync.conf.new"]

'''
    marker = '[[steps]]\nid = "apply"'
    assert marker in text and "commit_within = 420" in text
    apply_ok = 'lint_ok = ["PVR011"]  # the version check reads /etc/pve through'
    assert text.count(apply_ok) == 1
    # the test's short COMMIT window is shorter than the checks may take (lint PVR014): here
    # that is the point, nobody commits and the timers must restore by themselves
    text = text.replace(marker, fault + marker).replace("commit_within = 420",
                                                        f"commit_within = {SECONDS}")
    text = text.replace(apply_ok, 'lint_ok = ["PVR011", "PVR014"]  # (test) the version check '
                                  'reads /etc/pve through')
    dest.write_text(text)
    return dest


def finished_steps(journal: Path) -> list[str]:
    out = []
    for line in (journal.read_text() if journal.exists() else "").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # the line being written
        if isinstance(e, dict) and e.get("kind") == "step_finished":
            out.append(str(e.get("step_id")))
    return out


def config_version(lab: Lab, name: str) -> int:
    out = lab.on(name, "corosync-cmapctl -g totem.config_version").stdout
    return int(out.strip().rsplit("=", 1)[-1].strip() or 0)


def local_version(lab: Lab, name: str) -> str:
    return lab.on(name, "grep config_version /etc/corosync/corosync.conf").stdout.strip()


def test_lab_change_that_breaks_membership_rolls_back_without_anyone(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    before = {n: config_version(lab, n) for n in NODES}
    assert len(set(before.values())) == 1
    v = before["alpha"]
    book = runbook_with_wrong_address(lab, tmp_path / "corosync-tuning.toml")
    journal = tmp_path / "run.jsonl"
    env = {**os.environ, **_env(tmp_path), "HOME": str(lab.home)}
    argv = [IP, "netns", "exec", lab.switch_ns, sys.executable, "-m", "pverunbook", "run",
            str(book), "--cluster", str(lab.inventory), "--headless", "--confirm", lab.cluster,
            "--confirm", "alpha", "--set", "token=4000", "--journal", str(journal)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if "apply" in finished_steps(journal):
                break
            time.sleep(0.2)
        finished = journal.read_text() if journal.exists() else ""
        assert proc.poll() is None, (proc.stdout.read().decode() if proc.stdout else "")
        os.killpg(proc.pid, signal.SIGKILL)  # pverunbook is gone right after the change
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert '"state":"armed"' in finished.replace(' ', ''), finished[-3000:]
    # corosync refuses a node's new address on reload ("Internal value was NOT changed"), so
    # the change bites at the next start: restart charlie's corosync on it, as a later step or
    # a reboot would. It cannot come up, and alpha and bravo go on without it.
    lab.systemctl("charlie", "restart", "corosync", check=False)
    broke: tuple[bool, int] = (True, 3)
    for _ in range(100):
        broke = lab.quorum("alpha")
        if broke[1] == 2:
            break
        time.sleep(0.2)
    assert broke[1] == 2, (broke, lab.log("charlie")[-2000:])
    # Nobody is left to help: within the timer (+ the reload) every node is back.
    deadline = time.monotonic() + SECONDS + 120
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        state = {n: (config_version(lab, n), lab.quorum(n)) for n in NODES}
        if all(cv == v + 2 and q == (True, 3) for cv, q in state.values()):  # type: ignore[misc]
            break
        time.sleep(1)
    logs = {n: lab.on(n, "cat /var/log/pverunbook-rollback.log").stdout for n in NODES}
    assert all(cv == v + 2 and q == (True, 3) for cv, q in state.values()), \
        (state, logs)  # type: ignore[misc]
    addr = lab.node("charlie").addr
    for n in NODES:
        conf = lab.on(n, "cat /etc/corosync/corosync.conf").stdout
        assert f"ring0_addr: {addr}" in conf and f"config_version: {v + 2}" in conf, conf
        assert "rollback finished" in logs[n] or "ROLLBACK FAILED" not in logs[n], logs[n]
    pve = lab.on("alpha", "cat /etc/pve/corosync.conf").stdout
    assert f"config_version: {v + 2}" in pve and f"ring0_addr: {addr}" in pve
    assert "restarted corosync on the restored file" in logs["charlie"], logs["charlie"]


def test_lab_commit_keeps_the_change_and_leaves_no_timer(
        healthy_lab: Lab, tmp_path: Path) -> None:
    lab = healthy_lab
    v = config_version(lab, "alpha")
    res = run_runbook(lab, "corosync-tuning", tmp_path, "--set", "token=4500",
                      "--confirm", "alpha", "--confirm", "COMMIT")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "COMMIT" in res.stdout
    for n in NODES:
        assert config_version(lab, n) == v + 1
        assert "token: 4500" in lab.on(n, "cat /etc/corosync/corosync.conf").stdout
        ps = lab.on(n, "ps -eo args").stdout
        assert "rollback.sh" not in ps, ps
        states = lab.on(n, "cat /var/lib/pverunbook/rollback/*-" + n + "/state").stdout.split()
        assert states and states[-1] == "committed", states
