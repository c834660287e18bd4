"""The alert and recording rules, their promtool tests, and the Alertmanager routing."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alerts.durations import duration_seconds
from alerts.paths import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    ROOT,
    RULE_FILES,
    RULE_TEST_FILES,
    RULE_TESTS_DIR,
    RUNBOOK,
)
from alerts.rule_files import alert_rules, rule_groups
from loadtest.stack.alert_sink import AlertSink
from loadtest.stack.config import alertmanager_config
from loadtest.stack.processes import ManagedProcess, find_binary, free_port, start_alertmanager
from tests.helpers import wait_until

TEST_FILES = RULE_TEST_FILES
QUIET_TESTS = RULE_TESTS_DIR / "quiet.test.yml"
RUNBOOK_URL = "https://github.com/ollama-rag/ollama-rag/blob/main/docs/runbook.md#"
# Grafana's address is Prometheus's external label; the dashboard is narrowed to the alert's
# instance (or job) where it has one.
DASHBOARD_URL = re.compile(
    r"\{\{ \$externalLabels\.grafana_url \}\}/d/(?P<uid>[a-z0-9-]+)/(?P<slug>[a-z0-9-]+)"
    r"\?viewPanel=(?P<panel>\d+)(?:&var-(?P<var>job|instance)=\{\{ \$labels\.(?P=var) \}\})?")
SEVERITY_RECEIVERS = {"critical": "pager", "warning": "ticket", "info": "discard"}
# Alerts with a route of their own: the dead man's switch, and a failing notification,
# which may be the pager's own and so goes to both the pager's and the ticket's webhooks.
OWN_RECEIVERS = {"Watchdog": "watchdog",
                 "AlertmanagerFailedToSendNotifications": "alerting-path"}
ALWAYS_FIRING = {"Watchdog"}


def promtool() -> str:
    return find_binary("promtool", package="prometheus")


def amtool() -> str:
    return find_binary("amtool", package="prometheus-alertmanager")


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


def recording_rules() -> list[dict[str, Any]]:
    return [r for g in rule_groups() for r in g["rules"] if "record" in r]


def alert_names() -> list[str]:
    return sorted({r["alert"] for r in alert_rules()})


# Tool checks.


def test_promtool_check_rules_is_clean() -> None:
    result = run([promtool(), "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = run([promtool(), "test", "rules", *map(str, TEST_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_promtool_check_config_is_clean() -> None:
    result = run([promtool(), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_amtool_check_config() -> None:
    result = run([amtool(), "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", alert_names())
def test_each_alert_routes_to_the_receiver_of_its_severity(name: str) -> None:
    for rule in (r for r in alert_rules() if r["alert"] == name):
        severity = rule["labels"]["severity"]
        expected = OWN_RECEIVERS.get(name, SEVERITY_RECEIVERS[severity])
        labels = [f"alertname={name}", f"severity={severity}", "instance=app-1:8000"]
        result = run([amtool(), "config", "routes", "test",
                      f"--config.file={ALERTMANAGER_CONFIG}",
                      f"--verify.receivers={expected}", *labels])
        assert result.returncode == 0, f"{name} ({severity}): {result.stdout}{result.stderr}"


def webhooks(receiver: str) -> list[str]:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    found = next(r for r in config["receivers"] if r["name"] == receiver)
    return [hook["url"] for hook in found.get("webhook_configs", [])]


def test_a_failing_notification_pages_through_both_webhooks() -> None:
    """Alertmanager 0.25 cannot say which receiver fails: the news reaches the pager's and
    the ticket's webhooks both, so a dead one cannot swallow it, and it is a page."""
    rule = next(r for r in alert_rules() if r["alert"] == "AlertmanagerFailedToSendNotifications")
    assert rule["labels"]["severity"] == "critical"
    assert sorted(webhooks("alerting-path")) == sorted(webhooks("pager") + webhooks("ticket"))
    for integration in ("webhook", "email"):
        result = run([amtool(), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                      "--verify.receivers=alerting-path", "severity=critical",
                      "alertname=AlertmanagerFailedToSendNotifications",
                      f"integration={integration}", "job=alertmanager"])
        assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_or_missing_severity_opens_a_ticket() -> None:
    """A misspelled severity must reach a human, not vanish."""
    for labels in (["severity=page"], ["severity=warn"], []):
        result = run([amtool(), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                      "--verify.receivers=ticket", "alertname=Anything", *labels])
        assert result.returncode == 0, result.stdout + result.stderr


# Conventions of every alert.


