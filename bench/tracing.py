"""6. What tracing costs per request: CPU time with tracing off, on at 100% sampling and on
at 10%, in alternating rounds, on the exact-hit path (1 server span) and on the miss
path (1 server span, 4 children, two upstream calls to the in-process simulator). Spans are
exported to a real OTLP/HTTP receiver in another process. Every app runs with the default
JSON access log (written to /dev/null), so that the difference is tracing's alone; one more
app without the access log gives that log's own cost.

CPU is measured twice: on the request path (the event loop's thread, ``time.thread_time``)
and for the whole process on the hit path (``time.process_time``: the batch processor's
export thread included). With tracing off, the hooks left on the request path are timed
alone: there is no build of the service without them to compare with. What one span costs
in the OpenTelemetry SDK, sampled and not, is timed alone too: it is what dominates.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from app.core.schemas import CacheOutcome, QueryAnswer, Usage
from app.core.settings import Settings
from app.factory import create_app
from app.rag.semcache import question_key
from app.store.vectors import unit_vector
from app.telemetry.tracing import Tracing
from bench.asgi_driver import post_json
from bench.stats import interquartile
from loadtest.scenarios.questions import new_question
from loadtest.sim.faults import FAST_MODEL
from loadtest.stack.in_process import BackgroundSimulator
from loadtest.stack.processes import ManagedProcess, free_port

QUESTION = "What does a circuit breaker do when it is half-open?"
MODES = {"off": None, "on_100": "1.0", "on_10": "0.1", "off_no_access_log": None}


@contextmanager
def receiver() -> Iterator[str]:
    """The trace receiver in a process of its own, so that its CPU is not counted."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ollama-rag-bench-") as tmp:
        process = ManagedProcess("trace receiver", [
            sys.executable, "-m", "loadtest.stack.trace_receiver", "--host", "127.0.0.1",
            "--otlp-port", str(port), "--query-port", str(free_port())],
            Path(tmp) / "trace-receiver.log")
        url = f"http://127.0.0.1:{port}"
        try:
            process.wait_http_ok(f"{url}/healthz")
            yield url
        finally:
            process.stop()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block (the SDK reads its settings there)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def quiet_access_log() -> Iterator[None]:
    """The access log as the service writes it (a line to stdout, flushed), into
    /dev/null."""
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        yield


