"""Ollama's scheduler, simulated: which models are loaded, for how long, and who waits.

As Ollama's (server/sched.go, documented in its FAQ):

- a model is loaded on its first call, which pays the load (its size over the disk's pace)
  in ``load_duration``; other calls for it wait for that load;
- it stays loaded for its keep-alive after its last call ended: the call's ``keep_alive``,
  else ``OLLAMA_KEEP_ALIVE`` (5 minutes); 0 unloads it as soon as it is idle, a negative
  one keeps it loaded for good;
- at most ``OLLAMA_MAX_LOADED_MODELS`` at once, and only as many as fit in memory: a model
  that does not fit evicts the least recently used idle one, or waits until one is idle;
- ``OLLAMA_NUM_PARALLEL`` calls of a model run at once, the rest wait;
- at most ``OLLAMA_MAX_QUEUE`` calls wait; one more is answered 503 with Ollama's words
  (``QUEUE_FULL``).

A model unloaded by its keep-alive is gone from ``loaded()`` (``/api/ps``) as soon as the
keep-alive has passed, as Ollama's expiry timer makes it.

    >>> scheduler = Scheduler(faults)
    >>> loaded = await scheduler.acquire("llama3.2:latest", keep_alive=None)  # load seconds
    >>> scheduler.release("llama3.2:latest", keep_alive=None)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter, deque
from dataclasses import dataclass

from loadtest.sim.faults import Faults
from loadtest.sim.models import model_size

# Ollama's 503 body when its queue is full (server/sched.go ErrMaxQueue), word for word.
QUEUE_FULL = "server busy, please try again.  maximum pending requests exceeded"
GIGABYTE = 1024 ** 3
MEGABYTE = 1024 ** 2
_GO_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class QueueFull(Exception):
    """More calls wait than ``OLLAMA_MAX_QUEUE`` allows."""


def keep_alive_seconds(value: object) -> float | None:
    """A request's ``keep_alive`` as Ollama reads it: a number of seconds or a Go duration
    ("10m", "1h30m", "-1"); None when absent. Raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("keep_alive must be a number of seconds or a duration such as 5m")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            parts = _GO_DURATION.findall(text)
            if parts and "".join(n + u for n, u in parts) == text:
                return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    raise ValueError(f"keep_alive {value!r} is not a duration such as 5m")


@dataclass
class Runner:
    """One loaded (or loading) model."""

    name: str
    size: int
    ready: bool = False
    running: int = 0
    last_used: float = 0.0
    expires_at: float | None = None  # monotonic; None while running, or kept for good
    keep_alive: float = 300.0


