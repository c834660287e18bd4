"""The figures every benchmark reports from its timings."""

from __future__ import annotations


def percentiles_ms(timings: list[float], digits: int = 3) -> dict[str, float]:
    """``p50_ms`` and ``p99_ms`` of timings in seconds (the upper median; the 99th
    percentile's nearest rank from below)."""
    ordered = sorted(timings)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, digits),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, digits)}
