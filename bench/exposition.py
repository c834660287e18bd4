"""4. /metrics after a realistic run: render time and size with the full catalog.
5. The miss path with the simulator answering at once: what the service adds to its two
upstream calls (in-process, so that it is the app's own time)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Any

from prometheus_client.exposition import choose_encoder

from app.core.settings import Settings
from app.factory import create_app
from bench.asgi_driver import post_json
from loadtest.scenarios.questions import PARAPHRASES, QUESTIONS, new_question
from loadtest.sim.faults import FAST_MODEL
from loadtest.stack.in_process import BackgroundSimulator


def _upstream_seconds(registry: Any) -> float:
    total = 0.0
    for metric in registry.collect():
        if metric.name == "ollama_rag_upstream_request_duration_seconds":
            total += sum(s.value for s in metric.samples if s.name.endswith("_sum"))
    return total


async def _realistic_run(app: Any, sim: BackgroundSimulator, requests: int) -> None:
    """The load mix, streams included, with an outage in the middle so that failures,
    rejections and transitions are in the exposition too."""
    rng = random.Random(3)
    for i in range(requests):
        if i == requests // 2:
            sim.call(lambda: sim.sim.faults.update({"mode": "error"}))
        if i == requests // 2 + 40:
            sim.call(lambda: sim.sim.faults.update({"mode": "ok"}))
            await asyncio.sleep(1.2)  # the reset timeout, so that the breaker closes
        draw = rng.random()
        question = (rng.choice(QUESTIONS) if draw < 0.5 else
                    rng.choice(PARAPHRASES) if draw < 0.7 else new_question(rng))
        await post_json(app, "/api/query", {"question": question, "stream": rng.random() < 0.1})


def _render(registry: Any, renders: int) -> dict[str, Any]:
    encoder, _ = choose_encoder("")
    timings, size = [], 0
    for _ in range(renders):
        started = time.perf_counter()
        size = len(encoder(registry))
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {"series": sum(len(m.samples) for m in registry.collect()), "bytes": size,
            "p50_ms": round(statistics.median(timings) * 1000, 3),
            "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 3), "goal_ms": 5}


async def _miss_path(app: Any, misses: int) -> dict[str, Any]:
    registry = app.state.components.registry
    rng = random.Random(4)
    pairs = []
    for _ in range(misses):
        before = _upstream_seconds(registry)
        started = time.perf_counter()
        status = await post_json(app, "/api/query", {"question": new_question(rng)})
        wall = time.perf_counter() - started
        assert status == 200, status
        pairs.append((wall, _upstream_seconds(registry) - before))
    return {"requests": misses,
            "median_ms": round(statistics.median(w for w, _ in pairs) * 1000, 3),
            "median_upstream_ms": round(statistics.median(u for _, u in pairs) * 1000, 3),
            "median_service_overhead_ms": round(
                statistics.median(w - u for w, u in pairs) * 1000, 3)}


def run(requests: int = 2000, renders: int = 200, misses: int = 300) -> dict[str, Any]:
    sim = BackgroundSimulator(faults=FAST_MODEL)  # the service's cost, not a model's
    try:
        settings = Settings(ollama_url=sim.url, data_dir=":memory:",
                            breaker_reset_timeout=1.0,
                            cache_capacity=max(100, requests // 4))
        app = create_app(settings)

        async def measure() -> dict[str, Any]:
            # One event loop for all: the app's pooled connections belong to it.
            await _realistic_run(app, sim, requests)
            render = _render(app.state.components.registry, renders)
            return {"metrics_render": render, "miss_path": await _miss_path(app, misses)}

        figures = asyncio.run(measure())
    finally:
        sim.close()
    return {"realistic_requests": requests, **figures}
