"""What an integer parameter says of a value it refuses: a long run of digits is a whole number
that is too large, not "not a whole number" (a tired operator holding a key down read that
the field wanted something other than digits)."""

from __future__ import annotations

import pytest

from pverunbook.runbook.model import Param, ParamType
from pverunbook.runbook.params import ParamValueError, parse_value

COUNT = Param(name="ping_count", type=ParamType.INT, prompt="probes", min=1, max=1000)


def test_a_long_number_is_too_large_not_a_non_number() -> None:
    with pytest.raises(ParamValueError) as got:
        parse_value(COUNT, "9" * 41)
    assert "far too large (41 digits; at most 19)" in str(got.value)
    assert "not a whole number" not in str(got.value)
    with pytest.raises(ParamValueError, match="'abc' is not a whole number"):
        parse_value(COUNT, "abc")
    with pytest.raises(ParamValueError, match="above the maximum 1000|at most 1000|1000"):
        parse_value(COUNT, "5000")
