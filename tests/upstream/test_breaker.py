from __future__ import annotations

import asyncio

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from prometheus_client import CollectorRegistry

from app.telemetry.metrics import Metrics
from app.telemetry.observers import BreakerMetricsObserver
from app.upstream.breaker import BreakerConfig, CircuitBreaker, CircuitOpenError, Permit, State


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class BreakerModel(RuleBasedStateMachine):
    """The breaker against a plain model of its specification."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.config = BreakerConfig(failure_threshold=3, reset_timeout=10.0,
                                    half_open_max_calls=2, success_threshold=2)
        self.breaker = CircuitBreaker("test", self.config, clock=self.clock)
        # The model.
        self.state = State.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.probes_in_flight = 0
        self.probe_successes = 0
        self.generation = 0
        self.permits: list[tuple[Permit, int, bool]] = []

    def _model_advance(self) -> None:
        if self.state is State.OPEN and self.clock.now >= self.opened_at + 10.0:
            self._model_move(State.HALF_OPEN)

    def _model_move(self, state: State) -> None:
        self.state = state
        self.generation += 1
        self.probes_in_flight = 0
        self.probe_successes = 0
        if state is State.OPEN:
            self.opened_at = self.clock.now

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.99, 10.0, 25.0]))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule()
    def acquire(self) -> None:
        self._model_advance()
        admitted = self.state is State.CLOSED or (
            self.state is State.HALF_OPEN and self.probes_in_flight < 2
        )
        try:
            permit = self.breaker.acquire()
        except CircuitOpenError as exc:
            assert not admitted, f"rejected in {self.state}"
            assert exc.retry_after >= 0
            return
        assert admitted, f"admitted in {self.state}"
        probe = self.state is State.HALF_OPEN
        if probe:
            self.probes_in_flight += 1
        self.permits.append((permit, self.generation, probe))

    @precondition(lambda self: self.permits)
    @rule(data=st.data(), outcome=st.sampled_from(["success", "failure", "release"]))
    def finish(self, data: st.DataObject, outcome: str) -> None:
        index = data.draw(st.integers(0, len(self.permits) - 1))
        permit, generation, probe = self.permits.pop(index)
        getattr(permit, outcome)()
        if generation != self.generation:
            return  # a call from before the last state change moves nothing
        if probe:
            self.probes_in_flight -= 1
        if outcome == "failure":
            self.failures += 1
            if self.state is State.HALF_OPEN or self.failures >= 3:
                self._model_move(State.OPEN)
        elif outcome == "success":
            self.failures = 0
            if self.state is State.HALF_OPEN:
                self.probe_successes += 1
                if self.probe_successes >= 2:
                    self._model_move(State.CLOSED)

    @invariant()
    def same_state(self) -> None:
        self._model_advance()
        assert self.breaker.state is self.state
        assert self.breaker.consecutive_failures == self.failures


TestBreakerModel = BreakerModel.TestCase
TestBreakerModel.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


def _open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.config.failure_threshold):
        breaker.acquire().failure()
    assert breaker.state is State.OPEN


@pytest.mark.parametrize("max_probes", [1, 3])
def test_half_open_admits_at_most_k_of_200_concurrent_callers(max_probes: int) -> None:
    """pybreaker serialises calls behind a lock; aiobreaker and purgatory let every
    concurrent caller through in half-open. Here exactly K reach the upstream."""

    async def scenario() -> tuple[int, int, int]:
        breaker = CircuitBreaker("test", BreakerConfig(
            failure_threshold=2, reset_timeout=0.2, half_open_max_calls=max_probes,
            success_threshold=1000))
        _open_breaker(breaker)
        upstream_calls = 0
        in_flight = 0
        peak = 0
        start = asyncio.Event()

        async def caller() -> str:
            nonlocal upstream_calls, in_flight, peak
            await start.wait()
            try:
                permit = breaker.acquire()
            except CircuitOpenError:
                return "rejected"
            upstream_calls += 1
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.05)  # the upstream call
            in_flight -= 1
            permit.success()
            return "called"

        tasks = [asyncio.create_task(caller()) for _ in range(200)]
        await asyncio.sleep(0.2)  # the reset timeout ends now
        start.set()
        results = await asyncio.gather(*tasks)
        return upstream_calls, peak, results.count("rejected")

    calls, peak, rejected = asyncio.run(scenario())
    assert calls == max_probes
    assert peak == max_probes
    assert rejected == 200 - max_probes


def test_stale_outcomes_do_not_move_the_state() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("test", BreakerConfig(failure_threshold=1, reset_timeout=5),
                             clock=clock)
    slow = breaker.acquire()
    breaker.acquire().failure()
    assert breaker.state is State.OPEN
    slow.success()  # started while closed; says nothing about the upstream now
    assert breaker.state is State.OPEN


def test_released_probe_frees_its_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("test", BreakerConfig(failure_threshold=1, reset_timeout=5),
                             clock=clock)
    breaker.acquire().failure()
    clock.now += 5
    probe = breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    probe.release()
    breaker.acquire()  # the slot is free again


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BreakerConfig(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerConfig(reset_timeout=0)


def test_metrics_move_with_each_transition() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, chat_model="m", embed_model="e", version="test")
    clock = FakeClock()
    wall = FakeClock()
    breaker = CircuitBreaker(
        "ollama_client",
        BreakerConfig(failure_threshold=2, reset_timeout=5, success_threshold=1),
        observer=BreakerMetricsObserver(metrics), clock=clock, wall_clock=wall,
    )
    labels = {"breaker_name": "ollama_client"}

    def sample(name: str, **extra: str) -> float | None:
        return registry.get_sample_value(f"ollama_rag_{name}", labels | extra)

    def transitions(old: str, new: str) -> float | None:
        return sample("circuit_breaker_transitions_total", from_state=old, to_state=new)

    breaker.acquire().failure()
    assert sample("circuit_breaker_consecutive_failures") == 1
    wall.now = 2000.0
    breaker.acquire().failure()
    assert sample("circuit_breaker_state") == 1
    assert transitions("closed", "open") == 1
    assert sample("circuit_breaker_last_state_change_timestamp") == 2000.0
    assert sample("circuit_breaker_calls_total", status="failure") == 2

    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert sample("circuit_breaker_calls_total", status="rejected") == 1

    clock.now += 5
    wall.now = 2005.0
    probe = breaker.acquire()
    assert sample("circuit_breaker_state") == 2
    assert transitions("open", "half_open") == 1
    probe.failure()
    assert sample("circuit_breaker_state") == 1
    assert transitions("half_open", "open") == 1

    clock.now += 5
    breaker.acquire().success()
    assert sample("circuit_breaker_state") == 0
    assert transitions("half_open", "closed") == 1
    assert sample("circuit_breaker_consecutive_failures") == 0
    assert sample("circuit_breaker_calls_total", status="success") == 1
