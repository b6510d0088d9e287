"""The kill protocol: marked commands run like the bare command under sh; the guardian stops
exactly the commands it is told to, and at end-of-file every running one of its connection."""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pverunbook.transport.wrapper import (
    LOGIN_OTHER,
    LOGIN_POSIX,
    LOGIN_SH,
    guard_command,
    login_shell,
    parse_guard_command,
    stop_line,
    unwrap_command,
    wrap_command,
)

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


LINK = "0123456789ab"


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
@pytest.mark.parametrize("command", HOSTILE)
def test_round_trip(command: str, login: str) -> None:
    wrapped = wrap_command(command, f"{LINK}.7", login=login)
    assert unwrap_command(wrapped) == (command, f"{LINK}.7")
    assert wrapped != command


@pytest.mark.parametrize(("lines", "kind"), [
    ("/usr/bin/dash\n/usr/bin/dash\n", LOGIN_SH), ("/usr/bin/bash\n/usr/bin/dash\n", LOGIN_POSIX),
    ("/usr/bin/zsh\n/usr/bin/dash\n", LOGIN_POSIX), ("/usr/bin/fish\n/usr/bin/dash\n", LOGIN_OTHER),
    ("/usr/bin/tcsh\n/usr/bin/dash\n", LOGIN_OTHER), ("/bin/csh\n/usr/bin/dash\n", LOGIN_OTHER),
    ("/usr/bin/dash\n", LOGIN_POSIX), ("", LOGIN_POSIX), ("\n\n", LOGIN_POSIX),
    ("readlink: not found\nreadlink: not found\n", LOGIN_POSIX)])
def test_the_login_shells_kind_comes_from_the_guardians_two_lines(lines: str, kind: str) -> None:
    assert login_shell(lines) == kind


@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_the_guardian_says_which_programs_the_shells_are(shell: str) -> None:
    """sshd sets $SHELL to the login shell and runs the guardian with it."""
    proc = subprocess.Popen([shell, "-c", guard_command(LINK)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "SHELL": shell})
    out, _ = proc.communicate(b"", timeout=30)
    login, sh = out.decode().splitlines()
    assert (login, sh) == (os.path.realpath(shell), os.path.realpath("/bin/sh"))
    assert login_shell(out.decode()) == (LOGIN_SH if login == sh else LOGIN_POSIX)


@pytest.mark.parametrize("sent", [
    "echo hello",
    "",
    "exec /bin/sh -c -- 'echo hi' </dev/null",
    f"PVERUNBOOK_RUN={LINK}.1.$$ exec /bin/sh -c -- 'echo hi'",
    f"PVERUNBOOK_RUN={LINK}.$$ exec /bin/sh -c -- 'echo hi' </dev/null",
    f"exec </dev/null; export PVERUNBOOK_RUN={LINK}.1; echo hi",
    f"export PVERUNBOOK_RUN={LINK}.1.$$; echo hi",
    f"exec </dev/null; export PVERUNBOOK_RUN={LINK}.x.$$; echo hi",
    f"exec /bin/sh -c -- 'export PVERUNBOOK_RUN={LINK}.1; echo hi' </dev/null",
    f"exec /bin/sh -c -- 'export PVERUNBOOK_RUN={LINK}.1.$$; echo hi'",
    wrap_command("echo hi", f"{LINK}.1") + " extra",
    wrap_command("echo hi", f"{LINK}.1").replace("</dev/null", "'</dev/null"),
    wrap_command("echo hi", f"{LINK}.1")[:-1],
    wrap_command("echo hi", f"{LINK}.1").replace("'echo hi'", "'echo' 'hi'"),
])
def test_unwrap_rejects_other_commands(sent: str) -> None:
    assert unwrap_command(sent) is None


@pytest.mark.parametrize("bad", ["", "x.1", f"{LINK}", f"{LINK}.1;rm", f"{LINK.upper()}.1",
                                 f"{LINK}.1 ", f"{LINK}.-1"])
def test_tokens_and_links_are_checked(bad: str) -> None:
    with pytest.raises(ValueError):
        wrap_command("true", bad)
    with pytest.raises(ValueError):
        stop_line(bad)


def test_guard_command_round_trip() -> None:
    assert parse_guard_command(guard_command(LINK)) == LINK
    assert parse_guard_command(guard_command(LINK) + ";x") is None
    assert parse_guard_command(wrap_command("true", f"{LINK}.1")) is None
    with pytest.raises(ValueError):
        guard_command("not hex")


def _session(sent: str, **kw: object) -> subprocess.Popen[bytes]:
    """Run ``sent`` as sshd runs a session: ``$SHELL -c sent`` in a session of its own
    (session.c do_exec_no_pty → setsid); /bin/sh stands in for the login shell."""
    return subprocess.Popen(["/bin/sh", "-c", sent], start_new_session=True,
                            **kw)  # type: ignore[call-overload]


