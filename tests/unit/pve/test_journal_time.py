"""Journal stamps without year or zone, resolved against the node's clock (pve/journal_time.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.journal_time import resolve, stamp_of, utc_offset_s

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def short(t: datetime, offset_s: int) -> str:
    """What journalctl's short output prints for instant ``t`` on a node at ``offset_s``."""
    local = t.astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=offset_s)
    return f"{MONTHS[local.month - 1]} {local.day:02d} {local:%H:%M:%S}"


instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31),
                        timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0))
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: q * 900)


@settings(max_examples=400, deadline=None)
@given(t=instants, offset=offsets,
       lag=st.integers(min_value=-240, max_value=300 * 86400))
def test_a_stamp_read_within_the_year_after_it_resolves_to_its_instant(
        t: datetime, offset: int, lag: int) -> None:
    now = t + timedelta(seconds=lag)
    assert resolve(short(t, offset), now.timestamp(), offset) == t


@settings(max_examples=200, deadline=None)
@given(t=instants, offset=offsets, other=offsets)
def test_an_iso_stamp_with_a_zone_needs_neither_year_nor_the_nodes_offset(
        t: datetime, offset: int, other: int) -> None:
    local = t.replace(tzinfo=None) + timedelta(seconds=offset)
    sign = "+" if offset >= 0 else "-"
    iso = f"{local:%Y-%m-%dT%H:%M:%S}{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    assert resolve(iso, (t + timedelta(days=400)).timestamp(), other) == t


@settings(max_examples=200, deadline=None)
@given(offset=offsets)
def test_the_offset_date_prints_is_read_back(offset: int) -> None:
    sign = "+" if offset >= 0 else "-"
    text = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    assert utc_offset_s(text) == offset
    assert utc_offset_s(text[:3] + ":" + text[3:]) == offset


def test_december_lines_read_in_january_are_last_years() -> None:
    now = datetime(2027, 1, 1, 0, 20, tzinfo=UTC).timestamp()
    assert resolve("Dec 31 23:50:00", now, 0) == datetime(2026, 12, 31, 23, 50, tzinfo=UTC)
    assert resolve("Jan 01 00:10:00", now, 0) == datetime(2027, 1, 1, 0, 10, tzinfo=UTC)
    # the node in UTC+1: its local now is 01:20 on 1 January, the line 00:10 local
    assert resolve("Jan 01 00:10:00", now, 3600) == datetime(2026, 12, 31, 23, 10, tzinfo=UTC)
    # a leap day read in a year without one is from the last leap year
    assert resolve("Feb 29 12:00:00", datetime(2027, 3, 1, tzinfo=UTC).timestamp(), 0) == \
        datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert resolve("Feb 31 12:00:00", now, 0) is None
    assert resolve("no stamp", now, 0) is None


def test_the_stamp_of_a_journal_line() -> None:
    assert stamp_of("Dec 07 05:47:36 pve001 corosync[812]: [KNET  ] link: host: 2 link: 0 is "
                    "down") == "Dec 07 05:47:36"
    assert stamp_of("Dec 07 05:47:36.123456 pve001 corosync[812]: x") == "Dec 07 05:47:36"
    assert stamp_of("2026-12-07T05:47:36+0100 pve001 corosync[812]: x") == \
        "2026-12-07T05:47:36+0100"
    assert stamp_of("  [KNET  ] link: host: 2 link: 0 is down") == ""
    assert utc_offset_s("+2400") is None and utc_offset_s("CET") is None
