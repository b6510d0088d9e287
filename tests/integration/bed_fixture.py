"""pytest fixtures for the corosync + sshd test bed (tests/integration/bed.py).

``bed`` is module scoped: one bed per test module, 3 nodes unless the module parametrizes it
indirectly (``@pytest.mark.parametrize("bed", [2, 5], indirect=True)``). It is torn down in the
finalizer even when a test fails; tests that inject faults call ``bed.heal()`` and restart what
they stopped through the ``healthy_bed`` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.bed import CLUSTER, Bed, missing_requirements

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    why = missing_requirements()
    if why is not None:
        pytest.skip(f"test bed: {why}")
    size = getattr(request, "param", 3)
    b = Bed(dir=tmp_path_factory.mktemp(f"bed{size}"), size=size)
    try:
        b.up()
        yield b
    finally:
        b.down()


@pytest.fixture
def healthy_bed(bed: Bed) -> Iterator[Bed]:
    """The module's bed with every fault of the previous test undone and quorum back."""
    restore(bed)
    yield bed
    restore(bed)


def restore(bed: Bed) -> None:
    bed.heal()
    for n in bed.nodes:
        bed.start_corosync(n.name)
        bed.start_sshd(n.name)
    bed.wait_quorate(within=60)
    bed.wait_sshd()


def pverunbook(bed: Bed, *args: str, state: Path, timeout: float = 600
               ) -> subprocess.CompletedProcess[str]:
    """``python3 -m pverunbook ARGS`` as an operator on the bed's network would run it: over
    real SSH (asyncssh) to the nodes' sshd, host keys pinned in the bed's inventory."""
    return bed.operator([sys.executable, "-m", "pverunbook", *args], timeout=timeout,
                        env=_env(state))


def run_runbook(bed: Bed, runbook: str | Path, state: Path, *extra: str,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``pverunbook run RUNBOOK --cluster <bed inventory> --headless --confirm <cluster>``."""
    return pverunbook(bed, "run", str(runbook), "--cluster", str(bed.inventory), "--headless",
                      "--confirm", CLUSTER, *extra, state=state, timeout=timeout)


def _env(state: Path) -> dict[str, str]:
    return {"PVERUNBOOK_STATE_DIR": str(state / "state"),
            "PVERUNBOOK_DATA_DIR": str(state / "data"),
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def start_pverunbook(bed: Bed, *args: str, state: Path, out: Path
                     ) -> subprocess.Popen[bytes]:
    """Like :func:`pverunbook` but in the background, stdout and stderr into ``out``."""
    from tests.integration.bed import IP

    with out.open("wb") as fh:
        return subprocess.Popen(
            [IP, "netns", "exec", bed.switch_ns, sys.executable, "-m", "pverunbook", *args],
            stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **_env(state), "HOME": str(bed.home)})
