"""A real OpenSSH sshd on 127.0.0.1 for transport tests (recipe: ../shared/testing.md).

Runs as root with its own config, host key and log; logins go to a dedicated user whose shell is
/bin/sh (root's ``.bashrc`` would cost ~150 ms per command). Everything it starts is stopped in
the fixture finalizer, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
#: One login user per test process: a suite that tears its sshd down (``pkill -u``) must never
#: kill another suite's sessions on the same machine.
USER = f"pvrbt{os.getpid()}"


@dataclass
class Sshd:
    port: int
    pid: int
    dir: Path
    log: Path
    user: str
    client_key: Path
    host_key: asyncssh.SSHKey
    #: A directory the login user may write to.
    scratch: Path

    @property
    def host_key_line(self) -> str:
        return self.host_key.export_public_key("openssh").decode().strip()

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def connections(self) -> int:
        """How many SSH connections have logged in so far (the readiness probe never does)."""
        return self.log.read_text(errors="replace").count("Accepted publickey for ")

    def session_pids(self) -> list[int]:
        """sshd's per-connection processes (monitor and its unprivileged child)."""
        out: list[int] = []
        for pid in _children(self.pid):
            out.append(pid)
            out += [c for c in _children(pid) if _comm(c).startswith("sshd")]
        return out

    def kill_sessions(self) -> None:
        """Drop every client connection the hard way, as a crashing node or network would."""
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


def _children(pid: int) -> list[int]:
    res = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True)
    return [int(x) for x in res.stdout.split()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def remote_alive(pattern: str) -> bool:
    """Whether any process on the (loopback) node has ``pattern`` in its command line."""
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def wait_gone(pattern: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while remote_alive(pattern):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_user(home: Path) -> bool:
    """Create the login user unless it exists; True when we created it (and must remove it)."""
    if subprocess.run(["id", USER], capture_output=True).returncode == 0:
        return False
    for _ in range(20):  # other test runs may hold the passwd lock for a moment
        res = subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", USER],
                             capture_output=True, text=True)
        if res.returncode == 0:
            break
        if subprocess.run(["id", USER], capture_output=True).returncode == 0:
            return False
        time.sleep(0.25)
    else:
        pytest.skip(f"cannot create test user {USER}: {res.stderr.strip()}")
    # A locked account ("!") is refused when PAM is off; "*" allows key logins only.
    subprocess.run(["usermod", "-p", "*", USER], check=True, capture_output=True)
    return True


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    if os.geteuid() != 0:
        pytest.skip("needs root: starts OpenSSH sshd and creates a login user")
    for tool in (SSHD, SFTP_SERVER, "pgrep", "ps", "useradd"):
        if shutil.which(tool) is None and not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} is not installed (apt-get install openssh-server procps)")
    base = Path(tempfile.mkdtemp(prefix="pverunbook-sshd-"))
    base.chmod(0o755)  # the login user reads authorized_keys below it
    created = _ensure_user(base)
    proc: subprocess.Popen[bytes] | None = None
    try:
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        host_key.write_private_key(str(base / "host_ed25519"))
        (base / "host_ed25519").chmod(0o600)
        client = asyncssh.generate_private_key("ssh-ed25519")
        client.write_private_key(str(base / "id_ed25519"))
        (base / "id_ed25519").chmod(0o600)
        auth = base / "authorized_keys"
        client.write_public_key(str(auth))
        auth.chmod(0o644)
        scratch = base / "scratch"
        scratch.mkdir()
        shutil.chown(scratch, USER)
        port = _free_port()
        log = base / "sshd.log"
        cfg = base / "sshd_config"
        cfg.write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {base / 'host_ed25519'}
AuthorizedKeysFile {auth}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {base / 'sshd.pid'}
LogLevel VERBOSE
MaxSessions 50
MaxStartups 50
Subsystem sftp {SFTP_SERVER}
""")
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([SSHD, "-D", "-f", str(cfg), "-E", str(log)])
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace") if log.exists() else ""
                    pytest.fail(f"sshd did not start: {text}")
                time.sleep(0.05)
        yield Sshd(port=port, pid=proc.pid, dir=base, log=log, user=USER,
                   client_key=base / "id_ed25519", host_key=host_key, scratch=scratch)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # Sessions, stuck sftp-servers and anything a test left behind.
        subprocess.run(["pkill", "-9", "-u", USER], capture_output=True)
        if created:
            for _ in range(20):
                if subprocess.run(["userdel", USER], capture_output=True).returncode == 0:
                    break
                time.sleep(0.25)
        shutil.rmtree(base, ignore_errors=True)
