"""``python -m loadtest.verify``: break the service on purpose and prove every alert.

It starts the local stack (loadtest/stack.py), plays each scenario of loadtest/plan.py with
Locust, and checks against Prometheus's and Alertmanager's APIs and the alert sink that:
each metric a scenario must move moved; each alert it must raise went pending, then firing,
reached its receiver and resolved; nothing but Watchdog fired in the healthy baseline; every
dashboard query returns data; and the original design's queries and alerts return data.
Exit status 0 only when everything holds.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.metrics import SEED_METRICS
from loadtest import report
from loadtest.plan import PHASE_MARK, SCENARIOS, UNIT_TESTED_ONLY, ExpectedAlert, Scenario
from loadtest.processes import MissingBinary
from loadtest.stack import LocalStack
from loadtest.stackconfig import RULE_FILES

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "dashboards" / "json"
RESOLVE_TIMEOUT = 25.0  # seconds after a scenario for its alerts to resolve
DELIVERY_TIMEOUT = 8.0  # seconds after a scenario for its last notifications to arrive
STEP = 0.25  # query_range resolution, half the evaluation interval
GRAFANA_RATE_INTERVAL = "2s"  # what Grafana picks for a 500ms scrape interval: 4 scrapes

# The original design's "PromQL Queries" and "Recommended Alerts", verbatim
# (tests/test_verify.py checks that docs/original-design.md says this, whitespace aside), each
# with the production-grade form this project ships instead.
SEED_QUERIES: tuple[tuple[str, str, str], ...] = (
    ("Request rate",
     "rate(ollama_rag_connection_pool_requests_total[5m])",
     "sum by (instance) (rate(ollama_rag_connection_pool_requests_total[5m]))"),
    ("Success rate",
     '100 * rate(ollama_rag_circuit_breaker_calls_total{status="success"}[5m])\n'
     "/ rate(ollama_rag_circuit_breaker_calls_total[5m])",
     "100 * (1 - instance_breaker:ollama_rag_circuit_breaker_failures:ratio_rate5m)"),
    ("Cache hit rate",
     "rate(ollama_rag_semcache_hits_total[5m])\n"
     "/ (rate(ollama_rag_semcache_hits_total[5m]) + rate(ollama_rag_semcache_misses_total[5m]))",
     "instance:ollama_rag_semcache_hits:ratio_rate5m"),
    ("CircuitBreakerOpen",
     "ollama_rag_circuit_breaker_state == 1",
     "max by (job, instance, breaker_name) (ollama_rag_circuit_breaker_state) > 0"),
    ("HighFailureRate",
     'rate(ollama_rag_circuit_breaker_calls_total{status="failure"}[5m])\n'
     "/ rate(ollama_rag_circuit_breaker_calls_total[5m]) > 0.1",
     "instance_breaker:ollama_rag_circuit_breaker_failures:ratio_rate5m > 0.1"),
    ("LowCacheHitRate",
     "rate(ollama_rag_semcache_hits_total[5m])\n"
     "/ (rate(ollama_rag_semcache_hits_total[5m]) + rate(ollama_rag_semcache_misses_total[5m]))\n"
     "< 0.3",
     "instance:ollama_rag_semcache_hits:ratio_rate5m < 0.3"),
)


def progress(started: float, text: str) -> None:
    print(f"[{time.time() - started:6.1f}s] {text}", flush=True)


@dataclass
class AlertResult:
    scenario: str
    alert: str
    receiver: str
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


def alert_selector(expected: ExpectedAlert, state: str | None = None) -> str:
    matchers = [f'alertname="{expected.alertname}"']
    matchers += [f'{k}="{v}"' for k, v in expected.labels]
    if state:
        matchers.append(f'alertstate="{state}"')
    return "ALERTS{" + ",".join(matchers) + "}"


def first_sample_time(series: list[dict[str, Any]]) -> float | None:
    times = [float(t) for s in series for t, _ in s["values"]]
    return min(times) if times else None


def notifications_for(stack: LocalStack, expected: ExpectedAlert, status: str,
                      since: float) -> list[tuple[str, float]]:
    """(receiver, received at) of each notification carrying this alert with this status."""
    found = []
    for item in stack.sink.log.all():
        if item["received_at"] < since:
            continue
        for alert in item["payload"]["alerts"]:
            labels = alert["labels"]
            if (labels.get("alertname") == expected.alertname and alert["status"] == status
                    and all(labels.get(k) == v for k, v in expected.labels)):
                found.append((item["hook"], item["received_at"]))
    return found


def run_locust(stack: LocalStack, scenario: Scenario, workdir: Path, started: float,
               stop_when: Callable[[], bool] | None = None) -> tuple[dict[str, float], str]:
    """Play the scenario; returns its phase start times and the Locust log's path.

    ``stop_when``, checked every half second once the scenario started, ends it early.
    """
    module = scenario.name.replace("-", "_")
    log_path = workdir / f"locust-{scenario.name}.log"
    argv = [sys.executable, "-m", "locust",
            "-f", str(ROOT / "loadtest" / "locustfiles" / f"{module}.py"),
            "--headless", "--host", stack.service_url, "--sim-url", stack.sim_url,
            "--control-url", stack.control_url, "--only-summary", "--loglevel", "WARNING"]
    marks: queue.Queue[str] = queue.Queue()
    phases: dict[str, float] = {}
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True,
                                   cwd=ROOT)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith(PHASE_MARK):
                    marks.put(line.removeprefix(PHASE_MARK))
                else:
                    log.write(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            deadline = time.time() + scenario.seconds + 60
            while process.poll() is None and time.time() < deadline:
                try:
                    mark = json.loads(marks.get(timeout=0.5))
                    phases[mark["phase"]] = mark["at"]
                    progress(started, f"{scenario.name}: {mark['phase']}")
                except queue.Empty:
                    pass
                if stop_when is not None and phases and stop_when():
                    progress(started, f"{scenario.name}: ended early, nothing left to wait for")
                    break
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            reader.join(5)
    while not marks.empty():
        mark = json.loads(marks.get())
        phases[mark["phase"]] = mark["at"]
    if scenario.phases[0].name not in phases:
        raise RuntimeError(f"locust did not start scenario {scenario.name} "
                           f"(status {process.returncode}); see its log:\n"
                           + log_path.read_text()[-2000:])
    phases.setdefault("end", time.time())
    return phases, str(log_path)


def wait_for_deliveries(stack: LocalStack, expectations: list[ExpectedAlert], since: float,
                        timeout: float) -> None:
    """Alertmanager notifies a second or two after Prometheus fires: give it the time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(notifications_for(stack, e, "firing", 0 if e.resolve_by == "never" else since)
               for e in expectations):
            return
        time.sleep(0.5)


