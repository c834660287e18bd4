"""Admission control for the work that needs Ollama: one lane per kind of call (chat,
embed), each with an adaptive concurrency limit (``app/upstream/gradient_limit.py``) and a short
queue. A call beyond the limit waits in the queue only when its turn is expected within
``max_queue_wait``; otherwise it is turned away at once with ``Overloaded`` (503 and
Retry-After), so that overload is answered in milliseconds instead of by a storm of
timeouts. Nothing here touches the circuit breaker: a shed call never reached Ollama.

    >>> lane = AdmissionLane(AdmissionLaneName.CHAT, bounds, 1.0, metrics)
    >>> slot = await lane.admit()   # raises Overloaded
    >>> ...; slot.succeed(latency)  # or fail(dropped=...), or release()

Every state change happens between two ``await`` points on one event loop: no lock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import Overloaded
from app.core.labels import AdmissionLaneName, ShedReason
from app.telemetry.metrics import Metrics
from app.upstream.gradient_limit import GradientLimit, LimitBounds

# A window of latency samples closes after this many successful calls and this long.
WINDOW_SAMPLES = 5
WINDOW_SECONDS = 1.0
# Weight of each finished call in the average time a call holds its slot.
HOLD_WEIGHT = 0.2


@dataclass(frozen=True)
class AdmissionConfig:
    """Both lanes' bounds and the queue's patience; the defaults are the settings'."""

    chat: LimitBounds
    embed: LimitBounds
    max_queue_wait: float


class Slot:
    """The right to make one upstream call. Report how it ended exactly once."""

    __slots__ = ("_done", "_lane", "admitted_at", "busy", "waited")

    def __init__(self, lane: AdmissionLane | None, admitted_at: float, waited: float) -> None:
        self._lane = lane
        self._done = lane is None
        self.admitted_at = admitted_at
        self.waited = waited
        self.busy = 0.0  # what Ollama reported working for the calls made under it

    def note_busy(self, seconds: float) -> None:
        """A call made under this slot (a question's embedding) and Ollama's time on it."""
        if self._lane is not None:
            self.busy += seconds

    def succeed(self, latency: float, busy: float) -> None:
        """The call succeeded: ``latency`` from admission to Ollama's first token, ``busy``
        the time Ollama reported working on it until then."""
        self.note_busy(busy)
        self._end(latency, dropped=False)

    def fail(self, *, dropped: bool) -> None:
        """The call failed; ``dropped`` when it timed out (a sign of overload)."""
        self._end(None, dropped=dropped)

    def release(self) -> None:
        """The call ended without saying anything about Ollama's load (cancelled, refused
        by the breaker)."""
        self._end(None, dropped=False)

    def _end(self, latency: float | None, *, dropped: bool) -> None:
        if not self._done:
            self._done = True
            assert self._lane is not None
            self._lane._release(self, latency, dropped)


UNLIMITED = Slot(None, 0.0, 0.0)  # admission control is off: nothing to report


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[Slot]
    since: float


