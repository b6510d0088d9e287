"""pverunbook against its references, side by side, from one run: the Performance table.

Run (as root, OpenSSH's sshd installed; nothing leaves loopback)::

    python3 -m tests.bench.compare            # everything, medians of 3 paired rounds
    python3 -m tests.bench.compare --quick    # 1 round, smaller trees: a smoke run
    python3 -m tests.bench.compare --only fanout --rounds 5

Each row measures pverunbook and its reference in the same process, alternating, against the
same sshd, and prints the ratio next to the goal of the performance issue. References that are
not installed are skipped with a note: parallel-ssh from Debian's ``pssh``; Ansible from PyPI in
a separate venv (``python3 -m venv ~/.cache/pverunbook-bench/ansible &&
~/.cache/pverunbook-bench/ansible/bin/pip install ansible-core``, or set ANSIBLE_BIN).
Nodes and client share this machine's cores, so ratios mean more than times. Nothing here
asserts: a benchmark informs, the tests decide.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from pverunbook.engine import events as ev
from pverunbook.engine.checkpoints import CheckpointStore, Parts
from pverunbook.engine.decisions import ScriptedDecider
from pverunbook.engine.engine import Engine
from pverunbook.engine.journal import Journal
from pverunbook.headless import EventPrinter
from pverunbook.runbook.loader import load_text
from pverunbook.transport.ssh import SSHTransport
from pverunbook.transport.wrapper import LOGIN_POSIX, LOGIN_SH, wrap_command
from tests.bench.loopback import Loopback, loopback_sshd

ANSIBLE = Path(os.environ.get("ANSIBLE_BIN",
                              Path.home() / ".cache/pverunbook-bench/ansible/bin/ansible"))


@dataclass
class Row:
    what: str
    ours: str
    reference: str
    ratio: str
    goal: str
    met: str


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def transport(lb: Loopback) -> SSHTransport:
    return SSHTransport(mode="live", known_hosts=lb.dir / "kh-unused", config_paths=[],
                        client_keys=[str(lb.client_key)], hash_known_hosts=False)


def steps_book(n_steps: int, command: str) -> str:
    body = "".join(f'[[steps]]\nid = "s{i}"\ntitle = "S{i}"\ncommands = ["{command}"]\n'
                   for i in range(n_steps))
    return f'id = "bench"\ntitle = "Bench"\n{body}'


async def run_engine(lb: Loopback, t: SSHTransport, n: int, book_text: str,
                     tmp: Path, printer_out: object | None = None) -> float:
    book = load_text(book_text, "bench.toml")
    engine = Engine(book, lb.cluster(n), t, ScriptedDecider(), run_id="bench")
    # As the session builds it (session.py): the journal shares the engine's redactor.
    journal = Journal(tmp / f"j-{time.monotonic_ns()}.jsonl", engine.redactor)
    engine.subscribe(journal)
    engine.flushers.append(journal.flush)
    if printer_out is not None:
        engine.subscribe(EventPrinter(printer_out))  # type: ignore[arg-type]
    t0 = time.perf_counter()
    status = await engine.run()
    took = time.perf_counter() - t0
    journal.close()
    assert status == "ok", status
    return took


# -- fan-out ---------------------------------------------------------------------------------
async def fanout_bash(n: int, rounds: int, tmp: Path) -> list[Row]:
    """The fan-out row again with a bash login user, as root's on a Proxmox VE node: there
    pverunbook's commands exec /bin/sh (transport/wrapper.py), where a /bin/sh login shell
    runs them itself; the floor pays bash's start too."""
    with loopback_sshd(max_nodes=n, shell="/bin/bash") as lb:
        rows = await fanout(lb, n, rounds, tmp, references=False)
    return [dataclasses.replace(r, what=r.what.replace(
        "10 steps", "10 steps, login shell bash (as root's on PVE)")) for r in rows]


