"""Every ``pverunbook …`` command line the README shows parses: the synopsis of the command-line
section (``pverunbook list [--runbooks DIR]`` was documented but refused) and each example.

Parsing only (``cli.parse_args``): nothing runs. A synopsis line is made concrete by taking every
optional part and the first of each ``a | b`` alternative; placeholders stay as their names.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from pverunbook.cli import parse_args

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(kind: str) -> list[list[str]]:
    out: list[list[str]] = []
    block: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if block is None and line.strip() == f"```{kind}":
            block = []
        elif block is not None and line.strip().startswith("```"):
            out.append(block)
            block = None
        elif block is not None:
            block.append(line)
    return out


def _concrete(synopsis: str) -> str:
    """``run RUNBOOK (--cluster FILE | --local) [--set NAME=VALUE ...]`` → one command line."""
    text = synopsis.replace("...", " ")
    alternatives = re.compile(r"[\[(]([^\[\]()]*\|[^\[\]()]*)[\])]")
    while alternatives.search(text):
        text = alternatives.sub(lambda m: m.group(1).split("|")[0], text)
    text = text.split(" | ")[0]  # `journal list | show RUN`: the first form
    text = re.sub(r"\bN\b", "100", text)  # a number placeholder (--vmid N)
    text = text.replace("--scenario NAME", "--scenario three-node")  # one of a fixed set
    return re.sub(r"[\[\]]", " ", text)


def synopsis_lines() -> list[str]:
    """The command-line section: each command with its continuation lines, description cut."""
    (block,) = [b for b in _blocks("text") if any(ln.startswith("pverunbook list") for ln in b)]
    commands: list[str] = []
    for line in block:
        usage = re.split(r"\s{2,}", line.strip())[0]  # the description cut
        indent = len(line) - len(line.lstrip())
        if line.startswith("pverunbook"):
            commands.append(usage)
        elif commands and 0 < indent < 40 and usage.strip()[:1] in ("[", "(", "-"):
            commands[-1] += " " + usage.strip()  # a continuation, not the description's
    return [_concrete(c) for c in commands]


def example_lines() -> list[str]:
    """``pverunbook …`` lines of the shell examples, continuations joined, comments cut."""
    out: list[str] = []
    for block in _blocks("sh"):
        text = re.sub(r"\\\n\s*", " ", "\n".join(block))
        for line in text.splitlines():
            line = line.split(" #")[0].strip()
            line = re.sub(r"^.*?(python3 -m pverunbook|python3 pverunbook\.pex|&& pverunbook)",
                          "pverunbook", line)
            if line.startswith("pverunbook"):
                out.append(line)
    return out


def test_the_readme_shows_what_this_test_reads() -> None:
    assert "pverunbook list --runbooks DIR" in [" ".join(c.split()) for c in synopsis_lines()]
    assert len(synopsis_lines()) > 15 and len(example_lines()) > 5


@pytest.mark.parametrize("line", synopsis_lines() + example_lines())
def test_readme_command_line_parses(line: str) -> None:
    words = shlex.split(line)[1:]
    if words == ["--version"]:
        return  # prints and exits by design
    try:
        args = parse_args(words)
    except SystemExit as exc:
        pytest.fail(f"README shows `{line}` but the parser refuses it (exit {exc.code})")
    if "--runbooks" in words:
        assert args.runbooks == [Path("DIR")]


def test_the_synopsis_names_every_command() -> None:
    """``pverunbook tui [--scenario NAME]`` was missing from the command-line list."""
    import argparse

    from pverunbook.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    shown = {line.split()[1] for line in synopsis_lines() if len(line.split()) > 1}
    assert set(sub.choices) <= shown, sorted(set(sub.choices) - shown)


def test_the_quickstart_says_to_use_a_venv_and_stays_two_commands() -> None:
    """Debian 12+ refuses ``pip install`` into the system Python: the quickstart's first
    command failed on a fresh machine."""
    text = README.read_text(encoding="utf-8")
    quick = text[text.index("## Developer quickstart"):]
    quick = quick[:quick.index("\n## ", 1)]
    assert "python3 -m venv" in quick and "externally-managed-environment" in quick, quick
    (block,) = [b for b in _blocks("sh") if any("pip install -e ." in ln for ln in b)]
    assert len([ln for ln in block if ln.strip()]) == 2, block
