"""3b. What would meet the 100,000-entry goal: an approximate index (faiss's HNSW), measured
on the same data as the brute-force lookup, with its recall against the exact answer."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

DIMENSIONS = 384


def run(entries: int = 100_000, lookups: int = 300, ef_search: int = 128) -> dict[str, Any]:
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        return {"skipped": "faiss is not installed: pip install '.[bench]' (faiss-cpu)"}
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((entries, DIMENSIONS), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(DIMENSIONS, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    index.add(matrix)
    build_seconds = time.perf_counter() - started
    index.hnsw.efSearch = ef_search
    # Paraphrase-like queries: a stored question's embedding, slightly moved.
    queries = matrix[rng.integers(0, entries, lookups)]
    queries = queries + 0.05 * rng.standard_normal(queries.shape, dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    timings = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None, :], 1)
        timings.append(time.perf_counter() - started)
    timings.sort()
    exact = np.argmax(queries @ matrix.T, axis=1)
    _, found = index.search(queries, 1)
    return {
        "index": "faiss IndexHNSWFlat (M=32, efConstruction=40)", "entries": entries,
        "ef_search": ef_search, "build_seconds": round(build_seconds, 1),
        "p50_ms": round(timings[len(timings) // 2] * 1000, 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 3),
        "recall_at_1": round(float((found[:, 0] == exact).mean()), 3),
    }
