"""Shared fixtures: keep every test's journal, checkpoints and state out of the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVERUNBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PVERUNBOOK_DATA_DIR", str(tmp_path / "data"))


# -- parallel runs (pytest-xdist, ``-n N --dist loadgroup``; .ci/run uses it) -----------------
#
# The slow suites (tests/ui, tests/integration) run on several workers. Each integration module
# stays on one worker, so a module-scoped fixture (an sshd, a corosync test bed) is built once,
# and the lab modules on the common 3-node lab share one worker, so that session-scoped lab (real
# pmxcfs) is built once per run; the modules with labs of their own shape share another. Every
# fixture names its resources per process (users, namespaces, ports: pid-tagged or picked free),
# so workers never collide. UI tests are independent and spread one by one.


@pytest.hookimpl(tryfirst=True)  # before xdist turns the group marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).parts
        if "integration" not in parts or "tests" not in parts:
            continue
        module = Path(str(item.path)).stem
        if module in _OWN_LAB_MODULES:
            group = "lab-own"
        elif module.startswith("test_lab_"):
            group = "lab"
        else:
            group = module
        item.add_marker(pytest.mark.xdist_group(group))


#: lab modules that build labs of their own shape (the story's nyc, the parity labs, QNetd):
#: they share none with the modules on the common 3-node lab, so they run on a second worker
_OWN_LAB_MODULES = {"test_lab_story", "test_lab_sim_parity", "test_lab_qdevice"}


# -- property tests: how many examples each one ran ------------------------------------------
#
# Hypothesis reports its statistics only with --hypothesis-show-statistics, and then verbosely.
# The default run prints one line per property test instead (examples run, of which passing /
# invalid, and the phase durations), so a reader of the CI log can see the property tests ran and
# how hard they tried. The stats come from hypothesis.statistics.collector, the hook its own
# pytest plugin uses; ours wraps theirs so --hypothesis-show-statistics keeps working.

_HYPOTHESIS_RUNS: dict[str, tuple[int, int, int, float]] = {}


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    try:
        from hypothesis.statistics import collector
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        yield
        return
    if not getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        yield
        return
    previous = collector.value

    def note(stats: dict) -> None:  # type: ignore[type-arg]
        valid = invalid = failing = 0
        seconds = 0.0
        for phase in ("explicit", "reuse", "generate", "target", "shrink"):
            d = stats.get(f"{phase}-phase") or {}
            seconds += float(d.get("duration-seconds", 0.0) or 0.0)
            for case in d.get("test-cases", []):
                status = case.get("status")
                if status == "valid":
                    valid += 1
                elif status == "interesting":
                    failing += 1
                else:
                    invalid += 1
        old = _HYPOTHESIS_RUNS.get(item.nodeid, (0, 0, 0, 0.0))
        _HYPOTHESIS_RUNS[item.nodeid] = (old[0] + valid, old[1] + invalid, old[2] + failing,
                                         old[3] + seconds)
        if previous is not None:
            previous(stats)

    with collector.with_value(note):
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _fuzz_campaigns(terminalreporter)
    if not _HYPOTHESIS_RUNS:
        return
    terminalreporter.section("property tests (hypothesis): examples run")
    total = 0
    for nodeid, (valid, invalid, failing, seconds) in sorted(_HYPOTHESIS_RUNS.items()):
        total += valid + invalid + failing
        extra = f", {failing} failing" if failing else ""
        terminalreporter.write_line(
            f"{valid + invalid + failing:>6} examples ({valid} passing, {invalid} invalid"
            f"{extra}) {seconds:6.2f}s  {nodeid}")
    terminalreporter.write_line(f"{total:>6} examples in {len(_HYPOTHESIS_RUNS)} property tests")


def _fuzz_campaigns(terminalreporter: pytest.TerminalReporter) -> None:
    """Inputs per fuzz campaign (tests/fuzzbound.py) and the slowest one against its bound."""
    import sys

    fb = sys.modules.get("fuzzbound")
    campaigns = getattr(fb, "CAMPAIGNS", None) if fb is not None else None
    if not campaigns:
        return
    terminalreporter.section(
        f"fuzz campaigns: inputs run, each under a {fb.BOUND_S:g} s bound")  # type: ignore[union-attr]
    total = 0
    for name, (count, slowest) in sorted(campaigns.items()):
        total += int(count)
        terminalreporter.write_line(f"{int(count):>6} inputs  slowest {slowest:6.3f}s  {name}")
    terminalreporter.write_line(f"{total:>6} inputs in {len(campaigns)} campaigns")
