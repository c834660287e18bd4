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
from pathlib import Path
from typing import Any

from loadtest.scenarios.plan import SCENARIOS
from loadtest.stack.local import LocalStack
from loadtest.stack.processes import MissingBinary
from loadtest.verify import report
from loadtest.verify.alert_checks import rule_keys, wait_until_quiet
from loadtest.verify.charts import collect_charts
from loadtest.verify.locust_run import ROOT
from loadtest.verify.metric_checks import check_dashboards, check_original_design_queries
from loadtest.verify.player import Player, Say, progress
from loadtest.verify.verdict import RunResult, verdict


def run_all(stack: LocalStack, workdir: Path, say: Say) -> dict[str, Any]:
    """Every scenario in order, then the checks over the whole run."""
    wait_until_quiet(stack)
    run_start = time.time()
    with Player(stack, workdir, say) as player:
        scenarios = [player.play(scenario, last=scenario is SCENARIOS[-1])
                     for scenario in SCENARIOS]
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
    say = progress(started)

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
