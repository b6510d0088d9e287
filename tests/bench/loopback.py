"""An OpenSSH sshd on loopback for the benchmarks: N node names, one server, a /bin/sh user.

The login user's shell is /bin/sh and it has no rc files, so a command costs what the SSH
channel and the command cost — not root's ``.bashrc`` (~150 ms a command on this image). One
fan-out row asks for a bash user instead (root's login shell on a Proxmox VE node), still
without rc files of its own.
Every node name is an alias in a generated ``ssh_config`` (HostName 127.0.0.1, the port, the
key, one HostKeyAlias with the host key pinned), so ``ssh``, parallel-ssh and Ansible reach the
very same server as pverunbook. Needs root (creates the user, starts sshd); loopback only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from pverunbook.inventory import Cluster, Node

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
USER = "pvrbbench"


@dataclass(frozen=True)
class Loopback:
    port: int
    user: str
    dir: Path
    client_key: Path
    host_key_line: str
    ssh_config: Path
    home: Path  # the login user's home: writable, also where trees to checkpoint live
    shell: str = "/bin/sh"  # the login user's shell

    def login_is_sh(self) -> bool:
        """Whether the login shell is /bin/sh itself (pverunbook then sends no exec)."""
        return os.path.realpath(self.shell) == os.path.realpath("/bin/sh")

    def nodes(self, n: int) -> list[Node]:
        return [Node(name=f"n{i}", host="127.0.0.1", port=self.port, user=self.user,
                     host_key=self.host_key_line) for i in range(n)]

    def cluster(self, n: int) -> Cluster:
        return Cluster("bench", tuple(self.nodes(n)))

    def hosts_file(self, n: int) -> Path:
        path = self.dir / f"hosts-{n}"
        path.write_text("".join(f"n{i}\n" for i in range(n)))
        return path

    def server_cpu(self) -> float:
        """CPU seconds used so far by this user's sshd sessions and what they ran and reaped.

        The nodes' side of a row, on the same cores as the client: each connection's
        ``sshd: user@notty`` process (its commands are its children) and the privileged
        monitor above it, user + system time of their own and of their reaped children
        (/proc/<pid>/stat fields 14-17). A process nobody reaps (the kill wrapper's watcher,
        killed as its command ends) goes to init and is not counted.
        """
        uid = pwd.getpwnam(self.user).pw_uid
        pids: set[str] = set()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.stat(f"/proc/{pid}").st_uid != uid or \
                        not Path(f"/proc/{pid}/comm").read_text().startswith("sshd"):
                    continue
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:  # gone meanwhile
                continue
            pids |= {pid, stat.rsplit(")", 1)[1].split()[1]}
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += sum(int(x) for x in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def loopback_sshd(max_nodes: int = 64, shell: str = "/bin/sh") -> Iterator[Loopback]:
    """Start sshd and the user (login shell ``shell``); tear both down afterwards."""
    if os.geteuid() != 0 or not os.access(SSHD, os.X_OK):
        raise RuntimeError("needs root and OpenSSH's sshd (apt-get install openssh-server)")
    # A login user of this run's own: two benchmark runs at once (several people share the
    # machine) would otherwise fight over one user, and each run's teardown (pkill -u) would
    # kill the other's sessions mid-row.
    user = f"{USER}{os.getpid()}{'' if shell == '/bin/sh' else Path(shell).name[0]}"
    base = Path(tempfile.mkdtemp(prefix="pverunbook-bench-"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir()
    created = subprocess.run(["id", user], capture_output=True).returncode != 0
    if created:
        subprocess.run(["useradd", "-M", "-d", str(home), "-s", shell, user], check=True)
        subprocess.run(["usermod", "-p", "*", user], check=True)
    else:
        subprocess.run(["usermod", "-d", str(home), "-s", shell, user], check=True)
    shutil.chown(home, user)
    proc: subprocess.Popen[bytes] | None = None
    try:
        host = asyncssh.generate_private_key("ssh-ed25519")
        host.write_private_key(str(base / "host"))
        (base / "host").chmod(0o600)
        client = asyncssh.generate_private_key("ssh-ed25519")
        client.write_private_key(str(base / "id"))
        (base / "id").chmod(0o600)
        client.write_public_key(str(base / "authorized_keys"))
        (base / "authorized_keys").chmod(0o644)
        port = _free_port()
        host_line = host.export_public_key("openssh").decode().strip()
        (base / "known_hosts").write_text(f"bench {host_line}\n")
        cfg = base / "ssh_config"
        cfg.write_text(
            "Host n*\n  HostName 127.0.0.1\n"
            f"  Port {port}\n  User {user}\n  IdentityFile {base / 'id'}\n"
            f"  IdentitiesOnly yes\n  HostKeyAlias bench\n"
            f"  UserKnownHostsFile {base / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n  LogLevel ERROR\n")
        (base / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base / 'host'}\n"
            f"AuthorizedKeysFile {base / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"PidFile {base / 'sshd.pid'}\nMaxSessions {max_nodes * 4}\n"
            f"MaxStartups {max_nodes * 4}\nSubsystem sftp {SFTP_SERVER}\n")
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([SSHD, "-D", "-f", str(base / "sshd_config"),
                                 "-E", str(base / "sshd.log")])
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("sshd did not start: " + (base / "sshd.log").read_text(
                        errors="replace")) from exc
                time.sleep(0.05)
        yield Loopback(port, user, base, base / "id", host_line, cfg, home, shell)
    finally:
        if proc is not None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
        subprocess.run(["pkill", "-9", "-u", user], capture_output=True)
        if created:
            subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
