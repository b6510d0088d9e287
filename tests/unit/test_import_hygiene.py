"""Core first, UI on top: the core never imports Textual, and the CLI starts light."""

from __future__ import annotations

import subprocess
import sys

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
    for heavy in ("textual", "asyncssh", "pverunbook.engine.engine", "pverunbook.sim.cluster"):
        assert heavy not in mods, heavy
