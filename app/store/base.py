"""What a document store is: documents cut into chunks, each with its embedding, searched by
cosine similarity. Two engines implement it: SQLite on local disk, with an in-process vector
index (``app/store/local.py``, the default), and a Chroma server that replicas share
(``app/store/chroma.py``, with ``OLLAMA_RAG_STORE_URL``).

    >>> store = open_store(settings)  # app/store/observed.py
    >>> await store.search(embedding, top_k=4)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.core.labels import StoreEngine


@dataclass(frozen=True)
class Document:
    source: str
    text: str

    @property
    def digest(self) -> str:
        """What makes an ingestion of the same source and text a no-op."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def unnamed_source(text: str) -> str:
    """The identity of a document sent without a source: its content's, so that the same
    text is the same document (stored once) and another text never replaces it."""
    return f"upload/{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class DocumentChunks:
    """A document ready to be stored: its chunks and one unit embedding per chunk."""

    document: Document
    chunks: list[Chunk]
    embeddings: np.ndarray


@dataclass(frozen=True)
class Chunk:
    source: str
    index: int  # position of the chunk within its document
    text: str


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Split text into pieces of at most ``size`` characters that overlap by ``overlap``,
    cutting at a space where one is near so that words stay whole."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    text = " ".join(text.split())
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            space = text.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        pieces.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return [piece for piece in pieces if piece]


class DimensionMismatch(ValueError):
    """New embeddings do not have the dimension of those already stored."""


class DocumentStore(Protocol):
    """Every method raises ``StoreUnavailable`` when the engine cannot be used."""

    engine: StoreEngine  # the value of the ``engine`` label

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def count(self) -> int: ...

    async def unchanged(self, documents: list[Document]) -> set[str]:
        """The sources among ``documents`` stored already with the same text."""
        ...

    async def replace(self, documents: list[DocumentChunks]) -> None:
        """Store each document's chunks in place of what its source held before."""
        ...

    async def search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        """The ``top_k`` chunks closest to the embedding, best first."""
        ...