async def fanout(lb: Loopback, n: int, rounds: int, tmp: Path,
                 references: bool = True) -> list[Row]:
    t = transport(lb)
    await t.connect(lb.nodes(n))
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{lb.port} {lb.host_key_line}\n")
    conns = await asyncio.gather(*(asyncssh.connect(
        "127.0.0.1", port=lb.port, username=lb.user, client_keys=[str(lb.client_key)],
        known_hosts=known) for _ in range(n)))
    book = steps_book(10, "true")

    async def bare() -> float:
        t0 = time.perf_counter()
        for _ in range(10):
            await asyncio.gather(*(c.run("true", check=True) for c in conns))
        return time.perf_counter() - t0

    # What pverunbook sends this login shell: /bin/sh itself runs the marked command, any
    # other shell execs /bin/sh first (wrapper.wrap_command's ``login``).
    login = LOGIN_SH if lb.login_is_sh() else LOGIN_POSIX
    marked = [wrap_command("true", f"{i:012x}.1", login=login) for i in range(n)]

    async def bare_wrapped() -> float:
        # The same script sending what pverunbook sends: the command marked for the
        # connection's guardian (transport/wrapper.py; an exec of /bin/sh per command unless
        # the login shell is /bin/sh). Not the floor (the goal is against ``bare``); it shows
        # how much of the gap is the protocol's work on the nodes, which share our cores.
        async def one(c: asyncssh.SSHClientConnection, sent: str) -> None:
            proc = await c.create_process(sent)
            await proc.wait(check=True)
            proc.close()

        t0 = time.perf_counter()
        for _ in range(10):
            await asyncio.gather(*(one(c, m) for c, m in zip(conns, marked, strict=True)))
        return time.perf_counter() - t0

    async def cpu(run: Callable[[], Awaitable[float]], into: list[float]) -> float:
        # Both sides' CPU (this process, journal thread included, and the sshd sessions):
        # steadier than wall-clock time on a shared machine, where a round waits for cores.
        c0, s0 = time.process_time(), lb.server_cpu()
        took = await run()
        into.append(time.process_time() - c0 + lb.server_cpu() - s0)
        return took

    ours: list[float] = []
    ref: list[float] = []
    ours_cpu: list[float] = []
    ref_cpu: list[float] = []
    await run_engine(lb, t, n, book, tmp)  # warm-up
    wrapped: list[float] = []
    wrapped_cpu: list[float] = []
    for _ in range(rounds):
        ours.append(await cpu(lambda: run_engine(lb, t, n, book, tmp), ours_cpu))
        ref.append(await cpu(bare, ref_cpu))
        wrapped.append(await cpu(bare_wrapped, wrapped_cpu))
    for c in conns:
        c.close()
    await t.close()
    o, r = med(ours), med(ref)
    oc, rc = med(ours_cpu), med(ref_cpu)
    rows = [Row(f"fan-out, N={n}, 10 steps", f"{o:.2f} s (CPU {oc:.2f} s)",
                f"bare asyncssh {r:.2f} s (CPU {rc:.2f} s); the same sending pverunbook's marked "
                f"command {med(wrapped):.2f} s (CPU {med(wrapped_cpu):.2f} s)",
                f"{o / r:.2f}× (CPU {oc / rc:.2f}×)", "≤ 1.3×", "yes" if o / r <= 1.3 else "no")]
    pssh = shutil.which("parallel-ssh") or shutil.which("pssh")
    if not references:
        return rows
    if pssh:
        hosts = lb.hosts_file(n)

        def pssh_calls() -> float:
            t0 = time.perf_counter()
            for _ in range(10):
                subprocess.run([pssh, "-h", str(hosts), "-p", str(n), "-x",
                                f"-F {lb.ssh_config}", "true"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0

        p = med([await asyncio.to_thread(pssh_calls) for _ in range(max(1, rounds // 2))])
        rows.append(Row("same", f"{o:.2f} s", f"parallel-ssh ×10 {p:.2f} s", f"{o / p:.3f}×",
                        "≤ 0.1×", "yes" if o / p <= 0.1 else "no"))
    else:
        rows.append(Row("same", "", "parallel-ssh: not installed (apt-get install pssh)", "",
                        "≤ 0.1×", "skipped"))
    if await asyncio.to_thread(ANSIBLE.exists):
        inv = lb.dir / "inventory.ini"
        inv.write_text("[all]\n" + "".join(f"n{i}\n" for i in range(n)) + "[all:vars]\n"
                       "ansible_python_interpreter=/usr/bin/python3\n"
                       f"ansible_ssh_common_args='-F {lb.ssh_config} -o ControlMaster=auto "
                       f"-o ControlPersist=60s -o ControlPath={lb.dir}/cm-%%h'\n")
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_SSH_PIPELINING="1",
                   ANSIBLE_LOCAL_TEMP=str(lb.dir / "ans-local"))
        cmd = [str(ANSIBLE), "all", "-i", str(inv), "-m", "shell", "-a", "true", "-f", str(n)]

        def ansible_calls(times: int) -> float:
            t0 = time.perf_counter()
            for _ in range(times):
                subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0

        await asyncio.to_thread(ansible_calls, 1)  # warm the ControlPersist masters
        a = await asyncio.to_thread(ansible_calls, 10)
        rows.append(Row("same", f"{o:.2f} s", f"ansible -f {n} ×10 {a:.1f} s", f"{o / a:.3f}×",
                        "≤ 0.02×", "yes" if o / a <= 0.02 else "no"))
    else:
        rows.append(Row("same", "", f"ansible: not found at {ANSIBLE}", "", "≤ 0.02×",
                        "skipped"))
    return rows


# -- live output -------------------------------------------------------------------------------
async def live_output(lb: Loopback, lines: int, rounds: int, tmp: Path) -> list[Row]:
    t = transport(lb)
    await t.connect(lb.nodes(2))
    book = steps_book(1, f"seq 1 {lines}").replace('commands', 'timeout = 300\ncommands')

    def ssh_ref() -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen(["ssh", "-F", str(lb.ssh_config), f"n{i}", f"seq 1 {lines}"],
                                  stdout=open(tmp / f"ref{i}", "wb"))  # noqa: SIM115
                 for i in range(2)]
        for p in procs:
            p.wait()
        return time.perf_counter() - t0

    ours: list[float] = []
    ref: list[float] = []
    for _ in range(rounds):
        out = await asyncio.to_thread(open, tmp / "headless.out", "w")
        try:
            ours.append(await run_engine(lb, t, 2, book, tmp, printer_out=out))
        finally:
            out.close()
        ref.append(await asyncio.to_thread(ssh_ref))
    await t.close()
    o, r = med(ours), med(ref)
    rate = r / o
    return [Row(f"live output, 2 nodes × {lines // 1000}k lines, headless",
                f"{o:.2f} s ({2 * lines / o / 1e3:.0f}k lines/s)",
                f"ssh node seq > file, both: {r:.2f} s", f"{rate:.2f}× the line rate", "≥ 0.5×",
                "yes" if rate >= 0.5 else "no")]


def tui_flood(lines: int, rounds: int = 1) -> list[Row]:
    """The TUI's worst event-loop stall under the flood, once per round (a fresh app each
    time); the row gives the median of the rounds' worst stalls and their range, since one
    run's worst stall on a shared machine also holds whatever else was scheduled then. Each
    round also measures the floor (``bench_ui_flood.py --floor``: a bare asyncio loop reading
    the same flood), right after the app, so a bad round can be told from a busy machine."""
    stalls: list[float] = []
    during: list[float] = []
    floors: list[float] = []
    rates: list[float] = []
    last = "(no output)"

    def run(*extra: str) -> dict[str, str]:
        nonlocal last
        res = subprocess.run([sys.executable, "tests/bench/bench_ui_flood.py", str(lines),
                              *extra], capture_output=True, text=True, timeout=900)
        text = (res.stdout + res.stderr).strip().splitlines()
        last = text[-1] if text else "(no output)"
        return dict(w.split("=", 1) for w in last.split() if "=" in w)

    for _ in range(rounds):
        fields = run()
        try:
            stalls.append(float(fields["worst_loop_stall"].removesuffix("ms")))
            during.append(float(fields["while_running"].removesuffix("ms")))
            rates.append(float(fields["rate"].replace(",", "")))
            took = fields["time"].removesuffix("s")
        except (KeyError, ValueError):
            continue
        with contextlib.suppress(KeyError, ValueError):
            floors.append(float(run("--floor", took)["worst_loop_stall"].removesuffix("ms")))
    if not stalls:
        return [Row("TUI under the same flood", last, "", "", "worst stall < 50 ms", "?")]
    stall = med(stalls)

    def spread(xs: list[float]) -> str:
        return f" (rounds: {', '.join(f'{x:.0f}' for x in xs)} ms)" if len(xs) > 1 else ""

    floor = (f"; bare asyncio loop reading the same flood: worst stall {med(floors):.0f} ms"
             f"{spread(floors)}") if floors else ""
    return [Row("TUI under the same flood", f"{med(rates) / 1e3:.0f}k lines/s",
                f"worst while the step runs: {med(during):.0f} ms{floor}",
                f"worst stall {stall:.0f} ms{spread(stalls)}", "worst stall < 50 ms",
                "yes" if stall < 50 else "no")]


# -- checkpoints -------------------------------------------------------------------------------
def make_tree(root: Path, files: int, size: int) -> None:
    chunk = os.urandom(size)
    for i in range(files):
        d = root / f"d{i % 20}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}").write_bytes(chunk[i % 7:] + chunk[: i % 7])
    subprocess.run(["chown", "-R", USER_OF(root), str(root)], check=True)


def USER_OF(path: Path) -> str:  # noqa: N802 - reads like the chown argument it is
    return subprocess.run(["stat", "-c", "%U", str(path.parent)], capture_output=True,
                          text=True).stdout.strip()


async def checkpoint(lb: Loopback, label: str, files: int, size: int, rounds: int,
                     tmp: Path) -> list[Row]:
    tree = lb.home / f"tree-{files}"
    make_tree(tree, files, size)
    t = transport(lb)
    node = lb.nodes(1)[0]
    await t.connect([node])

    async def ours() -> float:
        store = CheckpointStore(root=tmp / f"cp-{time.monotonic_ns()}", part_timeout=60)
        t0 = time.perf_counter()
        outcome = await store.capture("bench", "cp", [(node, t, Parts(files=[str(tree)]))])
        took = time.perf_counter() - t0
        assert outcome.ok, outcome.problems[:3]
        shutil.rmtree(store.root, ignore_errors=True)
        return took

    def tar_ref() -> float:
        t0 = time.perf_counter()
        with open(tmp / "ref.tar", "wb") as fh:
            subprocess.run(["ssh", "-F", str(lb.ssh_config), "n0", f"tar cf - -C {tree} ."],
                           stdout=fh, check=True)
        return time.perf_counter() - t0

    mine, ref = [], []
    for _ in range(rounds):
        mine.append(await ours())
        ref.append(await asyncio.to_thread(tar_ref))
    await t.close()
    shutil.rmtree(tree, ignore_errors=True)
    o, r = med(mine), med(ref)
    return [Row(f"checkpoint of {label}", f"{o:.2f} s (hashes verified)", f"ssh tar c: {r:.2f} s",
                f"{r / o:.2f}× tar's throughput", "≥ 0.8×", "yes" if r / o >= 0.8 else "no")]


# -- the wait before a destructive step's confirmation -------------------------------------------
class _Stopwatch(ScriptedDecider):
    """Confirms at once and notes when it was asked (the checkpoint runs beside the question)."""

    def __init__(self, expected: str) -> None:
        super().__init__(confirm_text=expected)
        self.asked_at = 0.0

    async def confirm(self, request):  # type: ignore[no-untyped-def]
        self.asked_at = time.perf_counter()
        return await super().confirm(request)


async def confirmation(lb: Loopback, rounds: int, tmp: Path) -> list[Row]:
    """Seconds from a destructive step's start to its question, with a 10 MB checkpoint of
    100 files to take over SSH (the question must not wait for it), and to the verified copy."""
    tree = lb.home / "tree-confirm"
    make_tree(tree, 100, 100_000)
    t = transport(lb)
    await t.connect(lb.nodes(1))
    book = load_text(f'''id = "bench"
title = "Bench"
[[steps]]
id = "wipe"
title = "Wipe"
destructive = true
commands = ["true"]
[steps.backup]
files = ["{tree}"]
''', "bench.toml")
    asked, verified = [], []
    for _ in range(rounds):
        decider = _Stopwatch("bench")
        engine = Engine(book, lb.cluster(1), t, decider, run_id="bench",
                        checkpointer=CheckpointStore(root=tmp / f"cpc-{time.monotonic_ns()}",
                                                     part_timeout=60))
        marks: dict[str, float] = {}

        def mark(e: object, marks: dict[str, float] = marks) -> None:
            if isinstance(e, ev.StepStarted):
                marks["start"] = time.perf_counter()
            elif isinstance(e, ev.CheckpointTaken) and e.ok:
                marks["verified"] = time.perf_counter()

        engine.subscribe(mark)
        status = await engine.run()
        assert status == "ok", status
        asked.append(decider.asked_at - marks["start"])
        verified.append(marks["verified"] - marks["start"])
    await t.close()
    shutil.rmtree(tree, ignore_errors=True)
    a, v = med(asked), med(verified)
    return [Row("confirmation of a destructive step (10 MB checkpoint over SSH)",
                f"asked after {a * 1000:.0f} ms", f"checkpoint verified after {v:.2f} s", "",
                "asked ≤ 2 s after the step starts", "yes" if a <= 2 else "no")]


SQLITE_PROBE = r"""
import asyncio, resource, sys
from pathlib import Path
from tests.bench.compare import transport
from tests.bench.loopback import Loopback
from pverunbook.engine import events as ev
from pverunbook.engine.checkpoints import CheckpointStore, Parts
lb = Loopback(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5],
              Path(sys.argv[6]), Path(sys.argv[7]))
async def main():
    t = transport(lb)
    node = lb.nodes(1)[0]
    await t.connect([node])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = await CheckpointStore(root=Path(sys.argv[9]), part_timeout=120).capture(
        "bench", "db", [(node, t, Parts(sqlite=[sys.argv[8]]))])
    assert out.ok, out.problems
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(base * 1024, peak * 1024)
    await t.close()
asyncio.run(main())
"""


def _sqlite_rss(lb: Loopback, mb: int, tmp: Path) -> list[Row]:
    if shutil.which("sqlite3") is None:
        return [Row(f"checkpoint of a {mb} MB SQLite db", "", "sqlite3 CLI not installed", "",
                    "memory flat", "skipped")]
    db = lb.home / "config.db"
    con = sqlite3.connect(db)
    con.execute("create table tree (inode integer primary key, data blob)")
    blob = os.urandom(4096)
    con.executemany("insert into tree values (?, ?)",
                    [(i, blob) for i in range(mb * 1024 * 1024 // 4096)])
    con.commit()
    con.close()
    subprocess.run(["chown", USER_OF(db), str(db)], check=True)
    size = db.stat().st_size
    res = subprocess.run([sys.executable, "-c", SQLITE_PROBE, str(lb.port), lb.user, str(lb.dir),
                          str(lb.client_key), lb.host_key_line, str(lb.ssh_config),
                          str(lb.home), str(db), str(tmp / "cp-db")],
                         capture_output=True, text=True, timeout=600)
    db.unlink()
    if res.returncode != 0:
        return [Row(f"checkpoint of a {mb} MB SQLite db", "", res.stderr.strip()[-200:], "",
                    "memory flat", "error")]
    base, peak = (int(x) for x in res.stdout.split())
    growth = peak - base
    return [Row(f"checkpoint of a {size / 1e6:.0f} MB SQLite db",
                f"peak RSS {peak / 1e6:.0f} MB (+{growth / 1e6:.0f} MB during the capture)", "",
                f"{growth / size:.2f}× the db size", "memory flat, independent of size",
                "yes" if growth < 0.25 * size else "no")]


async def sqlite_rss(lb: Loopback, mb: int, tmp: Path) -> list[Row]:
    return await asyncio.to_thread(_sqlite_rss, lb, mb, tmp)


# -- start-up ----------------------------------------------------------------------------------
BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare textual app ready")
Bare().run()
"""


def first_frame(command: str, needle: str, socket_name: str) -> float | None:
    """Seconds from launch until ``needle`` is on a tmux pane of 80×24; None without tmux.

    Each launch gets its own tmux server (-L): a shared one is not ours to kill."""
    name = "bench"
    t0 = time.perf_counter()
    res = subprocess.run(["tmux", "-L", socket_name, "new-session", "-d", "-s", name,
                          "-x", "80", "-y", "24", command], capture_output=True)
    if res.returncode != 0:
        return None
    try:
        while time.perf_counter() - t0 < 30:
            pane = subprocess.run(["tmux", "-L", socket_name, "capture-pane", "-p", "-t", name],
                                  capture_output=True, text=True).stdout
            if needle in pane:
                return time.perf_counter() - t0
            time.sleep(0.005)
        return None
    finally:
        subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True)


def startup(rounds: int) -> list[Row]:
    """pverunbook's first frame against a bare Textual app (one Static), alternately, both
    with bytecode caches (as installed); the first launch of each warms them and is dropped."""
    if shutil.which("tmux") is None:
        return [Row("TUI first frame (80×24)", "", "tmux not installed", "", "≤ 1.5×",
                    "skipped")]
    state = tempfile.mkdtemp(prefix="pvrb-bench-state-")
    bare_py = Path(state) / "bare.py"
    bare_py.write_text(BARE_APP)
    py = f"env -u PYTHONDONTWRITEBYTECODE PYTHONPATH={Path.cwd()} {sys.executable}"
    rows = []
    try:
        for label, args, needle in (("rehearsal", "tui", "REHEARSAL"),
                                    ("local", "tui --local", "LOCAL")):
            ours, bare = [], []
            for i in range(rounds + 1):
                b = first_frame(f"{py} {bare_py}", "bare textual app ready",
                                f"pvrb-b-{os.getpid()}-{label}-{i}")
                o = first_frame(f"PVERUNBOOK_STATE_DIR={state} {py} -m pverunbook {args}",
                                needle, f"pvrb-o-{os.getpid()}-{label}-{i}")
                if i and b is not None and o is not None:
                    bare.append(b)
                    ours.append(o)
            if not ours:
                rows.append(Row(f"TUI first frame, {label} (80×24)", "", "no frame in 30 s",
                                "", "≤ 1.5×", "error"))
                continue
            o, b = med(ours), med(bare)
            rows.append(Row(f"TUI first frame, {label} (80×24)", f"{o:.2f} s",
                            f"bare Textual app {b:.2f} s", f"{o / b:.2f}×", "≤ 1.5×",
                            "yes" if o / b <= 1.5 else "no"))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return rows


# -- CI ------------------------------------------------------------------------------------------
CI_TIME = Path("build/ci-time.txt")


def ci_row() -> list[Row]:
    """The last ``.ci/run`` on this checkout (it writes build/ci-time.txt: seconds, date)."""
    try:
        seconds, when = CI_TIME.read_text().split(maxsplit=1)
        minutes = int(seconds) / 60
    except (OSError, ValueError):
        return [Row(".ci/run with the lab", "", "not run on this checkout yet", "",
                    "< 30 min", "not measured")]
    return [Row(".ci/run with the lab", f"{minutes:.1f} min", f"last run {when.strip()}", "",
                "< 30 min", "yes" if minutes < 30 else "no")]


# -- main --------------------------------------------------------------------------------------
async def main(quick: bool, nodes: int, only: str | None, rounds: int | None = None) -> None:
    rounds = rounds or (1 if quick else 3)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[Row] = []
    widths = sorted({16, nodes}) if nodes >= 16 else [nodes]
    sections: list[tuple[str, Callable[[Loopback, Path], Awaitable[list[Row]]]]] = [
        *(("fanout", lambda lb, tmp, n=n: fanout(lb, n, rounds, tmp)) for n in widths),
        ("fanout", lambda lb, tmp: fanout_bash(16, rounds, tmp)),
        ("confirm", lambda lb, tmp: confirmation(lb, rounds, tmp)),
        ("output", lambda lb, tmp: live_output(lb, 50_000 if quick else 200_000, rounds, tmp)),
        ("checkpoint", lambda lb, tmp: checkpoint(
            lb, "a 100 MB tree (1000 files)" if not quick else "a 10 MB tree (100 files)",
            100 if quick else 1000, 100_000, rounds, tmp)),
        ("checkpoint", lambda lb, tmp: checkpoint(lb, "2000 small files", 2000, 1000, rounds,
                                                  tmp)),
        ("sqlite", lambda lb, tmp: sqlite_rss(lb, 10 if quick else 50, tmp)),
    ]
    with loopback_sshd(max_nodes=nodes) as lb, tempfile.TemporaryDirectory() as d:
        for name, section in sections:
            if only and name != only:
                continue
            print(f"… {name}", file=sys.stderr, flush=True)
            rows += await section(lb, Path(d))
    if not only or only == "tui":
        print("… tui flood", file=sys.stderr, flush=True)
        rows += await asyncio.to_thread(tui_flood, 100_000 if quick else 200_000, rounds)
    if not only or only == "startup":
        print("… startup", file=sys.stderr, flush=True)
        rows += await asyncio.to_thread(startup, max(rounds, 5))
    if not only or only == "ci":
        rows += ci_row()
    print("| what | pverunbook | reference | ratio | goal | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.what} | {r.ours} | {r.reference} | {r.ratio} | {r.goal} | {r.met} |")
    # The machine is shared: the ratios only mean something next to how busy it was.
    print(f"\n{started}, {os.cpu_count()} CPUs, load average (1/5/15 min) "
          f"{' '.join(f'{x:.1f}' for x in load_before)} at the start, "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one round, smaller inputs")
    ap.add_argument("--nodes", type=int, default=32, help="fan-out width (default 32)")
    ap.add_argument("--rounds", type=int, help="paired rounds per row (default 3, quick 1)")
    ap.add_argument("--only", choices=["fanout", "confirm", "output", "checkpoint", "sqlite",
                                       "tui", "startup", "ci"])
    a = ap.parse_args()
    asyncio.run(main(a.quick, a.nodes, a.only, a.rounds))