class AdmissionLane:
    """One kind of upstream call: its limit, the calls in flight and those queued."""

    def __init__(self, name: AdmissionLaneName, bounds: LimitBounds, max_queue_wait: float,
                 metrics: Metrics, clock: Callable[[], float] = time.perf_counter) -> None:
        self.name = name
        self.limiter = GradientLimit(bounds)
        self.max_queue_wait = max_queue_wait
        self._metrics = metrics
        self._clock = clock
        self._waiting: deque[_Waiter] = deque()
        self._hold: float | None = None  # average seconds a call holds its slot
        self._holding: set[Slot] = set()  # the slots in use: how many, and the oldest
        self._window_started = clock()
        self._last_cut: float | None = None  # when a dropped call last cut the limit
        self._window_latency = 0.0
        self._window_busy = 0.0
        self._window_samples = 0
        self._window_busiest = 0
        self._publish()

    @property
    def limit(self) -> int:
        return self.limiter.limit

    @property
    def in_flight(self) -> int:
        return len(self._holding)

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def expected_wait(self, position: int) -> float:
        """Seconds until the ``position``-th caller in the queue can count on a slot. Calls
        that started together end together (Ollama runs its calls in batches): the first
        slot may take a whole holding time to free up, and each ``limit`` callers another."""
        if self._hold is None:
            return math.inf  # no call has ended yet: nothing to count on
        # Calls already running longer than the average say it is out of date (Ollama got
        # slower): the oldest one's age is then the better guess.
        oldest = min((slot.admitted_at for slot in self._holding), default=self._clock())
        hold = max(self._hold, self._clock() - oldest)
        return math.ceil(position / self.limit) * hold

    async def admit(self) -> Slot:
        """A slot now, or after a short wait in the queue; ``Overloaded`` otherwise."""
        if self.in_flight < self.limit and not self._waiting:
            self._metrics.admission_queue_wait.labels(self.name).observe(0.0)
            return self._grant(0.0)
        position = len(self._waiting) + 1
        wait = self.expected_wait(position)
        if position > self.limit or wait > self.max_queue_wait:
            raise self._shed(ShedReason.QUEUE_FULL, wait)
        return await self._queue()

    async def _queue(self) -> Slot:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), self._clock())
        self._waiting.append(waiter)
        self._publish()
        expiry = loop.call_later(self.max_queue_wait, self._expire, waiter)
        try:
            slot = await waiter.future
        except asyncio.CancelledError:
            # The caller went away while queued; a slot granted meanwhile goes back.
            future = waiter.future
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().release()
            self._forget(waiter)
            raise
        finally:
            expiry.cancel()
        self._metrics.admission_queue_wait.labels(self.name).observe(slot.waited)
        return slot

    def _expire(self, waiter: _Waiter) -> None:
        if not waiter.future.done():
            self._forget(waiter)
            self._metrics.admission_queue_wait.labels(self.name).observe(
                self._clock() - waiter.since)
            waiter.future.set_exception(self._shed(ShedReason.QUEUE_TIMEOUT,
                                                   self.max_queue_wait))

    def _forget(self, waiter: _Waiter) -> None:
        if waiter in self._waiting:
            self._waiting.remove(waiter)
            self._publish()

    def _grant(self, waited: float) -> Slot:
        slot = Slot(self, self._clock(), waited)
        self._holding.add(slot)
        self._window_busiest = max(self._window_busiest, self.in_flight)
        self._publish()
        return slot

    def _shed(self, reason: ShedReason, wait: float) -> Overloaded:
        self._metrics.admission_shed.labels(self.name, reason).inc()
        retry_after = max(1, math.ceil(wait)) if math.isfinite(wait) else 1
        if reason is ShedReason.QUEUE_FULL:
            why = (f"{self.in_flight} calls to Ollama's {self.name} model are in flight, as "
                   "many as it takes now, and the queue is full")
        else:
            why = f"no {self.name} call to Ollama came free within {self.max_queue_wait:g}s"
        return Overloaded(f"the service is overloaded: {why}; retry after {retry_after}s",
                          retry_after)

    def _release(self, slot: Slot, latency: float | None, dropped: bool) -> None:
        self._holding.discard(slot)
        now = self._clock()
        held = now - slot.admitted_at
        self._hold = held if self._hold is None else self._hold + HOLD_WEIGHT * (held - self._hold)
        if dropped:
            # One cut per window, as TCP backs off once per round trip for a window of
            # losses: calls dropped together (Ollama's full queue answers a burst of them
            # 503 at once) are one sign of overload, not one each.
            if self._last_cut is None or now - self._last_cut >= WINDOW_SECONDS:
                self.limiter.on_drop()
                self._last_cut = now
        elif latency is not None:
            self._sample(latency, slot.busy, now)
        self._wake(now)
        self._publish()

    def _sample(self, latency: float, busy: float, now: float) -> None:
        self._window_latency += latency
        self._window_busy += busy
        self._window_samples += 1
        if self._window_samples >= WINDOW_SAMPLES and now - self._window_started >= WINDOW_SECONDS:
            samples = self._window_samples
            self.limiter.on_window(self._window_latency / samples, self._window_busy / samples,
                                   self._window_busiest)
            self._window_started = now
            self._window_latency = 0.0
            self._window_busy = 0.0
            self._window_samples = 0
            self._window_busiest = self.in_flight

    def _wake(self, now: float) -> None:
        """Hand free slots to the queue, first come first served."""
        while self._waiting and self.in_flight < self.limit:
            waiter = self._waiting.popleft()
            if not waiter.future.done():
                waiter.future.set_result(self._grant(now - waiter.since))

    def _publish(self) -> None:
        self._metrics.admission_limit.labels(self.name).set(self.limit)
        self._metrics.admission_in_flight.labels(self.name).set(self.in_flight)
        self._metrics.admission_queued.labels(self.name).set(len(self._waiting))


class Admission:
    """The lanes of one app; with admission control off, every call is let through.

    >>> admission = Admission(config, metrics)  # app/components.py
    >>> slot = await admission.admit(AdmissionLaneName.EMBED)
    """

    def __init__(self, config: AdmissionConfig | None, metrics: Metrics) -> None:
        self.lanes: dict[AdmissionLaneName, AdmissionLane] = {}
        if config is not None:
            for name, bounds in ((AdmissionLaneName.CHAT, config.chat),
                                 (AdmissionLaneName.EMBED, config.embed)):
                self.lanes[name] = AdmissionLane(name, bounds, config.max_queue_wait, metrics)

    async def admit(self, lane: AdmissionLaneName) -> Slot:
        if not self.lanes:
            return UNLIMITED
        return await self.lanes[lane].admit()
