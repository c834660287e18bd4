"""The app factory: ``create_app(settings)`` wires one service with its own registry."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel, ConfigDict, SecretStr, StrictBool, StrictInt, StrictStr

from app import __version__
from app.body_limit import BodyLimitMiddleware
from app.breaker import BreakerConfig, CircuitBreaker
from app.errors import ApiError, error_response, install_error_handlers
from app.http_metrics import HttpMetricsMiddleware
from app.metrics import BREAKER_NAME, HIT_TYPES, BreakerMetricsObserver, Metrics
from app.ollama_client import OllamaClient
from app.prober import probe_while_half_open
from app.rag import RagService
from app.semcache import SemanticCache
from app.settings import Settings
from app.store import DocumentStore

log = logging.getLogger("app")

CORPUS_RETRY_SECONDS = 2.0
MAX_SOURCE_CHARS = 200


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr
    top_k: StrictInt | None = None
    stream: StrictBool = False


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: StrictStr
    source: StrictStr | None = None


class DocumentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn]


class CacheObserverMetrics:
    """Reports the semantic cache's events on the cache metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics
        self._hits = {t: metrics.cache_hits.labels(t) for t in HIT_TYPES}

    def on_hit(self, hit_type: str) -> None:
        self._hits[hit_type].inc()

    def on_miss(self) -> None:
        self._m.cache_misses.inc()

    def on_eviction(self, reason: str, count: int) -> None:
        self._m.cache_evictions.labels(reason).inc(count)

    def on_size(self, size: int, capacity: int) -> None:
        self._m.cache_size.set(size)
        self._m.cache_capacity.set(capacity)
        self._m.cache_fill_ratio.set(size / capacity)

    def on_similarity(self, best: float) -> None:
        self._m.cache_similarity.observe(max(0.0, best))


@dataclass
class Components:
    """Everything one app instance owns; kept on ``app.state.components``."""

    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    breaker: CircuitBreaker
    cache: SemanticCache
    client: OllamaClient
    rag: RagService


def build_components(settings: Settings) -> Components:
    registry = CollectorRegistry()
    metrics = Metrics(registry, chat_model=settings.chat_model,
                      embed_model=settings.embed_model, version=__version__,
                      enabled=settings.metrics_enabled)
    breaker = CircuitBreaker(
        BREAKER_NAME,
        BreakerConfig(
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout=settings.breaker_reset_timeout,
            half_open_max_calls=settings.breaker_half_open_max_calls,
            success_threshold=settings.breaker_success_threshold,
        ),
        observer=BreakerMetricsObserver(metrics) if metrics.enabled else None,
    )
    metrics.breaker_last_change.labels(BREAKER_NAME).set(breaker.last_change_wall_time)
    cache = SemanticCache(settings.cache_capacity, settings.cache_similarity_threshold,
                          settings.cache_ttl_seconds,
                          observer=CacheObserverMetrics(metrics) if metrics.enabled else None)
    client = OllamaClient(settings, breaker, metrics)
    rag = RagService(settings, client, cache, DocumentStore(), metrics)
    return Components(settings, registry, metrics, breaker, cache, client, rag)


