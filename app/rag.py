"""The RAG pipeline: cache lookup, retrieval, generation, and document ingestion."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.breaker import CircuitOpenError
from app.corpus import BUILTIN_DOCUMENTS
from app.metrics import Metrics
from app.ollama_client import OllamaClient, UpstreamBadResponse, UpstreamError
from app.semcache import CacheHit, SemanticCache
from app.settings import Settings
from app.store import Chunk, DimensionMismatch, DocumentStore, ScoredChunk, chunk_text

SYSTEM_PROMPT = (
    "You answer questions using only the numbered context passages below. If they do not "
    "contain the answer, say that you do not know.\n\n{context}"
)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


@dataclass
class Timings:
    started: float = field(default_factory=time.perf_counter)
    phases: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def as_ms(self) -> dict[str, float]:
        result = {phase: _ms(seconds) for phase, seconds in self.phases.items()}
        result["total"] = _ms(time.perf_counter() - self.started)
        return result


@dataclass
class Lookup:
    """What the cache said about a question, and the embedding computed on the way."""

    hit: CacheHit | None
    embedding: np.ndarray | None
    embed_error: UpstreamError | CircuitOpenError | None = None

    def describe(self) -> dict[str, Any]:
        if self.hit is None:
            return {"result": "miss", "similarity": None}
        return {"result": self.hit.hit_type, "similarity": round(self.hit.similarity, 4)}


@dataclass
class PreparedAnswer:
    """A miss, ready to be sent to the chat model."""

    lookup: Lookup
    messages: list[dict[str, str]]
    sources: list[dict[str, Any]]
    timings: Timings


def _sources(scored: list[ScoredChunk]) -> list[dict[str, Any]]:
    return [
        {"source": s.chunk.source, "chunk": s.chunk.index, "score": round(s.score, 4)}
        for s in scored
    ]


class RagService:
    def __init__(self, settings: Settings, client: OllamaClient, cache: SemanticCache,
                 store: DocumentStore, metrics: Metrics) -> None:
        self.settings = settings
        self.client = client
        self.cache = cache
        self.store = store
        self.metrics = metrics
        self._corpus_loaded = not settings.load_builtin_corpus
        self._corpus_lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        return self._corpus_loaded

    async def ensure_corpus(self) -> None:
        """Index the built-in corpus once; a failure is retried on the next call."""
        if self._corpus_loaded:
            return
        async with self._corpus_lock:
            if not self._corpus_loaded:
                await self.ingest([(source, text) for source, text in BUILTIN_DOCUMENTS.items()])
                self._corpus_loaded = True

    async def ingest(self, documents: list[tuple[str, str]]) -> dict[str, int]:
        """Chunk and embed ``(source, text)`` pairs; all or nothing."""
        chunks = [
            Chunk(source, index, piece)
            for source, text in documents
            for index, piece in enumerate(
                chunk_text(text, self.settings.chunk_chars, self.settings.chunk_overlap_chars)
            )
        ]
        if chunks:
            embeddings = await self.client.embed([c.text for c in chunks])
            try:
                self.store.add(chunks, embeddings)
            except DimensionMismatch as exc:
                raise UpstreamBadResponse(str(exc)) from exc
        self.metrics.document_chunks.set(len(self.store))
        return {"documents": len(documents), "chunks": len(chunks),
                "total_chunks": len(self.store)}

    async def lookup(self, question: str, timings: Timings) -> Lookup:
        """Exact, then semantic. When the question cannot be embedded (breaker open,
        upstream down) the lookup degrades to exact match instead of failing."""
        started = time.perf_counter()
        hit = self.cache.lookup_exact(question)
        lookup_seconds = time.perf_counter() - started
        result = Lookup(hit, None)
        if hit is None:
            embed_started = time.perf_counter()
            try:
                result.embedding = (await self.client.embed([question]))[0]
            except (UpstreamError, CircuitOpenError) as exc:
                result.embed_error = exc
            timings.add("embed", time.perf_counter() - embed_started)
            if result.embedding is not None:
                started = time.perf_counter()
                result.hit = self.cache.lookup_semantic(result.embedding)
                lookup_seconds += time.perf_counter() - started
        self.metrics.cache_lookup_duration.observe(lookup_seconds)
        timings.add("cache_lookup", lookup_seconds)
        if result.hit is None:
            self.cache.record_miss()
        else:
            self.cache.record_hit(result.hit)
        return result

    async def prepare(self, question: str, top_k: int, timings: Timings,
                      lookup: Lookup) -> PreparedAnswer:
        """Retrieve the context of a missed question."""
        if lookup.embed_error is not None:
            raise lookup.embed_error
        assert lookup.embedding is not None
        await self.ensure_corpus()
        started = time.perf_counter()
        try:
            scored = self.store.search(lookup.embedding, top_k)
        except DimensionMismatch as exc:
            raise UpstreamBadResponse(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self.metrics.retrieval_duration.observe(elapsed)
        timings.add("retrieval", elapsed)
        context = "\n\n".join(f"[{i + 1}] {s.chunk.text}" for i, s in enumerate(scored))
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(context=context)},
            {"role": "user", "content": question},
        ]
        return PreparedAnswer(lookup, messages, _sources(scored), timings)

    def _cached_body(self, prepared_or_hit: CacheHit, lookup: Lookup,
                     timings: Timings) -> dict[str, Any]:
        value = prepared_or_hit.value
        return {"answer": value["answer"], "sources": value["sources"],
                "cache": lookup.describe(), "model": value["model"],
                "timings_ms": timings.as_ms()}

    def _remember(self, question: str, answer: str, prepared: PreparedAnswer) -> None:
        value = {"answer": answer, "sources": prepared.sources,
                 "model": self.settings.chat_model}
        self.cache.put(question, value, prepared.lookup.embedding)

    async def answer(self, question: str, top_k: int) -> dict[str, Any]:
        timings = Timings()
        lookup = await self.lookup(question, timings)
        if lookup.hit is not None:
            return self._cached_body(lookup.hit, lookup, timings)
        prepared = await self.prepare(question, top_k, timings, lookup)
        started = time.perf_counter()
        result = await self.client.chat(prepared.messages)
        timings.add("llm", time.perf_counter() - started)
        self._remember(question, result.content, prepared)
        return {
            "answer": result.content,
            "sources": prepared.sources,
            "cache": lookup.describe(),
            "model": self.settings.chat_model,
            "usage": {"prompt_tokens": result.stats.prompt_tokens,
                      "completion_tokens": result.stats.completion_tokens},
            "timings_ms": timings.as_ms(),
        }

    async def answer_stream(self, question: str, top_k: int) -> AsyncIterator[bytes]:
        """Everything that can fail with an HTTP status fails before this returns; the
        iterator it returns yields NDJSON lines."""
        timings = Timings()
        lookup = await self.lookup(question, timings)
        if lookup.hit is not None:
            return _cached_stream(self._cached_body(lookup.hit, lookup, timings))
        prepared = await self.prepare(question, top_k, timings, lookup)
        started = time.perf_counter()
        stream = await self.client.open_chat_stream(prepared.messages)
        return self._generated_stream(question, prepared, stream, started)

    async def _generated_stream(self, question: str, prepared: PreparedAnswer, stream: Any,
                                started: float) -> AsyncIterator[bytes]:
        pieces: list[str] = []
        try:
            yield _line({"type": "start", "cache": prepared.lookup.describe(),
                         "sources": prepared.sources, "model": self.settings.chat_model})
            try:
                async for piece in stream:
                    pieces.append(piece)
                    yield _line({"type": "chunk", "content": piece})
            except UpstreamError as error:
                # The status line is already sent: the error travels as the last line.
                yield _line({"type": "error", "error": error.code, "detail": error.message})
                return
            prepared.timings.add("llm", time.perf_counter() - started)
            if stream.time_to_first_token is not None:
                prepared.timings.add("time_to_first_token", stream.time_to_first_token)
            self._remember(question, "".join(pieces), prepared)
            yield _line({"type": "end",
                         "usage": {"prompt_tokens": stream.stats.prompt_tokens,
                                   "completion_tokens": stream.stats.completion_tokens},
                         "timings_ms": prepared.timings.as_ms()})
        finally:
            await stream.aclose()


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"


async def _cached_stream(body: dict[str, Any]) -> AsyncIterator[bytes]:
    yield _line({"type": "start", "cache": body["cache"], "sources": body["sources"],
                 "model": body["model"]})
    yield _line({"type": "chunk", "content": body["answer"]})
    yield _line({"type": "end", "usage": {"prompt_tokens": 0, "completion_tokens": 0},
                 "timings_ms": body["timings_ms"]})
