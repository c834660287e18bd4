"""The document store the settings ask for, measured: every call timed, every failure
counted, and ``store_up`` following what the last call found.

    >>> store = open_store(Settings(), metrics)  # SQLite under ./data
    >>> store = open_store(Settings(store_url="http://chroma:8000"), metrics)  # shared
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np

from app.core.errors import StoreUnavailable
from app.core.labels import StoreEngine, StoreOperation
from app.core.settings import Settings
from app.store.base import Document, DocumentChunks, DocumentStore, ScoredChunk
from app.store.chroma import ChromaStore
from app.store.local import LocalStore
from app.telemetry.metrics import Metrics

T = TypeVar("T")


def open_store(settings: Settings, metrics: Metrics) -> ObservedStore:
    inner: DocumentStore
    if settings.store_url:
        inner = ChromaStore(settings.store_url, collection=settings.store_collection,
                            timeout=settings.store_timeout)
    else:
        inner = LocalStore(settings.data_dir)
    return ObservedStore(inner, metrics)


class ObservedStore:
    """A ``DocumentStore`` around another, with its metrics."""

    def __init__(self, inner: DocumentStore, metrics: Metrics) -> None:
        self.inner = inner
        self.engine = StoreEngine(inner.engine)
        self.metrics = metrics
        self.up: bool | None = None  # what the last call found; None before any
        self.last_error = ""

    async def open(self) -> None:
        await self._observe(StoreOperation.CHECK, self.inner.open)

    async def close(self) -> None:
        await self.inner.close()

    async def count(self) -> int:
        return await self._observe(StoreOperation.SIZE, self.inner.count)

    async def unchanged(self, documents: list[Document]) -> set[str]:
        return await self._observe(StoreOperation.LOOKUP,
                                   lambda: self.inner.unchanged(documents))

    async def replace(self, documents: list[DocumentChunks]) -> None:
        await self._observe(StoreOperation.WRITE, lambda: self.inner.replace(documents))

    async def search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        return await self._observe(StoreOperation.SEARCH,
                                   lambda: self.inner.search(embedding, top_k))

    async def _observe(self, operation: StoreOperation, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            result = await call()
        except StoreUnavailable as exc:
            self.up, self.last_error = False, exc.detail
            self.metrics.store_errors.labels(self.engine, operation).inc()
            self.metrics.store_up.labels(self.engine).set(0)
            raise
        else:
            self.up = True
            self.metrics.store_up.labels(self.engine).set(1)
            return result
        finally:
            self.metrics.store_duration.labels(self.engine, operation).observe(
                time.perf_counter() - started)
