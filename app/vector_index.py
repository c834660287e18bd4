"""Nearest neighbours by cosine similarity over unit vectors, exact while small, approximate
(faiss's inverted file) once large; the semantic cache and the local document store use it.

    >>> index = VectorIndex(dimension=384)
    >>> index.add(7, vector); index.search(query, 4)  # [(7, 0.93)]

Below ``ann_min`` live vectors a search is one matrix-vector product (exact; 10,000 x 384
float32 is ~0.2 ms). Beyond, an IVF index (``nlist`` ~ sqrt(n) cells, 8-bit scalar
quantised, ``nprobe`` cells visited) proposes candidates and their similarity is recomputed
exactly from the float32 vectors kept here, so scores are exact and a removed vector never
matches. The IVF index is rebuilt, each time the live count grows by half, in a background thread
while the current one keeps answering: nothing waits for a training. Not thread-safe: one
owner thread calls it (the event loop for the cache, a worker for the store).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import faiss  # type: ignore[import-untyped]
import numpy as np

ANN_MIN = 10_000  # live vectors from which the approximate index is built
NPROBE = 16  # cells visited per search: the trade-off measured in docs/performance.md, 3b
CANDIDATES = 8  # at least this many candidates are rescored exactly
# Rebuilt when the live count has grown by half since the last build: the cells' lists grow
# with every vector added after it, and a search scans nprobe of them.
GROWTH = 1.5


def _empty_ivf(dimension: int, count: int) -> faiss.IndexIVFScalarQuantizer:
    nlist = 1 << max(6, round(math.log2(math.sqrt(count))))
    quantiser = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFScalarQuantizer(quantiser, dimension, nlist,
                                        faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = NPROBE
    return ivf


@dataclass
class _Build:
    """A rebuild running in a thread, and the ids changed since it took its snapshot."""

    thread: threading.Thread | None = None
    touched: set[int] = field(default_factory=set)
    result: faiss.Index | None = None
    error: BaseException | None = None


class VectorIndex:
    def __init__(self, dimension: int, *, ann_min: int = ANN_MIN,
                 initial_capacity: int = 1024) -> None:
        self.dimension = dimension
        self.ann_min = ann_min
        self._vectors = np.zeros((initial_capacity, dimension), dtype=np.float32)
        self._live = np.zeros(initial_capacity, dtype=bool)
        self._count = 0
        self._ivf: faiss.Index | None = None
        self._next_build = ann_min
        self._build: _Build | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def approximate(self) -> bool:
        return self._ivf is not None

    def add(self, key: int, vector: np.ndarray) -> None:
        """Store a unit vector under a non-negative integer key (replacing what it held)."""
        self._adopt_build()
        if key in self:
            self.remove([key])
        self._grow_to(key + 1)
        self._vectors[key] = vector
        self._live[key] = True
        self._count += 1
        if self._ivf is not None:
            self._ivf.add_with_ids(vector.reshape(1, -1), np.array([key], dtype=np.int64))
        if self._build is not None:
            self._build.touched.add(key)
        self._maybe_start_build()

    def add_many(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store many new keys at once (loading a store); keys must not be present yet."""
        if len(keys) == 0:
            return
        self._adopt_build()
        self._grow_to(int(keys.max()) + 1)
        self._vectors[keys] = vectors
        self._live[keys] = True
        self._count = int(self._live.sum())
        if self._ivf is not None:
            self._ivf.add_with_ids(vectors, keys.astype(np.int64))
        if self._build is not None:
            self._build.touched.update(int(k) for k in keys)
        self._maybe_start_build()

    def remove(self, keys: list[int]) -> None:
        self._adopt_build()
        present = [k for k in keys if k in self]
        if not present:
            return
        self._live[present] = False
        self._count -= len(present)
        if self._ivf is not None:
            self._ivf.remove_ids(np.array(present, dtype=np.int64))
        if self._build is not None:
            self._build.touched.update(present)

    def clear(self) -> None:
        self._live[:] = False
        self._count = 0
        self._ivf = None
        self._build = None  # a running build finishes into nothing
        self._next_build = self.ann_min

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and 0 <= key < len(self._live) and bool(self._live[key])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` live keys most similar to a unit ``query``, best first, exact scores."""
        self._adopt_build()
        if self._count == 0 or k < 1:
            return []
        if self._ivf is None:
            scores = self._vectors @ query
            scores[~self._live] = -np.inf
            k = min(k, self._count)
            keys = np.argpartition(-scores, k - 1)[:k]
            scores = scores[keys]
        else:
            _, found = self._ivf.search(query.reshape(1, -1), max(k, CANDIDATES))
            keys = found[0][found[0] >= 0]
            scores = self._vectors[keys] @ query  # exact, from the float32 vectors
        order = np.argsort(-scores)[:k]
        return [(int(keys[i]), float(scores[i])) for i in order if np.isfinite(scores[i])]

    def wait_for_build(self, timeout: float | None = None) -> None:
        """Let a running rebuild finish and take it (benchmarks and tests)."""
        if self._build is not None and self._build.thread is not None:
            self._build.thread.join(timeout)
        self._adopt_build()

    # Internal.

    def _grow_to(self, size: int) -> None:
        if size <= len(self._live):
            return
        capacity = max(size, 2 * len(self._live))
        vectors = np.zeros((capacity, self.dimension), dtype=np.float32)
        vectors[: len(self._vectors)] = self._vectors
        live = np.zeros(capacity, dtype=bool)
        live[: len(self._live)] = self._live
        self._vectors, self._live = vectors, live

    def _maybe_start_build(self) -> None:
        if self._build is not None or self._count < self._next_build:
            return
        keys = np.flatnonzero(self._live).astype(np.int64)
        self._next_build = int(GROWTH * len(keys))
        build = _Build()
        build.thread = threading.Thread(target=self._build_ivf, args=(build, keys, self._vectors),
                                        name="vector-index-build", daemon=True)
        self._build = build
        build.thread.start()

    def _build_ivf(self, build: _Build, keys: np.ndarray, vectors: np.ndarray) -> None:
        """In the build thread: rows changed meanwhile are put right when adopted."""
        try:
            ivf = _empty_ivf(self.dimension, len(keys))
            sample = keys[np.random.default_rng(0).permutation(len(keys))[: 40 * ivf.nlist]]
            ivf.train(vectors[sample])
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            for start in range(0, len(keys), 100_000):  # a bounded copy at a time
                part = keys[start:start + 100_000]
                ivf.add_with_ids(vectors[part], part)
            build.result = ivf
        except BaseException as exc:  # kept for the owner thread, which raises it
            build.error = exc

    def _adopt_build(self) -> None:
        build = self._build
        if build is None or build.thread is None or build.thread.is_alive():
            return
        self._build = None
        if build.error is not None:
            raise build.error
        ivf = build.result
        touched = np.array(sorted(build.touched), dtype=np.int64)
        if len(touched):
            ivf.remove_ids(touched)
            again = touched[self._live[touched]]
            if len(again):
                ivf.add_with_ids(self._vectors[again], again)
        self._ivf = ivf
