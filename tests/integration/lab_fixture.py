"""pytest fixtures for the lab (:mod:`tests.integration.lab`): real corosync + pmxcfs + sshd.

Labs are built once per test session and shared (building one takes ~10 s); every test that
uses one gets it through a function-scoped fixture that first undoes whatever the previous test
left (network faults healed, corosync and pmxcfs running, quorate everywhere) and records the
pmxcfs version in the JUnit XML (property ``pmxcfs``), which ``.ci/run`` counts. Without root,
the packages or a pmxcfs build the tests skip with the reason.

Fixtures (registered for tests/integration by its conftest.py):

- ``healthy_lab``: 3 nodes alpha/bravo/charlie, cluster ``lab``, pmxcfs 8.1.3 (the full suite).
- ``fresh_lab``: the same shape, cluster ``pristine``, never given a fault (healthy verdicts).
- ``healthy_lab9``: 3 nodes on pmxcfs 9.1.6 (the PVE 9 smoke run).
- ``lab_factory``: ``lab_factory(names=("ryanrishi", "pve001"), cluster="nyc",
  version="8.1.3", qnetd=False)`` -> a restored lab of that shape, built on first request and
  kept for the session.

Example::

    from tests.integration.lab import Lab
    from tests.integration.lab_fixture import run_runbook

    def test_lab_triage_healthy(healthy_lab: Lab, tmp_path: Path) -> None:
        res = run_runbook(healthy_lab, "network-triage", tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr

Name lab test files ``test_lab_*.py``: ``.ci/run`` reports them per pmxcfs version and fails
when one of them was skipped as root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bed import BedError
from tests.integration.lab import DEFAULT_VERSION, REPO, Lab, lab_missing

RUNBOOKS = REPO / "runbooks"
LabKey = tuple[tuple[str, ...], str, str, bool]
LabFactory = Callable[..., Lab]


class _Labs:
    """The session's labs, by shape; a lab that failed to build is remembered as the reason."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.labs: dict[LabKey, Lab | str] = {}
        self.built = 0  # names each lab's directory, rebuilt ones included

    def get(self, key: LabKey) -> Lab:
        names, version, cluster, qnetd = key
        why = lab_missing(version, qnetd)
        if why is not None:
            pytest.skip(f"lab: {why}")
        if key not in self.labs:
            lab = Lab(dir=self.root / f"{cluster}-{len(names)}-{version}-{self.built}",
                      size=len(names), names=list(names), version=version, cluster=cluster,
                      qnetd=qnetd)
            self.built += 1
            try:
                lab.up()
                self.labs[key] = lab
            except Exception as exc:
                lab.down()
                self.labs[key] = f"{type(exc).__name__}: {exc}"
        got = self.labs[key]
        if isinstance(got, str):
            pytest.fail(f"lab {cluster} ({', '.join(names)}, pmxcfs {version}) did not come "
                        f"up: {got}")
        return got

    def rebuild(self, key: LabKey) -> Lab:
        """Tear the lab of ``key`` down and build it afresh (in a new directory)."""
        old = self.labs.pop(key, None)
        if isinstance(old, Lab):
            old.down()
        return self.get(key)

    def down(self) -> None:
        for lab in self.labs.values():
            if isinstance(lab, Lab):
                lab.down()


@pytest.fixture(scope="session")
def _labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Labs]:
    labs = _Labs(tmp_path_factory.mktemp("labs"))
    try:
        yield labs
    finally:
        labs.down()


def _use(request: pytest.FixtureRequest, labs: _Labs, key: LabKey) -> Lab:
    lab = labs.get(key)
    try:
        lab.restore()
    except (BedError, subprocess.SubprocessError) as exc:
        # an earlier test left this lab in a state restore() cannot undo: a new one, so
        # that one wedged daemon fails no test that came after it
        print(f"lab {key[2]} could not be restored ({exc}); building it again",
              file=sys.stderr)
        lab = labs.rebuild(key)
        lab.restore()
    request.node.user_properties.append(("pmxcfs", lab.version))
    request.node.user_properties.append(("lab_nodes", str(len(lab.nodes))))
    return lab


@pytest.fixture
def healthy_lab(request: pytest.FixtureRequest, _labs: _Labs) -> Iterator[Lab]:
    """3 nodes, pmxcfs 8.1.3, healthy at the start of the test (and restored after it)."""
    lab = _use(request, _labs, (("alpha", "bravo", "charlie"), DEFAULT_VERSION, "lab", False))
    yield lab
    lab.stop_vms_everywhere()


@pytest.fixture
def fresh_lab(request: pytest.FixtureRequest, _labs: _Labs) -> Lab:
    """3 nodes, pmxcfs 8.1.3, cluster ``pristine``: a lab no test injects faults into, for
    tests that judge a healthy cluster (corosync's link statistics and logs since start hold
    every earlier fault of a shared lab; only a restart clears them). Do not break it."""
    return _use(request, _labs, (("alpha", "bravo", "charlie"), DEFAULT_VERSION, "pristine",
                                 False))


