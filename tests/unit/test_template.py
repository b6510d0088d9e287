"""Placeholders are always one shell word: hostile values never become shell syntax."""

from __future__ import annotations

import subprocess

import pytest

from pverunbook.runbook.template import placeholders, render

HOSTILE = ["108; rm -rf /", "$(touch /tmp/pwned)", "`id`", "a'b\"c", "x\ny", "--force", "",
           "*", "a && b || c", "${HOME}", "\\"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_reaches_the_command_as_one_argument(value: str, tmp_path) -> None:
    cmd = render("printf '%s\\0' {{v}}", {"v": value})
    out = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, check=True,
                         cwd=tmp_path).stdout
    assert out.split(b"\0")[:-1] == [value.encode()]
    assert not (tmp_path / "pwned").exists()


def test_lists_become_several_quoted_words() -> None:
    assert render("ping {{peers}}", {"peers": ["a b", "c"]}) == "ping 'a b' c"


def test_shell_and_awk_braces_stay_literal() -> None:
    text = "awk '{print $1}' | sed 's/${X}/y/'"
    assert placeholders(text) == []
    assert render(text, {}) == text


def test_malformed_placeholder_is_reported() -> None:
    with pytest.raises(ValueError, match="malformed placeholder"):
        placeholders("echo {{ 1x }}")


def test_unknown_name_raises() -> None:
    with pytest.raises(KeyError):
        render("{{nope}}", {})
