"""Programs that outlive the SSH session: ``setsid`` and ``nohup``.

A rollback timer (engine/rollback_script.py) is started with ``setsid -f nohup sh rollback.sh
sleep`` so that it survives the operator's connection. Here ``setsid`` starts its program as a
task of the world, not of the session: it keeps running (and sleeping in simulated time) after
the SSH channel closes, shows in ``ps`` under its own PID, and ``kill PID`` / ``kill -- -PID``
(the process group setsid made) ends it (util-linux setsid(1): ``-f`` always forks, ``-w`` waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref

from pverunbook.engine.rollback_script import ROOT as ROLLBACK_ROOT
from pverunbook.sim.node import Proc, SimNode
from pverunbook.sim.shell.executor import Ctx, Shell, UsageError, command
from pverunbook.sim.shell.streams import BytesInput, NullOutput

#: node → pid → the task running that detached program
_JOBS: weakref.WeakKeyDictionary[SimNode, dict[int, asyncio.Task[int]]] = \
    weakref.WeakKeyDictionary()


def jobs(node: SimNode) -> dict[int, asyncio.Task[int]]:
    return _JOBS.setdefault(node, {})


def signal(node: SimNode, pid: int, sig: int) -> bool:
    """Deliver ``sig`` to a detached program (``pid`` or its group ``-pid``); False if none."""
    task = jobs(node).get(abs(pid))
    if task is None or task.done():
        return False
    if sig:
        task.cancel()
    return True


async def stop_all(node: SimNode) -> None:
    """End every detached program of ``node`` (the rehearsal cluster stops)."""
    tasks = list(jobs(node).values())
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(BaseException):  # cancelled on purpose
            await t


async def _detached(node: SimNode, pid: int, argv: list[str]) -> int:
    sh = Shell(node)
    sh.pid = pid
    node.procs[pid] = Proc(pid, list(argv), "?", "Ss", node.world.clock.now())
    try:
        with node.world.clock.session():
            try:
                return await sh.run_argv(argv, BytesInput(), NullOutput(), NullOutput())
            finally:
                node.world.tick()
    finally:
        node.procs.pop(pid, None)
        jobs(node).pop(pid, None)


@command("setsid")
async def c_setsid(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    wait = False
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt == "--":
            break
        if opt in ("-f", "--fork", "-c", "--ctty"):
            continue
        if opt in ("-w", "--wait"):
            wait = True
            continue
        raise UsageError(f"setsid: invalid option -- '{opt.lstrip('-')}'", 1)
    if not args:
        raise UsageError("setsid: no command specified", 1)
    if not ctx.sh.knows(args[0]):
        await ctx.err(f"setsid: failed to execute {args[0]}: No such file or directory\n")
        return 127
    node = ctx.node
    pid = node.alloc_pid()
    # A fresh context: the program keeps its own simulated time, not the session's.
    task = asyncio.get_running_loop().create_task(_detached(node, pid, list(args)),
                                                  context=contextvars.Context())
    jobs(node)[pid] = task
    if wait:
        return await asyncio.shield(task)
    return 0


@command("nohup")
async def c_nohup(ctx: Ctx) -> int:
    args = ctx.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        raise UsageError("nohup: missing operand", 125)
    return await ctx.sh.run_argv(args, ctx.stdin, ctx.stdout, ctx.stderr)




def rearm_rollback_timers(node: SimNode) -> list[str]:
    """Start again the rollback timers that were waiting when the rehearsal stopped.

    On a real node a ``setsid`` timer does not end with pverunbook: it outlives the app, the
    terminal and the SSH session (that is what it is for). The rehearsal cluster lives in the
    app's process, so quitting (or ``kill -9``) ends its tasks too; resuming the rehearsal
    must find the nodes as a real cluster would be: each timer whose ``state`` still says
    ``armed`` waits for what is left of its deadline (the simulated clock), then fires, or
    fires at once when the deadline passed while the app was gone. The new process's pid goes
    into ``pid`` and ``armed`` as the original one did. Returns the timer directories rearmed.
    """
    root = node.host(ROLLBACK_ROOT)
    if not root.is_dir():
        return []
    now = node.world.clock.now()
    done: list[str] = []
    for d in sorted(root.iterdir()):
        try:
            state = (d / "state").read_text().strip()
            armed = (d / "armed").read_text()
        except OSError:
            continue
        fields = dict(line.split("=", 1) for line in armed.splitlines() if "=" in line)
        if state != "armed" or fields.get("method") != "setsid" or \
                not fields.get("deadline", "").isdigit():
            continue
        old = fields.get("pid", "")
        if old.isdigit() and signal(node, int(old), 0):
            continue  # still waiting in this process
        left = max(0, int(fields["deadline"]) - int(now))
        pid = node.alloc_pid()
        virt = f"{ROLLBACK_ROOT}/{d.name}"
        fields["pid"] = str(pid)
        (d / "pid").write_text(f"{pid}\n")
        (d / "armed").write_text("".join(f"{k}={v}\n" for k, v in fields.items()))
        argv = ["sh", "-c", f"sleep {left}; exec /bin/sh {virt}/rollback.sh fire"]
        task = asyncio.get_running_loop().create_task(_detached(node, pid, argv),
                                                      context=contextvars.Context())
        jobs(node)[pid] = task
        done.append(d.name)
    return done
