"""`corosync set` against the real corosync of the test bed, and what a longer token buys.

1. Every file `corosync set` writes is accepted by real ``corosync -t`` (run inside a bed node,
   which owns a ring address and has the authkey), and every file ``corosync -t`` rejects is
   one `set` refuses to write.
2. Under the same injected loss for the same time, the number of membership changes with the
   default token and with the token corosync-tuning sets (its `corosync set` edit, loaded on the
   running cluster with ``corosync-cfgtool -R``). Printed, not asserted: it is a measurement.
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pverunbook.commands import corosync as cmd
from pverunbook.pve.corosync_conf import parse, set_totem
from tests.integration.bed import Bed, corosync_conf
from tests.integration.bed_fixture import bed, restore

__all__ = ["bed"]  # the fixture, imported so pytest finds it here

REPO = Path(__file__).resolve().parents[2]


def cli_set(src: Path, out: Path, *assignments: str) -> int:
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["corosync", "set", str(src), *assignments, "-o", str(out)])
    return int(args.func(args))


def corosync_t(bed: Bed, text: str, work: Path) -> tuple[bool, str]:
    path = work / f"t-{time.monotonic_ns()}.conf"
    path.write_text(text)
    res = bed.on("alpha", ["corosync", "-t", "-c", str(path)])
    return res.returncode == 0, res.stderr + res.stdout


ASSIGNMENTS = [
    ("token=5000",),
    ("token=10000", "token_retransmit=", "consensus="),
    ("token=5000", "consensus=1000"),  # ../shared/cases/live/corosync-bed.conf: check rejects
    ("consensus=3000", "join=4000"),
    ("token=20",),
    ("token=5000 # comment",),
    ("token_retransmit=1000", "hold=10"),
    ("transport=udpu",),
    ("link_mode=fast",),
    ("token_coefficient=125", "max_messages=20"),
    ("crypto_cipher=aes256", "crypto_hash=sha256"),
    ("crypto_cipher=aes256", "crypto_hash=none"),
    ("quorum.expected_votes=3",),
    ("token_warning=101",),
]


@pytest.mark.parametrize("assignments", ASSIGNMENTS, ids=" ".join)
def test_set_writes_only_what_real_corosync_accepts(bed: Bed, tmp_path: Path,
                                                   assignments: tuple[str, ...]) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(corosync_conf(bed.nodes))
    out = tmp_path / "corosync.conf.new"
    rc = cli_set(src, out, *assignments)
    if rc == 0:
        ok, why = corosync_t(bed, out.read_text(), tmp_path)
        assert ok, f"`corosync set` wrote a file real corosync rejects:\n{why}"
        return
    assert not out.exists()
    changes = {k: (v or None) for k, _, v in (a.partition("=") for a in assignments)}
    raw = set_totem(parse(src.read_text()), changes).dump()
    ok, _ = corosync_t(bed, raw, tmp_path)  # refused by set; corosync may accept it (advice)
    if assignments == ("token=5000", "consensus=1000"):
        assert ok  # corosync -t takes it: only our check (consensus >= 1.2 x token) refuses it


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.sampled_from(["token", "consensus", "join", "token_retransmit", "hold", "merge",
                     "token_coefficient", "max_messages", "token_retransmits_before_loss_const",
                     "send_join", "downcheck", "fail_recv_const"]),
    st.integers(0, 30000).map(str) | st.none(), min_size=1, max_size=4))
def test_every_file_set_writes_passes_corosync_t(bed: Bed, tmp_path: Path,
                                                 changes: dict[str, str | None]) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(corosync_conf(bed.nodes))
    out = tmp_path / "corosync.conf.new"
    out.unlink(missing_ok=True)
    rc = cli_set(src, out, *(f"{k}={v or ''}" for k, v in changes.items()))
    raw = set_totem(parse(src.read_text()), changes).dump()
    ok, why = corosync_t(bed, raw, tmp_path)
    if not ok:
        assert rc == 1 and not out.exists(), f"set wrote what corosync -t rejects:\n{why}"
    if rc == 0:
        assert ok, why


LOSS_PCT = 30
LOSS_SECONDS = 40


def churn(bed: Bed) -> dict[str, int]:
    """Membership changes per node while LOSS_PCT% of corosync's UDP between bravo and charlie
    is dropped for LOSS_SECONDS seconds (then healed and quorate again)."""
    before = {n.name: bed.memberships(n.name) for n in bed.nodes}
    bed.drop("bravo", "charlie", LOSS_PCT)
    time.sleep(LOSS_SECONDS)
    bed.heal()
    counted = {n.name: bed.memberships(n.name) - before[n.name] for n in bed.nodes}
    bed.wait_quorate(within=90)
    time.sleep(3)
    return counted


def runtime_token(bed: Bed, node: str) -> int:
    res = bed.on(node, ["corosync-cmapctl", "-g", "runtime.config.totem.token"])
    m = re.search(r"= (\d+)", res.stdout)
    assert m, res.stdout + res.stderr
    return int(m.group(1))


def test_membership_changes_default_vs_tuned_token(bed: Bed, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    restore(bed)
    default_token = runtime_token(bed, "bravo")
    default = churn(bed)

    # corosync-tuning's edit step: set token = the runbook's default, unset the derived timers.
    tuning = tomllib.loads((REPO / "runbooks" / "corosync-tuning.toml").read_text())
    token = next(p["default"] for p in tuning["params"] if p["name"] == "token")
    live = bed.node("alpha").path / "etc-corosync" / "corosync.conf"
    new = tmp_path / "corosync.conf.new"
    assert cli_set(live, new, f"token={token}", "token_retransmit=", "consensus=") == 0
    ok, why = corosync_t(bed, new.read_text(), tmp_path)
    assert ok, why
    for n in bed.nodes:
        shutil.copyfile(new, n.path / "etc-corosync" / "corosync.conf")
    reload = bed.on("alpha", ["corosync-cfgtool", "-R"])
    assert reload.returncode == 0, reload.stderr
    # corosync.conf(5): with 3+ nodes the runtime token is token + (nodes - 2) * coefficient.
    expected = token + (len(bed.nodes) - 2) * 650
    deadline = time.monotonic() + 20
    while any(runtime_token(bed, n.name) != expected for n in bed.nodes):
        assert time.monotonic() < deadline, [runtime_token(bed, n.name) for n in bed.nodes]
        time.sleep(0.5)
    tuned = churn(bed)

    with capsys.disabled():
        print(f"\n[test bed] membership changes with {LOSS_PCT}% of corosync UDP dropped "
              f"between bravo and charlie for {LOSS_SECONDS} s (per node):"
              f"\n  default token ({default_token} ms runtime): {default}"
              f"\n  tuned token   ({expected} ms runtime, corosync set token={token}, "
              f"reloaded with corosync-cfgtool -R): {tuned}")
