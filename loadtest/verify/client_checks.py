"""What a scenario's callers saw, from Locust's per-request-name statistics (its CSV files),
against the scenario's client checks, with the latency bounds decided on the service's own
histogram; and the queries a scenario must hold at zero."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from app.core.catalog import Catalog
from loadtest.scenarios.model import ClientCheck, Scenario
from loadtest.stack.interface import Stack

BOUND_SHARE = 0.99  # the share of answers a latency bound holds for: a p99


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


def _buckets(stack: Stack, outcome: str, at: float) -> dict[float, float]:
    """The service's cumulative count of ``/api/query`` answers of ``outcome`` by upper
    bound, summed over its instances, as Prometheus had it at ``at``."""
    series = stack.query(f'sum by (le) ({Catalog.query_duration.full_name}_bucket'
                         f'{{outcome="{outcome}"}})', at)
    return {float(s["metric"]["le"]): float(s["value"][1]) for s in series}


def quantile_of(counts: dict[float, float], q: float) -> float:
    """The ``q`` quantile of a histogram of counts per upper bound, interpolated within its
    bucket as histogram_quantile() does (only for the report: the verdict counts)."""
    total = counts.get(math.inf, 0.0)
    if total <= 0:
        return math.nan
    lower, below = 0.0, 0.0
    for bound in sorted(counts):
        if counts[bound] >= q * total:
            if math.isinf(bound):
                return lower
            share = (q * total - below) / max(counts[bound] - below, 1e-12)
            return lower + (bound - lower) * share
        lower, below = bound, counts[bound]
    return lower


def service_latency(stack: Stack, check: ClientCheck, since: float,
                    until: float) -> dict[str, Any]:
    """How many answers of the check's outcome the service counted from ``since`` to
    ``until``, the share that ended within the bound, and their p99 (interpolated)."""
    assert check.outcome is not None and check.p99_below_ms is not None
    start, end = _buckets(stack, check.outcome, since), _buckets(stack, check.outcome, until)
    counts = {bound: end[bound] - start.get(bound, 0.0) for bound in end}
    bound = check.p99_below_ms / 1000
    total = counts.get(math.inf, 0.0)
    return {"outcome": check.outcome, "count": total,
            "within_bound": counts.get(bound, math.nan) / total if total else math.nan,
            "p99_ms": quantile_of(counts, BOUND_SHARE) * 1000}


def _problems(check: ClientCheck, seen: dict[str, Any]) -> list[str]:
    problems = []
    if seen["requests"] < check.min_requests:
        problems.append(f"{seen['requests']} requests, expected at least {check.min_requests}")
    if check.max_requests is not None and seen["requests"] > check.max_requests:
        problems.append(f"{seen['requests']} requests, expected at most {check.max_requests}: "
                        f"{seen['errors']}")
    if check.max_failures is not None and seen["failures"] > check.max_failures:
        problems.append(f"{seen['failures']} failed: {seen['errors']}")
    service = seen.get("service")
    if service is not None and not service["count"]:
        problems.append(f"the service counted no {service['outcome']} answers in the phase")
    elif service is not None and not service["within_bound"] >= BOUND_SHARE:
        problems.append(
            f"the service answered {service['within_bound']:.2%} of {service['count']:g} "
            f"{service['outcome']} answers within {check.p99_below_ms:g} ms (p99 "
            f"{service['p99_ms']:.1f} ms), expected {BOUND_SHARE:.0%}")
    return problems


def fault_window(scenario: Scenario, phases: dict[str, float],
                 until: float) -> tuple[float, float]:
    """When the scenario's fault phase started and ended (the next phase's start)."""
    names = [phase.name for phase in scenario.phases]
    after = names.index(scenario.fault_phase) + 1
    return phases[scenario.fault_phase], (phases[names[after]] if after < len(names)
                                          and names[after] in phases else until)


def check_clients(stack: Stack, scenario: Scenario, csv_prefix: Path,
                  phases: dict[str, float], until: float) -> list[dict[str, Any]]:
    """One row per client check: what Locust saw under its name, the service's own latency
    for a bounded check over the fault phase, and what is wrong."""
    stats = locust_stats(csv_prefix)
    empty = {"requests": 0, "failures": 0, "p50_ms": math.nan, "p99_ms": math.nan,
             "max_ms": math.nan, "errors": {}}
    since, end = fault_window(scenario, phases, until)
    rows = []
    for check in scenario.client_checks:
        seen = dict(stats.get(check.name, empty))
        if check.p99_below_ms is not None:
            seen["service"] = service_latency(stack, check, since, end)
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