def _app(mode: str, endpoint: str, ollama_url: str) -> Any:
    ratio = MODES[mode]
    env = {} if ratio is None else {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": ratio}
    with environment(env):
        app = create_app(Settings(ollama_url=ollama_url, load_builtin_corpus=False,
                                  data_dir=":memory:", access_log=mode != "off_no_access_log",
                                  cache_capacity=100))
    answer = QueryAnswer(answer="An answer.", sources=[],
                         cache=CacheOutcome(result="miss", similarity=None),
                         model="llama3.2", usage=Usage(), finish_reason="stop",
                         timings_ms={})
    app.state.components.cache.put(question_key(QUESTION), answer,
                                    unit_vector(np.ones(384, dtype=np.float32)))
    return app


async def _cpu(app: Any, requests: int, miss: bool, rng: random.Random) -> tuple[float, float]:
    """(request-path CPU, process CPU) per request."""
    thread, process = time.thread_time(), time.process_time()
    for _ in range(requests):
        question = new_question(rng) if miss else QUESTION
        status = await post_json(app, "/api/query", {"question": question})
        assert status == 200, status
    return ((time.thread_time() - thread) / requests,
            (time.process_time() - process) / requests)


def _us_per_call(call: Callable[[], object], repeats: int) -> float:
    """CPU µs per call of ``call``: the median of 5 runs of ``repeats`` calls."""
    samples = []
    for _ in range(5):
        started = time.thread_time()
        for _ in range(repeats):
            call()
        samples.append((time.thread_time() - started) / repeats)
    return round(statistics.median(samples) * 1e6, 3)


def _hooks_off(repeats: int) -> dict[str, float]:
    """The tracing hooks a request runs with tracing off, alone: µs per request."""
    tracing = Tracing(None)

    def hit() -> None:
        tracing.exemplar()
        tracing.exemplar()

    def miss() -> None:
        hit()
        for name in ("cache.semantic_lookup", "retrieval"):
            with tracing.span(name) as span:
                span.is_recording()
        for _ in range(2):  # the two upstream calls
            tracing.start_span("call")
            tracing.traceparent(None)
            tracing.exemplar()

    return {"hit": _us_per_call(hit, repeats), "miss": _us_per_call(miss, repeats)}


def _sdk_span_us(repeats: int, endpoint: str) -> dict[str, float]:
    """One span started and ended by the SDK, sampled and not (exported after the
    measurement: the batch processor's delay is longer than it)."""
    found = {}
    for name, ratio in (("sampled", "1.0"), ("not_sampled", "0.0")):
        with environment({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                          "OTEL_TRACES_SAMPLER": "traceidratio",
                          "OTEL_TRACES_SAMPLER_ARG": ratio,
                          "OTEL_BSP_SCHEDULE_DELAY": "600000",
                          "OTEL_BSP_MAX_QUEUE_SIZE": str(repeats * 10)}):
            tracing = Tracing.from_environment("bench")

        def one_span(tracing: Tracing = tracing) -> None:
            with tracing.span("span") as span:
                span.set_attribute("key", "value")

        found[name] = _us_per_call(one_span, repeats)
        tracing.shutdown()
    return found


def _median_us(values: list[float]) -> float:
    return round(statistics.median(values) * 1e6, 1)


def _summary(samples: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    """Medians per mode, and each mode's paired difference against tracing off."""
    off = samples["off"]
    figures: dict[str, Any] = {}
    for mode, rounds in samples.items():
        figures[f"cpu_us_request_path_{mode}"] = _median_us([r[0] for r in rounds])
        figures[f"cpu_us_process_{mode}"] = _median_us([r[1] for r in rounds])
        if mode != "off":
            differences = sorted(a[0] - b[0] for a, b in zip(rounds, off, strict=True))
            figures[f"difference_us_request_path_{mode}"] = _median_us(differences)
            figures[f"difference_us_request_path_{mode}_interquartile"] = [
                round(quartile * 1e6, 1) for quartile in interquartile(differences)]
            figures[f"difference_us_process_{mode}"] = _median_us(
                [a[1] - b[1] for a, b in zip(rounds, off, strict=True)])
    return figures


def run(requests: int = 300, misses: int = 60, rounds: int = 12) -> dict[str, Any]:
    """Paired rounds: each round runs every mode back to back; costs are medians of the
    per-round differences against tracing off."""
    sim = BackgroundSimulator(faults=FAST_MODEL)
    try:
        with receiver() as endpoint:
            apps = {mode: _app(mode, endpoint, sim.url) for mode in MODES}

            async def measure() -> dict[str, dict[str, list[tuple[float, float]]]]:
                rng = random.Random(6)
                found: dict[str, dict[str, list[tuple[float, float]]]] = {
                    "hit": {m: [] for m in MODES}, "miss": {m: [] for m in MODES}}
                for app in apps.values():  # warm-up: connections, caches, code paths
                    await _cpu(app, 20, True, rng)
                    await _cpu(app, 50, False, rng)
                for _ in range(rounds):
                    for mode, app in apps.items():
                        found["hit"][mode].append(await _cpu(app, requests, False, rng))
                        found["miss"][mode].append(await _cpu(app, misses, True, rng))
                return found

            with quiet_access_log():  # already so under `python -m bench`; not when run alone
                samples = asyncio.run(measure())
            for app in apps.values():
                app.state.components.tracing.shutdown()
            sdk = _sdk_span_us(5_000, endpoint)
    finally:
        sim.close()
    hit, miss = _summary(samples["hit"]), _summary(samples["miss"])
    # The miss path's process CPU includes the simulator's thread: only its request path
    # is the service's.
    miss = {k: v for k, v in miss.items() if "process" not in k}
    return {"requests_per_round": requests, "misses_per_round": misses, "rounds": rounds,
            "hit_path": hit, "miss_path": miss, "hooks_with_tracing_off_us": _hooks_off(20_000),
            "sdk_span_us": sdk,
            "goal_us": {"off": 2, "on_100": 100}}
