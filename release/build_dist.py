#!/usr/bin/env python3
"""Build the offline artifacts: ``dist/pverunbook.pex`` and ``dist/pverunbook_<version>_amd64.deb``.

Run by ``make dist`` with any Python >= 3.11 and network access to the package index (the
artifacts themselves need no network). What it does and why:

1. Installs the build tool (pex) into ``build/tools`` from ``requirements/build.txt``
   (pinned, with hashes).
2. Stages the sources it packs in ``build/stage``: the files git tracks under ``pverunbook/``
   (nothing untracked or cached slips in), the shipped runbooks as ``pverunbook/_runbooks``
   (where ``runbook.catalog.builtin_dir`` looks in an installed copy, as in the wheel), and
   ``pverunbook/_build_info.py`` naming the commit (``pverunbook --version`` prints it).
3. ``pex``: one zip for CPython 3.11 (Debian 12 / Proxmox VE 8) and 3.13 (Debian 13 /
   Proxmox VE 9) on x86_64, resolved against the *complete platforms* in
   ``release/platforms/`` (abbreviated ``--platform`` strings cannot evaluate markers such
   as ``python_full_version``) from ``requirements/runtime.txt`` with its hashes. Pex writes
   fixed timestamps and a sorted zip, so the same commit gives the same sha256.
4. ``.deb`` (``dpkg-deb``): the pex as ``/usr/bin/pverunbook``, a man page made from
   ``--help`` of the program and of each command, depending only on ``python3 (>= 3.11)``.
   Every file's time is the commit's time (``SOURCE_DATE_EPOCH``), so it is reproducible too.

Everything it caches stays in ``build/`` (pex's own cache is ``build/pex-root``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
DIST = ROOT / "dist"
PLATFORMS = sorted((ROOT / "release" / "platforms").glob("*.json"))
MAINTAINER = "pverunbook developers <pverunbook@users.noreply.invalid>"


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT,
        capture: bool = False) -> str:
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    # stdout is kept for the result lines (sha256 per artifact): tools print to stderr
    r = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, check=True, text=True,
                       stdout=subprocess.PIPE if capture else sys.stderr)
    return r.stdout if capture else ""


def git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def version() -> str:
    text = (ROOT / "pverunbook" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        sys.exit("build_dist: no __version__ in pverunbook/__init__.py")
    return m.group(1)


def commit_and_epoch() -> tuple[str, int]:
    """The commit (``-dirty`` with uncommitted changes) and its time, or ``unknown``/now-ish
    from ``SOURCE_DATE_EPOCH`` outside a checkout."""
    head = git("rev-parse", "--short=12", "HEAD")
    if head is None:
        return "unknown", int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    dirty = git("status", "--porcelain", "--untracked-files=no")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct") or 0)
    return head + ("-dirty" if dirty else ""), epoch


def tools() -> Path:
    """``build/tools``: a venv with the pinned pex (reused while build.txt is unchanged)."""
    lock = ROOT / "requirements" / "build.txt"
    tdir = BUILD / "tools"
    stamp = tdir / "build.txt.sha256"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == want):
        shutil.rmtree(tdir, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(tdir)
        run(tdir / "bin" / "python", "-m", "pip", "install", "-q", "--require-hashes",
            "--no-deps", "-r", lock)
        stamp.write_text(want)
    return tdir / "bin"


def tracked(prefix: str) -> list[Path]:
    out = git("ls-files", "-z", "--", prefix)
    if out is None:  # not a checkout: every file but caches
        return [p.relative_to(ROOT) for p in (ROOT / prefix).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts]
    return [Path(p) for p in out.split("\0") if p and (ROOT / p).is_file()]


def stage(commit: str) -> Path:
    sdir = BUILD / "stage"
    shutil.rmtree(sdir, ignore_errors=True)
    for rel in tracked("pverunbook"):
        dest = sdir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, dest)
    for rel in tracked("runbooks"):
        dest = sdir / "pverunbook" / "_runbooks" / rel.relative_to("runbooks")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, dest)
    (sdir / "pverunbook" / "_build_info.py").write_text(
        f'"""Written by release/build_dist.py."""\n\nCOMMIT = "{commit}"\n', encoding="utf-8")
    return sdir


def build_pex(bin_dir: Path, sdir: Path) -> Path:
    out = DIST / "pverunbook.pex"
    out.unlink(missing_ok=True)
    args: list[str | Path] = [bin_dir / "pex", "-D", sdir, "-m", "pverunbook",
                              "-r", ROOT / "requirements" / "runtime.txt",
                              "--no-build", "--python-shebang", "/usr/bin/env python3",
                              "--pex-root", BUILD / "pex-root", "-o", out]
    for plat in PLATFORMS:
        args += ["--complete-platform", plat]
    run(*args)
    return out


def manpage(pex: Path, ver: str, epoch: int) -> bytes:
    """roff for ``pverunbook(1)``: the program's ``--help`` and every command's."""
    import datetime

    script = ROOT / "release" / "helptexts.py"
    # The built pex runs with a PEX_ROOT of its own outside the checkout, as on a node: with
    # one under build/ (the build's cache, or a fresh one beside it) the pex's bootstrap failed
    # to import `pex` on a fresh clone. The help text does not depend on where it unpacks.
    with tempfile.TemporaryDirectory(prefix="pverunbook-pex-root-") as pex_root:
        env = dict(os.environ, PEX_ROOT=pex_root, PEX_INTERPRETER="1",
                   COLUMNS="80", NO_COLOR="1")
        helps = run(sys.executable, pex, script, env=env, capture=True)
    date = datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d")

    def esc(line: str) -> str:
        line = line.replace("\\", "\\e")
        return ("\\&" + line) if line.startswith((".", "'")) else line

    out = [f'.TH PVERUNBOOK 1 "{date}" "pverunbook {ver}" "User Commands"',
           ".SH NAME", "pverunbook \\- step-by-step recovery runbooks for Proxmox VE clusters",
           ".SH SYNOPSIS", ".B pverunbook", "[\\fIOPTIONS\\fR] [\\fICOMMAND\\fR] ...",
           ".SH DESCRIPTION",
           "With no command, pverunbook opens its terminal app in rehearsal mode against a "
           "simulated broken cluster. Each command's help follows."]
    for block in helps.split("\f\n"):
        if not block.strip():
            continue
        title, _, body = block.partition("\n")
        out += [f".SH {title.upper()}", ".nf"] + [esc(x) for x in body.rstrip().splitlines()]
        out.append(".fi")
    out += [".SH SEE ALSO", "The runbooks shipped inside: \\fBpverunbook list\\fR."]
    return ("\n".join(out) + "\n").encode("utf-8")


def build_deb(pex: Path, ver: str, epoch: int) -> Path:
    root = BUILD / "deb"
    shutil.rmtree(root, ignore_errors=True)
    (root / "DEBIAN").mkdir(parents=True)
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    shutil.copyfile(pex, usr_bin / "pverunbook")
    man = root / "usr" / "share" / "man" / "man1"
    man.mkdir(parents=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=epoch, compresslevel=9) as gz:
        gz.write(manpage(pex, ver, epoch))
    (man / "pverunbook.1.gz").write_bytes(buf.getvalue())
    doc = root / "usr" / "share" / "doc" / "pverunbook"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: pverunbook\n\nFiles: *\nCopyright: pverunbook developers\n"
        "License: MIT\n", encoding="utf-8")
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024 + 1
    (root / "DEBIAN" / "control").write_text(
        f"Package: pverunbook\nVersion: {ver}\nArchitecture: amd64\n"
        f"Maintainer: {MAINTAINER}\nInstalled-Size: {size_kib}\n"
        "Depends: python3 (>= 3.11)\nSection: admin\nPriority: optional\n"
        "Description: step-by-step recovery runbooks for Proxmox VE clusters\n"
        " A terminal app and a headless CLI that walk an operator through recovering a\n"
        " broken Proxmox VE cluster with declarative runbooks, with a rehearsal against a\n"
        " simulated cluster. One self-contained file (a PEX) for Python 3.11 and 3.13:\n"
        " works offline on Proxmox VE 8 and 9.\n", encoding="utf-8")
    for p in sorted(root.rglob("*")):
        p.chmod(0o755 if p.is_dir() or p.parent == usr_bin else 0o644)
        os.utime(p, (epoch, epoch), follow_symlinks=False)
    os.utime(root, (epoch, epoch))
    out = DIST / f"pverunbook_{ver}_amd64.deb"
    out.unlink(missing_ok=True)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    # gzip: the pex inside is a compressed zip already, xz would only spend time
    run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out, env=env)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-deb", action="store_true", help="build the pex only")
    args = ap.parse_args()
    if len(PLATFORMS) < 2:
        sys.exit("build_dist: release/platforms/ must hold the cp311 and cp313 JSON files")
    DIST.mkdir(exist_ok=True)
    ver = version()
    commit, epoch = commit_and_epoch()
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    bin_dir = tools()
    pex = build_pex(bin_dir, stage(commit))
    built = [pex]
    if not args.no_deb:
        if shutil.which("dpkg-deb") is None:
            sys.exit("build_dist: dpkg-deb not found (apt-get install dpkg-dev, or use --no-deb)")
        built.append(build_deb(pex, ver, epoch))
    for p in built:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        print(f"{digest}  {p.relative_to(ROOT)}  ({p.stat().st_size // 1024} KiB, commit "
              f"{commit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
