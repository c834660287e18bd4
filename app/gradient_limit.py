"""An adaptive concurrency limit from measured latency, in the manner of Envoy's adaptive
concurrency filter and Netflix's concurrency-limits: the limit follows the ratio of the
upstream's latency without a queue (the reference) to the latest window's, so it shrinks
when calls queue up inside Ollama and grows while they do not.

The reference is the first window's latency, then re-measured while the lane is at its limit
with the limit cut to a quarter for a few windows, as Envoy pins its concurrency low to
measure its minimum latency: a reference learned from the traffic at the limit would take
a queue that lasts for the new normal (Netflix's Gradient2 drifts so).

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
# A window without a queue moves the limit up a fifth of the way to its new estimate; one
# with a queue moves it down all the way.
SMOOTHING = 0.2
# Every PROBE_EVERY windows (the first time after FIRST_PROBE windows) the limit is cut to
# a quarter until the calls admitted above it have ended, and the next CLEAN_WINDOWS windows
# measure the reference; a probe that cannot drain in MAX_PROBE_WINDOWS gives up. A quarter,
# not the floor, so that few callers are turned away meanwhile: a queue inside Ollama that
# survives it shrinks the limit, and the next probe comes closer.
PROBE_EVERY = 30
FIRST_PROBE = 5
PROBE_SHARE = 0.25
CLEAN_WINDOWS = 2
MAX_PROBE_WINDOWS = 12
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
        self._until_probe = FIRST_PROBE
        self._probe_windows = 0  # windows since the probe began; 0: not probing
        self._clean = 0  # windows in a row, during the probe, that ran at its limit
        self._stale = 0

    @property
    def probing(self) -> bool:
        return self._probe_windows > 0

    @property
    def limit(self) -> int:
        estimate = self._estimate * PROBE_SHARE if self.probing else self._estimate
        return max(self.bounds.floor, min(self.bounds.ceiling, math.floor(estimate)))

    def on_window(self, average_latency: float, busiest: int) -> None:
        """One window of successful calls: their average latency (seconds) and the most
        calls in flight at once during it."""
        if average_latency <= 0:
            return
        if self.probing:
            self._probe(average_latency, busiest)
            return
        if self._reference is None:
            self._reference = average_latency
        self._stale = self._stale + 1 if average_latency >= 2 * self._reference else 0
        self._until_probe -= 1
        # Only a lane at its limit is probed: below it, the limit turns nobody away and
        # cutting it would.
        saturated = busiest >= self.limit
        if saturated and (self._until_probe <= 0 or self._stale >= STALE_AFTER):
            self._probe_windows, self._clean, self._stale = 1, 0, 0
            return
        # A limit that was not reached says nothing about whether it could be higher.
        if busiest < self._estimate / 2:
            return
        gradient = max(0.5, min(1.0, TOLERANCE * self._reference / average_latency))
        headroom = math.sqrt(self._estimate)  # room to find more, as Envoy's and Gradient2's
        target = self._estimate * gradient + headroom
        if target < self._estimate:  # a queue: make room at once (at most half the limit)
            self._clamp(target)
        else:  # no queue: grow by a fraction of the way
            self._clamp(self._estimate * (1 - SMOOTHING) + target * SMOOTHING)

    def _probe(self, average_latency: float, busiest: int) -> None:
        self._probe_windows += 1
        self._clean = self._clean + 1 if busiest <= self.limit else 0
        if self._clean >= CLEAN_WINDOWS:
            self._reference = average_latency  # measured with no more in flight than this
        if self._clean >= CLEAN_WINDOWS or self._probe_windows > MAX_PROBE_WINDOWS:
            self._probe_windows, self._until_probe = 0, PROBE_EVERY

    def on_drop(self) -> None:
        """A call timed out: back off at once."""
        self._clamp(self._estimate * DROP_FACTOR)

    def _clamp(self, estimate: float) -> None:
        self._estimate = max(float(self.bounds.floor), min(float(self.bounds.ceiling), estimate))
