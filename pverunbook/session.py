"""Wiring shared by the CLI and the TUI: mode → cluster + transport (+ rehearsal cluster), and
runbook → engine with journal, checkpoints and guards attached.

Keeping this in one place is what guarantees that live, dry-run and rehearsal differ only in the
transport and hosts handed to the same engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pverunbook.inventory import Cluster, load_cluster, local_cluster
from pverunbook.transport.local import LocalTransport

if TYPE_CHECKING:
    # The engine and the journal are imported when a run starts, not with the app: the
    # TUI's first frame must not wait for them (see the module docstring).
    from pverunbook.engine.decisions import Decider
    from pverunbook.engine.engine import Engine, ResumeInfo
    from pverunbook.engine.journal import Journal
    from pverunbook.runbook.model import Runbook
    from pverunbook.shell import ShellPlan
    from pverunbook.transport.base import Transport


class Mode(StrEnum):
    LIVE = "live"
    DRY_RUN = "dry-run"
    REHEARSAL = "rehearsal"
    LOCAL = "local"


@dataclass
class SessionConfig:
    mode: Mode = Mode.REHEARSAL
    cluster_file: Path | None = None
    journal_path: Path | None = None
    accept_new_host_keys: bool = False
    scenario: str = "nyc-outage"
    sim_state_dir: Path | None = None
    #: Real seconds per simulated second in rehearsal: 1.0 for people, small in tests.
    time_scale: float = 1.0
    #: Rehearsal on a stepped clock from this epoch second: simulated time moves only when a
    #: command waits, so the same run shows the same output (screenshots); None: real time.
    sim_stepped_from: float | None = None
    #: Asks the operator whether to trust a node's unknown SSH host key (node, fingerprint);
    #: the TUI sets this to a modal. Changed keys are always refused, whatever this says.
    host_key_prompt: Callable[[str, str], Awaitable[bool]] | None = None


class Session:
    """Owns the cluster, the transport and (in rehearsal) the simulated cluster for a run."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.cluster: Cluster | None = None
        self.transport: Transport | None = None
        self.local = LocalTransport()
        self.sim: Any = None
        self.journals: list[Journal] = []
        #: Nodes that did not answer ``connect()`` (name → why); handed to every engine.
        self.unreachable: dict[str, str] = {}

    @property
    def mode(self) -> Mode:
        return self.config.mode

    @property
    def keeps_cluster(self) -> bool:
        """True when quitting ends something the operator may not want to lose: a connection
        to real nodes, or a rehearsal cluster (its state stays in the state directory, but a
        quit by mistake still ends the session)."""
        return self.config.mode in (Mode.LIVE, Mode.REHEARSAL)

    async def start(self) -> None:
        cfg = self.config
        if cfg.mode is Mode.LOCAL:
            self.cluster = local_cluster()
            self.transport = self.local
        elif cfg.mode is Mode.DRY_RUN:
            from pverunbook.transport.dryrun import DryRunTransport

            self.cluster = load_cluster(cfg.cluster_file) if cfg.cluster_file else \
                _default_cluster()
            self.transport = DryRunTransport()
        elif cfg.mode is Mode.REHEARSAL:
            from pverunbook.sim import SimCluster
            from pverunbook.transport.ssh import SSHTransport

            self.sim = SimCluster(scenario=cfg.scenario, state_dir=cfg.sim_state_dir,
                                  time_scale=cfg.time_scale, stepped_from=cfg.sim_stepped_from)
            await self.sim.start()
            self.cluster = self.sim.cluster
            self.transport = SSHTransport(mode="rehearsal", known_hosts=None,
                                          client_keys=[str(self.sim.client_key_path)],
                                          config_paths=[])
        else:
            from pverunbook.transport.ssh import SSHTransport

            if cfg.cluster_file is None:
                raise ValueError("live mode needs --cluster FILE (the inventory of your nodes; "
                                 "see runbooks/README.md)")
            self.cluster = load_cluster(cfg.cluster_file)
            accept: Callable[[str, str], Awaitable[bool]] | bool = cfg.accept_new_host_keys
            if not accept and cfg.host_key_prompt is not None:
                accept = cfg.host_key_prompt
            self.transport = SSHTransport(mode="live", accept_new_host_key=accept)

    async def connect(self) -> dict[str, str]:
        """Open every node's connection up front, concurrently; returns the nodes that did not
        answer (name → what happened and what to do).

        A node that is down, or that accepts TCP but never speaks SSH, costs at most the
        transport's connect timeout, once, instead of stopping the run: read-only steps go on
        on the nodes that answer and every step names the missing ones (see ``Engine``).
        Raises the first ``TransportError`` when NO node answers: then nothing can run.
        """
        from pverunbook.transport.base import TransportError

        assert self.cluster is not None and self.transport is not None, "call start() first"
        nodes = list(self.cluster.nodes)
        transport = self.transport
        results = await asyncio.gather(*(transport.connect([n]) for n in nodes),
                                       return_exceptions=True)
        failed: dict[str, str] = {}
        first: TransportError | None = None
        for node, res in zip(nodes, results, strict=True):
            if isinstance(res, TransportError):
                first = first or res
                failed[node.name] = res.message + (f"; {res.hint}" if res.hint else "")
            elif isinstance(res, BaseException):
                raise res
        if nodes and len(failed) == len(nodes) and first is not None:
            raise first
        self.unreachable = failed
        return failed

    def engine(self, runbook: Runbook, decider: Decider, params: Mapping[str, Any], *,
               run_id: str | None = None, resume: ResumeInfo | None = None,
               journal_path: Path | None = None, operator: str | None = None) -> Engine:
        """An engine for ``runbook`` with its journal, checkpoints and guards attached."""
        from pverunbook.engine.engine import Engine
        from pverunbook.engine.journal import Journal, Redactor, new_run_id, runs_dir
        from pverunbook.runbook.params import secret_values

        assert self.cluster is not None and self.transport is not None, "call start() first"
        rid = run_id or new_run_id()
        path = journal_path or self.config.journal_path or runs_dir() / f"{rid}.jsonl"
        redactor = Redactor(secret_values(runbook, params))
        journal = Journal(path, redactor)
        self.journals.append(journal)
        checkpointer = None
        guards = None
        with contextlib.suppress(ImportError):
            from pverunbook.engine.checkpoints import CheckpointStore

            checkpointer = CheckpointStore(redactor=redactor)
        with contextlib.suppress(ImportError):
            from pverunbook.engine.guards import ProxmoxGuards

            guards = ProxmoxGuards()
        engine = Engine(runbook, self.cluster, self.transport, decider, params=params,
                        run_id=rid, local_transport=self.local, checkpointer=checkpointer,
                        guards=guards, resume=resume, operator=operator, redactor=redactor)
        engine.unreachable = dict(self.unreachable)
        if self.sim is not None:  # a rehearsal node's second lasts time_scale real seconds
            engine.node_time_scale = self.config.time_scale
        engine.subscribe(journal)
        engine.flushers.append(journal.flush)
        engine.writers.append(journal.written)
        engine.journal_path = path
        if self.sim is not None and getattr(self.sim, "state_dir", None) is not None:
            from pverunbook.check_history import note_rehearsal_run

            note_rehearsal_run(rid, path, Path(self.sim.state_dir))
            engine.rehearsal_dir = str(Path(self.sim.state_dir).absolute())
        if self.sim is not None:
            engine.scenario = str(getattr(getattr(self.sim, "scenario", None), "name", ""))
        return engine

    async def reset_rehearsal(self) -> None:
        """Throw the rehearsal cluster's state away and start it broken again, as on a first
        launch. Journals of earlier runs stay. Only in rehearsal (ValueError otherwise)."""
        if self.config.mode is not Mode.REHEARSAL:
            raise ValueError("only the rehearsal cluster can be reset; this session is "
                             f"{self.config.mode.value}")
        sim = self.sim
        if self.transport is not None:
            await self.transport.close()
        self.transport = None
        self.cluster = None
        if sim is not None:
            await sim.stop()
            self.sim = None
            reset_state_dir(sim.state_dir)
        elif self.config.sim_state_dir is not None:
            reset_state_dir(self.config.sim_state_dir)
        await self.start()

    def shell(self, node: str) -> ShellPlan:
        """How to open an interactive ``ssh`` session on ``node`` (see ``pverunbook.shell``):
        the rehearsal cluster's key and pinned host keys, or the operator's own SSH setup."""
        from pverunbook.engine.journal import state_dir
        from pverunbook.shell import shell_plan

        if self.cluster is None:
            raise RuntimeError("not connected to a cluster yet")
        if self.config.mode in (Mode.DRY_RUN, Mode.LOCAL):
            raise ValueError(f"no node to open a shell on in {self.config.mode.value} mode")
        target = self.cluster.node(node)
        identity = None
        workdir = state_dir() / "shell"
        if self.sim is not None:
            identity = self.sim.client_key_path
            workdir = self.sim.state_dir / "shell"
        return shell_plan(target, workdir=workdir, identity=identity)

    def note(self, text: str) -> Path | None:
        """Write a journal note outside an engine's events (e.g. a shell used between runs):
        into the journal of this session's latest run, or a session journal if none ran yet.
        Returns the journal's path."""
        from pverunbook.engine.events import Note
        from pverunbook.engine.journal import Journal, new_run_id, state_dir

        if not self.journals:
            path = state_dir() / "sessions" / f"{new_run_id()}.jsonl"
            self.journals.append(Journal(path))
        journal = self.journals[-1]
        journal(Note(text=text))
        return journal.path

    async def close(self) -> None:
        for j in self.journals:
            j.close()
        self.journals.clear()
        if self.transport is not None:
            await self.transport.close()
        if self.sim is not None:
            await self.sim.stop()
            self.sim = None


def default_rehearsal_dir(scenario: str) -> Path:
    """Where a rehearsal cluster keeps its state between launches: under the state directory
    (``pverunbook.statedir``), one directory per scenario."""
    from pverunbook.statedir import rehearsal_dir

    return rehearsal_dir(scenario)


def reset_state_dir(path: Path) -> None:
    """Empty a rehearsal state directory but keep its ``keys`` (host keys and the client key,
    so a pinned inventory written earlier stays valid) and the record of earlier runs
    (journals, checkpoints: ``statedir.RUN_RECORDS``), which live beside the cluster when
    ``--state-dir`` chose this directory for both."""
    import shutil

    from pverunbook.statedir import RUN_RECORDS

    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.name in RUN_RECORDS:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _default_cluster() -> Cluster:
    """The story's cluster, so a dry-run with no inventory still shows real node names."""
    from pverunbook.runbook.catalog import builtin_dir

    path = builtin_dir() / "clusters" / "nyc.toml"
    return load_cluster(path) if path.exists() else local_cluster()
