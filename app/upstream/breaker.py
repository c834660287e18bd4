"""An asyncio circuit breaker whose half-open state admits a bounded number of probes.

Every state change happens in synchronous code between two ``await`` points, so on one
event loop no lock is needed: two coroutines cannot interleave inside ``acquire``. That is
what keeps half-open honest: with 200 callers arriving as the reset timeout ends, the
first ``half_open_max_calls`` get a permit and the rest are rejected without an upstream call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.core.errors import CircuitOpenError
from app.core.labels import STATE_VALUES, CallStatus
from app.core.labels import BreakerState as State


class BreakerObserver(Protocol):
    """What the breaker reports; ``app/telemetry/observers.py`` turns it into metrics."""

    def on_call(self, status: CallStatus) -> None: ...
    def on_transition(self, old: State, new: State, wall_time: float) -> None: ...
    def on_consecutive_failures(self, count: int) -> None: ...


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    half_open_max_calls: int = 1
    success_threshold: int = 2

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_max_calls < 1:
            raise ValueError("failure_threshold and half_open_max_calls must be at least 1")
        if self.success_threshold < 1 or self.reset_timeout <= 0:
            raise ValueError("success_threshold must be at least 1 and reset_timeout positive")


class Permit:
    """The right to make one call. Report its outcome exactly once."""

    __slots__ = ("_breaker", "_done", "_generation", "_probe")

    def __init__(self, breaker: CircuitBreaker, generation: int, probe: bool) -> None:
        self._breaker = breaker
        self._generation = generation
        self._probe = probe
        self._done = False

    def success(self) -> None:
        if not self._done:
            self._done = True
            self._breaker._record(self._generation, self._probe, failed=False)

    def failure(self) -> None:
        if not self._done:
            self._done = True
            self._breaker._record(self._generation, self._probe, failed=True)

    def release(self) -> None:
        """Give the permit back without an outcome (the caller was cancelled)."""
        if not self._done:
            self._done = True
            self._breaker._release(self._generation, self._probe)


class CircuitBreaker:
    """CLOSED -> OPEN after N consecutive failures; OPEN -> HALF_OPEN after the reset
    timeout; HALF_OPEN admits K concurrent probes, closes after M successes, reopens on a
    failure.

    Outcomes of calls admitted in an earlier state (a slow call that started while closed
    and ends after the breaker opened) are counted in the metrics but do not move the state:
    they say nothing about the upstream since the change.
    """

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        observer: BreakerObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.config = config or BreakerConfig()
        self._observer = observer
        self._clock = clock
        self._wall_clock = wall_clock
        self._state = State.CLOSED
        self._generation = 0
        self._consecutive_failures = 0
        self._half_open_in_flight = 0
        self._half_open_successes = 0
        self._opened_at = 0.0
        self.last_change_wall_time = wall_clock()

    @property
    def state(self) -> State:
        self._advance()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def retry_after(self) -> float:
        """Seconds until the breaker will let a probe through (0 when it would now)."""
        self._advance()
        if self._state is State.OPEN:
            return max(0.0, self._opened_at + self.config.reset_timeout - self._clock())
        return 0.0

    def acquire(self) -> Permit:
        """Admit one call or raise ``CircuitOpenError``. Never awaits."""
        self._advance()
        if self._state is State.CLOSED:
            return Permit(self, self._generation, probe=False)
        if (
            self._state is State.HALF_OPEN
            and self._half_open_in_flight < self.config.half_open_max_calls
        ):
            self._half_open_in_flight += 1
            return Permit(self, self._generation, probe=True)
        self._notify_call(CallStatus.REJECTED)
        # In half-open the probes decide soon; one reset timeout is an honest upper bound.
        wait = self.retry_after() if self._state is State.OPEN else self.config.reset_timeout
        raise CircuitOpenError(wait)

    def snapshot(self) -> dict[str, object]:
        """The breaker as the ``/api/breaker`` endpoint shows it."""
        state = self.state
        return {
            "name": self.name,
            "state": state.value,
            "state_value": STATE_VALUES[state],
            "consecutive_failures": self._consecutive_failures,
            "half_open_in_flight": self._half_open_in_flight,
            "half_open_successes": self._half_open_successes,
            "last_state_change_timestamp": self.last_change_wall_time,
            "retry_after_seconds": round(self.retry_after(), 3),
            "config": {
                "failure_threshold": self.config.failure_threshold,
                "reset_timeout_seconds": self.config.reset_timeout,
                "half_open_max_calls": self.config.half_open_max_calls,
                "success_threshold": self.config.success_threshold,
            },
        }

    # Internal: called by Permit.

    def _record(self, generation: int, probe: bool, *, failed: bool) -> None:
        self._notify_call(CallStatus.FAILURE if failed else CallStatus.SUCCESS)
        if generation != self._generation:
            return
        if probe:
            self._half_open_in_flight -= 1
        if failed:
            self._set_consecutive_failures(self._consecutive_failures + 1)
            if self._state is State.HALF_OPEN or (
                self._state is State.CLOSED
                and self._consecutive_failures >= self.config.failure_threshold
            ):
                self._transition(State.OPEN)
            return
        self._set_consecutive_failures(0)
        if self._state is State.HALF_OPEN:
            self._half_open_successes += 1
            if self._half_open_successes >= self.config.success_threshold:
                self._transition(State.CLOSED)

    def _release(self, generation: int, probe: bool) -> None:
        if probe and generation == self._generation:
            self._half_open_in_flight -= 1

    def _advance(self) -> None:
        if (
            self._state is State.OPEN
            and self._clock() >= self._opened_at + self.config.reset_timeout
        ):
            self._transition(State.HALF_OPEN)

    def _transition(self, new: State) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._half_open_in_flight = 0
        self._half_open_successes = 0
        if new is State.OPEN:
            self._opened_at = self._clock()
        self.last_change_wall_time = self._wall_clock()
        if self._observer is not None:
            self._observer.on_transition(old, new, self.last_change_wall_time)

    def _set_consecutive_failures(self, count: int) -> None:
        self._consecutive_failures = count
        if self._observer is not None:
            self._observer.on_consecutive_failures(count)

    def _notify_call(self, status: CallStatus) -> None:
        if self._observer is not None:
            self._observer.on_call(status)