def runbook_anchors() -> set[str]:
    return {line[3:].strip().lower() for line in RUNBOOK.read_text().splitlines()
            if line.startswith("## ")}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_alert_conventions(rule: dict[str, Any]) -> None:
    name = rule["alert"]
    assert re.fullmatch(r"[A-Z][a-zA-Z0-9]+", name) and len(name) <= 40, name
    assert rule["labels"]["severity"] in SEVERITY_RECEIVERS
    notes = rule["annotations"]
    assert set(notes) == {"summary", "description", "runbook_url", "dashboard_url"}
    summary = notes["summary"]
    assert "{{" not in summary, "the summary must be static"
    assert summary[0].isupper() and summary.endswith("."), summary
    if name not in ALWAYS_FIRING:
        assert re.search(r"\{\{ *\$(labels|value)", notes["description"]), (
            "the description must template the values that matter")
    assert notes["runbook_url"] == RUNBOOK_URL + name.lower()
    assert name.lower() in runbook_anchors(), f"docs/runbook.md has no section {name}"
    assert DASHBOARD_URL.fullmatch(notes["dashboard_url"]), notes["dashboard_url"]
    if "for" in rule:
        duration_seconds(rule["for"])


def test_runbook_has_no_section_without_an_alert() -> None:
    assert runbook_anchors() == {n.lower() for n in alert_names()}


def test_rule_groups_are_small_and_named() -> None:
    names = [g["name"] for g in rule_groups()]
    assert len(names) == len(set(names))
    for group in rule_groups():
        assert len(group["rules"]) <= 20, group["name"]
        assert group["name"].startswith("ollama-rag.")


def test_recording_rule_names_follow_level_metric_operations() -> None:
    for rule in recording_rules():
        assert re.fullmatch(r"[a-z_]+:ollama_rag_[a-z0-9_]+:[a-z0-9_]+", rule["record"]), (
            rule["record"])


# Every alert has promtool cases, firing and silent.


def promtool_cases() -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for path in TEST_FILES:
        for index, group in enumerate(yaml.safe_load(path.read_text())["tests"]):
            for case in group.get("alert_rule_test", []):
                yield path, index, case


@pytest.mark.parametrize("name", alert_names())
def test_every_alert_fires_in_a_promtool_case(name: str) -> None:
    firing = [case for _, _, case in promtool_cases()
              if case["alertname"] == name and case["exp_alerts"]]
    assert firing, f"no promtool case where {name} fires"
    severities = {r["labels"]["severity"] for r in alert_rules() if r["alert"] == name}
    for case in firing:
        for alert in case["exp_alerts"]:
            assert alert["exp_labels"]["severity"] in severities
            assert {"summary", "description", "runbook_url"} <= set(alert["exp_annotations"])


@pytest.mark.parametrize("name", sorted(set(alert_names()) - ALWAYS_FIRING))
def test_every_alert_stays_silent_in_promtool_cases(name: str) -> None:
    silent = [(path, index) for path, index, case in promtool_cases()
              if case["alertname"] == name and case["exp_alerts"] == []]
    quiet_groups = {index for path, index in silent if path == QUIET_TESTS}
    assert quiet_groups == {0, 1}, f"{name}: silent under healthy traffic and with none"
    rules = [r for r in alert_rules() if r["alert"] == name]
    if any(duration_seconds(r.get("for", "0s")) > 0 for r in rules):
        assert any(path != QUIET_TESTS for path, _ in silent), (
            f"{name}: no case where it stays silent before its `for` elapses")


def test_every_recording_rule_has_a_promql_expr_test() -> None:
    tested = " ".join(case["expr"] for path in TEST_FILES
                      for group in yaml.safe_load(path.read_text())["tests"]
                      for case in group.get("promql_expr_test", []))
    missing = [r["record"] for r in recording_rules()
               if not re.search(re.escape(r["record"]) + r"\b", tested)]
    assert not missing, f"recording rules without a promql_expr_test: {missing}"


# A real Alertmanager: routing, inhibition and delivery to the webhooks.


@pytest.fixture
def alertmanager() -> Iterator[tuple[str, AlertSink]]:
    sink = AlertSink().start()
    with tempfile.TemporaryDirectory(prefix="ollama-rag-am-") as tmp:
        workdir = Path(tmp)
        config = workdir / "alertmanager.yml"
        config.write_text(alertmanager_config(sink.url, group_wait="1s", group_interval="1s",
                                              repeat_interval="1h"))
        port = free_port()
        process: ManagedProcess = start_alertmanager(config, workdir, port)
        try:
            yield f"http://127.0.0.1:{port}", sink
        finally:
            process.stop()
            sink.stop()


