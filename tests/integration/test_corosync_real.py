"""Agreement with Debian's real corosync 3.1.7.

Every file set_totem/add_link writes must pass ``corosync -t``; every file validate() calls
fatal must be refused by real corosync (by ``corosync -t``, or at start-up for checks that only
run when the services load, e.g. two_node + QDevice). Non-fatal findings must NOT be refused,
so "fatal" keeps meaning "corosync will not run".

``corosync -t`` only checks a file if the host owns one node's ring address, so each run is
made inside a private network namespace that holds 10.213.77.1 on a veth pair created inside
it; /etc/corosync (with an authkey for secauth) is bind-mounted in a private mount namespace.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pverunbook.pve.corosync_conf import (
    CorosyncConf,
    CorosyncParseError,
    add_link,
    parse,
    set_totem,
    validate,
)

COROSYNC = shutil.which("corosync") or "/usr/sbin/corosync"
KEYGEN = shutil.which("corosync-keygen") or "/usr/sbin/corosync-keygen"
IP = shutil.which("ip")
UNSHARE = shutil.which("unshare")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for ip netns and mount namespaces"
    if IP is None or UNSHARE is None:
        return "needs iproute2 (ip netns) and util-linux (unshare)"
    if not (os.access(COROSYNC, os.X_OK) and os.access(KEYGEN, os.X_OK)):
        return "needs corosync and corosync-keygen (apt-get install corosync)"
    probe = subprocess.run([IP, "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"ip netns unusable here: {probe.stderr.strip()}"
    return None


_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

LOCAL = "10.213.77.1"
PEER = "10.213.77.2"


@dataclass
class Node:
    """A network namespace that owns LOCAL, plus a private /etc/corosync with an authkey."""

    ns: str
    etc: Path
    lib: Path
    work: Path

    def _wrap(self, inner: str) -> list[str]:
        assert IP is not None and UNSHARE is not None
        return [IP, "netns", "exec", self.ns, UNSHARE, "-m", "sh", "-c", inner]

    def check(self, text: str) -> subprocess.CompletedProcess[str]:
        """``corosync -t``: parse and check the file, then exit (0 good, 8 bad)."""
        path = self.work / f"t-{secrets.token_hex(4)}.conf"
        path.write_text(text)
        inner = f"mount --bind {self.etc} /etc/corosync && exec {COROSYNC} -t -c {path}"
        return subprocess.run(self._wrap(inner), capture_output=True, text=True, timeout=60)

    def start(self, text: str, seconds: float = 5.0) -> tuple[int | None, str]:
        """Run ``corosync -f`` briefly: exit status if it gave up, None if it kept running."""
        path = self.work / f"s-{secrets.token_hex(4)}.conf"
        path.write_text(text)
        inner = (
            f"mount --bind {self.etc} /etc/corosync && mount --bind {self.lib} /var/lib/corosync"
            f" && mount -t tmpfs tmpfs /run && exec {COROSYNC} -f -c {path}"
        )
        proc = subprocess.Popen(
            self._wrap(inner),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=seconds)
            return proc.returncode, out
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
            return None, out


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    assert IP is not None
    tag = secrets.token_hex(3)
    ns = f"pvrb-cc-{os.getpid()}-{tag}"
    work = tmp_path_factory.mktemp("corosync-real")
    etc, lib = work / "etc", work / "lib"
    etc.mkdir()
    lib.mkdir()
    subprocess.run([IP, "netns", "add", ns], check=True)
    try:
        # Both veth ends are created inside the namespace: nothing touches the host's links.
        for cmd in (
            f"link add cc{tag}a type veth peer name cc{tag}b",
            f"addr add {LOCAL}/24 dev cc{tag}a",
            f"link set cc{tag}a up",
            f"link set cc{tag}b up",
            "link set lo up",
        ):
            subprocess.run([IP, "netns", "exec", ns, IP, *cmd.split()], check=True)
        subprocess.run([KEYGEN, "-l", "-k", str(etc / "authkey")], check=True, capture_output=True)
        yield Node(ns, etc, lib, work)
    finally:
        subprocess.run([IP, "netns", "del", ns], check=False)


def rejected(node: Node, text: str) -> tuple[bool, str]:
    """Does real corosync refuse this file (``-t``, or failing at start-up)?"""
    res = node.check(text)
    if res.returncode != 0:
        return True, res.stderr + res.stdout
    rc, out = node.start(text)
    return rc not in (None, 0), out


def fatal(text: str, previous: CorosyncConf | None = None) -> list[str]:
    try:
        conf = parse(text)
    except CorosyncParseError as exc:
        return [f"parse: {exc.message}"]
    return [p.message for p in validate(conf, previous) if p.severity == "fatal"]


# The cluster from story.md as Proxmox VE 8 writes it, with this namespace's addresses.
BASE = f"""\
logging {{
  debug: off
  to_syslog: yes
}}

