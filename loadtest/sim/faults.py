"""What the simulator is told to do wrong; a change is checked whole before it applies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

MODES = ("ok", "error", "timeout", "slow", "garbage", "down")


@dataclass
class Faults:
    """The simulator's behaviour; every field can be changed at run time.

    >>> faults = Faults()
    >>> faults.update({"mode": "error", "error_rate": 0.5})
    """

    mode: str = "ok"
    error_rate: float = 1.0  # share of requests the mode applies to; the rest are served ok
    latency_ms: float = 0.0  # added to every answer, in every mode
    slow_ms: float = 3000.0  # added in mode "slow"
    jitter: float = 0.25  # "slow" delays vary by this share either way, so answers spread out
    token_ms: float = 2.0  # between streamed tokens
    hang_seconds: float = 120.0  # how long mode "timeout" holds a connection at most
    paths: list[str] = field(default_factory=list)  # API paths the mode applies to; [] = all

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
        for name in known:
            if name in ("mode", "paths"):
                continue
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0")
            merged[name] = float(value)
        if merged["error_rate"] > 1 or merged["jitter"] > 1:
            raise ValueError("error_rate and jitter must be between 0 and 1")
        for name, value in merged.items():
            setattr(self, name, value)
