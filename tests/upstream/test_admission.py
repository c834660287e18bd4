"""Admission control: the adaptive limit against a simulated upstream, and a lane's queue
and shedding on a real event loop."""

from __future__ import annotations

import asyncio
import math

import pytest
from prometheus_client import CollectorRegistry

from app.core.errors import Overloaded
from app.core.labels import AdmissionLaneName, ShedReason
from app.telemetry.metrics import Metrics
from app.upstream.admission import AdmissionLane
from app.upstream.gradient_limit import GradientLimit, LimitBounds


def settle(limit: GradientLimit, capacity: int, base: float, windows: int = 300) -> list[int]:
    """Feed the limit an upstream that runs ``capacity`` calls at once, each working ``base``
    seconds, and queues the rest (Ollama with OLLAMA_NUM_PARALLEL), saturated: as many calls
    in flight as the limit allows. Returns the limit after each window."""
    seen = []
    for _ in range(windows):
        in_flight = limit.limit
        latency = base * max(1.0, in_flight / capacity)
        limit.on_window(latency, busy=base, busiest=in_flight)
        seen.append(limit.limit)
    return seen


@pytest.mark.parametrize("initial", [1, 6, 64])
def test_the_limit_settles_near_what_the_upstream_runs_at_once(initial: int) -> None:
    """From below or above, the limit ends between the upstream's parallelism and twice it
    (a queue that costs the latency tolerance), never at the ceiling."""
    limit = GradientLimit(LimitBounds(initial=initial, floor=1, ceiling=64))
    seen = settle(limit, capacity=8, base=1.5)
    assert all(8 <= value <= 16 for value in seen[-50:]), seen[-50:]


def test_an_upstream_without_queueing_lets_the_limit_reach_its_ceiling() -> None:
    limit = GradientLimit(LimitBounds(initial=2, floor=1, ceiling=12))
    seen = settle(limit, capacity=1000, base=1.5)
    assert seen[-1] == 12


def test_an_upstream_slower_for_every_call_is_not_a_queue() -> None:
    """Ollama says it worked 11 s on each call: the limit stays where it was."""
    limit = GradientLimit(LimitBounds(initial=20, floor=1, ceiling=20))
    for _ in range(100):
        limit.on_window(11.0, busy=11.0, busiest=20)
    assert limit.limit == 20


def test_a_limit_not_reached_does_not_grow() -> None:
    limit = GradientLimit(LimitBounds(initial=6, floor=1, ceiling=12))
    for _ in range(100):
        limit.on_window(1.5, busy=1.5, busiest=2)
    assert limit.limit == 6


def test_timeouts_cut_the_limit_down_to_the_floor() -> None:
    limit = GradientLimit(LimitBounds(initial=12, floor=2, ceiling=12))
    limit.on_drop()
    assert limit.limit == math.floor(12 * 0.9)
    for _ in range(100):
        limit.on_drop()
    assert limit.limit == 2


def lane(ceiling: int = 2, wait: float = 0.2) -> tuple[AdmissionLane, Metrics]:
    metrics = Metrics(CollectorRegistry(), chat_model="m", embed_model="e", version="t")
    bounds = LimitBounds(initial=ceiling, floor=1, ceiling=ceiling)
    return AdmissionLane(AdmissionLaneName.CHAT, bounds, wait, metrics), metrics


async def taught(chat: AdmissionLane) -> AdmissionLane:
    """A lane that has seen a call end (at once): it knows how long a slot is held, so it
    can count on a turn in its queue."""
    (await chat.admit()).succeed(0.01, 0.01)
    return chat


def shed(metrics: Metrics, reason: ShedReason) -> float:
    return metrics.admission_shed.labels(AdmissionLaneName.CHAT, reason)._value.get()


def test_beyond_the_limit_callers_queue_then_get_a_freed_slot_in_order() -> None:
    async def scenario() -> None:
        chat, metrics = lane(ceiling=2, wait=5.0)
        await taught(chat)
        first, second = await chat.admit(), await chat.admit()
        third = asyncio.create_task(chat.admit())
        fourth = asyncio.create_task(chat.admit())
        await asyncio.sleep(0)
        assert (chat.in_flight, chat.queued) == (2, 2)
        first.succeed(0.1, 0.1)
        slot = await third
        assert not fourth.done() and chat.queued == 1 and slot.waited >= 0
        second.release()
        await fourth
        assert (chat.in_flight, chat.queued) == (2, 0)
        assert shed(metrics, ShedReason.QUEUE_FULL) == 0

    asyncio.run(scenario())


