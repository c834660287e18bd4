"""The live verifier's parts: plan coverage, time compression, the local stack's life cycle,
the reports. The verifier itself runs in CI as `make verify`."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
import yaml

from alerts.durations import duration_seconds
from alerts.paths import ALERTMANAGER_CONFIG, RULE_FILES
from alerts.rule_files import alert_rules, rule_groups
from app.core.catalog import Catalog
from app.core.labels import QueryOutcome
from loadtest.scenarios.compose_plan import COMPOSE_ONLY
from loadtest.scenarios.compression import RECORD_FACTORS
from loadtest.scenarios.model import (
    INHIBITED,
    NOT_DELIVERED,
    TARGET_ACTIONS,
    TARGET_CHANGE_SECONDS,
    ClientCheck,
    ExpectedAlert,
)
from loadtest.scenarios.plan import SCENARIOS
from loadtest.scenarios.unit_tested import UNIT_TESTED_ONLY
from loadtest.stack.config import compressed_rules, factor_for
from loadtest.stack.local import LocalStack
from loadtest.stack.processes import MissingBinary, find_binary
from loadtest.verify import report
from loadtest.verify.alert_checks import rule_keys
from loadtest.verify.client_checks import _problems, quantile_of
from loadtest.verify.locust_run import LOCUSTFILES
from loadtest.verify.metric_checks import ORIGINAL_DESIGN_QUERIES, grafana_to_promql
from loadtest.verify.verdict import LIVE_SHARE_BAR
from tests import ROOT


def test_every_alert_rule_is_proven_live_or_listed_as_unit_tested_only() -> None:
    expected = {a.key for s in SCENARIOS for a in s.alerts}
    keys = rule_keys()
    assert set(UNIT_TESTED_ONLY) <= set(keys)
    assert not set(keys) - expected - set(UNIT_TESTED_ONLY)
    assert len(expected & set(keys)) / len(keys) >= LIVE_SHARE_BAR
    receivers = {"critical": "pager", "warning": "ticket", "info": "watchdog"}
    own = {"AlertmanagerFailedToSendNotifications": "alerting-path"}  # alertmanager.yml
    rules = dict(zip(keys, alert_rules(), strict=True))
    for scenario in (*SCENARIOS, *COMPOSE_ONLY):
        for alert in scenario.alerts:
            if alert.receiver not in NOT_DELIVERED:
                severity = rules[alert.key]["labels"]["severity"]
                assert alert.receiver == own.get(alert.alertname, receivers[severity]), alert


def test_the_hooks_expected_of_a_receiver_are_its_webhooks() -> None:
    """A receiver with several webhooks (alerts/alertmanager.yml) must be delivered to each;
    every other receiver's one webhook is named after it."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        if receiver.get("webhook_configs"):
            hooks = ExpectedAlert("X", receiver["name"]).hooks
            assert hooks == (("pager", "ticket") if receiver["name"] == "alerting-path"
                             else (receiver["name"],))
    assert ExpectedAlert("X", INHIBITED).hooks == (INHIBITED,)


def test_every_scenario_has_a_locust_file() -> None:
    files = {p.stem for p in LOCUSTFILES.glob("*.py")} - {"__init__"}
    assert files == {s.name.replace("-", "_") for s in (*SCENARIOS, *COMPOSE_ONLY)}
    for scenario in (*SCENARIOS, *COMPOSE_ONLY):
        assert {p.name for p in scenario.phases} >= {scenario.fault_phase}


def test_a_phase_that_adds_or_hides_a_target_outlasts_discovery_and_its_alerts_for() -> None:
    """Prometheus takes up to TARGET_CHANGE_SECONDS to see a target change: a shorter phase
    makes its alert fire by luck, or not at all."""
    compressed_for = {rule["alert"]: duration_seconds(rule.get("for", "0s"))
                      for rule in alert_rules(read=compressed_rules)}
    making = set(TARGET_ACTIONS) - {"remove_dead_replica", "restore_target",
                                    "restore_alertmanager"}
    checked = 0
    for scenario in SCENARIOS:
        longest_for = max((compressed_for[a.alertname] for a in scenario.alerts), default=0)
        for phase in scenario.phases:
            if making & set(phase.actions):
                checked += 1
                assert phase.seconds >= TARGET_CHANGE_SECONDS + longest_for, (
                    scenario.name, phase.name)
    assert checked >= 3


def test_the_original_design_queries_are_quoted_verbatim() -> None:
    def words(text: str) -> str:
        return " ".join(text.split())

    design = words((ROOT / "docs" / "original-design.md").read_text())
    for name, verbatim, _ in ORIGINAL_DESIGN_QUERIES:
        assert words(verbatim) in design, name


def test_compression_divides_every_duration_by_its_groups_factor() -> None:
    compressed = rule_groups(read=compressed_rules)
    for before, after in zip(rule_groups(), compressed, strict=True):
        for rule_before, rule_after in zip(before["rules"], after["rules"], strict=True):
            factor = factor_for(before["name"], rule_before.get("record"))
            ranges_before = re.findall(r"\[(\w+)\]", rule_before["expr"])
            ranges_after = re.findall(r"\[(\w+)\]", rule_after["expr"])
            assert [duration_seconds(r) / factor for r in ranges_before] == pytest.approx(
                [duration_seconds(r) for r in ranges_after], abs=0.001)
            # Thresholds and the rest of the expression are untouched.
            assert re.sub(r"\[\w+\]", "[]", rule_before["expr"]) == re.sub(
                r"\[\w+\]", "[]", rule_after["expr"])
            if "for" in rule_before:
                assert duration_seconds(rule_before["for"]) / factor == pytest.approx(
                    duration_seconds(rule_after["for"]), abs=0.001)


