"""In-memory document store: chunks and their unit embeddings in one numpy matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.semcache import unit_vector


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


class DocumentStore:
    def __init__(self) -> None:
        self._chunks: list[Chunk] = []
        self._matrix: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def dimension(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[1])

    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        if len(chunks) != embeddings.shape[0]:
            raise ValueError("one embedding per chunk is needed")
        if not chunks:
            return
        rows = np.vstack([unit_vector(row) for row in embeddings])
        if self._matrix is None:
            self._matrix = rows
        elif rows.shape[1] != self._matrix.shape[1]:
            raise DimensionMismatch(
                f"embeddings have {rows.shape[1]} dimensions, the store holds "
                f"{self._matrix.shape[1]}: was the embedding model changed?"
            )
        else:
            self._matrix = np.vstack([self._matrix, rows])
        self._chunks.extend(chunks)

    def search(self, embedding: np.ndarray, top_k: int) -> list[ScoredChunk]:
        """The ``top_k`` chunks closest to the embedding, best first."""
        if self._matrix is None or top_k < 1:
            return []
        query = unit_vector(embedding)
        if query.shape[0] != self._matrix.shape[1]:
            raise DimensionMismatch(
                f"the question's embedding has {query.shape[0]} dimensions, the store holds "
                f"{self._matrix.shape[1]}"
            )
        scores = self._matrix @ query
        k = min(top_k, len(self._chunks))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [ScoredChunk(self._chunks[i], float(scores[i])) for i in best]
