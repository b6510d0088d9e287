"""The command a stopped run prints to resume it is one the README documents: after
``rehearse`` it printed ``pverunbook rehearse --resume …`` while the README named only
``run --resume`` (trial 14)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pverunbook.resume_hint import resume_command

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("command", ["run", "rehearse", "check"])
def test_the_printed_resume_command_is_documented(command: str) -> None:
    args = argparse.Namespace(command=command, rehearse=command != "run", cluster=None,
                              headless=True)
    printed = resume_command(args, "20270115-080000-abcdef")
    form = printed.split(" 20270115")[0]  # "pverunbook rehearse --resume"
    documented = re.findall(r"^(pverunbook \w+ --resume) RUN \[--headless\]",
                            README.read_text(encoding="utf-8"), re.M)
    assert form in documented, (printed, documented)
