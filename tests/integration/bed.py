"""A real corosync 3 + OpenSSH test bed in network namespaces (recipes: ../shared/testing.md).

Layout for N nodes (3 by default)::

    switch namespace  (bridge br0, 10.213.0.254/24: where pverunbook runs, the "operator")
      ├── veth ── node namespace "alpha"   10.213.0.1  corosync -f, sshd, own /etc /run /root
      ├── veth ── node namespace "bravo"   10.213.0.2
      └── veth ── node namespace "charlie" 10.213.0.3

Every node is a network namespace plus a mount and UTS namespace (``unshare -m -u``) whose
``hostname`` is the node name. In it: an overlay over ``/etc`` (so the node may have an
``/etc/pve`` without touching the machine's ``/etc``), its own ``/etc/corosync`` (config and the
shared ``authkey`` from ``corosync-keygen -l``), ``/var/lib/corosync``, ``/var/log/corosync``,
a tmpfs ``/run``, an empty ``/root`` (so root's ``.bashrc`` does not cost 150 ms per command),
Debian's real corosync 3 (knet, ``secauth: on``) and a real OpenSSH sshd on the node's address,
so an SSH session sees that node's files and that node's corosync.

Shims, only where a Proxmox tool does not exist on Debian, each saying so in its own text:
``pvecm status`` (a header plus the real ``corosync-quorumtool -siH``), ``pveversion``,
``journalctl`` (corosync's own log file) and ``/etc/pve`` (a plain directory, not pmxcfs).

Names include the pid and a random tag, and every address lives inside the bed's own
namespaces, so parallel runs never collide; the nodes' addresses are reachable only from the
switch namespace, which is where :meth:`Bed.operator` runs pverunbook.

Run by hand (root)::

    python3 -m tests.integration.bed up --nodes 3     # prints the bed directory and how to use it
    python3 -m tests.integration.bed down DIR
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
COROSYNC = shutil.which("corosync") or "/usr/sbin/corosync"
KEYGEN = shutil.which("corosync-keygen") or "/usr/sbin/corosync-keygen"
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"

NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf")
SUBNET = "10.213.0"
OPERATOR_ADDR = f"{SUBNET}.254"
CLUSTER = "bed"
NFT_TABLE = "pvrbbed"


class BedError(RuntimeError):
    """The bed could not be built or a fault could not be applied (message says why)."""


def missing_requirements() -> str | None:
    """Why the bed cannot run here, or None. Used as the skip reason."""
    if os.geteuid() != 0:
        return "needs root (network, mount and UTS namespaces)"
    for tool in (IP, NFT, NSENTER, UNSHARE, COROSYNC, KEYGEN, SSHD, SFTP_SERVER):
        if not os.access(tool, os.X_OK):
            return (f"{tool} is not installed (apt-get install openssh-server corosync "
                    "nftables iproute2 util-linux)")
    for tool in ("corosync-quorumtool", "corosync-cfgtool", "corosync-cmapctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install corosync)"
    if not Path("/var/log/corosync").is_dir():
        return "/var/log/corosync is missing (apt-get install corosync creates it)"
    probe = subprocess.run([IP, "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"ip netns is unusable here: {probe.stderr.strip()}"
    return None


@dataclass
class BedNode:
    name: str
    nodeid: int
    addr: str
    ns: str
    dir: str
    init_pid: int = 0
    corosync_pid: int = 0
    sshd_pid: int = 0
    host_key: str = ""

    @property
    def path(self) -> Path:
        return Path(self.dir)


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 30,
         input: str | None = None) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                         input=input)
    if check and res.returncode != 0:
        raise BedError(f"{' '.join(argv)} exited {res.returncode}: "
                       f"{(res.stderr or res.stdout).strip()}")
    return res


def _alive(pid: int, needle: str = "") -> bool:
    """Whether ``pid`` runs and (if given) its command line contains ``needle``."""
    if pid <= 0:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return needle in cmdline


def _stop(pid: int, needle: str, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; only if the pid is still ours."""
    if not _alive(pid, needle):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid, needle) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if _alive(pid, needle):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not _alive(pid, needle):
            break
        time.sleep(0.02)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# -- shims: only where Proxmox tools do not exist on Debian -------------------------------------

