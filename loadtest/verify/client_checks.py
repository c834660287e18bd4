"""What a scenario's callers saw, from Locust's per-request-name statistics (final_stats.py),
against the scenario's client checks, with the latency bounds decided on the service's own
histogram; and the queries a scenario must hold at zero."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from app.core.catalog import Catalog
from loadtest.scenarios.final_stats import final_stats_path, read_final_stats
from loadtest.scenarios.model import ClientCheck, Scenario, selector
from loadtest.stack.interface import Stack
from loadtest.verify.metric_checks import phase_window
from loadtest.verify.service_samples import ServiceSamples

BOUND_SHARE = 0.99  # the share of answers a latency bound holds for: a p99
QUERY_BUCKETS = f"{Catalog.query_duration.full_name}_bucket"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "N/A" when no request had that name
        return math.nan


def locust_stats(csv_prefix: Path) -> dict[str, dict[str, Any]]:
    """Request name -> count, failures, response-time percentiles (ms) and top errors: the
    final figures once Locust has ended, else what its CSV files say so far."""
    final = final_stats_path(csv_prefix)
    if final.exists():
        return read_final_stats(final)
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
    series = stack.query(f'sum by (le) ({QUERY_BUCKETS}{{outcome="{outcome}"}})', at)
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


def service_latency(stack: Stack, check: ClientCheck, since: float, until: float,
                    samples: ServiceSamples | None = None) -> dict[str, Any]:
    """How many answers of the check's outcome the service counted from ``since`` to
    ``until``, the share that ended within the bound, and their p99 (interpolated); read
    from Prometheus, or from ``samples`` of the service's own ``/metrics``."""
    assert check.outcome is not None and check.p99_below_ms is not None
    if samples is not None:
        start = samples.buckets(QUERY_BUCKETS, check.outcome, since)
        end = samples.buckets(QUERY_BUCKETS, check.outcome, until)
    else:
        start, end = _buckets(stack, check.outcome, since), _buckets(stack, check.outcome, until)
    counts = {bound: end[bound] - start.get(bound, 0.0) for bound in end}
    bound = check.p99_below_ms / 1000
    total = counts.get(math.inf, 0.0)
    waited = _waited(stack, check, since, until, samples)
    bounded = max(total - waited, 0.0)
    return {"outcome": check.outcome, "count": total, "waited": waited,
            "within_bound": min(counts.get(bound, math.nan) / bounded, 1.0)
            if bounded else math.nan,
            "p99_ms": quantile_of(counts, BOUND_SHARE) * 1000}


def _waited(stack: Stack, check: ClientCheck, since: float, until: float,
            samples: ServiceSamples | None) -> float:
    """How many of the check's answers waited by design (``ClientCheck.waited``)."""
    if check.waited is None:
        return 0.0
    sample, labels = check.waited
    if samples is not None:
        return samples.total(sample, labels, until) - samples.total(sample, labels, since)
    at = [stack.query(f"sum({selector(sample, labels)})", t) for t in (since, until)]
    start, end = (float(found[0]["value"][1]) if found else 0.0 for found in at)
    return max(end - start, 0.0)


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
        waited = (f" ({service['waited']:g} that waited in the queue by design left out)"
                  if service.get("waited") else "")
        problems.append(
            f"the service answered {service['within_bound']:.2%} of {service['count']:g} "
            f"{service['outcome']} answers within {check.p99_below_ms:g} ms{waited} (p99 "
            f"{service['p99_ms']:.1f} ms), expected {BOUND_SHARE:.0%}")
    return problems


def fault_window(scenario: Scenario, phases: dict[str, float],
                 until: float) -> tuple[float, float]:
    """When the scenario's fault phase started and ended (the next phase's start)."""
    return phase_window(scenario, scenario.fault_phase, phases, until)


def check_clients(stack: Stack, scenario: Scenario, csv_prefix: Path,
                  phases: dict[str, float], until: float,
                  samples: ServiceSamples | None = None) -> list[dict[str, Any]]:
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
            seen["service"] = service_latency(stack, check, since, end, samples)
        rows.append({"name": check.name, **seen, "problems": _problems(check, seen)})
    return rows


def check_holds(stack: Stack, scenario: Scenario, since: float, until: float,
                samples: ServiceSamples | None = None) -> dict[str, bool]:
    """Each hold: did its query stay at zero (or return nothing) from ``since`` to ``until``;
    read from Prometheus, or from ``samples`` of the service's own ``/metrics``."""
    held = {}
    for hold in scenario.holds:
        if samples is not None:
            held[hold.what] = samples.held(hold, since, until)
            continue
        series = stack.query_range(hold.query, since, until, 0.5)
        values = [float(v) for s in series for _, v in s["values"]]
        held[hold.what] = all(v == 0 or math.isnan(v) for v in values)
    return held
