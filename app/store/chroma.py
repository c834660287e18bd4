"""The shared document store: one collection on a Chroma server that every replica reads and
writes (``OLLAMA_RAG_STORE_URL=http://chroma:8000``), through Chroma's own async client.

    >>> store = ChromaStore("http://127.0.0.1:8000", collection="ollama_rag", timeout=5)
    >>> await store.open()

A chunk's id is its source's hash and its position, and each chunk carries its document's
digest: replicas that ingest the same document at once write the same ids (no duplicates),
and a new version's upsert is followed by deleting the old version's leftover chunks. Chroma
has no transactions: an ingestion cut short is completed by sending it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import numpy as np

from app.core.errors import StoreUnavailable
from app.core.labels import StoreEngine
from app.store.base import Chunk, DimensionMismatch, Document, DocumentChunks, ScoredChunk

T = TypeVar("T")


def chunk_id(source: str, position: int) -> str:
    return f"{hashlib.sha256(source.encode()).hexdigest()[:32]}:{position}"


class ChromaStore:
    engine = StoreEngine.CHROMA

    def __init__(self, url: str, *, collection: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OLLAMA_RAG_STORE_URL must be http(s)://host:port, not {url!r}")
        self.url = url
        self.collection_name = collection
        self.timeout = timeout
        self._host, self._port = parts.hostname, parts.port or 8000
        self._ssl = parts.scheme == "https"
        self._collection: Any = None

    async def open(self) -> None:
        await self._connection()

    async def close(self) -> None:
        self._collection = None

    async def count(self) -> int:
        collection = await self._connection()
        return int(await self._call(collection.count()))

    async def unchanged(self, documents: list[Document]) -> set[str]:
        if not documents:
            return set()
        collection = await self._connection()
        digests = {doc.source: doc.digest for doc in documents}
        found = await self._call(collection.get(
            where={"$and": [{"source": {"$in": list(digests)}}, {"position": 0}]},
            include=["metadatas"]))
        return {meta["source"] for meta in found["metadatas"] or []
                if digests.get(meta["source"]) == meta.get("digest")}

    async def replace(self, documents: list[DocumentChunks]) -> None:
        collection = await self._connection()
        for item in documents:
            source, digest = item.document.source, item.document.digest
            if item.chunks:
                await self._call(collection.upsert(
                    ids=[chunk_id(source, chunk.index) for chunk in item.chunks],
                    embeddings=item.embeddings.astype(np.float32),
                    documents=[chunk.text for chunk in item.chunks],
                    metadatas=[{"source": source, "position": chunk.index, "digest": digest}
                               for chunk in item.chunks]))
            await self._call(collection.delete(
                where={"$and": [{"source": source}, {"digest": {"$ne": digest}}]}))

    async def search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        collection = await self._connection()
        if top_k < 1:
            return []
        found = await self._call(collection.query(
            query_embeddings=embedding.reshape(1, -1).astype(np.float32), n_results=top_k,
            include=["documents", "metadatas", "distances"]))
        return [ScoredChunk(Chunk(meta["source"], int(meta["position"]), text),
                            1.0 - float(distance))  # Chroma's cosine distance is 1 - cos
                for text, meta, distance in zip(found["documents"][0], found["metadatas"][0],
                                                found["distances"][0], strict=True)]

    # Internal.

    async def _connection(self) -> Any:
        if self._collection is None:
            import chromadb  # imported here: the local default does not need it
            from chromadb.config import Settings as ChromaSettings

            async def connect() -> Any:
                client = await chromadb.AsyncHttpClient(
                    host=self._host, port=self._port, ssl=self._ssl,
                    settings=ChromaSettings(anonymized_telemetry=False))
                return await client.get_or_create_collection(
                    self.collection_name, metadata={"hnsw:space": "cosine"})

            self._collection = await self._call(connect())
        return self._collection

    async def _call(self, call: Awaitable[T]) -> T:
        """Chroma's answer, or ``StoreUnavailable`` saying why there is none."""
        from chromadb.errors import ChromaError, InvalidArgumentError

        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except InvalidArgumentError as exc:
            if "dimension" in str(exc):
                raise DimensionMismatch(f"Chroma: {exc}") from exc
            raise StoreUnavailable(f"Chroma at {self.url} refused a call: {exc}",
                                   engine=self.engine) from exc
        except TimeoutError as exc:
            raise StoreUnavailable(f"Chroma at {self.url} did not answer in "
                                   f"{self.timeout:g}s", engine=self.engine) from exc
        except (httpx.HTTPError, ChromaError, OSError, ValueError) as exc:
            self._collection = None  # reconnect next time: the server may have restarted
            raise StoreUnavailable(f"Chroma at {self.url} cannot be used: {exc}",
                                   engine=self.engine) from exc
