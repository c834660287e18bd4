"""An adaptive concurrency limit from measured latency, in the manner of Envoy's adaptive
concurrency filter and Netflix's concurrency-limits: the limit follows the gradient between
the latency a call would have without a queue and the latency calls had, so it shrinks when
calls queue up inside Ollama and grows while they do not.

    >>> limit = GradientLimit(LimitBounds(initial=20, floor=1, ceiling=20))
    >>> limit.on_window(latency=4.5, busy=3.0, busiest=20)

The latency without a queue comes from Ollama itself: the time it reports working on the
calls before their first token (prompt evaluation; an embedding's whole time), plus an
allowance for the way there. Envoy and Gradient2 must instead measure it with a low
concurrency now and then (Envoy pins its concurrency, turning callers away meanwhile) or
from a long average (which takes a queue that lasts for the new normal); an Ollama that
gets slower for every call is not a queue, and Ollama says so. Its wait for a busy model
(and a cold load) is outside that time: a queue.

Pure arithmetic, no clock and no asyncio: ``app/upstream/admission.py`` feeds it windows of samples,
and the tests feed it a simulated upstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Latency may exceed the no-queue latency by a quarter before the limit shrinks.
TOLERANCE = 1.25
# The way to Ollama and back, and our own steps between a question's calls (seconds).
ALLOWANCE = 0.05
# A window without a queue moves the limit up a fifth of the way to its new estimate; one
# with a queue moves it down all the way (by half at most).
SMOOTHING = 0.2
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

    @property
    def limit(self) -> int:
        return max(self.bounds.floor, min(self.bounds.ceiling, math.floor(self._estimate)))

    def on_window(self, latency: float, busy: float, busiest: int) -> None:
        """One window of successful calls: their average latency to the first token, the
        average time Ollama reported working on them until then (seconds), and the most
        calls in flight at once during the window."""
        # A limit that was not reached says nothing about whether it could be higher.
        if latency <= 0 or busiest < self._estimate / 2:
            return
        gradient = max(0.5, min(1.0, TOLERANCE * (busy + ALLOWANCE) / latency))
        headroom = math.sqrt(self._estimate)  # room to find more, as Envoy's and Gradient2's
        target = self._estimate * gradient + headroom
        if target < self._estimate:  # a queue: make room at once
            self._clamp(target)
        else:  # no queue: grow by a fraction of the way
            self._clamp(self._estimate * (1 - SMOOTHING) + target * SMOOTHING)

    def on_drop(self) -> None:
        """A call timed out: back off at once."""
        self._clamp(self._estimate * DROP_FACTOR)

    def _clamp(self, estimate: float) -> None:
        self._estimate = max(float(self.bounds.floor), min(float(self.bounds.ceiling), estimate))