def test_every_record_with_its_own_factor_exists() -> None:
    records = {rule.get("record") for group in rule_groups() for rule in group["rules"]}
    assert set(RECORD_FACTORS) <= records


def test_compressed_rules_load_in_promtool(tmp_path: Path) -> None:
    for path in RULE_FILES:
        (tmp_path / path.name).write_text(compressed_rules(path))
    result = subprocess.run([find_binary("promtool", package="prometheus"), "check", "rules",
                             *map(str, tmp_path.glob("*.yml"))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_variables_become_promql() -> None:
    assert grafana_to_promql('rate(x{job=~"$job",instance=~"$instance"}[$__rate_interval])') == (
        'rate(x{job=~".+",instance=~".+"}[2s])')


def test_a_missing_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingBinary, match="apt-get install prometheus"):
        LocalStack(tmp_path)


def test_the_stack_starts_answers_and_leaves_nothing_behind() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with LocalStack(Path(tmp)) as stack:
            pids = [p.process.pid for p in stack._processes.values()]
            assert httpx.get(f"{stack.service_url}/readyz").status_code == 200
            assert stack.query('up{job="ollama-rag"}')[0]["value"][1] == "1"
            stack.stop_service()
            assert stack.query("ALERTS")  # Prometheus still answers
            stack.start_service()
            assert httpx.get(f"{stack.service_url}/healthz").status_code == 200
            pids.append(stack._processes["service"].process.pid)
            urls = [stack.sink.url, stack.control_url]
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        for url in urls:
            with pytest.raises(httpx.HTTPError):
                httpx.get(url, timeout=1)


def test_reports_render_from_the_verifier_data() -> None:
    data = {
        "verdict": "fail", "failures": ["outage: X: never fired"], "wall_seconds": 1.0,
        "scenarios": [{"name": "outage", "summary": "s", "fault_at": 100.0, "started": 99.0,
                       "ended": 120.0, "phases": {"outage": 100.0, "end": 110.0},
                       "alerts": [{"alert": "X", "receiver": "pager", "fired_at": 102.5,
                                   "delivered_to": ["pager"], "resolved_at": 111.0,
                                   "time_to_detect": 2.5, "problems": []}],
                       "moved": {"m: q": True}}],
        "contract_metrics_moved": {"ollama_rag_semcache_size": True},
        "dashboards": [{"dashboard": "d", "panel": "p", "ref": "A", "data": True}],
        "design_queries": [{"name": "q", "verbatim_data": False, "production_data": True,
                          "note": "n"}],
        "alerts": {"rules": ["X"], "live": ["X"], "unit_tested_only": {}, "live_share": 1.0},
        "charts": [{"scenario": "outage", "start": 99.0, "end": 120.0,
                    "phases": {"outage": 100.0},
                    "panels": [{"title": "t", "series": [{"label": "a",
                                                          "points": [[100, 0], [110, 1]]}]}],
                    "bands": [{"alert": "X", "from": 102.5, "to": 111.0}]}],
    }
    text = report.terminal(data)
    assert "outage" in text and "+2.5s" in text and "VERDICT: FAIL" in text
    page = report.html(data)
    assert page.count("<svg") == 1 and "<polyline" in page and "X firing" in page


@pytest.mark.parametrize("document", ["README.md", "docs/verification.md"])
def test_the_documents_list_every_scenario(document: str) -> None:
    text = (ROOT / document).read_text()
    listed = set(re.findall(r"^\| `([a-z-]+)` (?:\(compose only\) )?\| ", text, re.M))
    assert {s.name for s in SCENARIOS} <= listed


def test_latency_bounds_are_bucket_boundaries_of_the_services_histogram() -> None:
    """A bound is counted in the service's own histogram (the share of answers in the bucket
    that ends at it), never interpolated: it must be one of the histogram's bounds."""
    bounded = [(s.name, c) for s in SCENARIOS for c in s.client_checks
               if c.p99_below_ms is not None]
    assert {(name, c.outcome) for name, c in bounded} == {
        ("overload", QueryOutcome.SHED), ("overload", QueryOutcome.CACHE_EXACT)}
    assert Catalog.query_duration.buckets is not None
    for _, check in bounded:
        assert check.outcome in set(QueryOutcome)
        assert check.p99_below_ms / 1000 in Catalog.query_duration.buckets


def test_a_latency_bound_is_decided_by_the_services_count_not_locusts() -> None:
    check = ClientCheck("/api/query (shed)", outcome="shed", p99_below_ms=50)
    # Locust saw a slow p99 (its own CPU): information only; the service's count decides.
    within = {"requests": 500, "failures": 0, "p99_ms": 64.0, "errors": {},
              "service": {"outcome": "shed", "count": 500.0, "within_bound": 0.996,
                          "p99_ms": 31.0}}
    assert _problems(check, within) == []
    slow = {**within, "service": {**within["service"], "within_bound": 0.98, "p99_ms": 71.0}}
    assert _problems(check, slow) == ["the service answered 98.00% of 500 shed answers within "
                                      "50 ms (p99 71.0 ms), expected 99%"]
    none = {**within, "service": {**within["service"], "count": 0.0}}
    assert _problems(check, none) == ["the service counted no shed answers in the phase"]
    counts = {0.025: 90.0, 0.05: 99.0, 0.1: 100.0, float("inf"): 100.0}
    assert quantile_of(counts, 0.99) == pytest.approx(50.0 / 1000)
    assert quantile_of(counts, 0.995) == pytest.approx(0.075)