nodelist {{
  node {{
    name: pve001
    nodeid: 2
    quorum_votes: 1
    ring0_addr: {PEER}
  }}
  node {{
    name: ryanrishi
    nodeid: 1
    quorum_votes: 1
    ring0_addr: {LOCAL}
  }}
}}

quorum {{
  provider: corosync_votequorum
}}

totem {{
  cluster_name: nyc
  config_version: 5
  interface {{
    linknumber: 0
  }}
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}}
"""

THREE = BASE.replace(
    "}\n\nquorum",
    "  node {\n    name: pve002\n    nodeid: 3\n    quorum_votes: 1\n"
    "    ring0_addr: 10.213.77.3\n  }\n}\n\nquorum",
    1,
)


def story_totem(with_comments: bool) -> str:
    lines = [
        "  token: 5000              # Increased from 3000ms",
        "  token_retransmit: 1000   # Increased from 714ms  ",
        "  token_retransmits_before_loss_const: 10  # Increased from 4",
        "  consensus: 6000          # Increased from 3600ms",
        "  join: 100                # Added",
        "  max_messages: 20         # Added",
    ]
    if not with_comments:
        lines = [line.split("#")[0].rstrip() for line in lines]
    return BASE.replace("  version: 2\n}", "  version: 2\n" + "\n".join(lines) + "\n}")


def totem_with(extra: str, base: str = BASE) -> str:
    return base.replace("  version: 2\n}", f"  version: 2\n{extra}}}")


WRITES = {
    "story values as set_totem writes them": lambda: set_totem(
        parse(BASE),
        {
            "token": "5000",
            "token_retransmits_before_loss_const": "10",
            "consensus": "6000",
            "join": "100",
            "max_messages": "20",
        },
    ),
    "story values incl. token_retransmit": lambda: set_totem(
        parse(BASE), {"token": "5000", "token_retransmit": "1000", "consensus": "6000"}
    ),
    "token 10000": lambda: set_totem(parse(BASE), {"totem.token": "10000"}),
    "token_coefficient on 3 nodes": lambda: set_totem(
        parse(THREE), {"token": "3000", "token_coefficient": "125"}
    ),
    "unset link_mode": lambda: set_totem(parse(BASE), {"link_mode": None}),
    "second link with priority": lambda: add_link(
        parse(BASE), 1, {"pve001": "10.213.78.2", "ryanrishi": "10.213.78.1"}, priority=10
    ),
    "second link, no priority, 3 nodes": lambda: add_link(
        parse(THREE),
        1,
        {"pve001": "10.213.78.2", "ryanrishi": "10.213.78.1", "pve002": "10.213.78.3"},
    ),
    "link then token": lambda: set_totem(
        add_link(parse(BASE), 1, {"pve001": "10.213.78.2", "ryanrishi": "10.213.78.1"}, 20),
        {"token": "4000"},
    ),
}


@pytest.mark.parametrize("case", sorted(WRITES))
def test_written_files_are_accepted(node: Node, case: str) -> None:
    new = WRITES[case]()
    assert not fatal(new.dump())
    res = node.check(new.dump())
    assert res.returncode == 0, f"corosync -t refused {case}:\n{res.stderr}\n{new.dump()}"


FATAL = {
    "story totem block with inline comments": story_totem(with_comments=True),
    "consensus below join": totem_with("  consensus: 3000\n  join: 4000\n"),
    "default consensus below join": totem_with("  join: 4000\n"),
    "udpu with secauth": totem_with("  transport: udpu\n"),
    "udpu with two links": add_link(
        parse(totem_with("  transport: udpu\n").replace("secauth: on", "secauth: off")),
        1,
        {"pve001": "10.213.78.2", "ryanrishi": "10.213.78.1"},
    ).dump(),
    "duplicate nodeid": BASE.replace("nodeid: 2", "nodeid: 1"),
    "missing nodeid": BASE.replace("    nodeid: 2\n", ""),
    "uneven link count": BASE.replace(
        f"ring0_addr: {LOCAL}\n", f"ring0_addr: {LOCAL}\n    ring1_addr: 10.213.78.1\n"
    ),
    "two links without names": add_link(
        parse(BASE), 1, {"pve001": "10.213.78.2", "ryanrishi": "10.213.78.1"}
    )
    .dump()
    .replace("    name: pve001\n", "")
    .replace("    name: ryanrishi\n", ""),
    "totem version 3": BASE.replace("version: 2", "version: 3"),
    "no totem version": BASE.replace("  version: 2\n", ""),
    "token below minimum": totem_with("  token: 20\n"),
    "hold below minimum": totem_with("  token_retransmit: 1000\n  hold: 10\n"),
    "token_warning above 100": totem_with("  token_warning: 101\n"),
    "bad link_mode": BASE.replace("link_mode: passive", "link_mode: fast"),
    "bad ip_version": BASE.replace("ip_version: ipv4-6", "ip_version: ipv5"),
    "cipher without hash": totem_with("  crypto_cipher: aes256\n  crypto_hash: none\n"),
    "non-numeric config_version": BASE.replace("config_version: 5", "config_version: five"),
    "link priority out of range": BASE.replace(
        "linknumber: 0\n", "linknumber: 0\n    knet_link_priority: 300\n"
    ),
    "two_node with a quorum device": BASE.replace(
        "  provider: corosync_votequorum\n",
        "  provider: corosync_votequorum\n  two_node: 1\n  device {\n    model: net\n"
        "    votes: 1\n    net {\n      host: 10.213.77.9\n      algorithm: ffsplit\n    }\n"
        "  }\n",
    ),
    # parser errors (CorosyncParseError)
    "text after {": BASE.replace("interface {\n", "interface { linknumber: 0\n    x: 1\n"),
    "text after }": BASE.replace("  }\n  ip_version", "  } done\n  ip_version"),
    "line without : or braces": BASE.replace("  secauth: on\n", "  secauth on\n"),
    "unbalanced braces": BASE.rstrip("}\n") + "\n",
    "extra closing brace": BASE + "}\n",
    "space in key": BASE.replace("secauth: on", "sec auth: on"),
}


@pytest.mark.parametrize("case", sorted(FATAL))
def test_fatal_files_are_rejected(node: Node, case: str) -> None:
    text = FATAL[case]
    assert fatal(text), f"validate() did not call {case!r} fatal"
    refused, output = rejected(node, text)
    assert refused, f"real corosync accepted {case!r} that validate() calls fatal:\n{output}"


NOT_FATAL = {
    "consensus below 1.2 x token": totem_with("  token: 5000\n  consensus: 5100\n"),
    "story values without comments": story_totem(with_comments=False),
    "udpu without crypto": totem_with("  transport: udpu\n").replace("secauth: on", "secauth: off"),
    "duplicate node name": BASE.replace("name: pve001", "name: ryanrishi"),
    "remote node without ring0_addr": BASE.replace(f"    ring0_addr: {PEER}\n", ""),
    "no cluster_name": BASE.replace("  cluster_name: nyc\n", ""),
    "repeated key": totem_with("  token: 3000\n  token: 4000\n"),
    "comment lines and CRLF": (
        "# header\n" + BASE.replace("  secauth", "  # note\n  secauth")
    ).replace("\n", "\r\n"),
}


@pytest.mark.parametrize("case", sorted(NOT_FATAL))
def test_non_fatal_findings_are_accepted(node: Node, case: str) -> None:
    text = NOT_FATAL[case]
    assert not fatal(text)
    if case != "comment lines and CRLF":  # the one clean file in this set
        assert validate(parse(text)), f"{case}: expected at least a warning"
    res = node.check(text)
    assert res.returncode == 0, f"corosync -t refused {case!r}:\n{res.stderr}"


def test_two_node_qdevice_passes_t_but_fails_start(node: Node) -> None:
    """Why this check must be fatal although ``corosync -t`` accepts the file."""
    text = FATAL["two_node with a quorum device"]
    assert node.check(text).returncode == 0
    rc, out = node.start(text)
    assert rc not in (None, 0)
    assert "two_node and quorum device cannot be configured at the same time" in out


def test_baseline_starts(node: Node) -> None:
    """The harness itself: a good file keeps corosync running until we stop it."""
    rc, out = node.start(BASE, seconds=4)
    assert rc is None, out


def test_cli_set_output_is_accepted(node: Node, tmp_path: Path) -> None:
    src = tmp_path / "corosync.conf"
    src.write_text(BASE)
    out = tmp_path / "corosync.conf.new"
    import argparse

    from pverunbook.commands import corosync as cmd

    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["corosync", "set", str(src), "token=6000", "consensus=", "-o", str(out)]
    )
    assert args.func(args) == 0
    assert node.check(out.read_text()).returncode == 0
    bad = parser.parse_args(["corosync", "set", str(src), "transport=udpu", "-o", str(out)])
    assert bad.func(bad) == 1  # fatal: udpu + secauth; corosync refuses it (see above)


QDEVICE = ("  device {\n    model: net\n    votes: 1\n    net {\n      host: 10.213.77.9\n"
           "      algorithm: ffsplit\n    }\n  }\n")


def with_device(extra: str) -> str:
    return BASE.replace("  provider: corosync_votequorum\n",
                        f"  provider: corosync_votequorum\n{extra}{QDEVICE}")


@pytest.mark.parametrize("extra, said", [
    ("  last_man_standing: 1\n", "quorum.device is not compatible with last_man_standing"),
    ("  auto_tie_breaker: 1\n", "quorum.device is not compatible with auto_tie_breaker"),
    ("  allow_downscale: 1\n", "quorum.device is not compatible with allow_downscale"),
    ("  expected_votes: 2\n", "quorum.device.votes is too high or expected_votes is too low"),
])
def test_quorum_keys_beside_a_qdevice_pass_t_but_fail_start(node: Node, extra: str,
                                                            said: str) -> None:
    """votequorum.c votequorum_readconfig: what qdevice-setup must refuse before pvecm writes
    a device (pvecm.pm setup_qdevice checks none of it). validate() calls it fatal, the
    simulated corosync refuses to start with it and accepts it under -t, as the real one."""
    from pverunbook.sim.corosync_daemon import corosync_check

    text = with_device(extra)
    assert any(said in f for f in fatal(text)), fatal(text)
    assert corosync_check(None, text, b"k") is not None  # type: ignore[arg-type]
    assert corosync_check(None, text, b"k", test_only=True) is None  # type: ignore[arg-type]
    assert node.check(text).returncode == 0
    rc, out = node.start(text)
    assert rc not in (None, 0), out
    assert said in out, out


def test_expected_votes_with_room_for_the_device_starts(node: Node) -> None:
    """expected_votes at least the device votes + 2 is accepted: not fatal, and corosync runs."""
    text = with_device("  expected_votes: 3\n")
    assert not fatal(text)
    rc, out = node.start(text, seconds=4)
    assert rc is None, out
