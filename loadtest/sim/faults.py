"""What the simulator is told to do wrong; a change is checked whole before it applies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from loadtest.sim.models import DEFAULT_MODELS

MODES = ("ok", "error", "timeout", "slow", "garbage", "down")

# A tiny model on a fast machine: answers of a few dozen tokens, at once. For the tests, and
# for the scenarios that need more answers a second than a real model gives.
FAST_MODEL: dict[str, float] = {"first_token_ms": 0.0, "token_ms": 2.0, "answer_tokens": 0.0}


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
    # Calls of one model path served at once (Ollama's OLLAMA_NUM_PARALLEL); the rest wait
    # in a queue, and their latency grows with it. 0: no limit.
    parallel: float = 0.0
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
                isinstance(p, str) and p.startswith("/api/") for p in paths):
            raise ValueError("paths must be a list of API paths such as /api/chat")
        models = merged["models"]
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise ValueError("models must be a list of model names such as llama3.2:latest")
        for name in known:
            if name in ("mode", "paths", "models"):
                continue
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0")
            merged[name] = float(value)
        if merged["error_rate"] > 1 or merged["jitter"] > 1:
            raise ValueError("error_rate and jitter must be between 0 and 1")
        for name, value in merged.items():
            setattr(self, name, value)