PVECM = """#!/bin/sh
# SHIM (pverunbook test bed): this is Debian's corosync, not Proxmox VE. Only `pvecm status`
# exists here: the header Proxmox prints, then the real `corosync-quorumtool -siH`, which is
# what pvecm status runs (PVE::CLI::pvecm). Anything else is refused.
if [ "$1" != status ]; then
  echo "pvecm (test bed shim): only 'pvecm status' exists here" >&2
  exit 2
fi
name=$(corosync-cmapctl -g totem.cluster_name 2>/dev/null | sed 's/.* = //')
ver=$(corosync-cmapctl -g totem.config_version 2>/dev/null | sed 's/.* = //')
echo "Cluster information"
echo "-------------------"
echo "Name:             ${name:-?}"
echo "Config Version:   ${ver:-?}"
echo "Transport:        knet"
echo "Secure auth:      on"
echo
exec corosync-quorumtool -siH
"""

PVEVERSION = """#!/bin/sh
# SHIM (pverunbook test bed): there is no Proxmox VE here, only Debian's corosync.
echo "pveversion (test bed shim): no Proxmox VE on this node; $(corosync -v | head -n1)"
"""

JOURNALCTL = """#!/bin/sh
# SHIM (pverunbook test bed): no systemd journal here. Prints corosync's own log file
# (/var/log/corosync/corosync.log, written by the real corosync) whatever the arguments;
# -u pve-cluster prints nothing (there is no pmxcfs on the bed).
case " $* " in
  *" -u corosync"*|*"-ucorosync"*|*"--unit=corosync"*|*"--unit corosync"*) ;;
  *) echo "-- No entries --"; exit 0 ;;
esac
echo "-- journalctl (test bed shim): corosync's log file, not the systemd journal --"
cat /var/log/corosync/corosync.log 2>/dev/null
exit 0
"""

PVE_README = """SHIM (pverunbook test bed): this /etc/pve is a plain directory on the node,
not pmxcfs. It is not replicated and never read-only; nothing a test proves may come from it.
"""


def corosync_conf(nodes: Sequence[BedNode], config_version: int = 1,
                  totem_extra: str = "") -> str:
    """The nodes' corosync.conf, laid out like Proxmox VE 8 writes it (pvecm create/add)."""
    nodelist = "".join(
        f"  node {{\n    name: {n.name}\n    nodeid: {n.nodeid}\n    quorum_votes: 1\n"
        f"    ring0_addr: {n.addr}\n  }}\n" for n in nodes)
    return (
        "logging {\n  debug: off\n  to_syslog: no\n  to_stderr: no\n  to_logfile: yes\n"
        "  logfile: /var/log/corosync/corosync.log\n  timestamp: on\n}\n\n"
        f"nodelist {{\n{nodelist}}}\n\n"
        "quorum {\n  provider: corosync_votequorum\n}\n\n"
        f"totem {{\n  cluster_name: {CLUSTER}\n  config_version: {config_version}\n"
        "  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n"
        f"  secauth: on\n  version: 2\n{totem_extra}}}\n"
    )


