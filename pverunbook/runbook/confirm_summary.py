"""A step's ``summary``: what it does on each node, in words, shown at its confirmation.

The typed confirmation of a ``run`` step lists the shell commands per node; read under pressure,
a page of ``D=…; if test …`` says little. ``summary`` is a plain sentence (placeholders filled
in as text, ``{{node}}`` for the node) put above them, once per node, in the app's dialog and
the headless prompt: ``pve001: runs its own rollback script …``. Only a step that asks a
confirmation (``destructive`` or ``confirm``) may have one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pverunbook.runbook.loader import _Ctx
    from pverunbook.runbook.model import Step
    from pverunbook.runbook.positions import KeyPath

KEY = "summary"


def parse(ctx: _Ctx, d: dict[str, Any], path: KeyPath, destructive: bool,
          confirm: str | None) -> str:
    text = ctx.get(d, KEY, path, str, "")
    if text and not destructive and confirm is None:
        ctx.err(path + (KEY,), "summary is shown at the step's confirmation, and this step asks "
                "none: make it destructive or give it 'confirm', or say it in 'explain'")
    return " ".join(str(text).split())


def lines(step: Step, nodes: Iterable[tuple[str, Mapping[str, object]]]) -> str:
    """``node: sentence`` per (node, its values) ("" when the step has no summary)."""
    from pverunbook.runbook.template import render_plain

    if not step.summary:
        return ""
    return "\n".join(f"{n}: {render_plain(step.summary, values)}" for n, values in nodes)
