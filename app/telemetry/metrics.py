"""The collectors of one app, registered in that app's own registry, as the catalog
(``app/core/catalog.py``) defines them.

    >>> metrics = Metrics(CollectorRegistry(), chat_model="llama3.2", embed_model="e", version="1")
    >>> metrics.cache_misses.inc()
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, disable_created_metrics

from app.core.catalog import Catalog
from app.core.labels import (
    BREAKER_NAME,
    BREAKER_TRANSITIONS,
    CLIENT_NAME,
    STATE_VALUES,
    AdmissionLaneName,
    AnswerMode,
    BreakerState,
    CallStatus,
    EvictionReason,
    HitType,
    QueryOutcome,
    QuestionApi,
    ShedReason,
    StoreEngine,
    StoreOperation,
    TokenType,
    UpstreamOperation,
    UpstreamOutcome,
)


class NoopMetric:
    """Stands in for every collector when metrics are disabled (for the benchmarks only)."""

    def labels(self, *values: str) -> NoopMetric:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float, exemplar: dict[str, str] | None = None) -> None:
        pass

    def info(self, value: dict[str, str]) -> None:
        pass


NOOP = NoopMetric()
# The calls a request waits on (the probe and the health check have no caller to lose).
CANCELLABLE_OPERATIONS = (UpstreamOperation.CHAT, UpstreamOperation.CHAT_STREAM,
                          UpstreamOperation.EMBED)


class Metrics(Catalog):
    """The collectors of one app, registered in that app's own registry: one per metric the
    catalog declares, under the catalog's attribute name (``metrics.cache_hits`` is the
    collector of ``Catalog.cache_hits``)."""

    def __init__(self, registry: CollectorRegistry, *, chat_model: str, embed_model: str,
                 version: str, enabled: bool = True) -> None:
        # The *_created series double the exposition and no rule or panel reads them.
        disable_created_metrics()
        self.enabled = enabled
        self.registry = registry
        for attribute, spec in Catalog.declared().items():
            setattr(self, attribute, spec.create(registry) if enabled else NOOP)
        self.build_info.info({"version": version})
        self._create_known_series(chat_model, embed_model)

    def _create_known_series(self, chat_model: str, embed_model: str) -> None:
        """Create every series with a known label set at zero.

        A counter series that appears only on its first increment makes ``rate()`` miss that
        increment and leaves alerts comparing against nothing.
        """
        self.breaker_state.labels(BREAKER_NAME).set(STATE_VALUES[BreakerState.CLOSED])
        self.breaker_consecutive_failures.labels(BREAKER_NAME).set(0)
        for status in CallStatus:
            self.breaker_calls.labels(BREAKER_NAME, status)
        for from_state, to_state in BREAKER_TRANSITIONS:
            self.breaker_transitions.labels(BREAKER_NAME, from_state, to_state)
        self.pool_requests.labels(CLIENT_NAME)
        self.upstream_in_flight.labels(CLIENT_NAME).set(0)
        for hit_type in HitType:
            self.cache_hits.labels(hit_type)
        for reason in EvictionReason:
            self.cache_evictions.labels(reason)
        for token_type in TokenType:
            self.llm_tokens.labels(chat_model, token_type)
        self.llm_tokens.labels(embed_model, TokenType.PROMPT)  # embeddings complete nothing
        for api in QuestionApi:
            for mode in AnswerMode:
                self.query_ttft.labels(mode, api)
            for query_outcome in QueryOutcome:
                self.query_duration.labels(query_outcome, api)
            for outcome in UpstreamOutcome:
                if outcome is not UpstreamOutcome.SUCCESS:
                    self.query_stream_failures.labels(outcome, api)
        self.llm_ttft.labels(chat_model)
        for operation in CANCELLABLE_OPERATIONS:
            self.upstream_cancelled.labels(operation)
        for model in dict.fromkeys((chat_model, embed_model)):
            self.ollama_model_loads.labels(model)
            self.ollama_model_load_duration.labels(model)
        for lane in AdmissionLaneName:
            for reason in ShedReason:
                self.admission_shed.labels(lane, reason)
        for operation in StoreOperation:
            for engine in StoreEngine:
                self.store_errors.labels(engine, operation)
        # upstream_up, store_up, model_available and Ollama's loaded models are left out on
        # purpose: they are unknown until the first check.
