"""Service configuration, read from ``OLLAMA_RAG_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; each field is ``OLLAMA_RAG_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="OLLAMA_RAG_", extra="ignore")

    # Where to listen (the --host/--port flags override these).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # Upstream Ollama. 11434 is Ollama's own default port.
    ollama_url: str = "http://127.0.0.1:11434"
    chat_model: str = Field(default="llama3.2", min_length=1)
    embed_model: str = Field(default="nomic-embed-text", min_length=1)

    # Pooled client: limits and timeouts (seconds). The read timeout is long because a cold
    # model load on a real Ollama takes tens of seconds.
    pool_max_connections: int = Field(default=20, ge=1)
    pool_max_keepalive: int = Field(default=10, ge=0)
    connect_timeout: float = Field(default=2.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    write_timeout: float = Field(default=10.0, gt=0)
    pool_timeout: float = Field(default=5.0, gt=0)

    # Admission control of the calls to Ollama (app/upstream/admission.py). Per lane, a concurrency
    # limit adapted to Ollama's measured latency, between the floor and the lane's ceiling:
    # chat (a question's embedding and answer, one connection at a time), embed (ingestion).
    # A call beyond it waits only if its turn is expected within admission_queue_wait
    # seconds, otherwise it is answered 503 overloaded at once. Each ceiling fits in the pool,
    # so that questions never wait for a connection (an ingestion may, while the chat lane is
    # full, and is answered 503 overloaded after the pool timeout).
    admission_control: bool = True
    admission_max_chat: int = Field(default=20, ge=1)
    admission_max_embed: int = Field(default=4, ge=1)
    admission_min: int = Field(default=1, ge=1)
    admission_queue_wait: float = Field(default=1.0, ge=0)

    # On SIGTERM: /readyz answers 503 and new work is refused at once, and requests in flight
    # (streams included) get this long to finish before the process exits. compose's
    # stop_grace_period is this plus 5 s for the exit itself.
    drain_timeout: float = Field(default=25.0, ge=0)

    # A periodic check that Ollama answers at all, whatever the traffic (outside the breaker).
    health_check_interval: float = Field(default=15.0, gt=0)
    health_check_timeout: float = Field(default=5.0, gt=0)
    # An answer whose load_duration is at least this says Ollama loaded the model for it
    # (a loaded model's is milliseconds; a load, a second or more).
    cold_load_seconds: float = Field(default=0.1, gt=0)

    # Circuit breaker around every upstream call.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_timeout: float = Field(default=30.0, gt=0)
    breaker_half_open_max_calls: int = Field(default=1, ge=1)
    breaker_success_threshold: int = Field(default=2, ge=1)

    # Semantic cache.
    cache_capacity: int = Field(default=1000, ge=1)
    cache_ttl_seconds: float = Field(default=3600.0, gt=0)
    cache_similarity_threshold: float = Field(default=0.9, gt=0, le=1)

    # Retrieval and ingestion.
    default_top_k: int = Field(default=4, ge=1)
    max_top_k: int = Field(default=20, ge=1)
    chunk_chars: int = Field(default=800, ge=100)
    chunk_overlap_chars: int = Field(default=100, ge=0)
    load_builtin_corpus: bool = True

    # The document store. By default SQLite under data_dir (":memory:" keeps nothing, for
    # tests), owned by one process. store_url (http://host:8000) puts the documents in a
    # Chroma server's collection instead, shared by every replica pointed at it.
    data_dir: str = Field(default="data", min_length=1)
    store_url: str = Field(default="", pattern=r"^(https?://[^/:\s]+(:\d+)?/?)?$")
    store_collection: str = Field(default="ollama_rag",
                                  pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")
    store_timeout: float = Field(default=5.0, gt=0)
    # How often the store is checked whatever the traffic (store_up, document_chunks).
    store_check_interval: float = Field(default=15.0, gt=0)

    # Request limits.
    max_question_chars: int = Field(default=8000, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_documents_per_request: int = Field(default=100, ge=1)

    # Optional bearer tokens. No admin token means the admin endpoints are refused.
    admin_token: SecretStr | None = None
    metrics_token: SecretStr | None = None

    log_level: str = "info"
    # One JSON line per request on stdout (route, status, duration, cache, trace id),
    # instead of uvicorn's own access log.
    access_log: bool = True

    # How often the event loop's lag is sampled (seconds): each sample is how late a tick
    # woke (ollama_rag_event_loop_lag_seconds). A stall longer than the interval is always
    # caught; a shorter one only when a tick falls in it.
    loop_lag_interval: float = Field(default=0.1, gt=0, le=10)

    # Turns every metric into a no-op. It exists only so that the benchmarks can measure
    # what the instrumentation costs (bench/); do not turn it off in production.
    metrics_enabled: bool = True

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.default_top_k > self.max_top_k:
            raise ValueError("default_top_k must not exceed max_top_k")
        if self.chunk_overlap_chars >= self.chunk_chars:
            raise ValueError("chunk_overlap_chars must be smaller than chunk_chars")
        if self.pool_max_keepalive > self.pool_max_connections:
            raise ValueError("pool_max_keepalive must not exceed pool_max_connections")
        if self.admission_control:
            ceiling = max(self.admission_max_chat, self.admission_max_embed)
            if ceiling > self.pool_max_connections:
                raise ValueError(
                    f"admission_max_chat and admission_max_embed ({ceiling}) must not exceed "
                    f"pool_max_connections ({self.pool_max_connections}): every admitted "
                    "call needs a pooled connection")
            if self.admission_min > min(self.admission_max_chat, self.admission_max_embed):
                raise ValueError("admission_min must not exceed admission_max_chat or "
                                 "admission_max_embed")
        return self
