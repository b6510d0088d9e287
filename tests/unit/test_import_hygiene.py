"""Core first, UI on top: the core never imports Textual, nothing below the engine imports it,
and the CLI starts light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = ["pverunbook.runbook.loader", "pverunbook.runbook.catalog", "pverunbook.engine.engine",
        "pverunbook.engine.journal", "pverunbook.engine.actions", "pverunbook.engine.targets",
        "pverunbook.transport.local", "pverunbook.transport.dryrun", "pverunbook.headless",
        "pverunbook.session", "pverunbook.pve.corosync_conf", "pverunbook.pve.verdicts",
        "pverunbook.pve.qemu", "pverunbook.pve.pmxcfs"]


def loaded_after(imports: list[str], extra: str = "") -> set[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in imports) + extra
            + "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def test_core_never_imports_textual() -> None:
    mods = loaded_after(CORE)
    assert not any(m == "textual" or m.startswith("textual.") for m in mods)
    assert not any(m.startswith("pverunbook.ui") for m in mods)


def test_cli_parser_does_not_load_heavy_modules() -> None:
    mods = loaded_after(["pverunbook.cli"], "pverunbook.cli.build_parser()\n")
    assert "pverunbook.commands.corosync" in mods  # the parser really was built
    for heavy in ("textual", "asyncssh", "pverunbook.engine.engine", "pverunbook.sim.cluster",
                  "pverunbook.sim.scenarios", "importlib.metadata"):
        assert heavy not in mods, heavy


def test_app_imports_nothing_its_first_frame_does_not_show() -> None:
    """The app, its start screen and the parser that opens it: the engine, the journal, the
    runbook loader, TOML, SSH and the simulator all come after the first frame."""
    mods = loaded_after(["pverunbook.cli", "pverunbook.commands.tui", "pverunbook.ui.app",
                         "pverunbook.ui.screens.start"], "pverunbook.cli.build_parser()\n")
    assert "pverunbook.ui.screens.start" in mods
    for heavy in ("pverunbook.engine.engine", "pverunbook.engine.journal", "pverunbook.ui.runs",
                  "pverunbook.stopped_runs",
                  "pverunbook.runbook.loader", "pverunbook.runbook.model", "tomlkit",
                  "asyncssh", "pverunbook.sim.cluster", "pverunbook.sim.scenarios",
                  "importlib.metadata"):
        assert heavy not in mods, heavy


# -- the rooms, read from the source with ast (lazy and TYPE_CHECKING imports count too) -----

PACKAGE = Path(__file__).resolve().parents[2] / "pverunbook"

#: Each room of the package and the rooms it may import (architecture: data flows
#: runbook → engine → events → UI/journal; nothing below the engine imports it).
BELOW_ENGINE = {"pve", "runbook", "inventory", "transport", "statedir"}
ALLOWED: dict[str, set[str]] = {
    "pve": set(),
    "statedir": set(),  # where state lives on disk: os and pathlib only
    "about": set(),  # --version: the package version and library metadata only
    "termout": set(),  # headless terminal output on a writer thread: stdlib only
    "termwrap": set(),  # headless lines wrapped to a terminal's width: stdlib only
    # the command that resumes a run, one text for the CLI, the quit question and after exit
    "resume_hint": BELOW_ENGINE | {"engine"},
    "runbook": {"pve"},
    "inventory": {"pve", "runbook"},
    "transport": {"pve", "runbook", "inventory"},
    "shell": {"pve", "runbook", "inventory", "transport"},
    "engine": BELOW_ENGINE,
    "sim": BELOW_ENGINE | {"engine"},
    "run_diagnosis": BELOW_ENGINE | {"engine", "check_history"},
    "check_history": BELOW_ENGINE | {"engine", "run_diagnosis"},
    "report": BELOW_ENGINE | {"engine", "run_diagnosis", "report_rollback", "report_text",
                              "report_model"},
    # the report of several runs: the one-run report for each, under a timeline
    "report_incident": BELOW_ENGINE | {"engine", "run_diagnosis", "report", "report_text"},
    "report_model": BELOW_ENGINE | {"engine", "run_diagnosis"},  # the run, as the report reads it
    "report_text": {"pve"},  # how the report writes values: pure text, below everything
    "check_json": BELOW_ENGINE | {"engine", "run_diagnosis"},  # check --json's document
    "report_rollback": BELOW_ENGINE | {"engine"},
    "headless": BELOW_ENGINE | {"engine", "run_diagnosis", "terminal_decider", "termwrap"},
    # the headless decider, split from headless
    "terminal_decider": BELOW_ENGINE | {"engine", "termwrap"},
    "session": BELOW_ENGINE | {"engine", "sim", "shell", "run_diagnosis", "check_history"},
    # runs that did not end well and which a later healthy check settled (start screen, journal)
    "stopped_runs": BELOW_ENGINE | {"engine", "run_diagnosis", "check_history"},
    "ui": BELOW_ENGINE | {"engine", "sim", "shell", "run_diagnosis", "session", "report",
                          "report_incident",
                          "headless", "check_history", "stopped_runs", "resume_hint"},
}
#: Only the UI may import Textual (and Rich, which Textual renders with).
UI_ONLY = ("textual", "rich")


def _room(module: str) -> str:
    """'pverunbook.engine.journal' → 'engine'; 'pverunbook.cli' → 'cli'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement in the file, at any depth."""
    out: list[tuple[int, str]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((node.lineno, base))
    return out


def layer_violations(package: Path) -> list[str]:
    """``file:line: room imports what it must not`` for every file under ``package``."""
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        room = _room(module)
        for line, imported in _imports(path, module):
            top = imported.split(".")[0]
            if top in UI_ONLY and room != "ui":
                problems.append(f"{path}:{line}: {room} imports {imported} (only ui/ may)")
            if top != package.name or room not in ALLOWED:
                continue
            target = _room(imported)
            if target and target != room and target not in ALLOWED[room]:
                problems.append(f"{path}:{line}: {room} imports {imported}")
    return problems


def test_rooms_import_only_the_rooms_below_them() -> None:
    assert not layer_violations(PACKAGE), "\n".join(layer_violations(PACKAGE))
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("_")}
    front = {"cli", "commands"}  # the front door may import any room
    assert rooms - front <= set(ALLOWED), f"rooms without a rule: {rooms - front - set(ALLOWED)}"


def test_the_layer_check_catches_a_violation(tmp_path: Path) -> None:
    pkg = tmp_path / "pverunbook"
    for d in ("pve", "transport", "engine", "runbook"):
        (pkg / d).mkdir(parents=True)
        (pkg / d / "__init__.py").write_text("")
    (pkg / "pve" / "ok.py").write_text("import re\n")
    (pkg / "transport" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from pverunbook.engine.engine import Engine\n")
    (pkg / "runbook" / "lazy.py").write_text("def f():\n    from ..engine import journal\n")
    (pkg / "engine" / "tui.py").write_text("def g():\n    import textual.app\n")
    found = layer_violations(pkg)
    assert found == [
        f"{pkg}/engine/tui.py:2: engine imports textual.app (only ui/ may)",
        f"{pkg}/runbook/lazy.py:2: runbook imports pverunbook.engine",
        f"{pkg}/transport/bad.py:3: transport imports pverunbook.engine.engine",
    ]
