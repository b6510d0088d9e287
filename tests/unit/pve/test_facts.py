"""Facts read off `pvecm status`: the contract the engine, `when` and the diagnosis share."""

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
