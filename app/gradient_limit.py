"""An adaptive concurrency limit from measured latency, in the manner of Envoy's adaptive
concurrency filter and Netflix's concurrency-limits: the limit follows the ratio of the
upstream's latency without a queue (the reference) to the latest window's, so it shrinks
when calls queue up inside Ollama and grows while they do not.

The reference is re-measured now and then with the limit halved for a few windows, as Envoy
pins its concurrency low to measure its minimum latency: a reference learned only from the
traffic would take a queue that lasts for the new normal (Netflix's Gradient2 drifts so).

    >>> limit = GradientLimit(LimitBounds(initial=6, floor=1, ceiling=12))
    >>> limit.on_window(average_latency=1.6, busiest=6)

Pure arithmetic, no clock and no asyncio: ``app/admission.py`` feeds it windows of samples,
and the tests feed it a simulated upstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Latency may grow by a quarter over the reference before the limit shrinks: an upstream
# whose calls vary (prompts of different lengths) is not mistaken for a queueing one.
TOLERANCE = 1.25
# Each window moves the limit a fifth of the way to its new estimate.
SMOOTHING = 0.2
# Every PROBE_EVERY windows, PROBE_WINDOWS windows run at half the limit: the first lets the
# calls admitted at the full limit finish, the last measures the reference.
PROBE_EVERY = 30
PROBE_WINDOWS = 2
# Windows in a row whose latency is at least twice the reference: the reference is stale
# (Ollama got slower for every call, or the limit started above its capacity): probe now.
STALE_AFTER = 3
# A timeout (ours, or the pool's) is a drop: the limit is cut this much at once.
DROP_FACTOR = 0.9


@dataclass(frozen=True)
class LimitBounds:
    initial: int
    floor: int
    ceiling: int

    def __post_init__(self) -> None:
        if not 1 <= self.floor <= self.initial <= self.ceiling:
            raise ValueError("need 1 <= floor <= initial <= ceiling")


class GradientLimit:
    """The estimated concurrency an upstream can take, between a floor and a ceiling."""

    def __init__(self, bounds: LimitBounds) -> None:
        self.bounds = bounds
        self._estimate = float(bounds.initial)
        self._reference: float | None = None  # latency without a queue, in seconds
        self._windows = 0
        self._stale = 0

    @property
    def probing(self) -> bool:
        return self._windows % PROBE_EVERY >= PROBE_EVERY - PROBE_WINDOWS

    @property
    def limit(self) -> int:
        estimate = self._estimate / 2 if self.probing else self._estimate
        return max(self.bounds.floor, min(self.bounds.ceiling, math.floor(estimate)))

    def on_window(self, average_latency: float, busiest: int) -> None:
        """One window of successful calls: their average latency (seconds) and the most
        calls in flight at once during it."""
        if average_latency <= 0:
            return
        measuring = self._windows % PROBE_EVERY == PROBE_EVERY - 1
        self._windows += 1
        if self._reference is None or measuring:
            self._reference = average_latency
            return
        self._reference = min(self._reference, average_latency)
        # A limit that was not reached says nothing about whether it could be higher.
        if busiest < self._estimate / 2 or self.probing:
            return
        gradient = max(0.5, min(1.0, TOLERANCE * self._reference / average_latency))
        self._stale = self._stale + 1 if average_latency >= 2 * self._reference else 0
        if self._stale >= STALE_AFTER:  # skip to the next probe
            self._stale = 0
            self._windows = PROBE_EVERY - PROBE_WINDOWS
        headroom = math.sqrt(self._estimate)  # room to find more, as Envoy's and Gradient2's
        target = self._estimate * gradient + headroom
        self._clamp(self._estimate * (1 - SMOOTHING) + target * SMOOTHING)

    def on_drop(self) -> None:
        """A call timed out: back off at once."""
        self._clamp(self._estimate * DROP_FACTOR)

    def _clamp(self, estimate: float) -> None:
        self._estimate = max(float(self.bounds.floor), min(float(self.bounds.ceiling), estimate))
