"""What the verifier found: one result per expected alert and per scenario, and the
verdict over the whole run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.core.catalog import CONTRACT_METRICS
from loadtest.scenarios.unit_tested import UNIT_TESTED_ONLY
from loadtest.stack.config import SERVICE_SETTINGS, TRACING_SETTINGS

# The share of alert rules that must be proven live. The rest are listed, each with why, in
# UNIT_TESTED_ONLY: the 3-day SLO windows, the rule-evaluation and the memory-limit alerts
# (4 of 28 rules).
LIVE_SHARE_BAR = 0.85


@dataclass
class AlertResult:
    scenario: str
    alert: str  # the key: alert name, and SLO windows where names repeat
    receiver: str
    labels: dict[str, str] = field(default_factory=dict)  # that select it in ALERTS
    pending_at: float | None = None
    fired_at: float | None = None
    delivered_to: list[str] = field(default_factory=list)
    delivered_at: float | None = None
    resolved_at: float | None = None
    resolve_by: str = "scenario"
    time_to_detect: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ScenarioResult:
    name: str
    summary: str
    phases: dict[str, float]
    fault_at: float
    started: float
    ended: float
    alerts: list[AlertResult] = field(default_factory=list)
    moved: dict[str, bool] = field(default_factory=dict)
    also_fired: list[str] = field(default_factory=list)
    quiet_violations: list[str] = field(default_factory=list)
    locust_log: str = ""
    held: dict[str, bool] = field(default_factory=dict)  # queries that must stay at zero
    clients: list[dict[str, Any]] = field(default_factory=list)  # client_checks rows
    traces: dict[str, Any] = field(default_factory=dict)  # trace_checks.TraceFindings
    # Per phase condition (Phase.until_mark): seconds into its phase it was met, None if never.
    conditions: dict[str, float | None] = field(default_factory=dict)


@dataclass
class RunResult:
    """Everything the run found, before the verdict."""

    start: float
    end: float
    scenarios: list[ScenarioResult]
    rule_keys: list[str]
    dashboards: list[dict[str, Any]]
    design_queries: list[dict[str, Any]]
    charts: list[dict[str, Any]]


def scenario_failures(scenarios: list[ScenarioResult]) -> list[str]:
    """What the scenarios' own checks found wrong: alerts, metrics that did not move or did
    not hold, false positives in a quiet phase, what callers saw, traces."""
    failures = [f"{r.scenario}: {r.alert}: {p}" for s in scenarios for r in s.alerts
                for p in r.problems]
    failures += [f"{s.name}: {m} did not move" for s in scenarios
                 for m, ok in s.moved.items() if not ok]
    failures += [f"{s.name}: false positive: {v}" for s in scenarios
                 for v in s.quiet_violations]
    failures += [f"{s.name}: traces: {p}" for s in scenarios
                 for p in s.traces.get("problems", [])]
    failures += [f"{s.name}: {mark}: not met, the phase went on without it (see its Locust log)"
                 for s in scenarios for mark, after in s.conditions.items() if after is None]
    failures += [f"{s.name}: did not hold: {h}" for s in scenarios
                 for h, ok in s.held.items() if not ok]
    failures += [f"{s.name}: callers: {row['name']}: {p}" for s in scenarios
                 for row in s.clients for p in row["problems"]]
    return failures


def _failures(run: RunResult, contract_unmoved: list[str], live: set[str],
              live_share: float) -> list[str]:
    failures = scenario_failures(run.scenarios)
    failures += [f"contract metric {m} never moved" for m in contract_unmoved]
    failures += [f"dashboard {d['dashboard']} / {d['panel']} ({d['ref']}) returned no data"
                 for d in run.dashboards if not d["data"]]
    failures += [f"the production form of the original design's {q['name']} returned no data"
                 for q in run.design_queries if not q["production_data"]]
    failures += [f"alert {k} is neither proven live nor listed as unit-tested only"
                 for k in run.rule_keys if k not in live and k not in UNIT_TESTED_ONLY]
    if live_share < LIVE_SHARE_BAR:
        failures.append(f"only {live_share:.0%} of the alerts were proven live "
                        f"(bar: {LIVE_SHARE_BAR:.0%})")
    return failures


def verdict(run: RunResult) -> dict[str, Any]:
    """The report's data: every finding, the failures among them and the verdict."""
    moved = {key.split(":")[0] for s in run.scenarios for key, ok in s.moved.items() if ok}
    contract_moved = {spec.full_name: spec.full_name in moved for spec in CONTRACT_METRICS}
    live = {r.alert for s in run.scenarios for r in s.alerts if r.ok}
    keys = run.rule_keys
    live_keys = [k for k in keys if k in live]
    live_share = len(live_keys) / len(keys)
    failures = _failures(run, [name for name, ok in contract_moved.items() if not ok], live,
                         live_share)
    return {
        "verdict": "fail" if failures else "pass",
        "failures": failures,
        "run": {"start": run.start, "end": run.end},
        "scenarios": [asdict(s) for s in run.scenarios],
        "alerts": {"rules": keys, "live": live_keys, "unit_tested_only": UNIT_TESTED_ONLY,
                   "live_share": round(live_share, 3)},
        "contract_metrics_moved": contract_moved,
        "service_settings": [asdict(change)
                             for change in (*SERVICE_SETTINGS, *TRACING_SETTINGS)],
        "dashboards": run.dashboards,
        "design_queries": run.design_queries,
        "charts": run.charts,
    }
