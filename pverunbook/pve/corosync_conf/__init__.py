"""Lossless parser, editor and checker for corosync.conf.

The file is kept as its original lines; the section tree only points into them. Unchanged
files therefore dump back byte for byte, and an edit touches only the lines it must, so the
diff an operator reviews before touching /etc/pve/corosync.conf is as small as possible.

The parser follows corosync 3.1's own (exec/coroparse.c ``parse_section``), checked against
the real ``corosync -t``: comments are whole lines whose first non-blank is ``#`` (a ``#``
after a value is part of the value), a line containing ``{`` opens a section and may hold
nothing after it, then ``key: value`` lines, then a line that is only ``}``.

The package: ``tree.py`` parses (and holds the text), ``edits.py`` changes it, ``checks.py``
judges it, ``keys.py`` holds what corosync accepts per key. Import from the package.
"""

from __future__ import annotations

from pverunbook.pve.corosync_conf.checks import (
    Problem,
    Severity,
    effective_token,
    qdevice_conflict,
    validate,
)
from pverunbook.pve.corosync_conf.edits import add_link, bump_version, set_totem, unified_diff
from pverunbook.pve.corosync_conf.keys import (
    DEFAULT_DOWNCHECK_MS,
    DEFAULT_JOIN_MS,
    DEFAULT_MERGE_MS,
    DEFAULT_RETRANSMITS_BEFORE_LOSS,
    DEFAULT_TOKEN_COEFFICIENT_MS,
    DEFAULT_TOKEN_MS,
    HZ_MS,
    MINIMUM_TIMEOUT_HOLD_MS,
    MINIMUM_TIMEOUT_MS,
    RUNTIME_READONLY,
    SETTABLE_KEYS,
    UnknownKeyError,
    check_settable,
)
from pverunbook.pve.corosync_conf.tree import CorosyncConf, CorosyncParseError, Item, Section, parse

__all__ = [
    "CorosyncConf",
    "CorosyncParseError",
    "DEFAULT_DOWNCHECK_MS",
    "DEFAULT_JOIN_MS",
    "DEFAULT_MERGE_MS",
    "DEFAULT_RETRANSMITS_BEFORE_LOSS",
    "DEFAULT_TOKEN_COEFFICIENT_MS",
    "DEFAULT_TOKEN_MS",
    "HZ_MS",
    "Item",
    "MINIMUM_TIMEOUT_HOLD_MS",
    "MINIMUM_TIMEOUT_MS",
    "Problem",
    "RUNTIME_READONLY",
    "SETTABLE_KEYS",
    "Section",
    "Severity",
    "UnknownKeyError",
    "add_link",
    "bump_version",
    "check_settable",
    "effective_token",
    "qdevice_conflict",
    "parse",
    "set_totem",
    "unified_diff",
    "validate",
]
