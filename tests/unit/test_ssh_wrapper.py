"""The kill-protocol wrapper: exact round trip, and it behaves like the bare command under sh."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pverunbook.transport.wrapper import unwrap_command, wrap_command

HOSTILE = [
    "echo hello",
    "",
    "echo 'single' \"double\" `echo back` $(echo sub) $HOME \\ \\\\",
    "printf '%s\\n' \"it's\"; echo \"a'b\"\"c\"",
    "echo one\necho two\n\n",
    "-x",
    "echo ';' '&&' '||' '|' '>' '<' '#' '!' '*' '?' '[' ']' '{' '}' '~'",
    "echo 'unterminated",
    "echo ünïcödé ✓ \t tab",
    "exit 3",
]


@pytest.mark.parametrize("command", HOSTILE)
def test_round_trip(command: str) -> None:
    wrapped = wrap_command(command)
    assert unwrap_command(wrapped) == command
    assert wrapped != command


@pytest.mark.parametrize("sent", [
    "echo hello",
    "",
    "exec /bin/sh -c 'something else' pverunbook-run 'echo hi'",
    wrap_command("echo hi") + " extra",
    wrap_command("echo hi") + "'",
    wrap_command("echo hi")[:-1],
])
def test_unwrap_rejects_other_commands(sent: str) -> None:
    assert unwrap_command(sent) is None


def _sh(wrapped: str) -> subprocess.CompletedProcess[bytes]:
    # sshd runs `$SHELL -c <sent>`; /bin/sh stands in for the login shell here.
    # The control stdin stays open (we hold the pipe's write end): EOF would mean "kill".
    r, w = os.pipe()
    try:
        return subprocess.run(["/bin/sh", "-c", wrapped], stdin=r, capture_output=True,
                              timeout=30)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("command", [c for c in HOSTILE if c != "echo 'unterminated"])
def test_wrapped_runs_like_the_bare_command(command: str) -> None:
    bare = subprocess.run(["/bin/sh", "-c", "--", command], input=b"", capture_output=True,
                          timeout=30)
    wrapped = _sh(wrap_command(command))
    assert wrapped.returncode == bare.returncode
    assert wrapped.stdout == bare.stdout
    if command != "-x":  # the shell names itself differently in the "not found" message
        assert wrapped.stderr == bare.stderr


def test_exit_status_and_streams_are_the_inner_commands() -> None:
    res = _sh(wrap_command("echo out; echo err >&2; exit 42"))
    assert (res.returncode, res.stdout, res.stderr) == (42, b"out\n", b"err\n")


def test_inner_command_does_not_see_the_control_stdin() -> None:
    proc = subprocess.Popen(["/bin/sh", "-c", wrap_command("cat; echo done")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"secret\n")
    proc.stdin.flush()  # kept open: EOF on the control stdin would mean "kill"
    try:
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == b"done\n"
    finally:
        proc.stdin.close()


def _alive(marker: str) -> bool:
    if shutil.which("pgrep") is None:
        pytest.skip("pgrep is not installed")
    # Anchored: the wrapper's own argv carries the inner command text too.
    return subprocess.run(["pgrep", "-f", "^" + marker], capture_output=True).returncode == 0


@pytest.mark.parametrize("leader", [True, False], ids=["own-group", "shared-group"])
@pytest.mark.parametrize("inner", ["sleep {m}", "sleep {m}; echo never", "sh -c 'sleep {m}'; :",
                                   "sleep {m} & sleep {m}"])
def test_stdin_eof_kills_the_whole_command(inner: str, leader: bool) -> None:
    """own-group: how sshd starts a session (the fast path kills group 0); shared-group: a
    server that does not, where the wrapper makes a group with setsid."""
    marker = f"600.{uuid.uuid4().int % 10**6}"
    proc = subprocess.Popen(["/bin/sh", "-c", wrap_command(inner.format(m=marker))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=leader)
    try:
        deadline = time.monotonic() + 5
        while not _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        assert proc.stdin is not None
        proc.stdin.close()  # what the client's EOF (or a dropped connection) looks like
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline, "the command outlived stdin EOF"
            time.sleep(0.05)
        assert proc.stdout is not None
        assert b"never" not in proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9) if leader else proc.kill()
        subprocess.run(["pkill", "-f", f"sleep {marker}"], capture_output=True)


@pytest.mark.parametrize("leader", [True, False], ids=["own-group", "shared-group"])
def test_the_fast_path_is_taken_exactly_when_the_shell_leads_its_group(leader: bool) -> None:
    """sshd's sessions lead their group: the command then runs in the wrapper's own group (no
    setsid); a shell that leads none puts the command in a group of its own (setsid)."""
    proc = subprocess.Popen(["/bin/sh", "-c", wrap_command("cat /proc/self/stat")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            start_new_session=leader)
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()  # the control stdin stays open: EOF would mean "kill"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
    pgid = int(out.rsplit(b")", 1)[1].split()[2])
    # `/bin/sh -c "exec /bin/sh -c ..."` keeps its pid: proc.pid is the wrapper shell's.
    if leader:
        assert pgid == proc.pid
    else:
        assert pgid not in (proc.pid, os.getpgid(0))


def test_fallback_without_setsid_kills_the_process_tree(tmp_path: Path) -> None:
    """Where setsid is missing the wrapper walks the tree with POSIX ps instead."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sleep", "ps", "cat"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (bindir / tool).symlink_to(found)
    marker = f"600.{uuid.uuid4().int % 10**6}"
    env = {"PATH": str(bindir)}
    # Not a group leader (no session of its own), and no setsid: the ps walk is all there is.
    proc = subprocess.Popen(["/bin/sh", "-c", wrap_command(f"sleep {marker} & sleep {marker}")],
                            stdin=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 5
        while not _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline, "the command outlived stdin EOF"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["pkill", "-f", f"sleep {marker}"], capture_output=True)


def test_signal_to_the_wrapper_group_still_kills_the_command() -> None:
    """sshd answers an SSH "signal" request with killpg() on the wrapper's group."""
    marker = f"600.{uuid.uuid4().int % 10**6}"
    proc = subprocess.Popen(["/bin/sh", "-c", wrap_command(f"sleep {marker}")],
                            stdin=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while not _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        # The session's group is the command's (fast path): the signal reached it too, and the
        # watcher, which ignores TERM, still answers the EOF that always follows.
        assert proc.stdin is not None
        proc.stdin.close()
        deadline = time.monotonic() + 5
        while _alive(f"sleep {marker}"):
            assert time.monotonic() < deadline, "the watcher died with the wrapper shell"
            time.sleep(0.05)
    finally:
        subprocess.run(["pkill", "-f", f"sleep {marker}"], capture_output=True)


def test_known_hosts_parsed_once_per_version_of_the_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncssh

    from pverunbook.transport import hostkeys as ssh

    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"pve1 {key}\n")
    calls: list[object] = []
    real = asyncssh.read_known_hosts
    monkeypatch.setattr(ssh.asyncssh, "read_known_hosts", lambda f: calls.append(f) or real(f))
    for _ in range(5):
        assert ssh._read_known_hosts([str(kh)]).match("pve1", "", None)[0]
    assert len(calls) == 1
    with open(kh, "a") as fh:  # a key appended later (ssh, or an accepted key) is seen
        fh.write(f"pve2 {key}\n")
    assert ssh._read_known_hosts([str(kh)]).match("pve2", "", None)[0]
    assert len(calls) == 2