@dataclass
class Bed:
    """N corosync+sshd nodes; build with :meth:`up`, always :meth:`down` (idempotent)."""

    dir: Path
    size: int = 3
    tag: str = field(default_factory=lambda: f"{os.getpid()}{secrets.token_hex(2)}")
    nodes: list[BedNode] = field(default_factory=list)
    switch_ns: str = ""

    # -- state file, so `down` works from another process -------------------------------------

    @property
    def state_file(self) -> Path:
        return self.dir / "bed.json"

    def save(self) -> None:
        data = {"size": self.size, "tag": self.tag, "switch_ns": self.switch_ns,
                "nodes": [asdict(n) for n in self.nodes]}
        self.state_file.write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, directory: Path) -> Bed:
        data = json.loads((directory / "bed.json").read_text())
        bed = cls(dir=directory, size=data["size"], tag=data["tag"],
                  switch_ns=data["switch_ns"])
        bed.nodes = [BedNode(**n) for n in data["nodes"]]
        return bed

    # -- paths a client needs -------------------------------------------------------------------

    @property
    def home(self) -> Path:
        """A HOME for pverunbook/ssh: ``.ssh/id_ed25519`` is the bed's client key."""
        return self.dir / "home"

    @property
    def inventory(self) -> Path:
        return self.dir / "cluster.toml"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    def node(self, name: str) -> BedNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    # -- building -------------------------------------------------------------------------------

    def up(self, wait: float = 30.0) -> Bed:
        if self.size < 1 or self.size > len(NAMES):
            raise BedError(f"--nodes must be 1..{len(NAMES)}, got {self.size}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.switch_ns = f"pvrb-{self.tag}-sw"
        self.nodes = [
            BedNode(name=NAMES[i], nodeid=i + 1, addr=f"{SUBNET}.{i + 1}",
                    ns=f"pvrb-{self.tag}-{NAMES[i]}", dir=str(self.dir / NAMES[i]))
            for i in range(self.size)
        ]
        self.save()  # before anything exists, so `down` can clean up a half-built bed
        self._keys()
        self._network()
        conf = corosync_conf(self.nodes)
        for n in self.nodes:
            self._node_files(n, conf)
            self._start_node(n)
            self.save()
        for n in self.nodes:
            self.start_corosync(n.name)
            self.start_sshd(n.name)
        self._write_client_files()
        self.save()
        self.wait_quorate(within=wait)
        self.wait_sshd(within=wait)
        return self

    def _keys(self) -> None:
        from pverunbook.about import quiet_known_warnings

        quiet_known_warnings()  # asyncssh's DSA warnings, as the CLI filters them
        import asyncssh

        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        client = asyncssh.generate_private_key("ssh-ed25519", comment="pverunbook-test-bed")
        client.write_private_key(str(ssh / "id_ed25519"))
        (ssh / "id_ed25519").chmod(0o600)
        client.write_public_key(str(ssh / "id_ed25519.pub"))
        client.write_public_key(str(self.dir / "authorized_keys"))
        (self.dir / "authorized_keys").chmod(0o644)
        _run([KEYGEN, "-l", "-k", str(self.dir / "authkey")])
        shims = self.dir / "shims"
        shims.mkdir(exist_ok=True)
        for name, text in (("pvecm", PVECM), ("pveversion", PVEVERSION),
                           ("journalctl", JOURNALCTL)):
            (shims / name).write_text(text)
            (shims / name).chmod(0o755)

    def _network(self) -> None:
        sw = self.switch_ns
        _run([IP, "netns", "add", sw])
        for cmd in ("link set lo up", "link add br0 type bridge", "link set br0 up",
                    f"addr add {OPERATOR_ADDR}/24 dev br0"):
            _run([IP, "-n", sw, *cmd.split()])
        for i, n in enumerate(self.nodes):
            _run([IP, "netns", "add", n.ns])
            # Both ends are created inside the bed's namespaces: the host's links are untouched.
            _run([IP, "-n", n.ns, "link", "add", "eth0", "type", "veth", "peer", "name",
                  f"p{i}", "netns", sw])
            _run([IP, "-n", sw, "link", "set", f"p{i}", "master", "br0", "up"])
            for cmd in ("link set lo up", f"addr add {n.addr}/24 dev eth0", "link set eth0 up"):
                _run([IP, "-n", n.ns, *cmd.split()])

    def _node_files(self, n: BedNode, conf: str) -> None:
        from pverunbook.about import quiet_known_warnings

        quiet_known_warnings()  # asyncssh's DSA warnings, as the CLI filters them
        import asyncssh

        d = n.path
        for sub in ("etc-corosync", "lib-corosync", "log", "root", "overlay", "pve"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "etc-corosync" / "corosync.conf").write_text(conf)
        shutil.copyfile(self.dir / "authkey", d / "etc-corosync" / "authkey")
        (d / "etc-corosync" / "authkey").chmod(0o400)
        key = asyncssh.generate_private_key("ssh-ed25519", comment=n.name)
        key.write_private_key(str(d / "ssh_host_ed25519_key"))
        (d / "ssh_host_ed25519_key").chmod(0o600)
        n.host_key = key.export_public_key("openssh").decode().strip()
        (d / "sshd_config").write_text(
            f"ListenAddress {n.addr}\nPort 22\nHostKey {d / 'ssh_host_ed25519_key'}\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "PidFile /run/sshd.pid\nLogLevel VERBOSE\nMaxSessions 50\nMaxStartups 50\n"
            "SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            f"Subsystem sftp {SFTP_SERVER}\n")
        pve = d / "pve"
        (pve / "README.shim").write_text(PVE_README)
        (pve / "corosync.conf").write_text(conf)
        for other in self.nodes:
            (pve / "nodes" / other.name).mkdir(parents=True, exist_ok=True)

    def _start_node(self, n: BedNode) -> None:
        d = n.path
        setup = " && ".join([
            "mount --make-rprivate /",
            f"hostname {n.name}",
            f"mount -t tmpfs tmpfs {d / 'overlay'}",
            f"mkdir -p {d / 'overlay/u'} {d / 'overlay/w'}",
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={d / 'overlay/u'},"
            f"workdir={d / 'overlay/w'} /etc",
            "mkdir -p /etc/pve",
            f"mount --bind {d / 'pve'} /etc/pve",
            f"mount --bind {d / 'etc-corosync'} /etc/corosync",
            f"mount --bind {d / 'lib-corosync'} /var/lib/corosync",
            f"mount --bind {d / 'log'} /var/log/corosync",
            f"mount --bind {d / 'root'} /root",
            f"mount --bind {self.dir / 'shims'} /usr/local/sbin",
            "mount -t tmpfs tmpfs /run",
            "mkdir -p /run/sshd",
            "echo ready",
            "exec sleep infinity",
        ])
        with (d / "init.err").open("w") as err:
            proc = subprocess.Popen(
                [IP, "netns", "exec", n.ns, UNSHARE, "-m", "-u", "--fork", "--kill-child",
                 "sh", "-c", setup],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            proc.wait(timeout=5)
            raise BedError(f"node {n.name}: namespace setup failed: "
                           f"{(d / 'init.err').read_text().strip()}")
        proc.stdout.close()
        # The namespaces belong to the `sleep` that unshare forked; nsenter targets it.
        n.init_pid = self._sleeper(proc.pid)

    @staticmethod
    def _sleeper(unshare_pid: int) -> int:
        for _ in range(100):
            for task in Path(f"/proc/{unshare_pid}/task").iterdir():
                kids = (task / "children").read_text().split()
                for kid in kids:
                    if _alive(int(kid), "sleep"):
                        return int(kid)
            time.sleep(0.02)
        raise BedError(f"the node's init process under pid {unshare_pid} did not start")

    def _enter(self, n: BedNode) -> list[str]:
        return [NSENTER, "-t", str(n.init_pid), "-n", "-m", "-u", "--"]

    def _write_client_files(self) -> None:
        lines = [f'[cluster]\nname = "{CLUSTER}"\n']
        for n in self.nodes:
            lines.append(
                f'[[nodes]]\nname = "{n.name}"\nhost = "{n.addr}"\naddr = "{n.addr}"\n'
                f'port = 22\nuser = "root"\nhost_key = "{n.host_key}"\n')
        self.inventory.write_text("\n".join(lines))
        known = "".join(f"{n.addr} {n.host_key}\n" for n in self.nodes)
        (self.dir / "known_hosts").write_text(known)
        self.ssh_config.write_text("".join(
            f"Host {n.name}\n  HostName {n.addr}\n  User root\n"
            f"  IdentityFile {self.home / '.ssh/id_ed25519'}\n"
            f"  UserKnownHostsFile {self.dir / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
            for n in self.nodes))

    # -- running things -------------------------------------------------------------------------

    def on(self, name: str, argv: Sequence[str] | str, *, check: bool = False,
           timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command on a node as its own processes would (its namespaces, no SSH)."""
        args = ["sh", "-c", argv] if isinstance(argv, str) else list(argv)
        return _run([*self._enter(self.node(name)), *args], check=check, timeout=timeout)

    def operator(self, argv: Sequence[str], *, timeout: float = 600,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a program in the switch namespace, the only place the nodes are reachable from,
        with HOME set to the bed's (its ``.ssh/id_ed25519`` logs in as root on every node)."""
        full_env = {**os.environ, **(env or {}), "HOME": str(self.home)}
        return subprocess.run([IP, "netns", "exec", self.switch_ns, *argv], capture_output=True,
                              text=True, timeout=timeout, env=full_env)

    def start_corosync(self, name: str) -> None:
        n = self.node(name)
        if _alive(n.corosync_pid, "corosync"):
            return
        with (n.path / "corosync.out").open("a") as out:
            proc = subprocess.Popen([*self._enter(n), COROSYNC, "-f"], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=out, start_new_session=True)
        n.corosync_pid = proc.pid
        self.save()

    def stop_corosync(self, name: str) -> None:
        """SIGTERM: corosync leaves the membership the way ``systemctl stop corosync`` does."""
        n = self.node(name)
        _stop(n.corosync_pid, "corosync", grace=10)
        n.corosync_pid = 0
        self.save()

    def start_sshd(self, name: str) -> None:
        n = self.node(name)
        if _alive(n.sshd_pid, "sshd"):
            return
        proc = subprocess.Popen(
            [*self._enter(n), SSHD, "-D", "-f", str(n.path / "sshd_config"),
             "-E", str(n.path / "sshd.log")], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        n.sshd_pid = proc.pid
        self.save()

    def stop_sshd(self, name: str) -> None:
        """Stop the listening sshd: new logins fail, sessions already open go on."""
        n = self.node(name)
        _stop(n.sshd_pid, "sshd")
        n.sshd_pid = 0
        self.save()

    def session_pids(self, name: str) -> list[int]:
        """The per-connection sshd processes of a node (children of its listening sshd)."""
        n = self.node(name)
        res = _run(["ps", "-o", "pid=", "--ppid", str(n.sshd_pid)], check=False)
        return [int(x) for x in res.stdout.split()]

    def kill_sessions(self, name: str) -> int:
        """Kill every open SSH session to the node (SIGKILL), as a crash of the node would."""
        pids = self.session_pids(name)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    # -- faults on one pair ---------------------------------------------------------------------

    def _nft(self, name: str, rule: str) -> None:
        n = self.node(name)
        base = [IP, "netns", "exec", n.ns, NFT]
        if _run([*base, "list", "table", "inet", NFT_TABLE], check=False).returncode != 0:
            _run([*base, "add", "table", "inet", NFT_TABLE])
            _run([*base, f"add chain inet {NFT_TABLE} out {{ type filter hook output "
                  "priority 0; policy accept; }"])
        _run([*base, f"add rule inet {NFT_TABLE} out {rule}"])

    def drop(self, a: str, b: str, percent: int) -> None:
        """Drop ``percent``% (1..100) of corosync's UDP (port 5405) between a and b, both ways.

        ICMP and everything else between them pass: what a firewall or rate limit does."""
        if not 1 <= percent <= 100:
            raise BedError(f"percent must be 1..100, got {percent}")
        for src, dst in ((a, b), (b, a)):
            peer = self.node(dst).addr
            if percent >= 100:
                self._nft(src, f"ip daddr {peer} udp dport 5405 drop")
            else:
                self._nft(src, f"ip daddr {peer} udp dport 5405 numgen random mod 100 "
                          f"< {percent} drop")

    def cut(self, a: str, b: str) -> None:
        """Cut the link between a and b: every packet between them is dropped, both ways."""
        for src, dst in ((a, b), (b, a)):
            self._nft(src, f"ip daddr {self.node(dst).addr} drop")

    def heal(self) -> None:
        """Remove every injected network fault on every node."""
        for n in self.nodes:
            _run([IP, "netns", "exec", n.ns, NFT, "delete", "table", "inet", NFT_TABLE],
                 check=False)

    # -- observing ------------------------------------------------------------------------------

    def quorum(self, name: str) -> tuple[bool, int]:
        """(quorate, members) as ``corosync-quorumtool -s`` on that node says."""
        try:
            res = self.on(name, ["corosync-quorumtool", "-s"], timeout=10)
        except subprocess.TimeoutExpired:
            return False, 0  # corosync busy re-forming its membership: not known yet
        quorate = re.search(r"^Quorate:\s+Yes", res.stdout, re.M) is not None
        m = re.search(r"^Nodes:\s+(\d+)", res.stdout, re.M)
        return quorate, int(m.group(1)) if m else 0

    def wait_quorate(self, names: Sequence[str] | None = None, members: int | None = None,
                     within: float = 30.0) -> None:
        """Until every named node (default all) is quorate with ``members`` (default all)."""
        names = list(names or [n.name for n in self.nodes])
        members = members if members is not None else len(names)
        deadline = time.monotonic() + within
        state: dict[str, tuple[bool, int]] = {}
        while time.monotonic() < deadline:
            state = {name: self.quorum(name) for name in names}
            if all(q and m == members for q, m in state.values()):
                return
            time.sleep(0.2)
        raise BedError(f"not quorate with {members} members after {within:g}s: {state}; "
                       f"logs in {self.dir}/<node>/log/corosync.log")

    def wait_sshd(self, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        for n in self.nodes:
            log = n.path / "sshd.log"
            while "Server listening on" not in (log.read_text() if log.exists() else ""):
                if time.monotonic() > deadline or not _alive(n.sshd_pid, "sshd"):
                    raise BedError(f"sshd on {n.name} did not start: "
                                   f"{log.read_text() if log.exists() else 'no log'}")
                time.sleep(0.05)

    def log(self, name: str) -> str:
        return (self.node(name).path / "log" / "corosync.log").read_text(errors="replace")

    def memberships(self, name: str) -> int:
        """How many new memberships the node's corosync formed so far (from its log)."""
        return self.log(name).count("was formed")

    # -- teardown -------------------------------------------------------------------------------

    def down(self) -> None:
        """Stop everything the bed started and delete its namespaces; safe to call twice."""
        for n in self.nodes:
            _stop(n.sshd_pid, "sshd")
            _stop(n.corosync_pid, "corosync", grace=5)
            _stop(n.init_pid, "sleep", grace=2)
        for ns in [n.ns for n in self.nodes] + [self.switch_ns]:
            if ns and Path(f"/run/netns/{ns}").exists():
                _run([IP, "netns", "del", ns], check=False)
        for n in self.nodes:
            n.corosync_pid = n.sshd_pid = n.init_pid = 0
        if self.dir.exists():
            self.save()


def _usage_text(bed: Bed) -> str:
    sw = bed.switch_ns
    first = bed.nodes[0].name
    return f"""\
test bed up: {len(bed.nodes)} nodes in {bed.dir}
  {", ".join(f"{n.name} {n.addr}" for n in bed.nodes)}
The nodes are reachable only from the switch namespace {sw}:
  ip netns exec {sw} ssh -F {bed.ssh_config} {first} corosync-cfgtool -s
  ip netns exec {sw} env HOME={bed.home} python3 -m pverunbook run network-triage \\
      --cluster {bed.inventory} --headless
A node's own view without SSH:  nsenter -t {bed.nodes[0].init_pid} -n -m -u -- pvecm status
corosync logs: {bed.dir}/<node>/log/corosync.log
Tear down:  python3 -m tests.integration.bed down {bed.dir}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.integration.bed",
                                     description="real corosync + sshd nodes in namespaces")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a bed and leave it running")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--dir", type=Path, help="where to keep it (default: a new temp dir)")
    down = sub.add_parser("down", help="tear a bed down")
    down.add_argument("dir", type=Path)
    fault = sub.add_parser("fault", help="inject a fault between two nodes, or heal all")
    fault.add_argument("dir", type=Path)
    fault.add_argument("kind", choices=["drop", "cut", "heal", "stop-corosync",
                                        "start-corosync", "stop-sshd", "start-sshd"])
    fault.add_argument("nodes", nargs="*")
    fault.add_argument("--percent", type=int, default=15)
    args = parser.parse_args(argv)
    why = missing_requirements()
    if why is not None:
        print(f"error: the test bed {why}", file=sys.stderr)
        return 2
    try:
        if args.cmd == "up":
            import tempfile

            directory = args.dir or Path(tempfile.mkdtemp(prefix="pverunbook-bed-"))
            bed = Bed(dir=directory.resolve(), size=args.nodes)
            try:
                bed.up()
            except BaseException:
                bed.down()
                raise
            print(_usage_text(bed))
            return 0
        bed = Bed.load(args.dir.resolve())
        if args.cmd == "down":
            bed.down()
            shutil.rmtree(bed.dir, ignore_errors=True)
            print(f"test bed in {bed.dir} is down")
            return 0
        k, names = args.kind, args.nodes
        if k in ("drop", "cut") and len(names) != 2:
            parser.error(f"{k} needs two node names")
        if k == "drop":
            bed.drop(names[0], names[1], args.percent)
        elif k == "cut":
            bed.cut(names[0], names[1])
        elif k == "heal":
            bed.heal()
        else:
            for name in names:
                getattr(bed, k.replace("-", "_"))(name)
        return 0
    except (BedError, KeyError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: test bed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
