"""Locust's statistics as they stand when a run ends, for the verifiers to read.

Locust rewrites its ``--csv`` files once a second while it runs and not again as it stops:
what the last second added, and the answers users finish while stopping, are missing from
them. So a run started with ``--csv PREFIX`` also writes ``PREFIX_final.json`` as it exits
(users.py registers the writer): per request name, the same figures the CSV files give.

    >>> final_stats_path(Path("/tmp/locust-baseline"))
    PosixPath('/tmp/locust-baseline_final.json')

No Locust import here: the verifiers read the file in their own process, which Locust's
gevent patching must not touch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

Named = dict[str, Any]  # requests, failures, p50_ms, p99_ms, max_ms, errors (error -> count)


def final_stats_path(csv_prefix: Path | str) -> Path:
    return Path(f"{csv_prefix}_final.json")


def summarize(stats: Any) -> dict[str, Named]:
    """Request name -> its figures, from a Locust ``RequestStats`` at the end of a run."""
    named: dict[str, Named] = {}
    for entry in stats.entries.values():
        if entry.num_requests == 0 and entry.num_failures == 0:
            continue
        answered = entry.num_requests > 0
        named[entry.name] = {
            "requests": entry.num_requests, "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5) if answered else None,
            "p99_ms": entry.get_response_time_percentile(0.99) if answered else None,
            "max_ms": entry.max_response_time if answered else None, "errors": {}}
    for error in stats.errors.values():
        figures = named.setdefault(error.name, {"requests": 0, "failures": 0, "p50_ms": None,
                                                "p99_ms": None, "max_ms": None, "errors": {}})
        text = type(error).parse_error(error.error)
        figures["errors"][text] = figures["errors"].get(text, 0) + error.occurrences
    return named


def write_final_stats(stats: Any, csv_prefix: str) -> None:
    final_stats_path(csv_prefix).write_text(json.dumps(summarize(stats), indent=1))


def read_final_stats(path: Path) -> dict[str, Named]:
    """The file's figures, a time Locust could not give as NaN."""
    named: dict[str, Named] = json.loads(path.read_text())
    for figures in named.values():
        for key in ("p50_ms", "p99_ms", "max_ms"):
            figures[key] = math.nan if figures[key] is None else float(figures[key])
    return named
