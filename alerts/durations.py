"""Prometheus durations ("5m", "1h30m"), as the rule files write them.

    >>> duration_seconds("1h30m")
    5400
"""

from __future__ import annotations

import re

UNITS = "ms|s|m|h|d|w|y"
_DURATION = re.compile(rf"(\d+)({UNITS})")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _SECONDS[u] for n, u in parts)
