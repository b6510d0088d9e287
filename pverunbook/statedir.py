"""Where pverunbook keeps its state (journals, rehearsal clusters): ``$PVERUNBOOK_STATE_DIR``,
else platformdirs' per-user state directory.

Its own small module because the TUI needs it before its first frame (the rehearsal cluster's
directory), and the journal module that also exports it imports the whole event model.
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    env = os.environ.get("PVERUNBOOK_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_state_dir

    return Path(user_state_dir("pverunbook"))
