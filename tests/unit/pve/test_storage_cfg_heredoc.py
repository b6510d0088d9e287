"""The storage.cfg fix as a here-document (newcomer trial 14).

At a console the ``printf '…\\n\\t…'`` one-liner wrapped over four lines and was hard to type
at 3 a.m. It is now ``cat > /etc/pve/storage.cfg <<'EOF'`` with one config line per line, and
a real shell shows it writes exactly the bytes the printf did, with the same guards (only where
the thin pool is, never over an existing storage.cfg).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pverunbook.pve.diagnosis.health import DEFAULT_STORAGE_CFG, WRITE_DEFAULT_STORAGE_CFG


def _run(script: str, tmp_path: Path) -> bytes:
    """``script`` by a real shell, /etc/pve/storage.cfg in ``tmp_path``, the thin pool there."""
    target = tmp_path / "storage.cfg"
    script = script.replace("lvs pve/data", "true").replace("/etc/pve/storage.cfg", str(target))
    done = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
    written = target.read_bytes()
    assert done.stdout == written  # and it shows what it wrote
    target.unlink()
    return written


def test_the_storage_cfg_here_document_writes_the_bytes_the_printf_did(tmp_path: Path) -> None:
    printf = ("lvs pve/data && test ! -s /etc/pve/storage.cfg && printf '"
              + DEFAULT_STORAGE_CFG.replace("\t", "\\t").replace("\n", "\\n")
              + "' > /etc/pve/storage.cfg && cat /etc/pve/storage.cfg")
    assert _run(WRITE_DEFAULT_STORAGE_CFG, tmp_path) == _run(printf, tmp_path) \
        == DEFAULT_STORAGE_CFG.encode()
    lines = WRITE_DEFAULT_STORAGE_CFG.split("\n")
    assert lines[1] == "cat > /etc/pve/storage.cfg <<'EOF' && cat /etc/pve/storage.cfg"
    assert lines[-1] == "EOF" and "printf" not in WRITE_DEFAULT_STORAGE_CFG
    assert lines[2:-1] == DEFAULT_STORAGE_CFG.rstrip("\n").split("\n")  # one per line
    assert max(len(x) for x in lines) <= 72  # typed at a console, nothing wraps


def test_the_storage_cfg_here_document_never_writes_over_a_storage_cfg(tmp_path: Path) -> None:
    target = tmp_path / "storage.cfg"
    target.write_text("dir: mine\n")
    script = WRITE_DEFAULT_STORAGE_CFG.replace("lvs pve/data", "true").replace(
        "/etc/pve/storage.cfg", str(target))
    assert subprocess.run(["sh", "-c", script], capture_output=True).returncode != 0
    assert target.read_text() == "dir: mine\n"
    target.unlink()  # and not where the thin pool is missing
    script = WRITE_DEFAULT_STORAGE_CFG.replace("lvs pve/data", "false").replace(
        "/etc/pve/storage.cfg", str(target))
    assert subprocess.run(["sh", "-c", script], capture_output=True).returncode != 0
    assert not target.exists()
