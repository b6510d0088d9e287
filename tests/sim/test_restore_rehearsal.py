"""``pverunbook restore ID`` of a checkpoint taken in a rehearsal puts it back on the simulated
cluster the run changed. It answered "no target given; pass --cluster FILE (the nodes'
inventory) or --local", and neither reaches the simulated nodes: the README's restore could not
be practised at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pverunbook(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("PVERUNBOOK_STATE_DIR", None)
    env.pop("PVERUNBOOK_DATA_DIR", None)
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-m", "pverunbook", *args], env=env, text=True,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=600)


def test_a_rehearsal_checkpoint_goes_back_to_its_simulated_cluster(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = _pverunbook(tmp_path, "rehearse", "corosync-tuning", "--headless", "--scenario",
                       "nyc-healthy", "--set", "token=5000", "--confirm", "nyc", "--confirm",
                       "COMMIT", "--state-dir", str(state))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    listed = _pverunbook(tmp_path, "checkpoints", "list", "--state-dir", str(state))
    ids = re.findall(r"^(\S+-apply-1)\s", listed.stdout, re.M)
    assert len(ids) == 1, listed.stdout + listed.stderr
    conf = state / "nodes" / "ryanrishi" / "etc" / "pve" / "corosync.conf"
    assert "token: 5000" in conf.read_text()  # the change the checkpoint was taken before

    put = _pverunbook(tmp_path, "restore", ids[0], "--node", "ryanrishi", "--path",
                      "/etc/pve/corosync.conf", "--yes-i-typed", "ryanrishi",
                      "--state-dir", str(state))
    assert put.returncode == 0, put.stdout + put.stderr
    assert "no target given" not in put.stderr
    assert "restored and verified: ryanrishi:/etc/pve/corosync.conf" in put.stdout, put.stdout
    assert "token: 5000" not in conf.read_text()


def test_a_busy_rehearsal_cluster_is_not_an_inventory_to_fix(tmp_path: Path) -> None:
    """restore while the app held the rehearsal cluster said the state dir is in use by pid
    N, wait or stop it, "...; fix the --cluster inventory and retry": no --cluster was given,
    and no inventory is at fault."""
    from pverunbook.engine.runlock import hold

    state = tmp_path / "state"
    done = _pverunbook(tmp_path, "rehearse", "corosync-tuning", "--headless", "--scenario",
                       "nyc-healthy", "--set", "token=5000", "--confirm", "nyc", "--confirm",
                       "COMMIT", "--state-dir", str(state))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    listed = _pverunbook(tmp_path, "checkpoints", "list", "--state-dir", str(state))
    ids = re.findall(r"^(\S+-apply-1)\s", listed.stdout, re.M)
    assert len(ids) == 1, listed.stdout + listed.stderr
    with hold(state, "the app, in this test"):
        put = _pverunbook(tmp_path, "restore", ids[0], "--yes-i-typed", "ryanrishi",
                          "--state-dir", str(state))
    assert put.returncode == 2, put.stdout + put.stderr
    assert "in use by pid" in put.stderr
    assert "--cluster inventory" not in put.stderr, put.stderr


def test_restore_of_every_node_names_the_text_and_the_nodes(tmp_path: Path) -> None:
    """Without a terminal, restore said only "pass --yes-i-typed TEXT" although it had just
    printed the text it wants; and a restore to every node ended "the node's hashes match"."""
    state = tmp_path / "state"
    done = _pverunbook(tmp_path, "rehearse", "corosync-tuning", "--headless", "--scenario",
                       "nyc-healthy", "--set", "token=5000", "--confirm", "nyc", "--confirm",
                       "COMMIT", "--state-dir", str(state))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    listed = _pverunbook(tmp_path, "checkpoints", "list", "--state-dir", str(state))
    (cp,) = re.findall(r"^(\S+-apply-1)\s", listed.stdout, re.M)
    asked = _pverunbook(tmp_path, "restore", cp, "--state-dir", str(state))
    assert asked.returncode == 1, asked.stdout + asked.stderr
    assert "pass --yes-i-typed nyc " in asked.stderr, asked.stderr
    put = _pverunbook(tmp_path, "restore", cp, "--yes-i-typed", "nyc", "--state-dir", str(state))
    assert put.returncode == 0, put.stdout + put.stderr
    assert "restore verified: the hashes on all 2 nodes match the checkpoint" in put.stdout
