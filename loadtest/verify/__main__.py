"""``python -m loadtest.verify``: break the service on purpose and prove every alert.

It starts the local stack (``loadtest/stack/local.py``), plays each scenario of
``loadtest/scenarios/plan.py`` with Locust, and checks against Prometheus's and
Alertmanager's APIs and the alert sink that: each metric a scenario must move moved; each
alert it must raise went pending, then firing, reached its receiver and resolved; nothing
but Watchdog fired in the healthy baseline; every dashboard query returns data; and the
original design's queries and alerts return data. Exit status 0 only when everything holds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtest.scenarios.plan import SCENARIOS, ExpectedAlert, Scenario
from loadtest.stack.local import LocalStack
from loadtest.stack.processes import MissingBinary
from loadtest.verify import report
from loadtest.verify.alert_checks import (
    SuppressionWatch,
    check_alert,
    check_quiet,
    fired_alerts,
    resolved_at,
    rule_keys,
    wait_for_deliveries,
    wait_for_resolutions,
    wait_until_quiet,
)
from loadtest.verify.charts import collect_charts
from loadtest.verify.locust_run import ROOT, run_locust
from loadtest.verify.metric_checks import (
    check_dashboards,
    check_moves,
    check_original_design_queries,
)
from loadtest.verify.results import AlertResult, RunResult, ScenarioResult, verdict

RESOLVE_TIMEOUT = 25.0  # seconds after a scenario for its alerts to resolve
DELIVERY_TIMEOUT = 8.0  # seconds after a scenario for its last notifications to arrive
Say = Callable[[str], None]
RunAlerts = list[tuple[ExpectedAlert, AlertResult]]  # alerts that resolve by the run's end


def play(stack: LocalStack, scenario: Scenario, workdir: Path, say: Say,
         run_alerts: RunAlerts, watch: SuppressionWatch) -> ScenarioResult:
    """Play one scenario and check everything it promises."""
    def nothing_left() -> bool:
        return all(resolved_at(stack, e, r) is not None for e, r in run_alerts)

    # The last scenario only waits for slow alerts to resolve: stop it once they have.
    last = scenario is SCENARIOS[-1]
    phases, log_path = run_locust(stack, scenario, workdir, say, nothing_left if last else None)
    since = min(phases.values())
    expectations = list(scenario.alerts)
    wait_for_deliveries(stack, expectations, since, DELIVERY_TIMEOUT)
    results = [check_alert(stack, e, scenario, phases, since, time.time(), watch)
               for e in expectations]
    pairs = list(zip(expectations, results, strict=True))
    wait_for_resolutions(stack, [(e, r) for e, r in pairs
                                 if e.resolve_by == "scenario" and r.fired_at is not None],
                         RESOLVE_TIMEOUT)
    until = time.time()
    for expected, result in pairs:
        result.resolved_at = resolved_at(stack, expected, result)
        if expected.resolve_by == "scenario" and result.ok and result.resolved_at is None:
            result.problems.append(f"not resolved within {RESOLVE_TIMEOUT:.0f}s of the "
                                   "scenario's end")
        if expected.resolve_by == "run":
            run_alerts.append((expected, result))
    return ScenarioResult(scenario.name, scenario.summary, phases, phases[scenario.fault_phase],
                          since, until, results, check_moves(stack, scenario, since, until),
                          fired_alerts(stack, since, until),
                          check_quiet(stack, scenario, phases, until), log_path)


def run_all(stack: LocalStack, workdir: Path, say: Say) -> dict[str, Any]:
    """Every scenario in order, then the checks over the whole run."""
    wait_until_quiet(stack)
    run_start = time.time()
    run_alerts: RunAlerts = []
    watch = SuppressionWatch(stack.alertmanager_url).start()
    try:
        scenarios = [play(stack, scenario, workdir, say, run_alerts, watch)
                     for scenario in SCENARIOS]
    finally:
        watch.stop()
    for expected, result in run_alerts:
        result.resolved_at = resolved_at(stack, expected, result)
        if result.ok and result.resolved_at is None:
            result.problems.append("not resolved by the end of the run")
    run_end = time.time()
    say("checking dashboards and the original design's queries")
    return verdict(RunResult(
        run_start, run_end, scenarios, rule_keys(),
        check_dashboards(stack, run_start, run_end),
        check_original_design_queries(stack, run_start, run_end),
        collect_charts(stack, scenarios)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.verify", description=__doc__)
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports",
                        help="where report.json and report.html go (default: reports/)")
    args = parser.parse_args(argv)
    started = time.time()

    def say(text: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {text}", flush=True)

    try:
        with tempfile.TemporaryDirectory(prefix="ollama-rag-verify-") as tmp:
            workdir = Path(tmp)
            say("starting the simulator, the service, Prometheus and Alertmanager on loopback")
            with LocalStack(workdir) as stack:
                data = run_all(stack, workdir, say)
    except MissingBinary as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    data["wall_seconds"] = round(time.time() - started, 1)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "report.json").write_text(json.dumps(data, indent=2, default=str))
    (args.report_dir / "report.html").write_text(report.html(data))
    print(report.terminal(data))
    print(f"reports: {args.report_dir / 'report.json'}, {args.report_dir / 'report.html'}")
    return 0 if data["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
