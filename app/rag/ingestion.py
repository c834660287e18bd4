"""Ingestion: documents cut into chunks, embedded by Ollama, kept by the document store.

    >>> ingestion = Ingestion(config, client, store, metrics, tracing)
    >>> await ingestion.ingest([("guide.md", "A circuit breaker ...")])

Idempotent per document: a source stored already with the same text is neither embedded
again nor stored twice (a restart's built-in corpus costs no call to Ollama); a source sent
with a new text replaces what it held.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import UpstreamBadResponse
from app.core.schemas import IngestResult
from app.store.base import (
    Chunk,
    DimensionMismatch,
    Document,
    DocumentChunks,
    DocumentStore,
    chunk_text,
)
from app.telemetry.metrics import Metrics
from app.telemetry.tracing import Tracing
from app.upstream.client import OllamaClient


@dataclass(frozen=True)
class ChunkingConfig:
    chunk_chars: int
    chunk_overlap_chars: int


class Ingestion:
    def __init__(self, config: ChunkingConfig, client: OllamaClient, store: DocumentStore,
                 metrics: Metrics, tracing: Tracing) -> None:
        self.config = config
        self.client = client
        self.store = store
        self.metrics = metrics
        self.tracing = tracing

    def chunks_of(self, document: Document) -> list[Chunk]:
        pieces = chunk_text(document.text, self.config.chunk_chars,
                            self.config.chunk_overlap_chars)
        return [Chunk(document.source, index, piece) for index, piece in enumerate(pieces)]

    async def ingest(self, pairs: list[tuple[str, str]]) -> IngestResult:
        """Chunk, embed and store ``(source, text)`` pairs; all or nothing (a later pair of
        the same source wins)."""
        documents = list({source: Document(source, text) for source, text in pairs}.values())
        with self.tracing.span("documents.ingest",
                               {"ollama_rag.ingest.documents": len(documents)}) as span:
            unchanged = await self.store.unchanged(documents)
            fresh = [(doc, self.chunks_of(doc)) for doc in documents
                     if doc.source not in unchanged]
            texts = [chunk.text for _, chunks in fresh for chunk in chunks]
            span.set_attribute("ollama_rag.ingest.chunks", len(texts))
            if texts:
                rows = await self.client.embed(texts)  # unit rows
                items, start = [], 0
                for document, chunks in fresh:
                    items.append(DocumentChunks(document, chunks,
                                                rows[start:start + len(chunks)]))
                    start += len(chunks)
                try:
                    await self.store.replace(items)
                except DimensionMismatch as exc:
                    raise UpstreamBadResponse(str(exc)) from exc
            total = await self.store.count()
        self.metrics.document_chunks.set(total)
        return IngestResult(documents=len(pairs), chunks=len(texts), unchanged=len(unchanged),
                            total_chunks=total)