@pytest.fixture
def healthy_lab9(request: pytest.FixtureRequest, _labs: _Labs) -> Iterator[Lab]:
    """3 nodes, pmxcfs 9.1.6 (PVE 9), healthy at the start of the test."""
    lab = _use(request, _labs, (("alpha", "bravo", "charlie"), "9.1.6", "lab", False))
    yield lab
    lab.stop_vms_everywhere()


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest, _labs: _Labs) -> Iterator[LabFactory]:
    """``lab_factory(names=..., cluster=..., version=..., qnetd=...)`` -> a healthy lab."""
    used: list[Lab] = []

    def make(names: Sequence[str] = ("alpha", "bravo", "charlie"), cluster: str = "lab",
             version: str = DEFAULT_VERSION, qnetd: bool = False) -> Lab:
        lab = _use(request, _labs, (tuple(names), version, cluster, qnetd))
        used.append(lab)
        return lab

    yield make
    for lab in used:
        lab.stop_vms_everywhere()


# -- running pverunbook as the operator ----------------------------------------------------------

def _env(state: Path) -> dict[str, str]:
    return {"PVERUNBOOK_STATE_DIR": str(state / "state"),
            "PVERUNBOOK_DATA_DIR": str(state / "data"),
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def pverunbook(lab: Lab, *args: str, state: Path, timeout: float = 900
               ) -> subprocess.CompletedProcess[str]:
    """``python3 -m pverunbook ARGS`` in the lab's switch namespace (the operator's machine),
    over real SSH to the nodes' sshd, host keys pinned in the lab's inventory."""
    return lab.operator([sys.executable, "-m", "pverunbook", *args], timeout=timeout,
                        env=_env(state))


def run_runbook(lab: Lab, runbook: str | Path, state: Path, *extra: str,
                timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``pverunbook run RUNBOOK --cluster <lab inventory> --headless --confirm <cluster>``;
    a bare name means ``runbooks/<name>.toml``."""
    path = RUNBOOKS / f"{runbook}.toml" if "/" not in str(runbook) else Path(runbook)
    return pverunbook(lab, "run", str(path), "--cluster", str(lab.inventory), "--headless",
                      "--confirm", lab.cluster, *manual_done(path), *extra, state=state,
                      timeout=timeout)


def manual_done(path: Path) -> list[str]:
    """``--confirm STEP_ID`` for each manual step of the runbook a person may answer: the lab
    stands in for an operator who did that work (a cluster name answers no manual step; steps
    that need a person at the nodes are never answered by --confirm)."""
    from pverunbook.runbook.loader import load_file
    from pverunbook.runbook.model import StepKind

    out: list[str] = []
    for s in load_file(path).steps:
        if s.kind is StepKind.MANUAL and not s.needs_person:
            out += ["--confirm", s.id]
    return out


class Run:
    """A headless ``--json`` run: exit status, events, the diagnosis record."""

    def __init__(self, res: subprocess.CompletedProcess[str]) -> None:
        self.rc, self.out, self.err = res.returncode, res.stdout, res.stderr
        self.events: list[dict[str, Any]] = []
        self.diagnosis: dict[str, Any] = {}
        for line in res.stdout.splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record.get("kind") in ("diagnosis", "health_check"):  # run / check --json-events
                self.diagnosis = record
            else:
                self.events.append(record)

    def findings(self, *severities: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") == "finding"
                and (not severities or e.get("severity") in severities)]

    def bad_faults(self) -> list[dict[str, Any]]:
        return [f for f in self.diagnosis.get("faults", [])
                if f["severity"] in ("critical", "warning")]

    def outputs(self, step: str, node: str) -> str:
        return "".join(str(e.get("text", "")) for e in self.events
                       if e.get("kind") == "output" and e.get("step_id") == step
                       and e.get("node") == node)

    def explain(self) -> str:
        lines = [f"exit {self.rc}"]
        lines += [f"finding {f.get('severity')} {f.get('node')}: {f.get('title')}"
                  for f in self.findings("critical", "warning")]
        lines += [f"fault {f['severity']} [{f.get('rule')}]: {f['statement']}"
                  for f in self.diagnosis.get("faults", [])]
        fine = self.diagnosis.get("fine", self.diagnosis.get("healthy", []))  # check / run
        lines += [f"fine: {h}" for h in (fine if isinstance(fine, list) else [])]
        lines += [f"step {e.get('step_id')} {e.get('status')}: {e.get('message')}"
                  for e in self.events if e.get("kind") == "step_finished"
                  and e.get("status") != "ok"]
        lines += [f"warning {e.get('step_id')} {e.get('node')}: {e.get('text') or e}"
                  for e in self.events if e.get("kind") == "warning"]
        lines.append(self.err[-3000:])
        return "\n".join(lines)


#: Fewer probes than network-triage's defaults keep a run near 30 s.
#: a shorter triage for tests that judge a link's state now, not its flaps over a minute (the
#: knet counters are still sampled twice, 20 s apart); a later ``--set`` overrides these
QUICK = ("--set", "ping_count=20", "--set", "mtr_cycles=5", "--set", "sample_s=20")


def run_json(lab: Lab, runbook: str | Path, state: Path, *extra: str,
             timeout: float = 900) -> Run:
    """:func:`run_runbook` with ``--json``, parsed; prints an explanation (shown on failure)."""
    run = Run(run_runbook(lab, runbook, state, "--json", *extra, timeout=timeout))
    print(run.explain())
    return run
