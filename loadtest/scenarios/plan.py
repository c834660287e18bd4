"""The load scenarios as data: phases, faults, the alerts each must raise and the metrics
each must move. Locust shapes (``shapes.py``) and the verifier both read this; the SLO alerts
come from the SLO table (``alerts/slo.py``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from alerts.slo import AVAILABILITY, LATENCY, WINDOWS, Objective
from app.core.labels import QueryOutcome
from app.core.settings import Settings
from loadtest.scenarios.model import (
    BREAKER_CLOSED,
    INHIBITED,
    NO_FAILED_CALL,
    TARGET_CHANGE_SECONDS,
    UNDELIVERABLE,
    ClientCheck,
    ExpectedAlert,
    MetricHold,
    MetricMove,
    Phase,
    Scenario,
    Until,
)
from loadtest.scenarios.ollama_plan import BASELINE_MOVES, OLLAMA_SCENARIOS
from loadtest.scenarios.openai_traffic import OPENAI_MOVES
from loadtest.scenarios.questions import QUESTIONS
from loadtest.sim.faults import FAST_MODEL, Faults

# Applied at the start of every phase, then the phase's own faults on top: the simulator's
# defaults, a model paced like a real one (hundreds of ms to the first token, ~33 tokens a
# second, answers of 100-400 tokens).
HEALTHY_FAULTS: dict[str, Any] = asdict(Faults())
# Faults of the model only: Ollama's server still answers /api/version (the health check
# and the breaker's probe), as when a model fails to load or crashes while Ollama runs.
MODEL_PATHS = ["/api/chat", "/api/embed"]
M = "ollama_rag_"
# The cache fills at the pace the machine answers new questions (its 1000 entries took 25 s
# here, 33 s on a busier machine), so a miss storm first lasts until the cache evicts, then as
# long as SemanticCacheNearCapacity's `for` (7.5 s compressed) and a delivery need.
CACHE_EVICTS = Until("the cache evicts", M + "semcache_evictions_total",
                     (("reason", "capacity"),), at_least=1, within=120)
# Repeated questions are answered from the cache before a fault begins: on a fresh service
# the first answers take a real model's seconds.
CACHE_ANSWERS = Until("the cache answers a repeated question", M + "semcache_hits_total",
                      (("type", "exact"),), at_least=1, within=120)
# The baseline's warm-up asks only the repeated questions until the cache holds them: on a
# fresh service its only entries (a cache already in use meets this at once).
CACHE_WARM = Until("the cache holds the repeated questions", M + "semcache_size", (),
                   at_least=len(QUESTIONS), within=120)
USERS = 8
# Calls shed after waiting in the admission queue for a turn that did not come: by design
# they take up to admission_queue_wait, not milliseconds.
QUEUE_TIMEOUTS = (M + "admission_shed_total", (("reason", "queue_timeout"),))
RECEIVERS = {"critical": "pager", "warning": "ticket"}  # alerts/alertmanager.yml's routes
# The SLO windows a scenario can prove live; the longest ones cannot be compressed enough to
# fire and resolve within a run (unit_tested.py says why).
LIVE_WINDOWS = tuple(w for w in WINDOWS if w.long != "3d")
# Windows whose compressed long window outlasts a scenario: they resolve by the run's end.
RESOLVED_BY_RUN = ("1d",)


def slo_alerts(objective: Objective) -> tuple[ExpectedAlert, ...]:
    """The burn-rate alerts of ``objective`` that a scenario burning it fast must raise: the
    pages are delivered; the tickets fire while a page does, which silences them."""
    return tuple(
        ExpectedAlert(objective.alert,
                      RECEIVERS[w.severity] if w.severity == "critical" else INHIBITED,
                      w.labels, "run" if w.long in RESOLVED_BY_RUN else "scenario")
        for w in LIVE_WINDOWS
    )

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "baseline",
        "Healthy traffic with the full question mix; nothing but Watchdog may fire.",
        # The warm-up fills the cold cache (whose low hit ratio may raise LowCacheHitRate)
        # until it holds the repeated questions; the usual mix then settles for 15 s, so
        # that the ratio's 10-s compressed window (compression.py) drops the cold misses and
        # an alert they raised has resolved and said so before the silent steady phase.
        # Twice the usual users: 8 make too few lookups for that ratio to be steady.
        (Phase("warm-up", 0, 2 * USERS, mix="repeated", until=CACHE_WARM),
         Phase("settle", 15, 2 * USERS),
         Phase("steady", 20, 2 * USERS)),
        fault_phase="steady",
        quiet_phase="steady",
        alerts=(ExpectedAlert("Watchdog", "watchdog", resolve_by="never"),),
        moves=(
            MetricMove(M + "semcache_hits_total", labels=(("type", "exact"),),
                       what="repeated questions were answered from the cache"),
            MetricMove(M + "semcache_hits_total", labels=(("type", "semantic"),),
                       what="paraphrases were answered from the cache"),
            MetricMove(M + "semcache_misses_total", what="new questions missed the cache"),
            MetricMove(M + "semcache_size", "above"),
            MetricMove(M + "semcache_fill_ratio", "above"),
            MetricMove(M + "connection_pool_requests_total"),
            MetricMove(M + "connection_pool_size", "above", labels=(("pool_type", "maxsize"),)),
            MetricMove(M + "circuit_breaker_calls_total", labels=(("status", "success"),),
                       what="calls to Ollama succeeded"),
            MetricMove(M + "llm_time_to_first_token_seconds_count"),
            MetricMove(M + "llm_tokens_total"),
            MetricMove(M + "document_chunks", "rises", what="documents were ingested"),
            MetricMove(M + "query_time_to_first_token_seconds_count"), *BASELINE_MOVES,
            *OPENAI_MOVES),
    ),
    Scenario(
        "slow-upstream",
        "The model takes five and a half seconds to embed and as long to its first token, "
        "and every question is new: the latency alerts fire and the pool fills up.",
        # The slow phase fills most of the 6h/30m pair's long window (90 s compressed): its
        # slow answers (about 0.5 a second) must be well over 6% of the window although
        # the baseline before it makes about 6 a second. They pass 6% some 20 s in and are
        # about 30% at 60 s (at 40 s they could still be under 6%).
        (Phase("before", 2, USERS),
         Phase("slow", 60, 20, {"mode": "slow", "slow_ms": 5500, "paths": MODEL_PATHS,
                                "answer_tokens": 40}, mix="new_only"),
         Phase("recovery", 15, USERS)),
        fault_phase="slow",
        alerts=(ExpectedAlert("UpstreamLatencyHigh", "ticket"),
                ExpectedAlert("LlmTimeToFirstTokenHigh", "ticket"),
                ExpectedAlert("UpstreamPoolNearSaturation", "ticket"),
                *slo_alerts(LATENCY)),
        moves=(MetricMove(M + "upstream_requests_in_flight", "at_least", 8, phase="slow",
                          what="eight or more calls to Ollama were in flight at once"),
               MetricMove(M + "llm_phase_duration_seconds_count"),
               MetricMove(M + "http_requests_in_progress", "at_least", 1)),
    ),
    Scenario(
        "outage",
        "The model's calls fail at the connection while Ollama's server answers: the "
        "breaker trips, rejects (a consequence its page silences), probes in half-open and "
        "closes again when the model is back.",
        (Phase("before", 2, USERS, until=CACHE_ANSWERS),
         # Long enough that the 1d/2h pair fires while a page still does.
         Phase("outage", 16, USERS, {"mode": "down", "paths": MODEL_PATHS}),
         Phase("recovery", 15, USERS, waits_for=("breaker_reset_timeout",))),
        fault_phase="outage",
        span_errors=("upstream_unreachable", "circuit_open"),
        alerts=(ExpectedAlert("CircuitBreakerOpen", "pager"),
                ExpectedAlert("CircuitBreakerRejectingCalls", INHIBITED),
                *slo_alerts(AVAILABILITY)),
        moves=(
            MetricMove(M + "circuit_breaker_state", "at_least", 1, phase="outage",
                       what="the breaker opened"),
            MetricMove(M + "circuit_breaker_calls_total", labels=(("status", "rejected"),),
                       phase="outage", what="the open breaker turned calls away at once"),
            MetricMove(M + "semcache_hits_total", phase="outage",
                       what="cached answers were still served"),
            MetricMove(M + "circuit_breaker_consecutive_failures", "at_least", 1,
                       phase="outage", what="failures were counted in a row"),
            MetricMove(M + "circuit_breaker_last_state_change_timestamp", "changes",
                       what="the breaker's last change was stamped"),
            MetricMove(M + "circuit_breaker_transitions_total", phase="recovery",
                       labels=(("from_state", "half_open"), ("to_state", "closed")),
                       what="the breaker closed again after a half-open probe"),
        ),
    ),
    Scenario(
        "ollama-gone",
        "Ollama dies while nobody asks anything: the health check sees it and pages, with "
        "the breaker still closed; it comes back before the users do.",
        (Phase("before", 2, USERS),
         Phase("gone", 8, 0, {"mode": "down"}, waits_for=("health_check_interval",)),
         Phase("recovery", 6, USERS, waits_for=("health_check_interval",))),
        fault_phase="gone",
        alerts=(ExpectedAlert("OllamaUnreachable", "pager"),),
        moves=(MetricMove(M + "upstream_up", "at_most", 0, phase="gone",
                          what="the health check saw Ollama down"),
               MetricMove(M + "upstream_up", "at_least", 1, phase="recovery",
                          what="the health check saw Ollama back"),),
    ),
    Scenario(
        "model-missing",
        "Ollama runs but the chat model was never pulled (a new machine, a new volume): "
        "the health check finds it missing from /api/tags, /readyz names it, questions get "
        "503 model_not_found with the `ollama pull` command, the breaker stays closed, and "
        "the page says what to pull; pulling it ends all that.",
        (Phase("before", 2, USERS),
         Phase("missing", 8, USERS, {"models": [f"{Settings().embed_model}:latest"]},
               waits_for=("health_check_interval",)),
         Phase("pulled", 6, USERS, waits_for=("health_check_interval",))),
        fault_phase="missing",
        span_errors=("model_not_found",),
        alerts=(ExpectedAlert("OllamaModelMissing", "pager"),),
        moves=(MetricMove(M + "upstream_model_available", "at_most", 0, phase="missing",
                          what="the health check found the chat model missing"),
               MetricMove(M + "http_requests_total", labels=(("status", "503"),),
                          phase="missing", what="questions were answered 503"),
               MetricMove(M + "upstream_model_available", "at_least", 1, phase="pulled",
                          what="the model was found again once pulled")),
        holds=(BREAKER_CLOSED, NO_FAILED_CALL),
    ),
    Scenario(
        "store-down",
        "The document store (the Chroma server the replicas share) stops: questions that "
        "miss the cache and ingestions get 503 store_unavailable at once, cached answers "
        "still come, /readyz says so and the store page fires; Chroma restarts on its "
        "data and the service reconnects by itself.",
        (Phase("before", 2, USERS),
         Phase("down", 8, USERS, actions=("stop_store",)),
         Phase("recovery", 6, USERS, actions=("start_store",))),
        fault_phase="down",
        span_errors=("store_unavailable",),
        alerts=(ExpectedAlert("DocumentStoreUnavailable", "pager"),),
        moves=(MetricMove(M + "store_up", "at_most", 0),
               MetricMove(M + "store_errors_total"),
               MetricMove(M + "store_operation_duration_seconds_count")),
        holds=(BREAKER_CLOSED,),
    ),
    Scenario(
        "hung-upstream",
        "Ollama accepts connections and never answers, its version endpoint included: the "
        "health check pages at once; a minute later (the default 60 s read timeout) calls "
        "time out, the breaker trips and its half-open probe hangs. The breaker's page is "
        "left out where the health check fails (OllamaUnreachable is that page) and its "
        "stuck-half-open ticket is silenced by it. Restarting Ollama ends the hung calls.",
        # Enough users that the first round of timeouts reaches the failure threshold.
        (Phase("before", 2, USERS),
         # The service's 60 s read timeout is real time at either speed.
         Phase("hung", 80, 16, {"mode": "timeout", "hang_seconds": 120}, fixed=60,
               waits_for=("read_timeout", "breaker_reset_timeout")),
         Phase("recovery", 12, USERS)),
        fault_phase="hung",
        span_errors=("upstream_timeout", "circuit_open"),
        alerts=(ExpectedAlert("OllamaUnreachable", "pager"),
                ExpectedAlert("CircuitBreakerStuckHalfOpen", INHIBITED, after_fixed=True)),
        moves=(MetricMove(M + "upstream_request_duration_seconds_count",
                          labels=(("outcome", "timeout"),),
                          what="calls to Ollama timed out"),
               MetricMove(M + "circuit_breaker_state", "at_least", 2,
                          what="the breaker half-opened to probe")),
    ),
    Scenario(
        "flapping",
        "The model (a small fast one, so that enough calls fall in each failing second) "
        "fails for one second in every two and a half: the breaker trips, closes and trips "
        "again.",
        (Phase("before", 2, USERS, dict(FAST_MODEL)),
         *(phase for i in range(4) for phase in (
             Phase(f"fail-{i + 1}", 1, USERS,
                   {"mode": "error", "paths": MODEL_PATHS} | FAST_MODEL),
             Phase(f"ok-{i + 1}", 1.5, USERS, dict(FAST_MODEL),
                   waits_for=("breaker_reset_timeout",)))),
         Phase("recovery", 8, USERS)),
        fault_phase="fail-1",
        span_errors=("upstream_server_error",),
        alerts=(ExpectedAlert("CircuitBreakerFlapping", "ticket"),),
        moves=(MetricMove(M + "circuit_breaker_transitions_total",
                          labels=(("from_state", "closed"), ("to_state", "open")),
                          what="the breaker tripped"),
               MetricMove(M + "circuit_breaker_transitions_total",
                          labels=(("from_state", "half_open"), ("to_state", "closed")),
                          what="the breaker closed again between failures")),
    ),
    Scenario(
        "malformed",
        "A chat UI streams every answer from a small fast model, a fifth of whose answers "
        "are malformed (streams break after their 200): failures stay under the breaker's "
        "threshold of 5 consecutive failures, but over the failure-rate alert's.",
        (Phase("before", 2, USERS, dict(FAST_MODEL), mix="streamed"),
         Phase("malformed", 12, USERS, {"mode": "garbage", "error_rate": 0.2,
                                        "paths": MODEL_PATHS} | FAST_MODEL, mix="streamed"),
         Phase("recovery", 5, USERS)),
        fault_phase="malformed",
        span_errors=("upstream_bad_response",),
        alerts=(ExpectedAlert("HighFailureRate", "pager"),),
        moves=(MetricMove(M + "upstream_request_duration_seconds_count",
                          labels=(("outcome", "malformed"),),
                          what="malformed answers from Ollama were counted"),
               MetricMove(M + "circuit_breaker_calls_total", labels=(("status", "failure"),)),
               MetricMove(M + "query_stream_failures_total",
                          what="streams broke after their 200 and were counted")),
    ),
    Scenario(
        "miss-storm",
        "Only new questions, answered by a small fast model: the hit ratio collapses and "
        "the cache (1000 entries, the default) fills and churns.",
        (Phase("before", 2, USERS),
         Phase("storm", 16, 16, dict(FAST_MODEL), mix="new_only", until=CACHE_EVICTS),
         Phase("recovery", 6, USERS, actions=("clear_cache",))),
        fault_phase="storm",
        alerts=(ExpectedAlert("LowCacheHitRate", "ticket"),
                ExpectedAlert("SemanticCacheNearCapacity", "ticket", after_until=True)),
        moves=(MetricMove(M + "semcache_evictions_total", labels=(("reason", "capacity"),),
                          what="the full cache evicted entries"),
               MetricMove(M + "semcache_fill_ratio", "at_least", 0.9),
               MetricMove(M + "semcache_similarity_count"),
               MetricMove(M + "semcache_lookup_duration_seconds_count"),
               MetricMove(M + "retrieval_duration_seconds_count")),
    ),
    Scenario(
        "cpu-starved",
        "The service's process gets no CPU for 300 ms of every second (the stack stops and "
        "continues it), as a container throttled by its CPU limit: its event loop wakes late "
        "and the lag alert opens a ticket.",  # each stop outlasts the 0.1 s lag tick
        (Phase("before", 2, USERS),
         Phase("starved", 14, USERS, actions=("throttle_service",)),
         Phase("recovery", 8, USERS, actions=("unthrottle_service",))),
        fault_phase="starved",
        alerts=(ExpectedAlert("OllamaRagEventLoopLagHigh", "ticket"),),
        moves=(MetricMove(M + "event_loop_lag_seconds_bucket", "query",
                          promql=f"histogram_quantile(0.99, sum by (le) "
                                 f"(rate({M}event_loop_lag_seconds_bucket[5s]))) > 0.1"),
               MetricMove("process_cpu_seconds_total", labels=(("job", "ollama-rag"),))),
    ),
    Scenario(
        "overload",
        "A slow Ollama (1.5 s of work a call, 4 calls of each model at once and the rest "
        "queued inside it, as OLLAMA_NUM_PARALLEL=4) and 50 callers, four in five with new "
        "questions, each honouring Retry-After: admission control sheds what Ollama cannot "
        "take in milliseconds, the questions answered before keep their 200, nothing times "
        "out and the breaker stays closed; the shedding alert opens a ticket.",
        (Phase("warm-up", 4, USERS, dict(FAST_MODEL), mix="warm"),
         Phase("overload", 35, 50, {"mode": "slow", "slow_ms": 1500, "jitter": 0.1,
                                    "parallel": 4, "paths": MODEL_PATHS} | FAST_MODEL,
               mix="overload"),
         Phase("recovery", 12, USERS)),
        fault_phase="overload",
        alerts=(ExpectedAlert("OllamaRagShedding", "ticket"),),
        moves=(MetricMove(M + "admission_shed_total", labels=(("reason", "queue_full"),),
                          what="admission control shed what Ollama could not take"),
               MetricMove(M + "admission_concurrency_limit", "above", labels=(("lane", "chat"),)),
               MetricMove(M + "admission_in_flight", "at_least", 2),
               MetricMove(M + "admission_queue_wait_seconds_count")),
        holds=(BREAKER_CLOSED, NO_FAILED_CALL,
               MetricHold("no 504", M + "http_requests_total", "no_increase",
                          (("status", "504"),)),
               MetricHold("nothing waits for the pool",
                          M + "upstream_request_duration_seconds_count", "no_increase",
                          (("outcome", "pool_timeout"),))),
        client_checks=(ClientCheck("/api/query (shed)", outcome=QueryOutcome.SHED,
                                   p99_below_ms=100, waited=QUEUE_TIMEOUTS),
                       ClientCheck("/api/query (answered)"),
                       ClientCheck("/api/query (cached)", max_failures=0,
                                   outcome=QueryOutcome.CACHE_EXACT, p99_below_ms=100),
                       ClientCheck("/api/query (failed)", min_requests=0, max_requests=0)),
    ),
    Scenario(
        "alerting-path",
        "The monitoring breaks: the dead man's switch receiver refuses its notifications "
        "(Alertmanager fails to send: a page, through both the pager's and the ticket's "
        "webhooks), then Prometheus loses Alertmanager from its discovery, then Alertmanager "
        "stops while Prometheus still has its address (alerts only Prometheus can show).",
        # Its rules are compressed 12 times, not 120 (compression.py says why).
        (Phase("before", 2, USERS),
         Phase("receiver-down", 50, USERS, actions=("fail_watchdog_receiver",)),
         Phase("receiver-back", 5, USERS, actions=("restore_receivers",)),
         Phase("alertmanager-lost", 35, USERS, actions=("hide_alertmanager",),
               fixed=TARGET_CHANGE_SECONDS),
         # Found again, then stopped: AlertmanagerDown's 2 minutes are 10 s here.
         Phase("alertmanager-stopped", 30, USERS,
               actions=("restore_alertmanager", "stop_alertmanager"),
               fixed=TARGET_CHANGE_SECONDS),
         Phase("recovery", 10, USERS, actions=("start_alertmanager",))),
        fault_phase="receiver-down",
        alerts=(ExpectedAlert("AlertmanagerFailedToSendNotifications", "alerting-path"),
                ExpectedAlert("PrometheusNotConnectedToAlertmanagers", UNDELIVERABLE),
                ExpectedAlert("AlertmanagerDown", UNDELIVERABLE)),
    ),
    Scenario(
        "service-down",
        "One replica of two dies (a ticket), then the only real one dies too (a page), then "
        "Prometheus loses its target (it is gone for good): the page holds, unresolved, and "
        "the absent-target alert it explains is held back; then everything comes back.",
        # The instance alerts wait 5 and 2 compressed minutes (2.5 s, 1 s); a dead replica
        # and a hidden target take up to TARGET_CHANGE_SECONDS to be seen, and so does the
        # restored one (the absent alert resolves in the recovery phase).
        (Phase("before", 2, USERS),
         Phase("replica-lost", TARGET_CHANGE_SECONDS + 5, USERS, actions=("add_dead_replica",),
               fixed=TARGET_CHANGE_SECONDS),
         Phase("down", 4, USERS, actions=("remove_dead_replica", "stop_service")),
         Phase("absent", TARGET_CHANGE_SECONDS + 5, USERS, actions=("hide_target",),
               fixed=TARGET_CHANGE_SECONDS),
         Phase("recovery", TARGET_CHANGE_SECONDS + 2, USERS,
               actions=("restore_target", "start_service"), fixed=TARGET_CHANGE_SECONDS)),
        fault_phase="replica-lost",
        alerts=(ExpectedAlert("OllamaRagInstanceDown", "ticket"),
                ExpectedAlert("OllamaRagDown", "pager", holds_until="recovery"),
                ExpectedAlert("OllamaRagAbsent", INHIBITED)),
        moves=(MetricMove(M + "http_requests_total"),
               MetricMove(M + "http_request_duration_seconds_count"),
               MetricMove(M + "build_info", "above")),
    ),
)

# The last scenario: healthy traffic until the alerts whose windows outlast their scenario
# have resolved (the verifier stops it early when they have).
RECOVERY = Scenario(
    "recovery",
    "Healthy traffic after all the faults: every alert but Watchdog resolves.",
    (Phase("healthy", 45, USERS),),
    fault_phase="healthy",
)
# Ollama's scenarios play before service-down, whose restart gives the service a fresh
# admission limit: the limit their 503s lowered would shed the recovery's questions.
SCENARIOS = (*SCENARIOS[:-1], *OLLAMA_SCENARIOS, SCENARIOS[-1], RECOVERY)
