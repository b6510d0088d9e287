"""Numbers in node output and command lines are ASCII digits, or they are not numbers.

``'800¹'.isdigit()`` is True and ``int('800¹')`` raises; ``'٣'.isdigit()`` is True and
``int('٣') == 3``. A hostile or garbled node must not crash a parser that guarded ``int()`` with
``isdigit()``, nor be read as a number the tool never printed (found by fuzzing the QEMU command
line: ``-id 800¹`` ended in "could not handle").
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.pve.corosync_conf import parse, validate
from pverunbook.pve.digits import is_uint
from pverunbook.pve.pmxcfs import PmxcfsError, read_tree
from pverunbook.pve.qemu_cmdline import recover_config

ODD_DIGITS = ["¹", "²", "٣", "۴", "߅", "௫", "๖", "໗", "༨", "၉", "𝟘", "①"]


def test_is_uint_is_ascii_only() -> None:
    assert is_uint("0") and is_uint("800")
    for odd in ODD_DIGITS:
        assert not is_uint(odd) and not is_uint("800" + odd)
    assert not is_uint("") and not is_uint("-1") and not is_uint(" 1")


_numbers = st.builds(lambda a, b: a + b, st.from_regex(r"[0-9]{0,4}", fullmatch=True),
                     st.sampled_from(ODD_DIGITS))


@settings(max_examples=60, deadline=2000)
@given(vmid=_numbers, boot=_numbers, size=_numbers, cores=_numbers, level=_numbers)
def test_qemu_argv_with_non_ascii_digits_never_raises(vmid: str, boot: str, size: str,
                                                       cores: str, level: str) -> None:
    argv = ["/usr/bin/kvm", "-id", vmid, "-name", "vm", "-smp", f"{cores},sockets=1,cores={cores}",
            "-cpu", f"kvm64,level={level}", "-m", "2048",
            "-device", f"virtio-blk-pci,drive=drive-virtio0,id=virtio0,bootindex={boot}",
            "-drive", f"file=/dev/pve/vm-100-disk-0,if=none,id=drive-virtio0,size={size}",
            "-machine", "type=pc"]
    cfg = recover_config(argv)
    # No rule fell over on the odd digits: they are reported as not understood (or ignored),
    # never a ValueError caught at the last line of defence.
    assert not any("ValueError" in m for m in cfg.missing), cfg.missing


@pytest.mark.parametrize("odd", ODD_DIGITS)
def test_corosync_conf_with_non_ascii_digits_is_judged_not_crashed(odd: str) -> None:
    text = (f"totem {{\n  version: 2\n  cluster_name: x\n  config_version: 3{odd}\n"
            f"  token: 30{odd}\n}}\nnodelist {{\n  node {{\n    name: a\n    nodeid: 1{odd}\n"
            f"    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }}\n}}\nquorum {{\n"
            f"  provider: corosync_votequorum\n}}\n")
    findings = validate(parse(text))
    assert findings, "a config_version/nodeid that is not a number must be named"


def test_pmxcfs_dump_damaged_inside_deflate_is_named(tmp_path: Path) -> None:
    """A gzip stream whose deflate data is damaged raises zlib.error, not BadGzipFile."""
    good = gzip.compress(b"CREATE TABLE tree (inode INTEGER);\n" * 200)
    bad = bytearray(good)
    for i in range(20, len(bad) - 10):
        bad[i] ^= 0x5A
    dump = tmp_path / "config-1.sql.gz"
    dump.write_bytes(bytes(bad))
    with pytest.raises(PmxcfsError, match="damaged gzip data"):
        read_tree(dump)
