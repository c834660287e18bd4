"""Semantic cache: exact match on normalised text, then cosine similarity over embeddings.

Entries are keyed by ``question_key(question)``, computed once per question by its caller.
Embeddings arrive as unit vectors (``app/store/vectors.py``) and live in a ``VectorIndex``
keyed by the entry's key: exact while the cache
is small, an approximate index with exact rescoring once large, so that a lookup stays under
a millisecond at 1,000,000 entries. Entries are evicted least-recently-used at capacity and
after their time to live; an evicted entry leaves the index at once and never matches.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.core.labels import EvictionReason, HitType
from app.store.vector_index import VectorIndex

_SPACES = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s?!.,;:]+$")


def question_key(text: str) -> str:
    """The exact-match key: case, surrounding space, runs of space and trailing
    punctuation do not make two questions different."""
    text = _SPACES.sub(" ", text.strip().casefold())
    return _TRAILING_PUNCTUATION.sub("", text)


class CacheObserver(Protocol):
    def on_hit(self, hit_type: HitType) -> None: ...
    def on_miss(self) -> None: ...
    def on_eviction(self, reason: EvictionReason, count: int) -> None: ...
    def on_size(self, size: int, capacity: int) -> None: ...
    def on_similarity(self, best: float) -> None: ...


@dataclass(frozen=True)
class CacheHit:
    value: Any
    hit_type: HitType
    similarity: float


@dataclass
class _Entry:
    value: Any
    embedded: bool  # False when stored without an embedding: found by exact match only


class SemanticCache:
    """A bounded LRU cache keyed by normalised question, searchable by embedding."""

    def __init__(
        self,
        capacity: int,
        threshold: float,
        ttl_seconds: float,
        *,
        observer: CacheObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        self.capacity = capacity
        self.threshold = threshold
        self.ttl_seconds = ttl_seconds
        self._observer = observer
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._index: VectorIndex | None = None  # made at the first embedding
        # Every entry lives ttl_seconds from its insertion, so insertion order is expiry
        # order: purging pops from the front and never scans the whole cache.
        self._deadlines: OrderedDict[str, float] = OrderedDict()
        # Running totals for /api/cache-stats; clear() keeps them.
        self.hits: dict[HitType, int] = dict.fromkeys(HitType, 0)
        self.misses = 0
        self.evictions: dict[EvictionReason, int] = dict.fromkeys(EvictionReason, 0)
        self._report_size()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def fill_ratio(self) -> float:
        return len(self._entries) / self.capacity

    def lookup_exact(self, key: str) -> CacheHit | None:
        """The entry of a question's key; counts nothing (``record_hit``/``_miss`` do)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._deadlines[key] <= self._clock():
            self._evict_expired()
            return None
        self._entries.move_to_end(key)
        return CacheHit(entry.value, HitType.EXACT, 1.0)

    def lookup_semantic(self, embedding: np.ndarray) -> CacheHit | None:
        """The most similar live entry at or above the threshold."""
        return self.search_semantic(embedding)[0]

    def search_semantic(self, embedding: np.ndarray) -> tuple[CacheHit | None, float | None]:
        """The hit (or None) and the best similarity found, hit or not (None when nothing
        could be compared); the best is also reported to the observer."""
        self._evict_expired()
        if self._index is None or not self._entries:
            return None, None
        if embedding.shape[0] != self._index.dimension:
            return None, None  # an embedding from another model cannot be compared
        found = self._index.search(embedding, 1)
        if not found:
            return None, None
        key, best = found[0]
        if self._observer is not None:
            self._observer.on_similarity(best)
        if best < self.threshold:
            return None, best
        assert isinstance(key, str)
        self._entries.move_to_end(key)
        return CacheHit(self._entries[key].value, HitType.SEMANTIC, best), best

    def record_hit(self, hit: CacheHit) -> None:
        self.hits[hit.hit_type] += 1
        if self._observer is not None:
            self._observer.on_hit(hit.hit_type)

    def record_miss(self) -> None:
        self.misses += 1
        if self._observer is not None:
            self._observer.on_miss()

    def wait_for_index(self) -> None:
        """Let a running rebuild of the vector index finish and take it (benchmarks)."""
        if self._index is not None:
            self._index.wait_for_build()

    def put(self, key: str, value: Any, embedding: np.ndarray | None) -> None:
        """Store an answer under a question's key; without an embedding (a unit vector) it
        can only be found by exact match."""
        if key in self._entries:
            self._evict([key], None)
        elif len(self._entries) >= self.capacity:
            self._evict([next(iter(self._entries))], EvictionReason.CAPACITY)
        embedded = False
        if embedding is not None:
            if self._index is None:
                self._index = VectorIndex(embedding.shape[0])
            if embedding.shape[0] == self._index.dimension:
                self._index.add(key, embedding)
                embedded = True
        self._entries[key] = _Entry(value, embedded)
        self._deadlines[key] = self._clock() + self.ttl_seconds
        self._report_size()

    def clear(self) -> int:
        """Drop every entry (not counted as evictions); returns how many there were."""
        count = len(self._entries)
        self._entries.clear()
        self._deadlines.clear()
        if self._index is not None:
            self._index.clear()
        self._report_size()
        return count

    # Internal.

    def _evict_expired(self) -> None:
        now = self._clock()
        expired = []
        for key, deadline in self._deadlines.items():
            if deadline > now:
                break
            expired.append(key)
        if expired:
            self._evict(expired, EvictionReason.TTL)

    def _evict(self, keys: list[str], reason: EvictionReason | None) -> None:
        freed = []
        for key in keys:
            entry = self._entries.pop(key)
            del self._deadlines[key]
            if entry.embedded:
                freed.append(key)
        if freed and self._index is not None:
            self._index.remove(freed)
        if reason is not None:
            self.evictions[reason] += len(keys)
            if self._observer is not None:
                self._observer.on_eviction(reason, len(keys))
        self._report_size()

    def _report_size(self) -> None:
        if self._observer is not None:
            self._observer.on_size(len(self._entries), self.capacity)