def post_alerts(url: str, alerts: list[dict[str, Any]], resolved: bool = False) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload = [{"labels": a, "annotations": {"summary": "test."},
                **({"endsAt": now} if resolved else {})} for a in alerts]
    httpx.post(f"{url}/api/v2/alerts", json=payload, timeout=5).raise_for_status()


def delivered(sink: AlertSink, status: str = "firing") -> dict[str, set[str]]:
    """Receiver -> names of the alerts it was notified of with that status."""
    seen: dict[str, set[str]] = {}
    for item in sink.log.all():
        for alert in item["payload"]["alerts"]:
            if alert["status"] == status:
                receiver = item["payload"]["receiver"]
                seen.setdefault(receiver, set()).add(alert["labels"]["alertname"])
                if receiver != "alerting-path":  # the one receiver with two webhooks
                    assert item["hook"] == receiver
    return seen


def incident_alerts() -> list[dict[str, str]]:
    """Alerts of several incidents at once, as Alertmanager would receive them."""
    job = {"job": "ollama-rag"}
    one, two, three, four = ({"instance": f"app-{n}:8000"} | job for n in (1, 2, 3, 4))
    breaker = {"breaker_name": "ollama_client"}
    return [
        # app-1: an open breaker explains its failures, rejections, half-open time and hit
        # ratio; not its full pool (overload is a cause, not a consequence).
        one | breaker | {"alertname": "CircuitBreakerOpen", "severity": "critical"},
        one | breaker | {"alertname": "HighFailureRate", "severity": "critical"},
        one | breaker | {"alertname": "CircuitBreakerRejectingCalls", "severity": "warning"},
        one | breaker | {"alertname": "CircuitBreakerStuckHalfOpen", "severity": "warning"},
        one | {"alertname": "LowCacheHitRate", "severity": "warning"},
        one | {"alertname": "UpstreamPoolNearSaturation", "severity": "warning",
               "client_name": "ollama_client"},
        # app-4 sees the same outage: the same page, not a second one.
        four | breaker | {"alertname": "CircuitBreakerOpen", "severity": "critical"},
        # app-2: Ollama does not answer at all, which explains its open breaker.
        two | {"alertname": "OllamaUnreachable", "severity": "critical"},
        two | breaker | {"alertname": "CircuitBreakerOpen", "severity": "critical"},
        # app-3 is down: a ticket, and its other alerts are explained.
        three | {"alertname": "OllamaRagInstanceDown", "severity": "warning"},
        three | breaker | {"alertname": "HighFailureRate", "severity": "critical"},
        # The page of a burn-rate pair silences the ticket of a slower pair.
        job | {"alertname": "OllamaRagErrorBudgetBurn", "severity": "critical",
               "long_window": "1h", "short_window": "5m"},
        job | {"alertname": "OllamaRagErrorBudgetBurn", "severity": "warning",
               "long_window": "1d", "short_window": "2h"},
        {"alertname": "Watchdog", "severity": "info"},
        one | {"alertname": "SomethingInformational", "severity": "info"},
        one | {"alertname": "SomethingMisspelled", "severity": "warn"},
    ]


def test_alertmanager_routes_inhibits_and_resolves(alertmanager: tuple[str, AlertSink]) -> None:
    url, sink = alertmanager
    alerts = incident_alerts()
    post_alerts(url, alerts)
    wait_until(lambda: delivered(sink).get("watchdog") and len(delivered(sink).get("ticket", ()))
               >= 3 and len(delivered(sink).get("pager", ())) >= 3, timeout=15)
    time.sleep(2)  # a few more group intervals: nothing else may arrive
    assert delivered(sink) == {
        "pager": {"CircuitBreakerOpen", "OllamaUnreachable", "OllamaRagErrorBudgetBurn"},
        "ticket": {"UpstreamPoolNearSaturation", "OllamaRagInstanceDown", "SomethingMisspelled"},
        "watchdog": {"Watchdog"},
    }
    pages = [i["payload"] for i in sink.log.all() if i["hook"] == "pager"]
    breaker_pages = [p for p in pages if p["groupLabels"]["alertname"] == "CircuitBreakerOpen"]
    assert len(breaker_pages) == 1, "one page per outage, not one per replica"
    assert {a["labels"]["instance"] for a in breaker_pages[0]["alerts"]} == {
        "app-1:8000", "app-4:8000"}
    burn_pages = [a["labels"] for p in pages for a in p["alerts"]
                  if a["labels"]["alertname"] == "OllamaRagErrorBudgetBurn"]
    assert {a["long_window"] for a in burn_pages} == {"1h"}
    states = {(a["labels"]["alertname"], a["labels"].get("instance"),
               a["labels"].get("long_window")): a["status"]
              for a in httpx.get(f"{url}/api/v2/alerts", timeout=5).json()}
    for key in (("HighFailureRate", "app-1:8000", None),
                ("CircuitBreakerRejectingCalls", "app-1:8000", None),
                ("CircuitBreakerStuckHalfOpen", "app-1:8000", None),
                ("LowCacheHitRate", "app-1:8000", None),
                ("CircuitBreakerOpen", "app-2:8000", None),
                ("HighFailureRate", "app-3:8000", None),
                ("OllamaRagErrorBudgetBurn", None, "1d")):
        assert states[key]["state"] == "suppressed" and states[key]["inhibitedBy"], key
    assert states[("UpstreamPoolNearSaturation", "app-1:8000", None)]["state"] == "active"

    post_alerts(url, [alerts[0], alerts[6]], resolved=True)
    wait_until(lambda: "CircuitBreakerOpen" in delivered(sink, "resolved").get("pager", set()),
               timeout=15)


