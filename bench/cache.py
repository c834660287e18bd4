"""3. Semantic cache lookups at 1,000, 10,000 and 100,000 entries of 384 dimensions: p50 and
p99 per lookup once the index built for the filled cache is in place, and memory per
entry."""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import numpy as np

from app.rag.semcache import SemanticCache
from app.store.vectors import unit_rows
from bench.stats import percentiles_ms

DIMENSIONS = 384


def _filled(size: int, rng: np.random.Generator) -> SemanticCache:
    cache = SemanticCache(size, 0.95, 3600)
    vectors = unit_rows(rng.standard_normal((size, DIMENSIONS), dtype=np.float32))
    for i in range(size):
        cache.put(f"question number {i}", {"answer": f"answer {i}"}, vectors[i])
    # The index is rebuilt in a thread as the cache grows; a lookup timed while a build
    # runs competes with it for the CPU (and the GIL): the build is not what is measured.
    cache.wait_for_index()
    return cache


def _bytes_per_entry(size: int) -> float:
    rng = np.random.default_rng(1)
    gc.collect()
    tracemalloc.start()
    cache = _filled(size, rng)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(cache) == size
    return current / size


def run(sizes: tuple[int, ...] = (1_000, 10_000, 100_000), lookups: int = 300) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    results = []
    for size in sizes:
        cache = _filled(size, rng)
        queries = rng.standard_normal((lookups, DIMENSIONS), dtype=np.float32)
        timings = []
        for query in queries:
            started = time.perf_counter()
            cache.lookup_semantic(query)
            timings.append(time.perf_counter() - started)
        results.append({
            "entries": size, **percentiles_ms(timings),
            "bytes_per_entry": round(_bytes_per_entry(size)),
        })
        del cache
    return {"dimensions": DIMENSIONS, "lookups": lookups, "sizes": results,
            "goals": {"p99_ms_at_10000": 2, "p99_ms_at_100000": 10}}
