"""3b. Re-ingestion: the local store's live chunks re-ingested with new texts, round after
round; the index's rows, the process's resident memory, the slowest ingestion and the
search time, which all follow the live count, not the chunks ever stored."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.store.base import Chunk, Document, DocumentChunks
from app.store.local import IN_MEMORY, LocalStore
from app.store.vectors import unit_rows
from bench.stats import percentiles_ms

DIMENSIONS = 384


def _resident_mib() -> float:
    status = Path("/proc/self/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(line.split()[1]) / 1024


async def _rounds(documents: int, chunks_each: int, rounds: int,
                  searches: int) -> dict[str, Any]:
    store = LocalStore(IN_MEMORY)
    await store.open()
    rows = unit_rows(np.random.default_rng(0).standard_normal((documents * chunks_each,
                                                               DIMENSIONS)))
    slowest = 0.0
    for version in range(rounds):
        batch = [DocumentChunks(Document(f"doc-{d}", f"version {version}"),
                                [Chunk(f"doc-{d}", c, f"chunk {c}") for c in range(chunks_each)],
                                rows[d * chunks_each:(d + 1) * chunks_each])
                 for d in range(documents)]
        started = time.perf_counter()
        await store.replace(batch)
        slowest = max(slowest, time.perf_counter() - started)
    timings = []
    for query in rows[:searches]:
        started = time.perf_counter()
        await store.search(query, 4)
        timings.append(time.perf_counter() - started)
    assert store._index is not None
    figures = {"rounds": rounds, "live_chunks": await store.count(),
               "rows_allocated": store._index.slots, "resident_mib": round(_resident_mib()),
               "slowest_ingestion_ms": round(slowest * 1000, 1),
               "search": percentiles_ms(timings)}
    await store.close()
    return figures


def run(documents: int = 100, chunks_each: int = 50, rounds: tuple[int, ...] = (10, 50),
        searches: int = 200) -> list[dict[str, Any]]:
    """One store per count of rounds (the memory of the later includes the earlier's
    freed arenas: compare rows, and memory between runs of the same size)."""
    return [asyncio.run(_rounds(documents, chunks_each, count, searches)) for count in rounds]