class Scheduler:
    """The loaded models and the calls waiting for them; ``faults`` holds the settings
    (``keep_alive``, ``max_loaded_models``, ``memory_mb``, ``parallel``, ``max_queue``,
    ``load_ms_per_gb``), read at each decision, so a change applies at once."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.runners: dict[str, Runner] = {}
        self.waiting = 0
        self.stats: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self._notifying: set[asyncio.Future[None]] = set()
        # Per model, the calls waiting for it in the order they came (Ollama's is a queue).
        self._lines: dict[str, deque[object]] = {}

    def loaded(self) -> list[Runner]:
        """The models loaded now (``/api/ps``), the most recently used first."""
        self._expire(time.monotonic())
        ready = [r for r in self.runners.values() if r.ready]
        return sorted(ready, key=lambda r: r.last_used, reverse=True)

    def expires_in(self, runner: Runner) -> float | None:
        """Seconds until ``runner`` is unloaded; None while it runs or is kept for good."""
        if runner.expires_at is None:
            return None
        return max(0.0, runner.expires_at - time.monotonic())

    async def acquire(self, model: str, keep_alive: float | None) -> float:
        """Wait for a turn on ``model``, loading it first if need be, in the order the calls
        came; returns the seconds this call spent loading it (0 when it was loaded). Raises
        ``QueueFull``."""
        line = self._lines.setdefault(model, deque())
        if (not (self._can_start(model) and not line) and self.faults.max_queue
                and self.waiting >= self.faults.max_queue):
            self.stats["queue_full"] += 1
            raise QueueFull(QUEUE_FULL)
        ticket = object()
        line.append(ticket)
        self.waiting += 1
        self.stats["queued_peak"] = max(self.stats["queued_peak"], self.waiting)
        loaded_for_us = 0.0
        try:
            while True:
                async with self._changed:
                    await self._changed.wait_for(
                        lambda: line[0] is ticket and self._turn(model) is not None)
                    if self._turn(model) == "run":
                        runner = self.runners[model]
                        runner.running += 1
                        runner.expires_at = None
                        runner.last_used = time.monotonic()
                        return loaded_for_us
                    runner = self._start_loading(model)
                loaded_for_us += await self._load(runner)
        finally:
            line.remove(ticket)
            self.waiting -= 1
            self.wake()  # the next in line may go

    def release(self, model: str, keep_alive: float | None) -> None:
        """The call on ``model`` ended; it stays loaded for its keep-alive."""
        runner = self.runners.get(model)
        if runner is None:
            return
        runner.running -= 1
        runner.last_used = time.monotonic()
        # Each call sets it anew, as in Ollama: its own, else OLLAMA_KEEP_ALIVE's now.
        runner.keep_alive = self.faults.keep_alive if keep_alive is None else keep_alive
        if runner.running == 0:
            self._schedule_expiry(runner)
        self.wake()

    def _schedule_expiry(self, runner: Runner) -> None:
        if runner.keep_alive < 0:
            runner.expires_at = None
            return
        runner.expires_at = time.monotonic() + runner.keep_alive
        if runner.keep_alive == 0:
            self._expire(time.monotonic())
        else:  # wakes waiters for memory when it expires
            asyncio.get_running_loop().call_later(runner.keep_alive + 0.001, self.wake)

    async def next_change(self, within: float) -> None:
        """Until a call ends, a model expires or the settings change (``within`` at most)."""
        with contextlib.suppress(TimeoutError):
            async with self._changed:
                await asyncio.wait_for(self._changed.wait(), within)

    def wake(self) -> None:
        """Let the waiting calls look again (a call ended, a model expired, new settings)."""
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()
        task = asyncio.ensure_future(notify())
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    def _can_start(self, model: str) -> bool:
        runner = self.runners.get(model)
        return (runner is not None and runner.ready
                and (not self.faults.parallel or runner.running < self.faults.parallel))

    def _turn(self, model: str) -> str | None:
        """"run" when a call can run on the loaded model now, "load" when it can be loaded
        now (evicting idle models if need be), None when it must wait."""
        self._expire(time.monotonic())
        runner = self.runners.get(model)
        if runner is not None:
            return "run" if self._can_start(model) else None
        return "load" if self._room_for(model, evict=False) else None

    def _room_for(self, model: str, *, evict: bool) -> bool:
        """Whether ``model`` fits once the least recently used idle models are evicted
        (evicting them when ``evict`` and it then fits)."""
        victims, fits = self._victims(model_size(model), more=1)
        if evict and fits:
            self._evict(victims)
        return fits

    def _victims(self, size: int, more: int) -> tuple[list[str], bool]:
        """The least recently used idle models to evict so that ``more`` models of ``size``
        bytes in all fit beside the rest, and whether they then fit."""
        memory = self.faults.memory_mb * MEGABYTE
        most = self.faults.max_loaded_models
        kept = dict(self.runners)
        idle = sorted((r for r in kept.values() if r.ready and r.running == 0),
                      key=lambda r: r.last_used)

        def fits() -> bool:
            count = len(kept) + more
            used = sum(r.size for r in kept.values()) + size
            return (not most or count <= most) and (not memory or used <= memory or count <= 1)

        victims = []
        while not fits() and idle:
            victims.append(idle.pop(0).name)
            del kept[victims[-1]]
        return victims, fits()

    def _evict(self, names: list[str]) -> None:
        for name in names:
            del self.runners[name]
            self.stats["evictions"] += 1

    def _start_loading(self, model: str) -> Runner:
        self._room_for(model, evict=True)
        runner = Runner(model, model_size(model), keep_alive=self.faults.keep_alive)
        self.runners[model] = runner
        return runner

    async def _load(self, runner: Runner) -> float:
        """Load it (its size at ``load_ms_per_gb``); a caller gone meanwhile leaves it
        unloaded, as a load that failed."""
        seconds = runner.size / GIGABYTE * self.faults.load_ms_per_gb / 1000
        try:
            await asyncio.sleep(seconds)
        except BaseException:
            self.runners.pop(runner.name, None)
            self.wake()
            raise
        runner.ready = True
        runner.last_used = time.monotonic()
        self.stats["loads"] += 1
        self.stats[f"loads {runner.name}"] += 1
        return seconds

    def _expire(self, now: float) -> None:
        """Unload the models whose keep-alive has passed, then, if the settings shrank
        (less memory, fewer models), the least recently used idle ones until the rest fit."""
        for name, runner in list(self.runners.items()):
            if (runner.ready and runner.running == 0 and runner.expires_at is not None
                    and runner.expires_at <= now):
                del self.runners[name]
                self.stats["unloads"] += 1
        self._evict(self._victims(0, more=0)[0])
