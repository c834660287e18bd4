"""The parts of one app and how they are wired: each gets the part of the settings it
uses, and the metrics of the app's own registry.

    >>> parts = build_components(Settings())
    >>> parts.breaker.state
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from app import __version__
from app.core.labels import BREAKER_NAME
from app.core.settings import Settings
from app.http.drain import Drain
from app.rag.pipeline import RagConfig, RagService
from app.rag.semcache import SemanticCache
from app.store.observed import ObservedStore, open_store
from app.telemetry.metrics import Metrics
from app.telemetry.observers import BreakerMetricsObserver, CacheMetricsObserver
from app.telemetry.runtime import register_runtime_collectors
from app.telemetry.tracing import Tracing
from app.upstream.admission import Admission, AdmissionConfig
from app.upstream.breaker import BreakerConfig, CircuitBreaker
from app.upstream.client import ClientConfig, OllamaClient
from app.upstream.gradient_limit import LimitBounds


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
    tracing: Tracing
    admission: Admission
    drain: Drain
    store: ObservedStore
    # When this instance was made (Unix seconds): what ``/v1/models`` says its models were
    # created at.
    created: int = field(default_factory=lambda: int(time.time()))


def client_config(settings: Settings) -> ClientConfig:
    return ClientConfig(
        url=settings.ollama_url, chat_model=settings.chat_model,
        embed_model=settings.embed_model, max_connections=settings.pool_max_connections,
        max_keepalive=settings.pool_max_keepalive, connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout, write_timeout=settings.write_timeout,
        pool_timeout=settings.pool_timeout,
        cold_load_seconds=settings.cold_load_seconds,
    )


def breaker_config(settings: Settings) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=settings.breaker_failure_threshold,
        reset_timeout=settings.breaker_reset_timeout,
        half_open_max_calls=settings.breaker_half_open_max_calls,
        success_threshold=settings.breaker_success_threshold,
    )


def admission_config(settings: Settings) -> AdmissionConfig | None:
    """The lanes start at their ceiling: a service that starts must not turn away the
    traffic it had before (a restart, a deploy); the limit comes down as Ollama's latency
    shows a queue."""
    if not settings.admission_control:
        return None

    def bounds(ceiling: int) -> LimitBounds:
        return LimitBounds(initial=ceiling, floor=settings.admission_min, ceiling=ceiling)

    return AdmissionConfig(chat=bounds(settings.admission_max_chat),
                           embed=bounds(settings.admission_max_embed),
                           max_queue_wait=settings.admission_queue_wait)


def rag_config(settings: Settings) -> RagConfig:
    return RagConfig(chat_model=settings.chat_model, chunk_chars=settings.chunk_chars,
                     chunk_overlap_chars=settings.chunk_overlap_chars,
                     load_builtin_corpus=settings.load_builtin_corpus)


def build_components(settings: Settings) -> Components:
    tracing = Tracing.from_environment(__version__)
    registry = CollectorRegistry()
    metrics = Metrics(registry, chat_model=settings.chat_model,
                      embed_model=settings.embed_model, version=__version__,
                      enabled=settings.metrics_enabled)
    register_runtime_collectors(registry, metrics)
    observe = metrics.enabled  # without metrics, no observer at all: nothing to pay for
    breaker = CircuitBreaker(BREAKER_NAME, breaker_config(settings),
                             observer=BreakerMetricsObserver(metrics) if observe else None)
    metrics.breaker_last_change.labels(BREAKER_NAME).set(breaker.last_change_wall_time)
    cache = SemanticCache(settings.cache_capacity, settings.cache_similarity_threshold,
                          settings.cache_ttl_seconds,
                          observer=CacheMetricsObserver(metrics) if observe else None)
    admission = Admission(admission_config(settings), metrics)
    client = OllamaClient(client_config(settings), breaker, metrics, tracing, admission)
    store = open_store(settings, metrics)
    rag = RagService(rag_config(settings), client, cache, store, metrics, tracing)
    return Components(settings, registry, metrics, breaker, cache, client, rag, tracing,
                      admission, Drain(), store)