def _sh(sent: str) -> subprocess.CompletedProcess[bytes]:
    # The channel's stdin stays open (we hold the pipe's write end), as the client keeps it.
    r, w = os.pipe()
    try:
        return subprocess.run(["/bin/sh", "-c", sent], stdin=r, capture_output=True, timeout=30,
                              start_new_session=True)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
@pytest.mark.parametrize("command", [c for c in HOSTILE if c != "echo 'unterminated"])
def test_wrapped_runs_like_the_bare_command(command: str, login: str) -> None:
    bare = subprocess.run(["/bin/sh", "-c", "--", command], input=b"", capture_output=True,
                          timeout=30)
    wrapped = _sh(wrap_command(command, f"{LINK}.1", login=login))
    assert wrapped.returncode == bare.returncode
    assert wrapped.stdout == bare.stdout
    if command != "-x":  # sh names itself differently in the "not found" message
        assert wrapped.stderr == bare.stderr


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
def test_exit_status_and_streams_are_the_inner_commands(login: str) -> None:
    res = _sh(wrap_command("echo out; echo err >&2; exit 42", f"{LINK}.1", login=login))
    assert (res.returncode, res.stdout, res.stderr) == (42, b"out\n", b"err\n")


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
def test_the_command_runs_marked_as_the_session_leader(login: str) -> None:
    """The marker names the session the command leads, which the guardian checks."""
    res = _sh(wrap_command('echo "$PVERUNBOOK_RUN $$"; cat /proc/self/stat', f"{LINK}.3",
                           login=login))
    line, stat = res.stdout.decode().split("\n", 1)
    mark, pid = line.split()
    assert mark == f"{LINK}.3.{pid}"
    fields = stat.rsplit(")", 1)[1].split()
    assert fields[2] == fields[3] == pid  # process group and session: the shell's own


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
def test_inner_command_does_not_see_the_channels_stdin(login: str) -> None:
    proc = _session(wrap_command("cat; echo done", f"{LINK}.1", login=login),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(BrokenPipeError):  # the command may be done already
        proc.stdin.write(b"secret\n")
        proc.stdin.flush()  # kept open: the command's stdin is /dev/null all the same
    try:
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == b"done\n"
    finally:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()


def _alive(marker: str) -> bool:
    if shutil.which("pgrep") is None:
        pytest.skip("pgrep is not installed")
    # Anchored: the sh -c argv carries the inner command text too.
    return subprocess.run(["pgrep", "-f", "^" + marker], capture_output=True).returncode == 0


def _until(cond: Callable[[], bool], what: str, within: float = 8) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


class _Link:
    """A guardian and the commands of one connection, started as sshd starts sessions."""

    def __init__(self, link: str | None = None, *, login: str = LOGIN_POSIX) -> None:
        # Random, as the transport's are: tests running side by side must not share one.
        self.link = link or secrets.token_hex(6)
        self.login = login
        self.n = 0
        self.guard = _session(guard_command(self.link), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
        self.procs: list[subprocess.Popen[bytes]] = []

    def run(self, command: str) -> tuple[str, subprocess.Popen[bytes]]:
        self.n += 1
        token = f"{self.link}.{self.n}"
        proc = _session(wrap_command(command, token, login=self.login),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return token, proc

    def send(self, data: bytes) -> None:
        assert self.guard.stdin is not None
        self.guard.stdin.write(data)
        self.guard.stdin.flush()

    def end(self) -> None:
        """What the guardian sees when the connection closes or dies: end-of-file."""
        assert self.guard.stdin is not None
        self.guard.stdin.close()

    def cleanup(self, *markers: str) -> None:
        if self.guard.stdin is not None and not self.guard.stdin.closed:
            self.guard.stdin.close()
        for p in [self.guard, *self.procs]:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, 9)
        for m in markers:
            subprocess.run(["pkill", "-f", m], capture_output=True)


def _m() -> str:
    return f"600.{uuid.uuid4().int % 10**6}"


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
@pytest.mark.parametrize("inner", ["sleep {m}", "sleep {m}; echo never", "sh -c 'sleep {m}'; :",
                                   "sleep {m} & sleep {m}", "sleep {m} | cat"])
def test_stop_kills_the_whole_command_and_nothing_else(inner: str, login: str) -> None:
    m, other = _m(), _m()
    g = _Link(login=login)
    try:
        token, proc = g.run(inner.format(m=m))
        _, bystander = g.run(f"sleep {other}")
        _until(lambda: _alive(f"sleep {m}") and _alive(f"sleep {other}"), "never started")
        g.send(stop_line(token))
        assert proc.wait(timeout=10) < 0 or proc.returncode > 128
        _until(lambda: not _alive(f"sleep {m}"), "the command outlived its stop")
        assert proc.stdout is not None and b"never" not in proc.stdout.read()
        assert _alive(f"sleep {other}") and bystander.poll() is None
        assert g.guard.poll() is None, "the guardian must outlive a stop"
    finally:
        g.cleanup(m, other)


@pytest.mark.parametrize("login", [LOGIN_POSIX, LOGIN_SH, LOGIN_OTHER])
def test_end_of_file_kills_every_running_command_of_the_link_only(login: str) -> None:
    """The connection closed or died: its commands die (KILL for one that ignores TERM); a
    program a command detached (setsid, as a rollback timer is armed), what a finished
    command left in the background, and another connection's commands stay."""
    ms = [_m() for _ in range(5)]
    g, other = _Link(login=login), _Link()
    try:
        g.run(f"sleep {ms[0]}")
        g.run(f"trap '' TERM; sleep {ms[1]}; :")
        _, detacher = g.run(f"setsid -f sleep {ms[2]} </dev/null >/dev/null 2>&1")
        _, leaver = g.run(f"sleep {ms[3]} >/dev/null 2>&1 & echo left")
        other.run(f"sleep {ms[4]}")
        assert detacher.wait(timeout=10) == 0 and leaver.wait(timeout=10) == 0
        _until(lambda: all(_alive(f"sleep {m}") for m in ms), "never started")
        g.end()
        _until(lambda: not _alive(f"sleep {ms[0]}"), "a running command outlived its link")
        _until(lambda: not _alive(f"sleep {ms[1]}"), "TERM ignored and never KILLed")
        assert g.guard.wait(timeout=10) == 0
        assert _alive(f"sleep {ms[2]}"), "a detached program was killed with the link"
        assert _alive(f"sleep {ms[3]}"), "a finished command's background job was killed"
        assert _alive(f"sleep {ms[4]}"), "another connection's command was killed"
    finally:
        g.cleanup(*ms)
        other.cleanup(*ms)


@pytest.mark.parametrize("line", ["stop\n", "stop *\n", "stop fedcba987654.1\n",
                                  "kill {link}.1\n", "\n", "stop {link}.1;reboot\n",
                                  "stop {link}.2\n"])
def test_the_guardian_ignores_what_is_not_a_stop_of_its_own(line: str) -> None:
    m = _m()
    g = _Link()
    try:
        token, proc = g.run(f"sleep {m}")
        _until(lambda: _alive(f"sleep {m}"), "never started")
        g.send(line.format(link=g.link).encode())
        time.sleep(0.5)
        assert proc.poll() is None and g.guard.poll() is None
        g.send(stop_line(token))  # and still answers a real one
        _until(lambda: not _alive(f"sleep {m}"), "the guardian stopped listening")
    finally:
        g.cleanup(m)


def test_sshds_signal_request_reaches_the_command() -> None:
    """sshd answers an SSH "signal" request with killpg() on the session's group: the
    command's own, since nothing of ours stands between."""
    m = _m()
    g = _Link()
    try:
        _, proc = g.run(f"sleep {m} & sleep {m}")
        _until(lambda: _alive(f"sleep {m}"), "never started")
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        _until(lambda: not _alive(f"sleep {m}"), "a process of the group survived")
    finally:
        g.cleanup(m)


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


def test_the_guardian_never_names_session_0_or_1() -> None:
    """``kill -TERM -1`` is every process, and init leads session 1: a marker naming session 1
    (or 0) must never be taken for a command of ours. Run in a PID namespace of its own, whose
    init (pid 1) leads session 1 as a node's does, through the guardian's own ``m`` (which only
    lists session ids), never its kill."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        pytest.skip("needs root and unshare(1) for a PID namespace")
    from pverunbook.transport import wrapper

    link = secrets.token_hex(6)
    lister = wrapper._GUARD_SCRIPT.replace("exec >/dev/null 2>&1; ", "")
    lister = lister[:lister.index("while read -r a b")] + 'm "$c[.][0-9]+"'
    # pid 1 of the namespace: a shell that leads session 1 (setsid), with a process marked as
    # if session 1 and session 0 were commands of ours, and one real marked command
    inner = (f"PVERUNBOOK_RUN={link}.1.1 sleep 600 & PVERUNBOOK_RUN={link}.2.0 sleep 600 & "
             f"setsid /bin/sh -c {shlex.quote(wrap_command('sleep 600', f'{link}.3'))} & "
             f"sleep 0.5; /bin/sh -c {shlex.quote(lister)} guard {link}; "
             "cut -d')' -f2 /proc/1/stat; kill -9 -1")
    res = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "setsid", "/bin/sh", "-c",
                          inner], capture_output=True, text=True, timeout=60)
    lines = res.stdout.splitlines()
    stat = lines[-1].split()
    assert stat[2] == stat[3] == "1", res.stdout  # pid 1 leads group and session 1 here
    listed = lines[2:-1]  # after the two lines naming the shells
    # the real command only (its shell and its sleep carry the marker: named once each)
    assert len(set(listed)) == 1 and not {"0", "1"} & set(listed), res.stdout