def test_a_full_queue_sheds_at_once_and_a_long_wait_sheds_on_time() -> None:
    async def scenario() -> None:
        chat, metrics = lane(ceiling=1, wait=0.2)
        held = await chat.admit()
        held.succeed(1.0, 1.0)  # teaches the lane that a call holds its slot ~0 s
        held = await chat.admit()
        queued = asyncio.create_task(chat.admit())
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # One queued already, the limit's worth: refused at once, i.e. on its first step,
        # without ever suspending (a coroutine that waited would yield a future here).
        admitting = chat.admit()
        with pytest.raises(Overloaded) as refused:
            admitting.send(None)
        assert refused.value.retry_after >= 1 and "overloaded" in refused.value.detail
        with pytest.raises(Overloaded):
            await queued  # nobody freed the slot within 0.2 s
        assert 0.19 <= loop.time() - started < 1
        assert shed(metrics, ShedReason.QUEUE_FULL) == 1
        assert shed(metrics, ShedReason.QUEUE_TIMEOUT) == 1
        assert chat.queued == 0 and chat.in_flight == 1
        held.release()
        assert chat.in_flight == 0

    asyncio.run(scenario())


def test_a_caller_cancelled_while_queued_leaves_the_queue() -> None:
    async def scenario() -> None:
        chat, _ = lane(ceiling=1, wait=5.0)
        held = await (await taught(chat)).admit()
        waiting = asyncio.create_task(chat.admit())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert chat.queued == 0
        held.release()
        assert chat.in_flight == 0

    asyncio.run(scenario())


def test_a_lane_that_has_seen_no_call_end_queues_nobody() -> None:
    async def scenario() -> None:
        chat, _ = lane(ceiling=1, wait=5.0)
        held = await chat.admit()
        with pytest.raises(Overloaded) as refused:
            await chat.admit()
        assert refused.value.retry_after == 1 and chat.queued == 0
        held.release()

    asyncio.run(scenario())


def test_the_expected_wait_keeps_the_queue_short_when_calls_are_long() -> None:
    """With calls that hold their slot 3 s, a wait of 1 s holds no queue: the next slot may
    take 3 s to free up (calls end in batches), so a caller is answered at once."""
    async def scenario() -> None:
        clock = [0.0]
        chat, metrics = lane(ceiling=2, wait=1.0)
        chat._clock = lambda: clock[0]
        slots = [await chat.admit(), await chat.admit()]
        clock[0] = 3.0
        for slot in slots:
            slot.succeed(3.0, 3.0)
        slots = [await chat.admit(), await chat.admit()]
        with pytest.raises(Overloaded):
            await chat.admit()
        assert chat.queued == 0 and shed(metrics, ShedReason.QUEUE_FULL) == 1

    asyncio.run(scenario())


def test_calls_dropped_together_cut_the_limit_once_a_window() -> None:
    """Ollama's full queue answers a burst of calls 503 at once: one sign of overload, one
    cut; drops a window later cut again."""
    now = [0.0]
    metrics = Metrics(CollectorRegistry(), chat_model="m", embed_model="e", version="t")
    chat = AdmissionLane(AdmissionLaneName.CHAT, LimitBounds(initial=20, floor=1, ceiling=20),
                         1.0, metrics, clock=lambda: now[0])

    async def drop(count: int) -> None:
        slots = [await chat.admit() for _ in range(count)]
        for slot in slots:
            slot.fail(dropped=True)

    asyncio.run(drop(10))
    assert chat.limit == 18  # 20 x 0.9, once
    now[0] += 0.5
    asyncio.run(drop(5))
    assert chat.limit == 18
    now[0] += 1.0
    asyncio.run(drop(5))
    assert chat.limit == math.floor(20 * 0.9 * 0.9)
