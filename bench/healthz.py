"""3c. Does anything hold the event loop? ``/healthz`` polled every 10 ms while 20 workers
ask new questions (cache misses: embedding, semantic lookup, retrieval, answer) of a service
that holds ``chunks`` chunks, ingested through its API; the same run against the service with
both lookups brute force on the event loop and the documents in memory (``BEFORE``), side by
side. Ingestion through the API is timed on the way (chunks per second)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentiles_ms
from loadtest.stack.processes import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "b96d539"  # the service with both lookups brute force on the event loop
WORKERS = 20  # the chat lane's ceiling: every miss admitted, none shed
WORDS = ("breaker", "pool", "cache", "ollama", "token", "chunk", "latency", "replica",
         "shard", "vector", "index", "store", "answer", "question", "model", "stream",
         "budget", "alert", "window", "burn", "queue", "drain", "admission")


def _document(rng: random.Random, n: int) -> dict[str, str]:
    """About 7,000 characters: ten chunks of the default 800."""
    text = " ".join(rng.choice(WORDS) + str(rng.randrange(10_000)) for _ in range(1000))
    return {"source": f"bench/doc-{n}.md", "text": text}


async def _ingest(client: httpx.AsyncClient, chunks: int) -> tuple[int, float]:
    rng, stored, n = random.Random(3), 0, 0
    started = time.perf_counter()
    while stored < chunks:
        documents = [_document(rng, n + i) for i in range(90)]
        n += len(documents)
        response = await client.post("/api/documents", json={"documents": documents})
        response.raise_for_status()
        stored = response.json()["total_chunks"]
    return stored, time.perf_counter() - started


async def _misses(client: httpx.AsyncClient, url: str, misses: int
                  ) -> tuple[list[float], dict[int, int]]:
    probes: list[float] = []
    statuses: dict[int, int] = {}
    asked = iter(range(misses))

    async def worker() -> None:
        for n in asked:
            response = await client.post("/api/query", json={
                "question": f"New question number {n}: what is chunk {n * 7919} about?"})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    async def probe(done: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as own:
            while not done.is_set():
                started = time.perf_counter()
                await own.get("/healthz")
                probes.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

    done = asyncio.Event()
    prober = asyncio.create_task(probe(done))
    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    done.set()
    await prober
    return probes, statuses


async def _measure(url: str, chunks: int, misses: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(
            max_connections=WORKERS + 2)) as client:
        stored, seconds = await _ingest(client, chunks)
        probes, statuses = await _misses(client, url, misses)
    spread = percentiles_ms(probes, digits=2)
    return {"chunks": stored, "ingest_chunks_per_second": round(stored / seconds),
            "answers_by_status": {str(k): v for k, v in sorted(statuses.items())},
            "healthz_probes": len(probes),
            "healthz_p50_ms": spread["p50_ms"], "healthz_p99_ms": spread["p99_ms"],
            "healthz_max_ms": round(max(probes) * 1000, 2)}


def _one(workdir: Path, code: Path, chunks: int, misses: int) -> dict[str, Any]:
    sim_port, port = free_port(), free_port()
    processes = [ManagedProcess("sim", [sys.executable, "-m", "loadtest.sim", "--port",
                                        str(sim_port), "--fast"], workdir / "sim.log")]
    try:
        processes[0].wait_http_ok(f"http://127.0.0.1:{sim_port}/api/version")
        processes.append(ManagedProcess(
            "service", [sys.executable, "-m", "app", "--port", str(port)],
            workdir / f"service-{code.name}.log", cwd=code, env={
                "PYTHONPATH": str(code), "OLLAMA_RAG_OLLAMA_URL": f"http://127.0.0.1:{sim_port}",
                "OLLAMA_RAG_DATA_DIR": str(workdir / f"data-{code.name}"),
                "OLLAMA_RAG_LOG_LEVEL": "warning", "OLLAMA_RAG_ACCESS_LOG": "false"}))
        processes[1].wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=60)
        return asyncio.run(_measure(f"http://127.0.0.1:{port}", chunks, misses))
    finally:
        for process in reversed(processes):
            process.stop()


def run(chunks: int = 100_000, misses: int = 1000, before: str | None = BEFORE
        ) -> dict[str, Any]:
    results: dict[str, Any] = {"workers": WORKERS, "misses": misses,
                               "goal": {"healthz_p99_ms": 20}}
    with tempfile.TemporaryDirectory(prefix="ollama-rag-bench-") as tmp:
        workdir = Path(tmp)
        results["after"] = _one(workdir, ROOT, chunks, misses)
        if before is not None:
            old = workdir / "before"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
                            before], check=True, capture_output=True)
            try:
                results["before"] = _one(workdir, old, chunks, misses) | {"commit": before}
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(old)], capture_output=True)
    return results
