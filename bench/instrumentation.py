"""1. What the metrics cost per request: CPU time of the exact-hit path, in-process, with
metrics on and off (OLLAMA_RAG_METRICS_ENABLED=false), in alternating rounds."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import numpy as np

from app.core.schemas import CacheOutcome, QueryAnswer, Usage
from app.core.settings import Settings
from app.factory import create_app
from app.rag.semcache import question_key
from app.store.vectors import unit_vector
from bench.asgi_driver import post_json
from bench.stats import interquartile

QUESTION = "What does a circuit breaker do when it is half-open?"


def _app(metrics_enabled: bool) -> Any:
    app = create_app(Settings(metrics_enabled=metrics_enabled, load_builtin_corpus=False,
                              data_dir=":memory:"))
    answer = QueryAnswer(answer="An answer.", sources=[],
                         cache=CacheOutcome(result="miss", similarity=None),
                         model="llama3.2", usage=Usage(), finish_reason="stop",
                         timings_ms={})
    app.state.components.cache.put(question_key(QUESTION), answer,
                                    unit_vector(np.ones(384, dtype=np.float32)))
    return app


async def _cpu_per_request(app: Any, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        status = await post_json(app, "/api/query", {"question": QUESTION})
        assert status == 200, status
    return (time.process_time() - started) / requests


def _metric_calls_per_request(metrics_app: Any, repeats: int) -> float:
    """CPU time of exactly the metric calls an exact hit makes, without the request."""
    parts = metrics_app.state.components
    m = parts.metrics
    duration = m.http_duration.labels("POST", "/api/query")
    in_progress = m.http_in_progress.labels("/api/query")
    requests = m.http_requests.labels("POST", "/api/query", "200")
    hits = m.cache_hits.labels("exact")
    started = time.process_time()
    for _ in range(repeats):
        in_progress.inc()
        m.cache_lookup_duration.observe(0.00004)
        hits.inc()
        duration.observe(0.0003)
        requests.inc()
        in_progress.dec()
    return (time.process_time() - started) / repeats


def run(requests: int = 500, rounds: int = 30) -> dict[str, Any]:
    """Many short alternating rounds; the cost is the median of the paired differences,
    which cancels most of what a shared, noisy machine adds to both."""
    apps = {True: _app(True), False: _app(False)}

    async def measure() -> dict[bool, list[float]]:
        samples: dict[bool, list[float]] = {True: [], False: []}
        for enabled in (True, False):  # warm-up
            await _cpu_per_request(apps[enabled], requests)
        for _ in range(rounds):
            for enabled in (True, False):
                samples[enabled].append(await _cpu_per_request(apps[enabled], requests))
        return samples

    samples = asyncio.run(measure())
    differences = sorted(a - b for a, b in zip(samples[True], samples[False], strict=True))
    on = statistics.median(samples[True])
    off = statistics.median(samples[False])
    calls = statistics.median(_metric_calls_per_request(apps[True], 20_000) for _ in range(5))
    return {
        "requests_per_round": requests, "rounds": rounds,
        "cpu_us_per_request_metrics_on": round(on * 1e6, 2),
        "cpu_us_per_request_metrics_off": round(off * 1e6, 2),
        "metrics_cost_us_per_request": round(statistics.median(differences) * 1e6, 2),
        "metrics_cost_us_interquartile": [round(quartile * 1e6, 2)
                                          for quartile in interquartile(differences)],
        "metric_calls_only_us_per_request": round(calls * 1e6, 2),
        "ratio_on_to_off": round(on / off, 3),
        "goal_us": 15,
    }
