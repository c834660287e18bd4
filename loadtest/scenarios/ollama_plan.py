"""The scenarios of Ollama's own state (``plan.py`` plays them after its own): a model
unloaded between questions, models evicting each other, loads turned slow, Ollama's own
queue full. The simulator's scheduler (loadtest/sim/scheduler.py) does what Ollama does
with the settings each phase gives it; its keep-alive and load times are real seconds."""

from __future__ import annotations

from loadtest.scenarios.model import (
    BREAKER_CLOSED,
    NO_FAILED_CALL,
    ExpectedAlert,
    MetricMove,
    Phase,
    Scenario,
)
from loadtest.sim.faults import FAST_MODEL

M = "ollama_rag_"
USERS = 8
EMBED_MODEL = (("model", "nomic-embed-text"),)
# What the baseline shows of Ollama: its models loaded, their memory and keep-alive, its
# version (GET /api/ps and /api/version, asked with every health check).
BASELINE_MOVES = (
    MetricMove(M + "ollama_model_loaded", "at_least", 1, what="Ollama had a model loaded"),
    MetricMove(M + "ollama_model_memory_bytes", "above", labels=(("memory", "vram"),),
               what="a loaded model held memory in VRAM"),
    MetricMove(M + "ollama_model_unload_seconds", "above", 60,
               what="a model was to stay loaded for minutes (OLLAMA_KEEP_ALIVE)"),
    MetricMove(M + "ollama_info", "above", what="Ollama's version was read"),
)
# Ollama's scheduler holds one model only: the embedding model (260 MiB) and the chat model
# (1.9 GiB) do not fit in 2100 MiB together. A small fast model, so that questions (and
# loads) come often; loads at a real disk's pace (0.13 s and 0.94 s).
ONE_MODEL = FAST_MODEL | {"memory_mb": 2100, "load_ms_per_gb": 500}

OLLAMA_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "models-evict-each-other",
        "Ollama has memory for one model only: each new question's embedding evicts the "
        "chat model and its answer evicts the embedding model, so every question pays two "
        "loads; the reload alert opens a ticket that says to give Ollama memory for both.",
        (Phase("before", 2, USERS),
         Phase("one-model", 20, USERS, ONE_MODEL, mix="new_only"),
         Phase("recovery", 12, USERS)),
        fault_phase="one-model",
        alerts=(ExpectedAlert("OllamaModelReloadingOften", "ticket"),),
        moves=(MetricMove(M + "ollama_model_loads_total", phase="one-model",
                          what="Ollama loaded models again and again"),
               MetricMove(M + "ollama_model_load_duration_seconds_count", phase="one-model",
                          what="answers reported their models' loads"),
               MetricMove(M + "ollama_model_loaded", "at_most", 0, phase="one-model",
                          what="a model was seen unloaded")),
        holds=(BREAKER_CLOSED,),
    ),
    Scenario(
        "keep-alive-short",
        "Ollama unloads a model 0.1 s after its last call (OLLAMA_KEEP_ALIVE shorter than "
        "the gaps between questions): the embedding model is loaded again for nearly every "
        "question (the reload alert); then its disk slows down twentyfold and each load "
        "takes far longer than the day's loads did (the slow-load alert).",
        # The first phase gives the day's mean its usual loads (the alert compares with it).
        (Phase("before", 2, USERS),
         Phase("short", 20, USERS, {"keep_alive": 0.1}, mix="new_only"),
         Phase("slow-disk", 25, USERS, {"keep_alive": 0.1, "load_ms_per_gb": 10_000},
               mix="new_only"),
         Phase("recovery", 18, USERS)),
        fault_phase="short",
        alerts=(ExpectedAlert("OllamaModelReloadingOften", "ticket"),
                ExpectedAlert("OllamaModelLoadSlow", "ticket")),
        moves=(MetricMove(M + "ollama_model_loads_total", labels=EMBED_MODEL, phase="short",
                          what="the embedding model was loaded again and again"),
               MetricMove(M + "ollama_model_load_duration_seconds_bucket", "query",
                          phase="slow-disk",
                          promql=f"max(rate({M}ollama_model_load_duration_seconds_sum[10s]) / "
                                 f"rate({M}ollama_model_load_duration_seconds_count[10s])) > 1")),
    ),
    Scenario(
        "ollama-queue-full",
        "Another application shares Ollama and keeps its queue full (four callers of the "
        "chat model, which serves one call at once and lets two wait: OLLAMA_NUM_PARALLEL=1, "
        "OLLAMA_MAX_QUEUE=2): Ollama answers most of the service's chat calls 503 \"server "
        "busy\"; the callers get 503 overloaded with Retry-After, the breaker stays closed and "
        "admission control lowers its limit; the queue alert opens a ticket.",
        (Phase("before", 2, USERS),
         Phase("queue-full", 20, USERS, {"parallel": 1, "max_queue": 2, "other_clients": 4},
               mix="new_only"),
         Phase("recovery", 12, USERS)),
        fault_phase="queue-full",
        alerts=(ExpectedAlert("OllamaQueueFull", "ticket"),),
        moves=(MetricMove(M + "admission_shed_total", labels=(("reason", "ollama_busy"),),
                          what="callers were answered 503 overloaded for Ollama's full queue"),
               MetricMove(M + "upstream_request_duration_seconds_count",
                          labels=(("outcome", "ollama_busy"),),
                          what="Ollama turned calls away")),
        holds=(BREAKER_CLOSED, NO_FAILED_CALL),
    ),
)
