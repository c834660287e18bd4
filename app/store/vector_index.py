"""Nearest neighbours by cosine similarity over unit vectors, exact while small, approximate
(faiss's inverted file) once large; the semantic cache and the local document store use it.

    >>> index = VectorIndex(dimension=384)
    >>> index.add("chunk-7", vector); index.search(query, 4)  # [("chunk-7", 0.93)]

Keys are the caller's ids (a chunk's, a cache entry's). Each live key holds one slot, a row
of float32 storage; a removed key's slot is the next one reused, so the storage follows the
live count whatever the keys are and however often they change (re-ingesting a document
gives its chunks new ids: their slots are the old ones). Rows are kept in fixed blocks:
growing adds a block and never copies what is stored.

Below ``ann_min`` live vectors a search is one matrix-vector product per block (exact;
10,000 x 384 float32 is ~0.2 ms). Beyond, an IVF index (``nlist`` ~ sqrt(n) cells, 8-bit
scalar quantised, ``nprobe`` cells visited) proposes candidate slots and their similarity is
recomputed exactly from the float32 rows, so scores are exact and a removed vector never
matches. The IVF index is rebuilt, each time the live count grows by half, in a background
thread while the current one keeps answering: nothing waits for a training. Not
thread-safe: one owner thread calls it (the event loop for the cache, a worker for the
store).
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import faiss  # type: ignore[import-untyped]
import numpy as np

ANN_MIN = 10_000  # live vectors from which the approximate index is built
NPROBE = 16  # cells visited per search: the trade-off measured in docs/performance.md, 3b
CANDIDATES = 8  # at least this many candidates are rescored exactly
# Rebuilt when the live count has grown by half since the last build: the cells' lists grow
# with every vector added after it, and a search scans nprobe of them.
GROWTH = 1.5
# Rows per block: 4096 x 384 float32 is 6 MiB, allocated zeroed (the pages are only touched
# as rows are written), so a new block costs no copy and little time.
BLOCK_ROWS = 4096
COPY_ROWS = 100_000  # what a rebuild gathers at a time


def _empty_ivf(dimension: int, count: int) -> faiss.IndexIVFScalarQuantizer:
    nlist = 1 << max(6, round(math.log2(math.sqrt(count))))
    quantiser = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFScalarQuantizer(quantiser, dimension, nlist,
                                        faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = NPROBE
    return ivf


def _gather(blocks: Sequence[np.ndarray], slots: np.ndarray, dimension: int) -> np.ndarray:
    """The rows of ``slots``, in their order, copied out of the blocks."""
    rows = np.empty((len(slots), dimension), dtype=np.float32)
    block_of, row_of = np.divmod(slots, BLOCK_ROWS)
    for block in np.unique(block_of):
        chosen = block_of == block
        rows[chosen] = blocks[block][row_of[chosen]]
    return rows


@dataclass
class _Build:
    """A rebuild running in a thread, and the slots changed since it took its snapshot."""

    thread: threading.Thread | None = None
    touched: set[int] = field(default_factory=set)
    result: faiss.Index | None = None
    error: BaseException | None = None


class VectorIndex:
    def __init__(self, dimension: int, *, ann_min: int = ANN_MIN) -> None:
        self.dimension = dimension
        self.ann_min = ann_min
        self._blocks: list[np.ndarray] = []
        self._live = np.zeros(0, dtype=bool)  # per slot
        self._key_of: list[Hashable | None] = []  # per slot
        self._slot_of: dict[Hashable, int] = {}
        self._free: list[int] = []  # a heap: the lowest free slot is reused first
        self._ivf: faiss.Index | None = None
        self._next_build = ann_min
        self._build: _Build | None = None

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    @property
    def slots(self) -> int:
        """Rows of storage allocated: the live count rounded up to a block, at its peak."""
        return len(self._blocks) * BLOCK_ROWS

    @property
    def approximate(self) -> bool:
        return self._ivf is not None

    def add(self, key: Hashable, vector: np.ndarray) -> None:
        """Store a unit vector under ``key`` (replacing what it held)."""
        self.add_many([key], vector.reshape(1, -1))

    def add_many(self, keys: Sequence[Hashable], vectors: np.ndarray) -> None:
        """Store many unit vectors at once (a key given twice keeps its last vector)."""
        if len(keys) == 0:
            return
        self._adopt_build()
        replaced = [self._slot_of[key] for key in keys if key in self._slot_of]
        slots = np.array([self._slot_for(key) for key in keys], dtype=np.int64)
        block_of, row_of = np.divmod(slots, BLOCK_ROWS)
        for block in np.unique(block_of):
            chosen = block_of == block
            self._blocks[block][row_of[chosen]] = vectors[chosen]
        self._live[slots] = True
        if self._ivf is not None:
            if replaced:  # their old vectors
                self._ivf.remove_ids(np.unique(np.array(replaced, dtype=np.int64)))
            unique = np.unique(slots)
            self._ivf.add_with_ids(_gather(self._blocks, unique, self.dimension), unique)
        if self._build is not None:
            self._build.touched.update(int(slot) for slot in slots)
        self._maybe_start_build()

    def remove(self, keys: Sequence[Hashable]) -> None:
        self._adopt_build()
        slots = [self._slot_of.pop(key) for key in keys if key in self._slot_of]
        if not slots:
            return
        for slot in slots:
            self._key_of[slot] = None
            heapq.heappush(self._free, slot)
        self._live[slots] = False
        if self._ivf is not None:
            self._ivf.remove_ids(np.array(slots, dtype=np.int64))
        if self._build is not None:
            self._build.touched.update(slots)

    def clear(self) -> None:
        """Drop every vector and the storage that held them."""
        self._blocks = []
        self._live = np.zeros(0, dtype=bool)
        self._key_of = []
        self._slot_of = {}
        self._free = []
        self._ivf = None
        self._build = None  # a running build finishes into nothing
        self._next_build = self.ann_min

    def search(self, query: np.ndarray, k: int) -> list[tuple[Hashable, float]]:
        """The ``k`` live keys most similar to a unit ``query``, best first, exact scores."""
        self._adopt_build()
        if not self._slot_of or k < 1:
            return []
        if self._ivf is None:
            scores = np.concatenate([block @ query for block in self._blocks])
            scores[~self._live] = -np.inf
            k = min(k, len(self._slot_of))
            slots = np.argpartition(-scores, k - 1)[:k]
            scores = scores[slots]
        else:
            _, found = self._ivf.search(query.reshape(1, -1), max(k, CANDIDATES))
            slots = found[0][found[0] >= 0]
            scores = _gather(self._blocks, slots, self.dimension) @ query  # exact
        order = np.argsort(-scores)[:k]
        return [(self._key_of[slots[i]], float(scores[i])) for i in order
                if np.isfinite(scores[i])]

    def wait_for_build(self, timeout: float | None = None) -> None:
        """Let a running rebuild finish and take it (benchmarks and tests)."""
        if self._build is not None and self._build.thread is not None:
            self._build.thread.join(timeout)
        self._adopt_build()

    # Internal.

    def _slot_for(self, key: Hashable) -> int:
        slot = self._slot_of.get(key)
        if slot is not None:
            return slot
        if not self._free:
            self._add_block()
        slot = heapq.heappop(self._free)
        self._slot_of[key] = slot
        self._key_of[slot] = key
        return slot

    def _add_block(self) -> None:
        first = len(self._blocks) * BLOCK_ROWS
        self._blocks.append(np.zeros((BLOCK_ROWS, self.dimension), dtype=np.float32))
        self._live = np.concatenate([self._live, np.zeros(BLOCK_ROWS, dtype=bool)])
        self._key_of.extend([None] * BLOCK_ROWS)
        for slot in range(first, first + BLOCK_ROWS):
            heapq.heappush(self._free, slot)

    def _maybe_start_build(self) -> None:
        if self._build is not None or len(self._slot_of) < self._next_build:
            return
        slots = np.flatnonzero(self._live).astype(np.int64)
        self._next_build = int(GROWTH * len(slots))
        build = _Build()
        # The blocks as they are now: a block is never replaced, only written and added to.
        build.thread = threading.Thread(target=self._build_ivf,
                                        args=(build, slots, list(self._blocks)),
                                        name="vector-index-build", daemon=True)
        self._build = build
        build.thread.start()

    def _build_ivf(self, build: _Build, slots: np.ndarray, blocks: list[np.ndarray]) -> None:
        """In the build thread: rows changed meanwhile are put right when adopted."""
        try:
            ivf = _empty_ivf(self.dimension, len(slots))
            sample = slots[np.random.default_rng(0).permutation(len(slots))[: 40 * ivf.nlist]]
            ivf.train(_gather(blocks, sample, self.dimension))
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            for start in range(0, len(slots), COPY_ROWS):  # a bounded copy at a time
                part = slots[start:start + COPY_ROWS]
                ivf.add_with_ids(_gather(blocks, part, self.dimension), part)
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
                ivf.add_with_ids(_gather(self._blocks, again, self.dimension), again)
        self._ivf = ivf
