"""Simulated time for the rehearsal cluster: a clock that follows the real one, or a stepped one.

:class:`SimClock` starts at the real time and runs ``1/time_scale`` times faster than it: a
person rehearsing sees the link flap and the journal grow while they think.

:class:`SteppedClock` moves only when something waits in simulated time, which makes a
rehearsal reproducible to the byte (screenshots) and tests free of timing: two runs of the same
commands see the same times, the same link state and the same ping samples however busy the
machine is. Each command session (one SSH exec, one interactive shell) keeps its own time,
starting at the world's time when it opens: ``sleep 5`` or a ``ping -c 5`` moves that session
5 seconds on, and the world catches up with it when the session next touches the world
(every command ticks it) and when it ends. The owner can also move the world on by hand
(:meth:`SteppedClock.advance_by`, ``SimCluster.advance``). Real waits still happen, scaled by
``time_scale``, so output streams as it would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


class SimClock:
    """Simulated wall clock: starts at ``start`` (default: the real time), runs 1/time_scale
    times faster than the real one."""

    stepped = False

    def __init__(self, time_scale: float, start: float | None = None) -> None:
        self.scale = max(time_scale, 1e-4)
        self.t0_sim = time.time() if start is None else start
        self.t0_real = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        return self.t0_sim + (time.monotonic() - self.t0_real) / self.scale

    def real(self, sim_seconds: float) -> float:
        """Real seconds that ``sim_seconds`` of simulated time take."""
        return max(sim_seconds, 0.0) * self.scale

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real(sim_seconds))

    def advance(self, t: float) -> None:
        """The world has been brought up to simulated time ``t`` (a stepped clock follows)."""
        del t

    def waited(self, start: float, sim_seconds: float) -> None:
        """A command waited ``sim_seconds`` from ``start`` without :meth:`sleep` (``timeout``
        ran out): a stepped clock moves the session on by that much."""
        del start, sim_seconds

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Scope of one command session (a stepped clock gives it its own time)."""
        yield


@dataclass
class _SessionTime:
    clock: SteppedClock
    t: float


_SESSION: ContextVar[_SessionTime | None] = ContextVar("pverunbook_sim_session", default=None)


class SteppedClock(SimClock):
    """Simulated time that moves only when a session waits or the owner advances it (see the
    module docstring). ``start`` is the world's first moment (seconds since the epoch)."""

    stepped = True

    def __init__(self, time_scale: float, start: float) -> None:
        super().__init__(time_scale, start)
        #: how far the world has been brought (never goes back)
        self.base = start

    def _mine(self) -> _SessionTime | None:
        s = _SESSION.get()
        return s if s is not None and s.clock is self else None

    def now(self) -> float:
        s = self._mine()
        return max(self.base, s.t) if s is not None else self.base

    async def sleep(self, sim_seconds: float) -> None:
        end = self.now() + max(sim_seconds, 0.0)
        await asyncio.sleep(self.real(sim_seconds))
        s = self._mine()
        if s is not None:
            s.t = max(s.t, end)
        else:
            self.base = max(self.base, end)

    def advance(self, t: float) -> None:
        self.base = max(self.base, t)

    def advance_by(self, sim_seconds: float) -> float:
        """Move the world's time on by ``sim_seconds``; returns the new time. The caller
        then ticks the world (``SimCluster.advance`` does both)."""
        self.base += max(sim_seconds, 0.0)
        return self.base

    def waited(self, start: float, sim_seconds: float) -> None:
        s = self._mine()
        if s is not None:
            s.t = max(s.t, start + sim_seconds)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        if self._mine() is not None:  # a nested shell (ssh peer cmd, sh -c) shares the time
            yield
            return
        token = _SESSION.set(_SessionTime(self, self.base))
        try:
            yield
        finally:
            _SESSION.reset(token)

