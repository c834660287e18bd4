"""Other clients of the same Ollama: calls to its first model that the simulator makes on
its own, each as long as an answer at the current pace, over and over. They take the
model's turns and its queue's places as another application's calls would (Ollama serves
everyone from one queue), so a scenario can show what they do to the service's calls.

    >>> others = OtherClients(scheduler, faults); others.adjust()  # faults.other_clients
"""

from __future__ import annotations

import asyncio
import contextlib

from loadtest.sim.faults import Faults
from loadtest.sim.models import full_name
from loadtest.sim.scheduler import QueueFull, Scheduler

# A caller turned away by the full queue tries again as soon as a place may be free (a
# call ended), or after this long at most.
RETRY_SECONDS = 0.5


class OtherClients:
    def __init__(self, scheduler: Scheduler, faults: Faults) -> None:
        self.scheduler = scheduler
        self.faults = faults
        self._tasks: list[asyncio.Task[None]] = []

    def adjust(self) -> None:
        """Start or stop callers until ``faults.other_clients`` of them run."""
        wanted = int(self.faults.other_clients)
        while len(self._tasks) < wanted:
            self._tasks.append(asyncio.ensure_future(self._call_forever()))
        while len(self._tasks) > wanted:
            self._tasks.pop().cancel()

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _call_forever(self) -> None:
        while True:
            model = full_name(self.faults.models[0]) if self.faults.models else None
            if model is None:
                await asyncio.sleep(RETRY_SECONDS)
                continue
            try:
                await self.scheduler.acquire(model, keep_alive=None)
            except QueueFull:
                await self.scheduler.next_change(RETRY_SECONDS)
                continue
            try:
                await asyncio.sleep(self._answer_seconds())
            finally:
                with contextlib.suppress(Exception):
                    self.scheduler.release(model, keep_alive=None)

    def _answer_seconds(self) -> float:
        """An answer of mean length at the current pace (at least a tenth of a second)."""
        faults = self.faults
        return max(0.1, (faults.first_token_ms + faults.answer_tokens * faults.token_ms) / 1000)
