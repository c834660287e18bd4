"""The RAG pipeline: cache lookup, retrieval, generation, and document ingestion.

Both question APIs (``/api/query`` and ``/v1/chat/completions``) ask it a ``Question``; a
streamed answer comes back as stream events, which each route writes in its own format.

    >>> rag = RagService(rag_config(Settings()), client, cache, store, metrics)
    >>> answer = await rag.answer(Question("What does a circuit breaker do?", top_k=4))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.errors import CircuitOpenError, Overloaded, UpstreamBadResponse, UpstreamError
from app.core.labels import AnswerMode, QuestionApi, UpstreamOperation
from app.core.schemas import (
    CacheOutcome,
    ChunkEvent,
    EndEvent,
    ErrorEvent,
    FinishReason,
    IngestResult,
    QueryAnswer,
    Source,
    StartEvent,
    StreamEvent,
    Usage,
)
from app.rag.corpus import BUILTIN_DOCUMENTS
from app.rag.ingestion import ChunkingConfig, Ingestion
from app.rag.semcache import CacheHit, SemanticCache, question_key
from app.store.base import DimensionMismatch, DocumentStore, ScoredChunk
from app.telemetry.metrics import Metrics
from app.telemetry.request_context import note_cache, note_error
from app.telemetry.tracing import Tracing
from app.upstream.answers import ChatStats
from app.upstream.client import ChatStream, OllamaClient, QuestionCalls

SYSTEM_PROMPT = (
    "You answer questions using only the numbered context passages below. If they do not "
    "contain the answer, say that you do not know.\n\n{context}"
)


@dataclass(frozen=True)
class RagConfig:
    """The settings the pipeline uses (their defaults are the settings')."""

    chat_model: str
    chunk_chars: int
    chunk_overlap_chars: int
    load_builtin_corpus: bool


# The cache's outcome for a question it is not asked about (a conversation with history, or
# with generation options: its answer is not the answer to its last question alone).
BYPASS = "bypass"


@dataclass(frozen=True)
class Question:
    """What a caller asks: the question (what retrieval searches for, and the cache's key),
    and for a conversation (``/v1/chat/completions``) its earlier messages, oldest first,
    and the generation options passed to Ollama.

        >>> Question("What does a circuit breaker do?", top_k=4)
    """

    text: str
    top_k: int
    api: QuestionApi = QuestionApi.NATIVE
    history: tuple[dict[str, str], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cacheable(self) -> bool:
        """Only a question on its own: a conversation's answer depends on its history, and
        options (temperature, stop...) change the answer a cached one would replace."""
        return not self.history and not self.options


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


@dataclass
class Timings:
    started: float = field(default_factory=time.perf_counter)
    phases: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def as_ms(self) -> dict[str, float]:
        result = {phase: _ms(seconds) for phase, seconds in self.phases.items()}
        result["total"] = _ms(time.perf_counter() - self.started)
        return result


@dataclass
class Lookup:
    """What the cache said about a question, and the embedding computed on the way."""

    key: str  # the question's cache key
    hit: CacheHit | None
    cache_asked: bool = True  # False for a question that is not ``Question.cacheable``
    embedding: np.ndarray | None = None  # a unit vector
    embed_error: UpstreamError | CircuitOpenError | Overloaded | None = None
    # A miss's upstream calls, admitted before it was embedded (``OllamaClient.question``).
    calls: QuestionCalls | None = None

    def release(self) -> None:
        """Give back the admission no answer used (a semantic hit, a failed step)."""
        if self.calls is not None:
            self.calls.release()

    @property
    def miss_calls(self) -> QuestionCalls:
        assert self.calls is not None, "only a miss has upstream calls"
        return self.calls

    def outcome(self) -> CacheOutcome:
        if not self.cache_asked:
            return CacheOutcome(result=BYPASS, similarity=None)
        if self.hit is None:
            return CacheOutcome(result="miss", similarity=None)
        return CacheOutcome(result=self.hit.hit_type, similarity=round(self.hit.similarity, 4))


@dataclass
class PreparedAnswer:
    """A miss, ready to be sent to the chat model."""

    question: Question
    lookup: Lookup
    messages: list[dict[str, str]]
    sources: list[Source]
    timings: Timings


def _usage(stats: ChatStats) -> Usage:
    return Usage(prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens)


def _sources(scored: list[ScoredChunk]) -> list[Source]:
    return [Source(source=s.chunk.source, chunk=s.chunk.index, score=round(s.score, 4))
            for s in scored]


class RagService:
    def __init__(self, config: RagConfig, client: OllamaClient, cache: SemanticCache,
                 store: DocumentStore, metrics: Metrics, tracing: Tracing | None = None) -> None:
        self.config = config
        self.client = client
        self.cache = cache
        self.store = store
        self.metrics = metrics
        self.tracing = tracing or Tracing(None)
        self._corpus_loaded = not config.load_builtin_corpus
        self._corpus_lock = asyncio.Lock()
        self.ingestion = Ingestion(ChunkingConfig(config.chunk_chars,
                                                  config.chunk_overlap_chars),
                                   client, store, metrics, self.tracing)

    @property
    def ready(self) -> bool:
        return self._corpus_loaded

    async def ensure_corpus(self) -> None:
        """Index the built-in corpus once; a failure is retried on the next call."""
        if self._corpus_loaded:
            return
        async with self._corpus_lock:
            if not self._corpus_loaded:
                await self.ingest(list(BUILTIN_DOCUMENTS.items()))
                self._corpus_loaded = True

    async def ingest(self, documents: list[tuple[str, str]]) -> IngestResult:
        return await self.ingestion.ingest(documents)

    async def lookup(self, question: Question, timings: Timings) -> Lookup:
        """Exact, then semantic (for a cacheable question). A miss first gets its chat call
        admitted (``Overloaded`` otherwise). When the question cannot be embedded (breaker
        open, upstream down, overloaded) the lookup degrades to exact match instead of
        failing. The caller releases the admission no answer used (``Lookup.release``)."""
        started = time.perf_counter()
        key = question_key(question.text)
        # No span of its own: a dictionary lookup of microseconds, whose result the server
        # span carries (``ollama_rag.cache.result``); exporting a span cost more than it.
        hit = self.cache.lookup_exact(key) if question.cacheable else None
        lookup_seconds = time.perf_counter() - started
        result = Lookup(key, hit, cache_asked=question.cacheable)
        if hit is None:
            result.calls = await self.client.question()
            embed_started = time.perf_counter()
            try:
                result.embedding = await result.calls.embed(question.text)
            except (UpstreamError, CircuitOpenError, Overloaded) as exc:
                result.embed_error = exc
            except BaseException:
                result.release()
                raise
            timings.add(UpstreamOperation.EMBED, time.perf_counter() - embed_started)
            if result.embedding is not None and result.cache_asked:
                lookup_seconds += self._semantic_lookup(result)
        outcome = result.outcome()
        note_cache(outcome.result, outcome.similarity)
        if not result.cache_asked:
            return result
        self.metrics.cache_lookup_duration.observe(lookup_seconds)
        timings.add("cache_lookup", lookup_seconds)
        if result.hit is None:
            self.cache.record_miss()
        else:
            self.cache.record_hit(result.hit)
        return result

    def _semantic_lookup(self, result: Lookup) -> float:
        """Look the embedded question up; returns the seconds it took."""
        assert result.embedding is not None
        with self.tracing.span("cache.semantic_lookup") as span:
            started = time.perf_counter()
            result.hit, best = self.cache.search_semantic(result.embedding)
            elapsed = time.perf_counter() - started
            if span.is_recording():
                span.set_attributes({"ollama_rag.cache.result":
                                     "miss" if result.hit is None else "hit",
                                     "ollama_rag.cache.threshold": self.cache.threshold,
                                     "ollama_rag.cache.entries": len(self.cache)})
                if best is not None:
                    span.set_attribute("ollama_rag.cache.similarity", round(best, 4))
        return elapsed

    async def prepare(self, question: Question, timings: Timings,
                      lookup: Lookup) -> PreparedAnswer:
        """Retrieve the context of a missed question."""
        if lookup.embed_error is not None:
            raise lookup.embed_error
        assert lookup.embedding is not None
        await self.ensure_corpus()
        top_k = question.top_k
        with self.tracing.span("retrieval", {"ollama_rag.retrieval.top_k": top_k}) as span:
            started = time.perf_counter()
            try:
                scored = await self.store.search(lookup.embedding, top_k)
            except DimensionMismatch as exc:
                raise UpstreamBadResponse(str(exc)) from exc
            elapsed = time.perf_counter() - started
            if span.is_recording():
                span.set_attributes({"ollama_rag.retrieval.chunks": len(scored),
                                     "ollama_rag.documents.engine": self.store.engine})
                if scored:
                    span.set_attribute("ollama_rag.retrieval.best_score",
                                       round(scored[0].score, 4))
        self.metrics.retrieval_duration.observe(elapsed)
        timings.add("retrieval", elapsed)
        context = "\n\n".join(f"[{i + 1}] {s.chunk.text}" for i, s in enumerate(scored))
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(context=context)},
            *question.history,
            {"role": "user", "content": question.text},
        ]
        return PreparedAnswer(question, lookup, messages, _sources(scored), timings)

    def _cached_answer(self, hit: CacheHit, lookup: Lookup, timings: Timings) -> QueryAnswer:
        cached: QueryAnswer = hit.value
        return cached.model_copy(update={"cache": lookup.outcome(), "usage": Usage(),
                                         "timings_ms": timings.as_ms()})

    def _remember(self, answer: QueryAnswer, prepared: PreparedAnswer) -> None:
        if prepared.lookup.cache_asked:
            self.cache.put(prepared.lookup.key, answer, prepared.lookup.embedding)

    def _generated_answer(self, content: str, prepared: PreparedAnswer,
                          stats: ChatStats) -> QueryAnswer:
        return QueryAnswer(answer=content, sources=prepared.sources,
                           cache=prepared.lookup.outcome(), model=self.config.chat_model,
                           usage=_usage(stats), finish_reason=_finish_reason(stats),
                           timings_ms=prepared.timings.as_ms())

    async def answer(self, question: Question) -> QueryAnswer:
        timings = Timings()
        lookup = await self.lookup(question, timings)
        try:
            if lookup.hit is not None:
                self._answer_started(question, AnswerMode.WHOLE, timings.elapsed())
                return self._cached_answer(lookup.hit, lookup, timings)
            prepared = await self.prepare(question, timings, lookup)
            started = time.perf_counter()
            result = await lookup.miss_calls.chat(prepared.messages, question.options)
        finally:
            lookup.release()
        timings.add("llm", time.perf_counter() - started)
        answer = self._generated_answer(result.content, prepared, result.stats)
        self._remember(answer, prepared)
        self._answer_started(question, AnswerMode.WHOLE,
                             max(0.0, timings.elapsed() - result.stats.generation_seconds))
        return answer

    def _answer_started(self, question: Question, mode: AnswerMode, seconds: float) -> None:
        """The latency SLI: observed only for answers that succeed."""
        self.metrics.query_ttft.labels(mode, question.api).observe(seconds,
                                                                   self.tracing.exemplar())

    async def answer_stream(self, question: Question) -> AsyncIterator[StreamEvent]:
        """Everything that can fail with an HTTP status fails before this returns; the
        iterator it returns yields the stream events (``start``, ``chunk``..., then ``end``
        or ``error``)."""
        timings = Timings()
        lookup = await self.lookup(question, timings)
        try:
            if lookup.hit is not None:
                self._answer_started(question, AnswerMode.STREAM, timings.elapsed())
                return _cached_stream(self._cached_answer(lookup.hit, lookup, timings))
            prepared = await self.prepare(question, timings, lookup)
            started = time.perf_counter()
            stream = await lookup.miss_calls.open_chat_stream(prepared.messages,
                                                              question.options)
        finally:
            lookup.release()
        return self._generated_stream(prepared, stream, started)

    async def _generated_stream(self, prepared: PreparedAnswer,
                                stream: ChatStream, started: float) -> AsyncIterator[StreamEvent]:
        pieces: list[str] = []
        first_piece_after: float | None = None
        api = prepared.question.api
        try:
            yield StartEvent(cache=prepared.lookup.outcome(), sources=prepared.sources,
                             model=self.config.chat_model)
            try:
                async for piece in stream:
                    if first_piece_after is None:
                        first_piece_after = prepared.timings.elapsed()
                    pieces.append(piece)
                    yield ChunkEvent(content=piece)
            except UpstreamError as error:
                # The status line is already sent: the error travels as the last event, and
                # the failure is counted where the availability SLI sees it.
                self.metrics.query_stream_failures.labels(error.outcome, api).inc()
                note_error(error.code, error.message)
                yield ErrorEvent(error=error.code, detail=error.message)
                return
            if first_piece_after is None:  # an empty answer starts when it ends
                first_piece_after = prepared.timings.elapsed()
            self._answer_started(prepared.question, AnswerMode.STREAM, first_piece_after)
            prepared.timings.add("llm", time.perf_counter() - started)
            if stream.time_to_first_token is not None:
                prepared.timings.add("time_to_first_token", stream.time_to_first_token)
            answer = self._generated_answer("".join(pieces), prepared, stream.stats)
            self._remember(answer, prepared)
            yield EndEvent(usage=answer.usage, finish_reason=answer.finish_reason,
                           timings_ms=answer.timings_ms)
        finally:
            await stream.aclose()


def _finish_reason(stats: ChatStats) -> FinishReason:
    """Ollama's done_reason: ``length`` when the answer was cut at its token limit."""
    return "length" if stats.done_reason == "length" else "stop"


async def _cached_stream(answer: QueryAnswer) -> AsyncIterator[StreamEvent]:
    yield StartEvent(cache=answer.cache, sources=answer.sources, model=answer.model)
    yield ChunkEvent(content=answer.answer)
    yield EndEvent(usage=answer.usage, finish_reason=answer.finish_reason,
                   timings_ms=answer.timings_ms)
