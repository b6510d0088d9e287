#!/usr/bin/env python3
"""Fail when requirements/*.txt no longer match pyproject.toml (a dependency added, removed or
given a range the pinned version is outside of): CI installs the lock with ``--no-deps`` for
pverunbook itself, so a stale lock would otherwise show up as an ImportError somewhere.
Fix: ``make lock``."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if m:
            out[norm(m.group(1))] = m.group(2)
    return out


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(root: Path = ROOT) -> int:
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {"runtime.txt": project["dependencies"],
              "test.txt": project["dependencies"] + project["optional-dependencies"]["test"]}
    problems = []
    for lock, reqs in wanted.items():
        pinned = pins(root / "requirements" / lock)
        for text in reqs:
            req = Requirement(text)
            have = pinned.get(norm(req.name))
            if have is None:
                problems.append(f"requirements/{lock}: {req.name} is not locked")
            elif not req.specifier.contains(have, prereleases=True):
                problems.append(f"requirements/{lock}: {req.name}=={have} is outside {text!r}")
    for p in problems:
        print(p)
    if problems:
        print("the lock files do not match pyproject.toml: run `make lock` and commit them")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT))
