"""Numbers in node output are ASCII digits, in range: ``'800¹'.isdigit()`` is True and
``int('800¹')`` raises, so a ``ps`` line with a superscript stopped the VM-config action."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pverunbook.engine.actions import _running_vms
from pverunbook.transport.base import CommandResult


@dataclass
class _Node:
    name: str = "pve001"


@dataclass
class _Ctx:
    ps: str
    node: _Node = field(default_factory=_Node)
    warned: list[str] = field(default_factory=list)

    async def run(self, command: str) -> tuple[CommandResult, str, str]:
        return CommandResult(exit_status=0, duration=0.0), self.ps, ""

    def warn(self, text: str) -> None:
        self.warned.append(text)


numbers = st.one_of(st.integers(0, 10**30).map(str),
                    st.text(alphabet="0123456789\u00b9\u00b2\u0663\u096b\uff11", min_size=1,
                            max_size=25))


@settings(max_examples=200, deadline=None)
@given(numbers, numbers)
async def test_a_ps_listing_with_any_digits_never_raises(pid: str, vmid: str) -> None:
    ctx = _Ctx(f"{pid} /usr/bin/kvm -id {vmid} -name vm{vmid}\n")
    found = await _running_vms(ctx)  # type: ignore[arg-type]
    assert found is not None
    vms, _ = found
    for v, p in vms.items():
        assert v == int(vmid) and p == int(pid) and vmid.isascii() and pid.isascii()
        assert p < 2**63
