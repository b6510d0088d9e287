"""Facts read off `pvecm status` and the corosync journal: the contract the engine, `when` and
the diagnosis share."""

from pathlib import Path

import pytest

from pverunbook.pve.facts import Fact, FactStore, Observation, extract

QUORATE = """\
Quorum information
------------------
Date:             Mon Nov 30 08:00:00 2026
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          0x00000001
Ring ID:          1.2d
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   2
Highest expected: 2
Total votes:      2
Quorum:           2
Flags:            Quorate
"""


def test_quorum_facts_are_typed_and_keyed_by_node() -> None:
    facts = {f.key: f for f in extract("quorum", Observation("pve1", QUORATE))}
    assert facts["quorum.quorate[pve1]"].value is True
    assert facts["quorum.expected_votes[pve1]"].value == 2
    assert facts["corosync.running[pve1]"].value is True


def test_corosync_down_is_a_fact_not_a_guess() -> None:
    facts = extract("quorum", Observation("pve1", "Cannot initialize CMAP service\n"))
    assert [(f.key, f.value) for f in facts] == [("corosync.running[pve1]", False)]


def test_store_keeps_latest_value_and_round_trips_json() -> None:
    store = FactStore([Fact("link.loss_pct", 15.0, "a", "b"), Fact("link.loss_pct", 0.0, "a", "b")])
    assert len(store) == 1
    got = store.get("link.loss_pct[a→b]")
    assert got is not None and got.value == 0.0
    assert Fact.from_json(got.to_json()) == got


# -- the journal: knet's "has no active links" at start-up is not an outage ------------------

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
needs_shared = pytest.mark.skipif(not (SHARED / "cases").is_dir(),
                                  reason=f"shared cases not found at {SHARED}")


def journal_facts(path: Path, node: str = "n1") -> dict[str, object]:
    obs = Observation(node, path.read_text(), 0, names_by_nodeid={1: "n1", 2: "n2"})
    return {f.key: f.value for f in extract("corosync-journal", obs)}


@needs_shared
def test_start_up_waits_are_not_counted_as_outages() -> None:
    # a real corosync 3.1.7 start of a 2-node cluster: three "host: 2 has no active links"
    # lines before host 2's first heartbeat, then the link is up and stays up
    got = journal_facts(SHARED / "cases" / "live" / "corosync-startup-healthy.log")
    assert got["journal.no_active_links[n1→n2]"] == 0
    assert "journal.link_down[n1→n2]" not in got  # never went down


@needs_shared
def test_a_real_cut_off_is_counted() -> None:
    # a forum journal (cases/realworld): the link to host 1 went down, then "no active links"
    got = journal_facts(SHARED / "cases" / "realworld" / "journal-no-active-links-only-warning"
                        ".log", node="n2")
    assert got["journal.no_active_links[n2→n1]"] == 1
    # our own capture (15% then 100% loss): every cut-off after the link had been up counts
    loss = journal_facts(SHARED / "testdata" / "outputs" / "corosync-3.1.7" /
                         "corosync-log_node1_loss-15-then-100-then-0.log")
    cut, down = loss["journal.no_active_links[n1→n2]"], loss["journal.link_down[n1→n2]"]
    assert isinstance(cut, int) and isinstance(down, int) and 1 <= cut <= down
