"""What the simulator is told to do wrong; a change is checked whole before it applies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from loadtest.sim.models import DEFAULT_MODELS

MODES = ("ok", "error", "timeout", "slow", "garbage", "down")

# A tiny model on a fast machine: answers of a few dozen tokens, at once. For the tests, and
# for the scenarios that need more answers a second than a real model gives.
FAST_MODEL: dict[str, float] = {"first_token_ms": 0.0, "token_ms": 2.0, "answer_tokens": 0.0,
                                "load_ms_per_gb": 0.0}


@dataclass
class Faults:
    """The simulator's behaviour; every field can be changed at run time. The defaults pace
    answers like a real model on a real machine: a few hundred milliseconds to the first
    token, about 33 tokens a second, answers of 100 to 400 tokens (3 to 12 seconds).

    >>> faults = Faults()
    >>> faults.update({"mode": "error", "error_rate": 0.5})
    """

    mode: str = "ok"
    error_rate: float = 1.0  # share of requests the mode applies to; the rest are served ok
    latency_ms: float = 0.0  # added to every answer, in every mode
    slow_ms: float = 3000.0  # added in mode "slow"
    jitter: float = 0.25  # "slow" delays vary by this share either way, so answers spread out
    first_token_ms: float = 300.0  # prompt evaluation before the first token (jittered)
    token_ms: float = 30.0  # between generated tokens
    answer_tokens: float = 250.0  # mean answer length (each question gets 0.4x-1.6x); 0: short
    hang_seconds: float = 120.0  # how long mode "timeout" holds a connection at most
    # Ollama's scheduler (loadtest/sim/scheduler.py), as its environment sets it:
    # calls of one model served at once (OLLAMA_NUM_PARALLEL); the rest wait, and their
    # latency grows with the wait. 0: no limit.
    parallel: float = 0.0
    # Calls that may wait (OLLAMA_MAX_QUEUE, 512); one more is answered 503. 0: no limit.
    max_queue: float = 512.0
    # Seconds a model stays loaded after its last call (OLLAMA_KEEP_ALIVE, 5m); a call's
    # own keep_alive wins. Negative: for good.
    keep_alive: float = 300.0
    # Models loaded at once (OLLAMA_MAX_LOADED_MODELS; 3 per GPU); 0: no limit.
    max_loaded_models: float = 3.0
    # Memory for loaded models, in MiB; a model that does not fit evicts idle ones. 0: no
    # limit (the default models take about 2,180 MiB together).
    memory_mb: float = 0.0
    # A cold load's pace: milliseconds per GiB of the model (1 s for the 2-GiB chat model).
    load_ms_per_gb: float = 500.0
    # Calls another application keeps making to the first model, one after the other each
    # (loadtest/sim/other_clients.py): they take its turns and its queue's places.
    other_clients: float = 0.0
    paths: list[str] = field(default_factory=list)  # API paths the mode applies to; [] = all
    # The models pulled: /api/tags lists them, any other model is answered 404 "not found".
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, all or nothing."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}; known: {', '.join(known)}")
        merged = asdict(self) | changes
        if merged["mode"] not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        paths = merged["paths"]
        if not isinstance(paths, list) or not all(
                isinstance(p, str) and p.startswith(("/api/", "/v1/")) for p in paths):
            raise ValueError("paths must be a list of API paths such as /api/chat")
        models = merged["models"]
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise ValueError("models must be a list of model names such as llama3.2:latest")
        for name in known:
            if name in ("mode", "paths", "models"):
                continue
            value = merged[name]
            lowest = float("-inf") if name == "keep_alive" else 0
            if isinstance(value, bool) or not isinstance(value, int | float) or value < lowest:
                raise ValueError(f"{name} must be a number of at least 0")
            merged[name] = float(value)
        if merged["error_rate"] > 1 or merged["jitter"] > 1:
            raise ValueError("error_rate and jitter must be between 0 and 1")
        for name, value in merged.items():
            setattr(self, name, value)
