"""An adaptive concurrency limit from measured latency, in the manner of Netflix's
concurrency-limits ``Gradient2Limit``: the limit follows the ratio of the long-term latency
to the latest window's, so it shrinks when calls queue up inside Ollama and grows while
they do not.

    >>> limit = GradientLimit(LimitBounds(initial=6, floor=1, ceiling=12))
    >>> limit.on_window(average_latency=1.6, busiest=6)

Pure arithmetic, no clock and no asyncio: ``app/admission.py`` feeds it windows of samples,
and the tests feed it a simulated upstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Latency may grow by half over its long-term average before the limit shrinks: an upstream
# whose calls vary (answers of different lengths) is not mistaken for a queueing one.
TOLERANCE = 1.5
# Each window moves the limit a fifth of the way to its new estimate.
SMOOTHING = 0.2
# The long-term average moves this much towards each window's latency (about 20 windows).
LONG_WEIGHT = 0.05
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
        self._long_latency: float | None = None

    @property
    def limit(self) -> int:
        return max(self.bounds.floor, min(self.bounds.ceiling, math.floor(self._estimate)))

    def on_window(self, average_latency: float, busiest: int) -> None:
        """One window of successful calls: their average latency (seconds) and the most
        calls in flight at once during it."""
        if average_latency <= 0:
            return
        if self._long_latency is None:
            self._long_latency = average_latency
        else:
            self._long_latency += LONG_WEIGHT * (average_latency - self._long_latency)
        # After a long overload the average is high; come back down faster once it is over.
        if self._long_latency / average_latency > 2:
            self._long_latency *= 0.95
        # A limit that was not reached says nothing about whether it could be higher.
        if busiest < self._estimate / 2:
            return
        gradient = max(0.5, min(1.0, TOLERANCE * self._long_latency / average_latency))
        headroom = math.sqrt(self._estimate)  # room to probe for more, as Gradient2's queue
        target = self._estimate * gradient + headroom
        self._clamp(self._estimate * (1 - SMOOTHING) + target * SMOOTHING)

    def on_drop(self) -> None:
        """A call timed out: back off at once."""
        self._clamp(self._estimate * DROP_FACTOR)

    def _clamp(self, estimate: float) -> None:
        self._estimate = max(float(self.bounds.floor), min(float(self.bounds.ceiling), estimate))
