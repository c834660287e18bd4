"""9. The process at a steady state: a soak of mixed traffic against the service as deployed
(``python -m app``, its own process) and the simulator: exact hits, misses, streamed answers,
the same documents ingested again and again, and callers that hang up mid-answer, for a fixed
count of requests. The service's RSS and open file descriptors (medians of samples every
20 ms), its series on ``/metrics``, cached answers and stored chunks, and ``/healthz`` p50
and p99 (polled every 20 ms) are taken over the first segment of traffic after a warm-up that
fills the cache, and over the last: each end/start ratio should stay within 10%
(``python -m bench soak``).

The cache is held to 200 answers so that the warm-up fills it: a cache still filling is
growth the soak is not looking for.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentiles_ms, series_count
from loadtest.scenarios.conditions import read_sample
from loadtest.scenarios.questions import new_question
from loadtest.stack.processes import ManagedProcess, free_port

CACHE_CAPACITY = 200
WORKERS = 8
KINDS = ("hit", "miss", "stream", "hang_up", "ingest")
WEIGHTS = (50, 25, 10, 10, 5)  # per 100 requests
REPEATED = [f"Soak question number {n}: what does the service do?" for n in range(20)]
DOCUMENTS = [{"source": f"soak/doc-{n}.md",
              "text": " ".join(f"paragraph {n}.{i}: the breaker, the cache and the pool."
                               for i in range(60))} for n in range(3)]
GOAL = 1.1


def _process_figures(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]
    return {"rss_mib": round(rss_kib / 1024, 1),
            "open_fds": float(len(os.listdir(f"/proc/{pid}/fd")))}


def _service_figures(metrics: str) -> dict[str, float]:
    return {"series": float(series_count(metrics)),
            "cached_answers": read_sample(metrics, "ollama_rag_semcache_size") or 0.0,
            "stored_chunks": read_sample(metrics, "ollama_rag_document_chunks") or 0.0}


async def _one(client: httpx.AsyncClient, kind: str, rng: random.Random) -> int:
    """One request of ``kind``; its status."""
    if kind == "hit":
        response = await client.post("/api/query", json={"question": rng.choice(REPEATED)})
    elif kind == "miss":
        response = await client.post("/api/query", json={"question": new_question(rng)})
    elif kind == "ingest":
        response = await client.post("/api/documents",
                                     json={"documents": [rng.choice(DOCUMENTS)]})
    else:
        payload = {"question": new_question(rng), "stream": True}
        async with client.stream("POST", "/api/query", json=payload) as response:
            async for _ in response.aiter_lines():
                if kind == "hang_up":
                    break  # leaves mid-answer: the connection is closed, not read to the end
    return response.status_code


async def _traffic(client: httpx.AsyncClient, count: int, rng: random.Random,
                   answers: Counter[str]) -> None:
    """``count`` requests of the mix from ``WORKERS`` callers; ``answers`` counts them by
    kind and status."""
    kinds = rng.choices(KINDS, WEIGHTS, k=count)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)

    async def worker() -> None:
        while not queue.empty():
            kind = queue.get_nowait()
            answers[f"{kind} {await _one(client, kind, rng)}"] += 1

    await asyncio.gather(*(worker() for _ in range(WORKERS)))


async def _poll(url: str, pid: int, stop: asyncio.Event) -> dict[str, float]:
    """``/healthz`` every 20 ms until ``stop``: its p99, and the medians of the process's
    figures sampled at the same pace (a count of sockets at one instant depends on which
    connections happen to be open then)."""
    timings: list[float] = []
    samples: list[dict[str, float]] = []
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            started = loop.time()
            (await client.get("/healthz")).raise_for_status()
            timings.append(loop.time() - started)
            samples.append(_process_figures(pid))
            await asyncio.sleep(0.02)
    healthz = percentiles_ms(timings, digits=2)
    return {**{key: statistics.median(s[key] for s in samples) for key in samples[0]},
            "healthz_p50_ms": healthz["p50_ms"], "healthz_p99_ms": healthz["p99_ms"],
            "healthz_samples": float(len(timings))}


async def _segment(url: str, pid: int, count: int, rng: random.Random,
                   answers: Counter[str]) -> dict[str, float]:
    """``count`` requests of the mix while the service is polled; then its metrics."""
    stop = asyncio.Event()
    poll = asyncio.create_task(_poll(url, pid, stop))
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await _traffic(client, count, rng, answers)
        stop.set()
        metrics = (await client.get("/metrics")).text
    return {**await poll, **_service_figures(metrics)}


async def _soak(url: str, pid: int, requests: int, segment: int,
                capacity: int) -> dict[str, Any]:
    rng = random.Random(27)
    answers: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        # Warm-up: every repeated question and document once, and misses past the capacity.
        for question in REPEATED:
            (await client.post("/api/query", json={"question": question})).raise_for_status()
        (await client.post("/api/documents", json={"documents": DOCUMENTS})).raise_for_status()
        await _traffic(client, 2 * capacity, rng, answers)
    start = await _segment(url, pid, segment, rng, answers)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await _traffic(client, requests - 2 * segment, rng, answers)
    end = await _segment(url, pid, segment, rng, answers)
    ratios = {key: round(end[key] / start[key], 3) if start[key] else None for key in start
              if key != "healthz_samples"}
    # Answers by kind and status: figures of a service failing every request would be flat
    # too.
    return {"answers": dict(sorted(answers.items())), "start": start, "end": end,
            "end_over_start": ratios}


def run(requests: int = 30_000, segment: int = 3000,
        capacity: int = CACHE_CAPACITY) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ollama-rag-soak-") as tmp:
        workdir = Path(tmp)
        processes: dict[str, ManagedProcess] = {}
        try:
            sim_port, port = free_port(), free_port()
            processes["sim"] = ManagedProcess(
                "sim", [sys.executable, "-m", "loadtest.sim", "--port", str(sim_port),
                        "--fast"], workdir / "sim.log")
            processes["sim"].wait_http_ok(f"http://127.0.0.1:{sim_port}/api/version")
            processes["service"] = ManagedProcess(
                "service", [sys.executable, "-m", "app", "--port", str(port)],
                workdir / "service.log", env={
                    "OLLAMA_RAG_OLLAMA_URL": f"http://127.0.0.1:{sim_port}",
                    "OLLAMA_RAG_DATA_DIR": str(workdir / "data"),
                    "OLLAMA_RAG_CACHE_CAPACITY": str(capacity)})
            url = f"http://127.0.0.1:{port}"
            processes["service"].wait_http_ok(f"{url}/readyz")
            figures = asyncio.run(_soak(url, processes["service"].process.pid, requests,
                                        segment, capacity))
        finally:
            for process in processes.values():
                process.stop()
    return {"requests": requests, "segment": segment, "workers": WORKERS,
            "mix_per_100": dict(zip(KINDS, WEIGHTS, strict=True)),
            "cache_capacity": capacity, **figures, "goal_end_over_start": GOAL}
