"""``{{name}}`` placeholders in commands, always rendered as one shell-quoted word.

The double-brace syntax keeps shell and awk braces (``${VAR}``, ``{print $1}``) literal, and there
is deliberately no "raw" form: an operator-typed value like ``108; rm -rf /`` must reach the node
as a single harmless argument.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STRAY = re.compile(r"\{\{(?!\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})")

#: Variables the engine provides for every node; see runbooks/README.md.
BUILTIN_VARS: dict[str, str] = {
    "node": "name of the node the command runs on",
    "node_addr": "that node's cluster (ring0) address",
    "cluster": "cluster name from the inventory",
    "peer": "name of the first other node",
    "peer_addr": "ring0 address of the first other node",
    "peers": "names of all other nodes (several words)",
    "peer_addrs": "ring0 addresses of all other nodes (several words)",
    "node_addr1": "the node's second-link (ring1) address from the inventory, if any",
    "peer_addr1": "ring1 address of the first other node, if any",
    "peer_addrs1": "ring1 addresses of all other nodes (several words; empty words for none)",
    "gateway": "the node's default gateway from the inventory, if known",
    "run_id": "id of this run",
    "unreachable": "the nodes that did not answer SSH in this run (several words; none when "
                   "every node answered)",
}


def placeholders(text: str) -> list[str]:
    """Names used in ``text``; raises ValueError on a malformed ``{{``."""
    stray = _STRAY.search(text)
    if stray:
        snippet = text[stray.start() : stray.start() + 20]
        raise ValueError(f"malformed placeholder near '{snippet}': use {{{{name}}}}")
    return PLACEHOLDER.findall(text)


def _quote(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(shlex.quote(str(v)) for v in value) or "''"
    return shlex.quote(str(value))


def render(text: str, values: Mapping[str, object]) -> str:
    """Substitute placeholders with shell-quoted values; list values become several words."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise KeyError(name)
        return _quote(values[name])

    return PLACEHOLDER.sub(sub, text)


def render_regex(text: str, values: Mapping[str, object]) -> str:
    """Substitute placeholders in an expectation's regex with their values matched literally
    (``re.escape``; a list value matches any of its words)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise KeyError(name)
        value = values[name]
        if isinstance(value, list | tuple):
            return "(?:" + "|".join(re.escape(str(v)) for v in value) + ")"
        return re.escape(str(value))

    return PLACEHOLDER.sub(sub, text)


def render_plain(text: str, values: Mapping[str, object]) -> str:
    """For prose (instructions): values inserted as text, unknown names left as they are."""

    def sub(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            return m.group(0)
        return " ".join(map(str, v)) if isinstance(v, list | tuple) else str(v)

    return PLACEHOLDER.sub(sub, text)
