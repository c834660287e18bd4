"""What a scenario's callers saw, from Locust's per-request-name statistics (its CSV files),
against the scenario's client checks; and the queries a scenario must hold at zero."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from loadtest.scenarios.model import ClientCheck, Scenario
from loadtest.stack.interface import Stack


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "N/A" when no request had that name
        return math.nan


def locust_stats(csv_prefix: Path) -> dict[str, dict[str, Any]]:
    """Request name -> count, failures, response-time percentiles (ms) and top errors."""
    stats: dict[str, dict[str, Any]] = {}
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return stats
    with path.open() as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                continue
            stats[row["Name"]] = {"requests": int(row["Request Count"]),
                                  "failures": int(row["Failure Count"]),
                                  "p50_ms": _number(row["50%"]), "p99_ms": _number(row["99%"]),
                                  "max_ms": _number(row["Max Response Time"]), "errors": {}}
    failures = Path(f"{csv_prefix}_failures.csv")
    if failures.exists():
        with failures.open() as file:
            for row in csv.DictReader(file):
                if row["Name"] in stats:
                    stats[row["Name"]]["errors"][row["Error"]] = int(row["Occurrences"])
    return stats


def _problems(check: ClientCheck, seen: dict[str, Any]) -> list[str]:
    problems = []
    if seen["requests"] < check.min_requests:
        problems.append(f"{seen['requests']} requests, expected at least {check.min_requests}")
    if check.max_requests is not None and seen["requests"] > check.max_requests:
        problems.append(f"{seen['requests']} requests, expected at most {check.max_requests}: "
                        f"{seen['errors']}")
    if check.max_failures is not None and seen["failures"] > check.max_failures:
        problems.append(f"{seen['failures']} failed: {seen['errors']}")
    if check.p99_below_ms is not None and seen["requests"] and not (
            seen["p99_ms"] < check.p99_below_ms):
        problems.append(f"p99 {seen['p99_ms']:g} ms, expected under {check.p99_below_ms:g} ms")
    return problems


def check_clients(scenario: Scenario, csv_prefix: Path) -> list[dict[str, Any]]:
    """One row per client check: what Locust saw under its name, and what is wrong."""
    stats = locust_stats(csv_prefix)
    empty = {"requests": 0, "failures": 0, "p50_ms": math.nan, "p99_ms": math.nan,
             "max_ms": math.nan, "errors": {}}
    rows = []
    for check in scenario.client_checks:
        seen = stats.get(check.name, empty)
        rows.append({"name": check.name, **seen, "problems": _problems(check, seen)})
    return rows


def check_holds(stack: Stack, scenario: Scenario, since: float,
                until: float) -> dict[str, bool]:
    """Each hold: did its query stay at zero (or return nothing) from ``since`` to ``until``."""
    held = {}
    for hold in scenario.holds:
        series = stack.query_range(hold.query, since, until, 0.5)
        values = [float(v) for s in series for _, v in s["values"]]
        held[f"{hold.what}: {hold.query}"] = all(v == 0 or math.isnan(v) for v in values)
    return held
