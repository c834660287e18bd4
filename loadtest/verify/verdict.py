"""The verdict over a whole verifier run: the scenarios' rows not seen (findings.py), the
original design's metrics and queries, the dashboards, and the share of alerts proven live."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.core.catalog import CONTRACT_METRICS
from loadtest.scenarios.unit_tested import UNIT_TESTED_ONLY
from loadtest.stack.config import SERVICE_SETTINGS, TRACING_SETTINGS
from loadtest.verify.findings import scenario_failures
from loadtest.verify.results import ScenarioResult

# The share of alert rules that must be proven live. The rest are listed, each with why, in
# UNIT_TESTED_ONLY: the 3-day SLO windows, the rule-evaluation and the memory-limit alerts
# (4 of 28 rules).
LIVE_SHARE_BAR = 0.85


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
