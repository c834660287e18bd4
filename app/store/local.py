"""The default document store: SQLite on local disk, searched through an in-process vector
index, every call run on one worker thread so that the event loop never waits for the disk
or a search.

    >>> store = LocalStore(Path("data"))
    >>> await store.open()  # loads what earlier runs stored

Documents and embeddings live in ``<data_dir>/documents.sqlite3`` (WAL journal: a crash
loses no committed ingestion); the index is rebuilt from it at start. One process owns a
data directory (an exclusive lock says so plainly to a second one): replicas share a Chroma
server instead (``OLLAMA_RAG_STORE_URL``).
"""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from app.core.errors import StoreUnavailable
from app.core.labels import StoreEngine
from app.store.base import (
    Chunk,
    DimensionMismatch,
    Document,
    DocumentChunks,
    ScoredChunk,
)
from app.store.vector_index import VectorIndex

T = TypeVar("T")
IN_MEMORY = ":memory:"  # OLLAMA_RAG_DATA_DIR=:memory: keeps nothing on disk (tests)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (source TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, position INTEGER NOT NULL,
    text TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks (source);
"""


class LocalStore:
    engine = StoreEngine.SQLITE

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-store")
        self._db: sqlite3.Connection | None = None
        self._lock_file: IO[str] | None = None
        self._index: VectorIndex | None = None

    @property
    def path(self) -> str:
        return IN_MEMORY if self.data_dir == IN_MEMORY else str(
            Path(self.data_dir) / "documents.sqlite3")

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        await self._run(self._close)
        self._worker.shutdown(wait=True)

    async def count(self) -> int:
        return await self._run(self._size)

    async def unchanged(self, documents: list[Document]) -> set[str]:
        return await self._run(lambda: self._unchanged(documents))

    async def replace(self, documents: list[DocumentChunks]) -> None:
        await self._run(lambda: self._replace(documents))

    async def search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        return await self._run(lambda: self._search(embedding, top_k))

    # On the worker thread.

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, call)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the local document store ({self.path}) failed: {exc}",
                                   engine=self.engine) from exc

    def _connection(self) -> sqlite3.Connection:
        """The open database; opened here if the app's start did not (an app driven
        without its lifespan, as the benchmarks drive it)."""
        if self._db is None:
            self._open()
        assert self._db is not None
        return self._db

    def _size(self) -> int:
        self._connection()  # opens the store if need be: a count is a check too
        return len(self._index) if self._index is not None else 0

    def _open(self) -> None:
        if self._db is not None:
            return
        if self.data_dir != IN_MEMORY:
            Path(self.data_dir).mkdir(parents=True, exist_ok=True)
            self._lock_file = _lock(Path(self.data_dir) / ".lock")
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        rows = self._db.execute("SELECT id, embedding FROM chunks").fetchall()
        if rows:
            vectors = np.vstack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
            self._index = VectorIndex(vectors.shape[1])
            self._index.add_many([key for key, _ in rows], vectors)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _unchanged(self, documents: list[Document]) -> set[str]:
        db = self._connection()
        found = set()
        for document in documents:
            row = db.execute("SELECT digest FROM documents WHERE source = ?",
                             (document.source,)).fetchone()
            if row is not None and row[0] == document.digest:
                found.add(document.source)
        return found

    def _replace(self, documents: list[DocumentChunks]) -> None:
        """One transaction for all: an ingestion is stored whole or not at all."""
        db = self._connection()
        for item in documents:
            self._check_dimension(item.embeddings.shape[1])
        added: list[tuple[int, np.ndarray]] = []
        removed: list[int] = []
        with db:
            for item in documents:
                source = item.document.source
                removed += [row[0] for row in db.execute(
                    "SELECT id FROM chunks WHERE source = ?", (source,))]
                db.execute("DELETE FROM chunks WHERE source = ?", (source,))
                db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)",
                           (source, item.document.digest))
                for chunk, vector in zip(item.chunks, item.embeddings, strict=True):
                    cursor = db.execute(
                        "INSERT INTO chunks (source, position, text, embedding) "
                        "VALUES (?, ?, ?, ?)",
                        (source, chunk.index, chunk.text, vector.astype(np.float32).tobytes()))
                    assert cursor.lastrowid is not None
                    added.append((cursor.lastrowid, vector))
        if added and self._index is None:
            self._index = VectorIndex(added[0][1].shape[0])
        if self._index is not None:
            self._index.remove(removed)  # first: the new chunks take the slots they free
            if added:
                self._index.add_many([key for key, _ in added],
                                     np.vstack([vector for _, vector in added]))

    def _check_dimension(self, dimension: int) -> None:
        if self._index is not None and len(self._index) and dimension != self._index.dimension:
            raise DimensionMismatch(
                f"embeddings have {dimension} dimensions, the store holds "
                f"{self._index.dimension}: was the embedding model changed?")

    def _search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        if self._index is None or not len(self._index) or top_k < 1:
            return []
        if embedding.shape[0] != self._index.dimension:
            raise DimensionMismatch(
                f"the question's embedding has {embedding.shape[0]} dimensions, the store "
                f"holds {self._index.dimension}")
        found = self._index.search(embedding, top_k)
        db = self._connection()
        result = []
        for key, score in found:
            row = db.execute("SELECT source, position, text FROM chunks WHERE id = ?",
                             (key,)).fetchone()
            if row is not None:
                result.append(ScoredChunk(Chunk(row[0], row[1], row[2]), score))
        return result


def check_data_dir_free(data_dir: str) -> None:
    """Raise ``StoreUnavailable`` now if another process holds the data directory, so that
    ``python -m app`` can say so in one line before it starts serving (the store takes the
    lock for good when it opens)."""
    if data_dir != IN_MEMORY and Path(data_dir).is_dir():
        _lock(Path(data_dir) / ".lock").close()


def _lock(path: Path) -> IO[str]:
    """Hold ``path`` locked for the process's life, or say who holds it."""
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise StoreUnavailable(
            f"the data directory {path.parent} is in use by another process; give each "
            "process its own OLLAMA_RAG_DATA_DIR, or share a Chroma server between replicas "
            "(OLLAMA_RAG_STORE_URL)", engine=LocalStore.engine) from exc
    return handle
