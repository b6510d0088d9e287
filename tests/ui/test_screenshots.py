"""The screenshots command drives the demo rehearsal end to end and writes every SVG."""

from __future__ import annotations

import argparse
from pathlib import Path

from pverunbook.commands import screenshots
from pverunbook.ui.demo import SHOTS, take_screenshots


async def test_take_screenshots_writes_every_screen(tmp_path: Path) -> None:
    saved = await take_screenshots(tmp_path / "shots")
    assert [p.stem for p in saved] == list(SHOTS)
    for p in saved:
        text = p.read_text(encoding="utf-8")
        assert text.startswith("<svg")
    run = (tmp_path / "shots" / "run-ping.svg").read_text(encoding="utf-8")
    assert "ryanrishi" in run and "pve001" in run


def test_register_adds_the_command() -> None:
    parser = argparse.ArgumentParser()
    screenshots.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["screenshots", "--out", "x"])
    assert args.out == Path("x") and args.func is screenshots.cmd_screenshots
