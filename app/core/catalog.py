"""The metric catalog: every metric of the service, declared once.

Each attribute of ``Catalog`` is one metric; ``Metrics`` (``app/telemetry/metrics.py``)
inherits them and creates each one's collector under the same name, so adding a metric is
one line here. Rules, dashboards, the metric table in ``docs/metrics.md`` and the verifier
read ``CATALOG`` (or are tested against it). The first eleven are the original design's
contract: their names and labels must not change. Label values are in ``app/core/labels.py``.

    >>> Catalog.cache_hits.full_name
    'ollama_rag_semcache_hits_total'
"""

from __future__ import annotations

from app.core.metric_spec import CounterSpec, GaugeSpec, HistogramSpec, InfoSpec, MetricSpec

# Buckets reach minutes for upstream calls: a cold model load on Ollama exceeds 10 s.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
SIMILARITY_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
# From an immediate admission to the longest queue wait anyone would configure.
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# A model load on Ollama: a small model from a warm page cache in a fraction of a second,
# a large one from a slow disk in minutes.
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
# From a healthy loop's sub-millisecond wake-ups to a loop blocked for seconds.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Catalog:
    """The service's own metrics, one attribute each (``Metrics`` creates their collectors)."""

    breaker_state = GaugeSpec(
        "circuit_breaker_state",
        "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
        ("breaker_name",),
        contract=True,
    )
    breaker_calls = CounterSpec(
        "circuit_breaker_calls_total",
        "Calls through the circuit breaker by status (success, failure, rejected).",
        ("breaker_name", "status"),
        contract=True,
    )
    breaker_transitions = CounterSpec(
        "circuit_breaker_transitions_total",
        "Circuit breaker state transitions.",
        ("breaker_name", "from_state", "to_state"),
        contract=True,
    )
    breaker_consecutive_failures = GaugeSpec(
        "circuit_breaker_consecutive_failures",
        "Consecutive failed calls counted by the circuit breaker.",
        ("breaker_name",),
        contract=True,
    )
    breaker_last_change = GaugeSpec(
        "circuit_breaker_last_state_change_timestamp",
        "Unix time of the circuit breaker's last state change, in seconds.",
        ("breaker_name",),
        contract=True,
    )
    pool_requests = CounterSpec(
        "connection_pool_requests_total",
        "HTTP requests sent through the upstream connection pool.",
        ("client_name",),
        contract=True,
    )
    pool_size = GaugeSpec(
        "connection_pool_size",
        "Configured upstream pool limits (maxsize: connections, keepalive: idle connections kept).",
        ("client_name", "pool_type"),
        contract=True,
    )
    cache_hits = CounterSpec(
        "semcache_hits_total",
        "Semantic cache hits by type (exact, semantic).",
        ("type",),
        contract=True,
    )
    cache_misses = CounterSpec("semcache_misses_total", "Semantic cache misses.", contract=True)
    cache_size = GaugeSpec("semcache_size", "Entries in the semantic cache.", contract=True)
    cache_fill_ratio = GaugeSpec(
        "semcache_fill_ratio",
        "Semantic cache entries divided by capacity.",
        contract=True,
    )
    cache_capacity = GaugeSpec("semcache_capacity", "Configured semantic cache capacity.")
    cache_evictions = CounterSpec(
        "semcache_evictions_total",
        "Semantic cache evictions by reason (capacity, ttl).",
        ("reason",),
    )
    cache_lookup_duration = HistogramSpec(
        "semcache_lookup_duration_seconds",
        "Time to look a question up in the semantic cache.",
        buckets=FAST_BUCKETS,
    )
    cache_similarity = HistogramSpec(
        "semcache_similarity",
        "Best cosine similarity found by each semantic lookup (to tune the threshold).",
        buckets=SIMILARITY_BUCKETS,
    )
    http_requests = CounterSpec(
        "http_requests_total",
        "HTTP requests served, by method, route template and status code.",
        ("method", "route", "status"),
    )
    http_duration = HistogramSpec(
        "http_request_duration_seconds",
        "HTTP request duration until the last byte of the response, by method and route template.",
        ("method", "route"),
        buckets=HTTP_BUCKETS,
        exemplars=True,
    )
    http_in_progress = GaugeSpec(
        "http_requests_in_progress",
        "HTTP requests being served, by route template.",
        ("route",),
    )
    upstream_in_flight = GaugeSpec(
        "upstream_requests_in_flight",
        "Upstream requests under way: the part of the connection pool in use.",
        ("client_name",),
    )
    upstream_duration = HistogramSpec(
        "upstream_request_duration_seconds",
        "Upstream Ollama request duration by operation and outcome.",
        ("operation", "outcome"),
        buckets=UPSTREAM_BUCKETS,
        exemplars=True,
    )
    upstream_up = GaugeSpec(
        "upstream_up",
        "1 if the last periodic health check of Ollama succeeded, 0 if it failed; checked "
        "whatever the traffic, outside the circuit breaker.",
        ("client_name",),
    )
    upstream_cancelled = CounterSpec(
        "upstream_requests_cancelled_total",
        "Upstream calls cancelled because their caller went away (disconnected, or closed its "
        "stream) before the answer, by operation: the call to Ollama is closed, not left to run.",
        ("operation",),
    )
    admission_limit = GaugeSpec(
        "admission_concurrency_limit",
        "Upstream calls admission control lets run at once, by lane (chat, embed): adapted to "
        "Ollama's measured latency, between OLLAMA_RAG_ADMISSION_MIN and the lane's ceiling "
        "(OLLAMA_RAG_ADMISSION_MAX_CHAT, _EMBED).",
        ("lane",),
    )
    admission_in_flight = GaugeSpec(
        "admission_in_flight",
        "Upstream calls admitted and under way, by lane.",
        ("lane",),
    )
    admission_queued = GaugeSpec(
        "admission_queued",
        "Upstream calls waiting in admission's queue, by lane.",
        ("lane",),
    )
    admission_queue_wait = HistogramSpec(
        "admission_queue_wait_seconds",
        "Time each upstream call waited for admission, by lane (0 for those admitted at once; "
        "those that waited in vain are included).",
        ("lane",),
        buckets=QUEUE_BUCKETS,
    )
    admission_shed = CounterSpec(
        "admission_shed_total",
        "Requests turned away as overloaded (503 overloaded), by lane and reason: by admission "
        "control before reaching Ollama or the breaker (queue_full, queue_timeout), or by "
        "Ollama's own full queue (ollama_busy).",
        ("lane", "reason"),
    )
    query_ttft = HistogramSpec(
        "query_time_to_first_token_seconds",
        "Time a caller of a question waited for a successful answer to start, by mode and api "
        "(native: /api/query; openai: /v1/chat/completions): to the first streamed piece of "
        "content, or for a whole answer until it was ready less the model's generation time "
        "(Ollama's eval_duration). The latency SLI.",
        ("mode", "api"),
        buckets=HTTP_BUCKETS,
        exemplars=True,
    )
    query_duration = HistogramSpec(
        "query_duration_seconds",
        "Duration of each question (/api/query, /v1/chat/completions) until its last byte, by "
        "outcome (cache_exact, cache_semantic, answered, shed, refused, failed) and api: an "
        "exact hit's or a shed answer's latency on its own, which the route's histogram mixes "
        "with minutes-long answers.",
        ("outcome", "api"),
        buckets=HTTP_BUCKETS,
    )
    query_stream_failures = CounterSpec(
        "query_stream_failures_total",
        "Streamed answers that broke after their 200 status line, by upstream outcome and "
        "api; the availability SLI counts them as failed requests.",
        ("outcome", "api"),
    )
    llm_tokens = CounterSpec(
        "llm_tokens_total",
        "Tokens processed by Ollama, by model and type (prompt, completion).",
        ("model", "type"),
    )
    llm_ttft = HistogramSpec(
        "llm_time_to_first_token_seconds",
        "Time from sending a chat request to its first token: measured for streams; for whole "
        "answers, the call's duration less Ollama's eval_duration.",
        ("model",),
        buckets=TTFT_BUCKETS,
        exemplars=True,
    )
    llm_phase_duration = HistogramSpec(
        "llm_phase_duration_seconds",
        "Time Ollama reports for each phase of a call (load, prompt_eval, eval).",
        ("model", "phase"),
        buckets=UPSTREAM_BUCKETS,
    )
    retrieval_duration = HistogramSpec(
        "retrieval_duration_seconds",
        "Time to find the closest chunks in the document store.",
        buckets=FAST_BUCKETS,
    )
    document_chunks = GaugeSpec("document_chunks", "Chunks held in the document store.")
    store_up = GaugeSpec(
        "store_up",
        "1 if the document store answered its last call or check, 0 if it failed (503 "
        "store_unavailable meanwhile).",
        ("engine",),
    )
    store_duration = HistogramSpec(
        "store_operation_duration_seconds",
        "Time of each call to the document store, failed calls included.",
        ("engine", "operation"),
        buckets=FAST_BUCKETS,
    )
    store_errors = CounterSpec(
        "store_errors_total",
        "Calls to the document store that failed (down, unreachable, timed out, disk error).",
        ("engine", "operation"),
    )
    model_available = GaugeSpec(
        "upstream_model_available",
        "1 if Ollama has the configured model (GET /api/tags, and no call answered 'not "
        "found' since), 0 if not: `ollama pull` it.",
        ("model",),
    )
    ollama_model_loaded = GaugeSpec(
        "ollama_model_loaded",
        "1 if Ollama has the model loaded (GET /api/ps, polled with the health check), 0 if "
        "not; under model=\"other\", how many models the service is not configured with "
        "are loaded.",
        ("model",),
    )
    ollama_model_memory = GaugeSpec(
        "ollama_model_memory_bytes",
        "Memory a loaded model holds on Ollama's machine (GET /api/ps): in VRAM "
        "(memory=\"vram\") and in all (memory=\"total\"); 0 when not loaded.",
        ("model", "memory"),
    )
    ollama_model_unload = GaugeSpec(
        "ollama_model_unload_seconds",
        "Seconds until Ollama unloads the model (its expires_at in GET /api/ps: the "
        "keep-alive after its last call); 0 when not loaded.",
        ("model",),
    )
    ollama_model_loads = CounterSpec(
        "ollama_model_loads_total",
        "Model loads seen on Ollama: a model newly listed by GET /api/ps, or an answer whose "
        "load_duration says the model was loaded for it (OLLAMA_RAG_COLD_LOAD_SECONDS).",
        ("model",),
    )
    ollama_model_load_duration = HistogramSpec(
        "ollama_model_load_duration_seconds",
        "How long Ollama took to load the model for a call, as its load_duration reports it.",
        ("model",),
        buckets=LOAD_BUCKETS,
    )
    ollama_info = InfoSpec("ollama", "Ollama's version (GET /api/version).", ("version",))
    build_info = InfoSpec("build", "Version of the service.", ("version",))
    event_loop_lag = HistogramSpec(
        "event_loop_lag_seconds",
        "How late a periodic tick of the event loop woke (OLLAMA_RAG_LOOP_LAG_INTERVAL apart): "
        "the time every request waits while something holds the loop or the process gets no "
        "CPU.",
        buckets=LAG_BUCKETS,
    )
    memory_limit = GaugeSpec(
        "memory_limit_bytes",
        "Memory the process may use: its cgroup's limit (a container's), or the machine's "
        "memory when there is none.",
    )

    @classmethod
    def declared(cls) -> dict[str, MetricSpec]:
        """Every metric declared above, by attribute name, in order."""
        return {name: value for name, value in vars(cls).items()
                if isinstance(value, MetricSpec)}

    @classmethod
    def specs(cls) -> tuple[MetricSpec, ...]:
        return tuple(cls.declared().values())


