"""Fixtures shared by tests/integration: the lab (real corosync + pmxcfs + sshd), built once per
test session (tests/integration/lab_fixture.py says how to use it)."""

from tests.integration.lab_fixture import (
    _labs,
    fresh_lab,
    healthy_lab,
    healthy_lab9,
    lab_factory,
)

__all__ = ["_labs", "fresh_lab", "healthy_lab", "healthy_lab9", "lab_factory"]