def test_a_total_outage_keeps_one_page_when_its_targets_vanish(
        alertmanager: tuple[str, AlertSink]) -> None:
    """The only replica is down and its target has gone from discovery: OllamaRagDown still
    fires (its absent() half) and OllamaRagAbsent fires too. Each must not hold the other
    back, or the outage would have no page at all."""
    url, sink = alertmanager
    job = {"job": "ollama-rag", "severity": "critical"}
    post_alerts(url, [job | {"alertname": "OllamaRagDown"},
                      job | {"alertname": "OllamaRagAbsent"}])
    wait_until(lambda: "OllamaRagDown" in delivered(sink).get("pager", set()), timeout=15)
    time.sleep(2)  # a few more group intervals: nothing else may arrive
    assert delivered(sink) == {"pager": {"OllamaRagDown"}}
    states = {a["labels"]["alertname"]: a["status"]
              for a in httpx.get(f"{url}/api/v2/alerts", timeout=5).json()}
    assert states["OllamaRagDown"]["state"] == "active"
    assert states["OllamaRagAbsent"]["state"] == "suppressed"


def test_a_dead_pager_webhook_still_gets_its_failure_to_a_human(
        alertmanager: tuple[str, AlertSink]) -> None:
    """The pager's webhook refuses every notification: the page about failing notifications
    still reaches the ticket's webhook (and the pager's, were it back)."""
    url, sink = alertmanager
    sink.refused_hooks.add("pager")
    post_alerts(url, [{"alertname": "AlertmanagerFailedToSendNotifications",
                       "severity": "critical", "integration": "webhook",
                       "job": "alertmanager", "instance": "alertmanager:9093"}])
    wait_until(lambda: delivered(sink).get("alerting-path"), timeout=15)
    hooks = {item["hook"] for item in sink.log.all()
             if item["payload"]["receiver"] == "alerting-path"}
    assert hooks == {"ticket"}


# A real Prometheus loads the rules and evaluates them.


def test_prometheus_loads_and_evaluates_every_rule(prometheus_api: str) -> None:
    def evaluated() -> bool:
        data = httpx.get(f"{prometheus_api}/rules", timeout=5).json()["data"]["groups"]
        rules = [r for g in data for r in g["rules"]]
        return len(rules) == len(alert_rules()) + len(recording_rules()) and all(
            r.get("lastEvaluation", "").startswith("20") and r["health"] == "ok" for r in rules)

    wait_until(evaluated, timeout=20)
    firing = httpx.get(f"{prometheus_api}/alerts", timeout=5).json()["data"]["alerts"]
    # With no ollama-rag target at all, only the dead man's switch fires (absence needs
    # 5 minutes to fire).
    assert {a["labels"]["alertname"] for a in firing if a["state"] == "firing"} == {"Watchdog"}
    # Its dashboard link starts with Grafana's address, from the external label.
    watchdog = next(a for a in firing if a["labels"]["alertname"] == "Watchdog")
    grafana = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["global"]["external_labels"]
    assert watchdog["annotations"]["dashboard_url"].startswith(grafana["grafana_url"] + "/d/")


def test_the_alert_list_names_every_alert() -> None:
    readme = (ROOT / "docs" / "alerts.md").read_text()
    listed = set(re.findall(r"^\| `([A-Za-z]+)` \| (?:critical|warning|info)", readme, re.M))
    assert listed == set(alert_names())
