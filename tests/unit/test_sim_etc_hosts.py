"""The simulator resolves a node name from /etc/hosts the way pmxcfs does (pmxcfs.c
``lookup_node_ip``: the first getaddrinfo answer that is not 127.* or ::1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.sim.etc_hosts import addresses, is_loopback, node_ip

DEBIAN = """127.0.0.1 localhost
127.0.1.1 pve001.lan pve001
192.168.1.10 pve001.lan pve001   # cluster address
::1 localhost ip6-localhost ip6-loopback
"""


def test_debian_loopback_line_above_the_real_address_is_skipped() -> None:
    assert addresses(DEBIAN, "pve001") == ["127.0.1.1", "192.168.1.10"]
    assert node_ip(DEBIAN, "pve001") == "192.168.1.10"


def test_loopback_only_is_no_address() -> None:
    assert node_ip("127.0.1.1 pve001\n::1 pve001\n", "pve001") is None
    assert node_ip("192.168.1.10 pve002\n", "pve001") is None
    assert node_ip("fd00::10 pve001\n", "pve001") == "fd00::10"


@settings(deadline=200, max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["127.0.1.1", "::1", "10.0.0.1", "fd00::1",
                                           "127.1.2.3"]),
                          st.sampled_from(["pve001", "pve002", "pve001.lan"])), max_size=6))
def test_node_ip_is_the_first_non_loopback_answer(rows: list[tuple[str, str]]) -> None:
    text = "".join(f"{a} {n}\n" for a, n in rows)
    mine = [a for a, n in rows if n == "pve001"]
    expected = next((a for a in mine if not is_loopback(a)), None)
    assert node_ip(text, "pve001") == expected
