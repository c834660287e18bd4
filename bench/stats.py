"""The figures benchmarks report: from timings, from paired differences, from a
``/metrics`` page."""

from __future__ import annotations


def percentiles_ms(timings: list[float], digits: int = 3) -> dict[str, float]:
    """``p50_ms`` and ``p99_ms`` of timings in seconds (the upper median; the 99th
    percentile's nearest rank from below)."""
    ordered = sorted(timings)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, digits),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, digits)}


def interquartile(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles (nearest rank from below) of ``values``."""
    ordered = sorted(values)
    return ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]


def series_count(metrics_text: str) -> int:
    """How many samples a text-format ``/metrics`` page exposes."""
    return sum(1 for line in metrics_text.splitlines() if line and not line.startswith("#"))