def _standard(spec: type[MetricSpec], name: str, doc: str, *labels: str) -> MetricSpec:
    return spec(name, doc, tuple(labels), standard=True)


# prometheus_client's process, GC and platform collectors, registered in the app's registry.
RUNTIME_STANDARD: tuple[MetricSpec, ...] = (
    _standard(CounterSpec, "process_cpu_seconds_total", "CPU time of the process, user and "
              "system, in seconds."),
    _standard(GaugeSpec, "process_resident_memory_bytes", "Resident memory of the process."),
    _standard(GaugeSpec, "process_virtual_memory_bytes", "Virtual memory of the process."),
    _standard(GaugeSpec, "process_open_fds", "File descriptors the process holds open."),
    _standard(GaugeSpec, "process_max_fds", "The process's limit of open file descriptors."),
    _standard(GaugeSpec, "process_start_time_seconds", "Unix time the process started at."),
    _standard(CounterSpec, "python_gc_objects_collected_total",
              "Objects the garbage collector collected, by generation.", "generation"),
    _standard(CounterSpec, "python_gc_objects_uncollectable_total",
              "Uncollectable objects the garbage collector found, by generation.",
              "generation"),
    _standard(CounterSpec, "python_gc_collections_total",
              "Garbage collector runs, by generation.", "generation"),
    _standard(GaugeSpec, "python_info", "The Python implementation and version.",
              "implementation", "major", "minor", "patchlevel", "version"),
)

CATALOG: tuple[MetricSpec, ...] = (*Catalog.specs(), *RUNTIME_STANDARD)
CONTRACT_METRICS: tuple[MetricSpec, ...] = tuple(s for s in CATALOG if s.contract)
EXEMPLAR_METRICS: tuple[MetricSpec, ...] = tuple(s for s in CATALOG if s.exemplars)