def wait_for_resolutions(stack: LocalStack, results: list[AlertResult],
                         expectations: list[ExpectedAlert], timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(resolved_at(stack, e, r) is not None for e, r in zip(expectations, results,
                                                                     strict=True)):
            return
        time.sleep(0.5)


def resolved_at(stack: LocalStack, expected: ExpectedAlert, result: AlertResult) -> float | None:
    if result.delivered_at is None:
        return None
    times = [at for hook, at in notifications_for(stack, expected, "resolved",
                                                  result.delivered_at)]
    return min(times) if times else None


def check_alert(stack: LocalStack, expected: ExpectedAlert, scenario: Scenario,
                phases: dict[str, float], since: float, until: float) -> AlertResult:
    result = AlertResult(scenario.name, expected.key, expected.receiver,
                         resolve_by=expected.resolve_by)
    fault_at = phases[scenario.fault_phase]
    result.pending_at = first_sample_time(
        stack.query_range(alert_selector(expected, "pending"), since, until, STEP))
    result.fired_at = first_sample_time(
        stack.query_range(alert_selector(expected, "firing"), since, until, STEP))
    if result.fired_at is None:
        result.problems.append("never fired")
        return result
    if expected.alertname != "Watchdog":
        if result.pending_at is None or result.pending_at > result.fired_at:
            result.problems.append("was not pending before firing")
        result.time_to_detect = round(result.fired_at - fault_at, 2)
    # The Watchdog fires from the start, before any scenario, and is not repeated for an hour.
    delivered = notifications_for(stack, expected, "firing",
                                  0 if expected.resolve_by == "never" else since)
    result.delivered_to = sorted({hook for hook, _ in delivered})
    if not delivered:
        result.problems.append("no notification reached Alertmanager's webhooks")
    else:
        result.delivered_at = min(at for _, at in delivered)
        if result.delivered_to != [expected.receiver]:
            result.problems.append(f"delivered to {result.delivered_to}, "
                                   f"expected [{expected.receiver}]")
    return result


def check_moves(stack: LocalStack, scenario: Scenario, since: float,
                until: float) -> dict[str, bool]:
    moved: dict[str, bool] = {}
    for move in scenario.moves:
        series = stack.query_range(move.query, since, until, 0.5)
        values = [float(v) for s in series for _, v in s["values"]]
        ok = any(v > 0 and not math.isnan(v) for v in values)
        moved[f"{move.metric}: {move.query}"] = ok
    return moved


def check_quiet(stack: LocalStack, scenario: Scenario, phases: dict[str, float],
                until: float) -> list[str]:
    if scenario.quiet_phase is None:
        return []
    names = [p.name for p in scenario.phases]
    start = phases[scenario.quiet_phase]
    after = names.index(scenario.quiet_phase) + 1
    end = phases[names[after]] if after < len(names) else until
    series = stack.query_range('ALERTS{alertname!="Watchdog"}', start, end, STEP)
    problems = [f"{s['metric']['alertname']} was {s['metric']['alertstate']}" for s in series]
    for item in stack.sink.log.all():
        if start <= item["received_at"] <= end and item["hook"] != "watchdog":
            problems.append(f"notification to {item['hook']}: "
                            f"{[a['labels']['alertname'] for a in item['payload']['alerts']]}")
    return sorted(set(problems))


def fired_alerts(stack: LocalStack, since: float, until: float) -> list[str]:
    series = stack.query_range('ALERTS{alertstate="firing"}', since, until, STEP)
    keys = set()
    for s in series:
        labels = s["metric"]
        window = labels.get("long_window")
        keys.add(labels["alertname"] + (f"{{long_window={window}}}" if window else ""))
    return sorted(keys)


def play(stack: LocalStack, scenario: Scenario, workdir: Path, started: float,
         pending_run_alerts: list[tuple[ExpectedAlert, AlertResult]]) -> ScenarioResult:
    def nothing_left() -> bool:
        return all(resolved_at(stack, e, r) is not None for e, r in pending_run_alerts)

    # The last scenario only waits for slow alerts to resolve: stop it once they have.
    last = scenario is SCENARIOS[-1]
    phases, log_path = run_locust(stack, scenario, workdir, started,
                                  nothing_left if last else None)
    since = min(phases.values())
    expectations = list(scenario.alerts)
    wait_for_deliveries(stack, expectations, since, DELIVERY_TIMEOUT)
    results = [check_alert(stack, e, scenario, phases, since, time.time())
               for e in expectations]
    waiting = [(e, r) for e, r in zip(expectations, results, strict=True)
               if e.resolve_by == "scenario" and r.delivered_at is not None]
    wait_for_resolutions(stack, [r for _, r in waiting], [e for e, _ in waiting],
                         RESOLVE_TIMEOUT)
    until = time.time()
    for expected, result in zip(expectations, results, strict=True):
        result.resolved_at = resolved_at(stack, expected, result)
        if expected.resolve_by == "scenario" and result.ok and result.resolved_at is None:
            result.problems.append(f"not resolved within {RESOLVE_TIMEOUT:.0f}s of the "
                                   "scenario's end")
        if expected.resolve_by == "run":
            pending_run_alerts.append((expected, result))
    outcome = ScenarioResult(scenario.name, scenario.summary, phases,
                             phases[scenario.fault_phase], since, until, results,
                             check_moves(stack, scenario, since, until),
                             fired_alerts(stack, since, until),
                             check_quiet(stack, scenario, phases, until), log_path)
    return outcome


def wait_until_quiet(stack: LocalStack, timeout: float = 30) -> None:
    """Start-up leaves alerts behind (OllamaRagAbsent before the first scrape): wait them out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not stack.query('ALERTS{alertname!="Watchdog"}'):
            return
        time.sleep(0.5)
    raise RuntimeError("alerts still pending or firing on an idle stack: "
                       f"{stack.query('ALERTS')}")


def grafana_to_promql(expr: str) -> str:
    return (expr.replace("$__rate_interval", GRAFANA_RATE_INTERVAL)
            .replace('"$job|"', '".+|"').replace('"$instance|"', '".+|"')
            .replace("$job", ".+").replace("$instance", ".+"))


def has_data(series: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(v)) for s in series for _, v in s["values"])


def check_dashboards(stack: LocalStack, since: float, until: float) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                series = stack.query_range(grafana_to_promql(target["expr"]), since, until, 1)
                rows.append({"dashboard": board["title"], "panel": panel["title"],
                             "ref": target["refId"], "data": has_data(series)})
    return rows


def check_seed_queries(stack: LocalStack, since: float, until: float) -> list[dict[str, Any]]:
    rows = []
    for name, verbatim, production in SEED_QUERIES:
        raw = stack.query_range(verbatim, since, until, 1)
        shipped = stack.query_range(production, since, until, 1)
        values = {float(v) for s in raw for _, v in s["values"] if not math.isnan(float(v))}
        note = ""
        if not has_data(raw):
            note = ("returns nothing as written: hits carry a `type` label that misses "
                    "lack, so the sum matches no series (seed defect)")
        elif "status=" in verbatim and values <= {1.0, 100.0}:
            note = ("always the same value as written: each status series is divided by "
                    "itself (seed defect)")
        rows.append({"name": name, "verbatim": verbatim, "verbatim_data": has_data(raw),
                     "production": production, "production_data": has_data(shipped),
                     "note": note})
    return rows


def rule_keys() -> list[str]:
    """Every alert rule, told apart by its SLO windows where names repeat."""
    keys = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    labels = rule.get("labels", {})
                    extra = ",".join(f"{k}={labels[k]}" for k in ("long_window", "short_window")
                                     if k in labels)
                    keys.append(f"{rule['alert']}{{{extra}}}" if extra else rule["alert"])
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.verify", description=__doc__)
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports",
                        help="where report.json and report.html go (default: reports/)")
    args = parser.parse_args(argv)
    started = time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="ollama-rag-verify-") as tmp:
            workdir = Path(tmp)
            progress(started, "starting the simulator, the service, Prometheus and "
                              "Alertmanager on loopback")
            with LocalStack(workdir) as stack:
                data = run_all(stack, workdir, started)
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


def run_all(stack: LocalStack, workdir: Path, started: float) -> dict[str, Any]:
    wait_until_quiet(stack)
    run_start = time.time()
    pending_run_alerts: list[tuple[ExpectedAlert, AlertResult]] = []
    scenarios: list[ScenarioResult] = []
    for scenario in SCENARIOS:
        scenarios.append(play(stack, scenario, workdir, started, pending_run_alerts))
    for expected, result in pending_run_alerts:
        result.resolved_at = resolved_at(stack, expected, result)
        if result.ok and result.resolved_at is None:
            result.problems.append("not resolved by the end of the run")
    run_end = time.time()
    progress(started, "checking dashboards and the original design's queries")
    dashboards = check_dashboards(stack, run_start, run_end)
    seed = check_seed_queries(stack, run_start, run_end)
    charts = report.collect_charts(stack, scenarios)

    moved_metrics = {key.split(":")[0] for s in scenarios for key, ok in s.moved.items() if ok}
    seed_unmoved = [spec.full_name for spec in SEED_METRICS
                    if spec.full_name not in moved_metrics]
    live = sorted({r.alert for s in scenarios for r in s.alerts if r.ok})
    keys = rule_keys()
    unproven = [k for k in keys if k not in live and k not in UNIT_TESTED_ONLY]
    failures = [f"{r.scenario}: {r.alert}: {p}" for s in scenarios for r in s.alerts
                for p in r.problems]
    failures += [f"{s.name}: {m} did not move" for s in scenarios
                 for m, ok in s.moved.items() if not ok]
    failures += [f"{s.name}: false positive: {v}" for s in scenarios
                 for v in s.quiet_violations]
    failures += [f"seed metric {m} never moved" for m in seed_unmoved]
    failures += [f"dashboard {d['dashboard']} / {d['panel']} ({d['ref']}) returned no data"
                 for d in dashboards if not d["data"]]
    failures += [f"the production form of the seed's {q['name']} returned no data"
                 for q in seed if not q["production_data"]]
    failures += [f"alert {k} is neither proven live nor listed as unit-tested only"
                 for k in unproven]
    live_share = len([k for k in keys if k in live]) / len(keys)
    if live_share < 0.9:
        failures.append(f"only {live_share:.0%} of the alerts were proven live (bar: 90%)")
    return {
        "verdict": "fail" if failures else "pass",
        "failures": failures,
        "run": {"start": run_start, "end": run_end},
        "scenarios": [asdict(s) for s in scenarios],
        "alerts": {"rules": keys, "live": [k for k in keys if k in live],
                   "unit_tested_only": UNIT_TESTED_ONLY, "live_share": round(live_share, 3)},
        "seed_metrics_moved": {spec.full_name: spec.full_name in moved_metrics
                               for spec in SEED_METRICS},
        "dashboards": dashboards,
        "seed_queries": seed,
        "charts": charts,
    }


if __name__ == "__main__":
    sys.exit(main())