def _check_text(field: str, text: str) -> None:
    """JSON can carry lone UTF-16 surrogates ("\\ud800") that no encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(422, "invalid_request",
                       f"{field}: contains characters that are not valid Unicode") from exc


def _require_bearer(request: Request, token: SecretStr | None, what: str) -> None:
    if token is None:
        raise ApiError(403, "forbidden", f"{what} is disabled: no token is configured")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
        raise ApiError(401, "unauthorized", f"{what} needs a valid bearer token",
                       headers={"WWW-Authenticate": "Bearer"})


async def _load_corpus_until_done(rag: RagService) -> None:
    while not rag.ready:
        try:
            await rag.ensure_corpus()
        except Exception as exc:
            log.warning("built-in corpus not indexed yet (%s); retrying", exc)
            await asyncio.sleep(CORPUS_RETRY_SECONDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    parts = build_components(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_load_corpus_until_done(parts.rag)),
                 asyncio.create_task(probe_while_half_open(parts.client))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await parts.client.aclose()

    app = FastAPI(title="ollama-rag", version=__version__, lifespan=lifespan)
    app.state.components = parts
    install_error_handlers(app)
    # Outermost first: the metrics middleware also counts what the body limit refuses.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware, metrics=parts.metrics, router=app.router)

    @app.post("/api/query", response_model=None)
    async def query(body: QueryRequest) -> dict[str, Any] | StreamingResponse:
        question = body.question.strip()
        _check_text("question", question)
        if not question:
            raise ApiError(422, "invalid_request", "question: must not be empty")
        if len(question) > settings.max_question_chars:
            raise ApiError(422, "invalid_request",
                           f"question: longer than {settings.max_question_chars} characters")
        top_k = settings.default_top_k if body.top_k is None else body.top_k
        if not 1 <= top_k <= settings.max_top_k:
            raise ApiError(422, "invalid_request",
                           f"top_k: must be between 1 and {settings.max_top_k}")
        if body.stream:
            lines = await parts.rag.answer_stream(question, top_k)
            return StreamingResponse(lines, media_type="application/x-ndjson")
        return await parts.rag.answer(question, top_k)

    @app.post("/api/documents")
    async def documents(body: DocumentsRequest) -> dict[str, int]:
        if not body.documents:
            raise ApiError(422, "invalid_request", "documents: at least one is needed")
        if len(body.documents) > settings.max_documents_per_request:
            raise ApiError(422, "invalid_request",
                           f"documents: at most {settings.max_documents_per_request} a request")
        pairs = []
        for i, doc in enumerate(body.documents):
            if not doc.text.strip():
                raise ApiError(422, "invalid_request", f"documents.{i}.text: must not be empty")
            _check_text(f"documents.{i}.text", doc.text)
            source = doc.source or f"upload/{i}"
            _check_text(f"documents.{i}.source", source)
            if len(source) > MAX_SOURCE_CHARS:
                raise ApiError(422, "invalid_request",
                               f"documents.{i}.source: longer than {MAX_SOURCE_CHARS} characters")
            pairs.append((source, doc.text))
        return await parts.rag.ingest(pairs)

    @app.get("/api/cache-stats")
    async def cache_stats() -> dict[str, Any]:
        cache = parts.cache
        lookups = sum(cache.hits.values()) + cache.misses
        return {
            "hits": dict(cache.hits),
            "misses": cache.misses,
            "hit_ratio": round(sum(cache.hits.values()) / lookups, 4) if lookups else None,
            "size": len(cache),
            "capacity": cache.capacity,
            "fill_ratio": round(cache.fill_ratio, 4),
            "evictions": dict(cache.evictions),
            "similarity_threshold": cache.threshold,
            "ttl_seconds": cache.ttl_seconds,
        }

    @app.delete("/api/cache")
    async def clear_cache(request: Request) -> dict[str, int]:
        _require_bearer(request, settings.admin_token, "clearing the cache")
        return {"cleared": parts.cache.clear()}

    @app.get("/api/breaker")
    async def breaker() -> dict[str, object]:
        return parts.breaker.snapshot()

    @app.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        if not settings.metrics_enabled:
            raise ApiError(404, "not_found",
                           "metrics are disabled (OLLAMA_RAG_METRICS_ENABLED=false)")
        if settings.metrics_token is not None:
            _require_bearer(request, settings.metrics_token, "/metrics")
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(parts.registry), media_type=content_type)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    async def readyz() -> dict[str, str] | JSONResponse:
        if parts.rag.ready:
            return {"status": "ready"}
        return error_response(503, "not_ready",
                              "the built-in corpus is not indexed yet: Ollama has not answered")

    return app

