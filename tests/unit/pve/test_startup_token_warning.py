"""corosync's token warning while the first membership forms after a start is start-up, not loss.

Both logs are real corosync 3.1.7 output from CI runs on a loaded machine (tests/data/outputs/
README.md): corosync starts alone (``Members[1]: 1``), the peers' knet links come up, and
``Token has not been received in N ms`` is logged once before ``Members[3]``/``Members[5]``
(totemsrp.c ``timer_function_orf_token_warning`` counts from the one-node ring's last token).
The healthy-bed integration test was once failed by the first: the check warned "token late 1
time(s)" on a cluster that had just started and never lost a token.
"""

from __future__ import annotations

from pathlib import Path

from pverunbook.pve import outputs
from pverunbook.pve.facts import Observation, extract
from pverunbook.pve.verdicts import verdict_journal

DATA = Path(__file__).resolve().parents[2] / "data" / "outputs"
BED3 = DATA / "corosync-3.1.7_bed-3node-startup-token-late.log"


def _upto(path: Path, needle: str) -> str:
    """The log up to and including the first line holding ``needle``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if needle in line)
    return "".join(lines[: end + 1])


def _token_findings(text: str) -> list[tuple[str, str]]:
    return [(f.severity, f.title) for f in verdict_journal(text) if "token" in f.title]


def _token_late_fact(text: str) -> object:
    obs = Observation("alpha", text, 0, names_by_nodeid={1: "alpha", 2: "bravo", 3: "charlie"})
    return {f.key: f.value for f in extract("corosync-journal", obs)}["journal.token_late[alpha]"]


def test_a_start_up_token_warning_is_only_info_on_the_3_node_bed() -> None:
    assert BED3.name == "corosync-3.1.7_bed-3node-startup-token-late.log"
    start = _upto(BED3, "Members[3]: 1 2 3")
    assert "Token has not been received in 2938 ms" in start  # the line really is in it
    found = _token_findings(start)
    assert [sev for sev, _ in found] == ["info"], found
    assert "first membership formed after start-up" in found[0][1]
    assert _token_late_fact(start) == 0
    # the whole capture goes on into the test's 30% UDP loss: its token warnings and the lost
    # token are counted, the start-up's one is not (4 lines in the log, 3 counted)
    whole = BED3.read_text(encoding="utf-8")
    assert whole.count("Token has not been received") == 4
    assert _token_findings(whole) == [
        ("critical", "token lost 1 time(s), token late 3 time(s) in 108 s")]
    assert _token_late_fact(whole) == 3


def test_the_5_node_lab_start_up_is_told_from_its_later_token_loss() -> None:
    text = (DATA / "corosync-3.1.7_lab-5node-startup-token-late.log").read_text(encoding="utf-8")
    early = outputs.startup_token_warnings(outputs.parse_corosync_log(text))
    assert [e.count for e in early] == [3914]
    (finding,) = [f for f in verdict_journal(text) if "token" in f.title]
    assert finding.severity == "critical"
    assert finding.title.startswith("token lost 1 time(s), token late 1 time(s)")
    assert finding.evidence is not None and "A processor failed" in finding.evidence


def _startup_with(extra_before_members: str, late_at: str = "12:23:39") -> str:
    """The bed's real start-up with its token warning moved to ``late_at`` and
    ``extra_before_members`` put just before the membership with peers."""
    start = _upto(BED3, "Members[3]: 1 2 3")
    start = start.replace("12:23:39 [2903] alpha corosync notice  [TOTEM ] Token has not",
                          f"{late_at} [2903] alpha corosync notice  [TOTEM ] Token has not")
    head, sep, tail = start.partition("Dec 07 12:23:40 [2903] alpha corosync notice  [QUORUM] "
                                      "Sync members[3]")
    assert sep
    return head + extra_before_members + sep + tail


def test_a_token_lost_at_start_up_is_still_a_fault() -> None:
    # constructed from the capture: a token that timed out while the membership formed
    text = _startup_with("Dec 07 12:23:40 [2903] alpha corosync notice  [TOTEM ] A processor "
                         "failed, forming new configuration: token timed out (3650ms), waiting "
                         "4380ms for consensus.\n")
    assert _token_findings(text) == [
        ("critical", "token lost 1 time(s), token late 1 time(s) in 6 s")]


def test_a_token_warning_long_after_the_start_is_counted() -> None:
    # constructed: the first membership with peers took over 30 s to form
    text = _startup_with("", late_at="12:24:39").replace(
        "12:23:40 [2903] alpha corosync notice  [QUORUM] Sync members[3]",
        "12:24:40 [2903] alpha corosync notice  [QUORUM] Sync members[3]")
    text = text.replace("12:23:40", "12:24:40")
    assert _token_findings(text) == [
        ("warning", "token lost 0 time(s), token late 1 time(s) in 66 s")]


def test_a_token_warning_with_no_membership_after_it_is_counted() -> None:
    # constructed: the peers never joined (no Members[3] follows the warning)
    text = _upto(BED3, "Token has not been received in 2938 ms")
    assert _token_findings(text) == [
        ("warning", "token lost 0 time(s), token late 1 time(s) in 5 s")]
    assert _token_late_fact(text) == 1


def test_a_node_booted_long_before_its_peers_merges_when_their_links_come_up() -> None:
    # constructed from the capture: alpha booted alone two minutes before its peers (every
    # line from the peers' links coming up on, shifted by 120 s)
    lines = _upto(BED3, "Members[3]: 1 2 3").splitlines(keepends=True)
    shifted = [line.replace("12:23:36", "12:25:36").replace("12:23:39", "12:25:39")
               .replace("12:23:40", "12:25:40") for line in lines]
    text = "".join(shifted)
    assert "12:25:39 [2903] alpha corosync notice  [TOTEM ] Token has not been" in text
    assert [sev for sev, _ in _token_findings(text)] == ["info"]
    # a token warning while alone, with no link coming up near it, is not the merge's
    alone = text.replace("12:25:39 [2903]", "12:24:39 [2903]")
    assert [sev for sev, _ in _token_findings(alone)] == ["warning"]
