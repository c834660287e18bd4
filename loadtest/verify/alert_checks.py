"""Checks on alerts, against Prometheus's ``ALERTS`` series, Alertmanager's API and the
alert sink: each expected alert went pending, fired, reached its receiver (or was held back
by an inhibition, as Alertmanager must say) and resolved; nothing but the Watchdog fired
where nothing may."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import httpx

from alerts.rule_files import alert_rules
from loadtest.scenarios.model import INHIBITED, NOT_DELIVERED, ExpectedAlert, Scenario
from loadtest.stack.interface import Stack
from loadtest.verify.results import AlertResult

STEP = 0.25  # query_range resolution, half the evaluation interval


def alert_selector(expected: ExpectedAlert, state: str | None = None) -> str:
    matchers = [f'alertname="{expected.alertname}"']
    matchers += [f'{k}="{v}"' for k, v in expected.labels]
    if state:
        matchers.append(f'alertstate="{state}"')
    return "ALERTS{" + ",".join(matchers) + "}"


class SuppressionWatch:
    """Polls Alertmanager's alerts twice a second and remembers each one it held back by an
    inhibition, and when: an inhibition is only visible while both alerts fire.

    >>> watch = SuppressionWatch(stack.alertmanager_url).start()
    >>> watch.stop()
    """

    def __init__(self, alertmanager_url: str) -> None:
        self._url = f"{alertmanager_url}/api/v2/alerts"
        self._seen: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> SuppressionWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            try:
                alerts = httpx.get(self._url, timeout=2).json()
            except (httpx.HTTPError, ValueError):
                continue  # Alertmanager hidden or busy: the next poll tells
            now = time.time()
            with self._lock:
                self._seen += [(now, a["labels"]) for a in alerts
                               if a["status"].get("inhibitedBy")]

    def inhibited(self, expected: ExpectedAlert, since: float, until: float) -> bool:
        with self._lock:
            return any(since <= at <= until and labels.get("alertname") == expected.alertname
                       and all(labels.get(k) == v for k, v in expected.labels)
                       for at, labels in self._seen)


def first_sample_time(series: list[dict[str, Any]]) -> float | None:
    times = [float(t) for s in series for t, _ in s["values"]]
    return min(times) if times else None


def notifications_for(stack: Stack, expected: ExpectedAlert, status: str,
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


def wait_for_deliveries(stack: Stack, expectations: list[ExpectedAlert], since: float,
                        timeout: float) -> None:
    """Alertmanager notifies a second or two after Prometheus fires: give it the time."""
    deadline = time.time() + timeout
    delivered = [e for e in expectations if e.receiver not in NOT_DELIVERED]
    while time.time() < deadline:
        if all({hook for hook, _ in notifications_for(
                    stack, e, "firing", 0 if e.resolve_by == "never" else since)} >= set(e.hooks)
               for e in delivered):
            return
        time.sleep(0.5)


def stopped_firing_at(stack: Stack, expected: ExpectedAlert,
                      result: AlertResult) -> float | None:
    """When Prometheus stopped firing it, if it has: the resolution of an alert that no
    receiver is told of."""
    if result.fired_at is None:
        return None
    now = time.time()
    series = stack.query_range(alert_selector(expected, "firing"), result.fired_at, now, STEP)
    last = max((float(t) for s in series for t, _ in s["values"]), default=None)
    if last is None or last >= now - 2 * STEP:
        return None
    return last + STEP


def resolved_at(stack: Stack, expected: ExpectedAlert, result: AlertResult) -> float | None:
    if expected.receiver in NOT_DELIVERED:
        return stopped_firing_at(stack, expected, result)
    if result.delivered_at is None:
        return None
    times = [at for hook, at in notifications_for(stack, expected, "resolved",
                                                  result.delivered_at)]
    return min(times) if times else None


def wait_for_resolutions(stack: Stack, pairs: list[tuple[ExpectedAlert, AlertResult]],
                         timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(resolved_at(stack, e, r) is not None for e, r in pairs):
            return
        time.sleep(0.5)


def check_not_delivered(stack: Stack, expected: ExpectedAlert, result: AlertResult,
                        watch: SuppressionWatch, since: float, until: float) -> None:
    """An inhibited alert: Alertmanager said it held it back. An undeliverable one: it fired
    while Prometheus had no Alertmanager to tell (it reaches one once the way is back)."""
    if expected.receiver == INHIBITED:
        if not watch.inhibited(expected, since, until):
            result.problems.append("Alertmanager never reported it inhibited")
        return
    assert result.fired_at is not None
    # No Alertmanager discovered, or the one discovered not answering (stopped).
    reachable = stack.query('max(prometheus_notifications_alertmanagers_discovered) > 0 '
                            'and on () max(up{job="alertmanager"}) > 0', at=result.fired_at)
    if reachable:
        result.problems.append("fired while Prometheus had an Alertmanager to tell")


def check_holds(stack: Stack, expected: ExpectedAlert, result: AlertResult,
                phases: dict[str, float]) -> None:
    """It fired without a break and no receiver was told "resolved" until ``holds_until``
    began: an outage whose targets vanished is still an outage."""
    if expected.holds_until is None or result.fired_at is None:
        return
    end = phases[expected.holds_until]
    series = stack.query_range(alert_selector(expected, "firing"), result.fired_at, end, STEP)
    times = sorted(float(t) for s in series for t, _ in s["values"])
    gaps = [b - a for a, b in itertools.pairwise(times) if b - a > 2 * STEP]
    if not times or times[-1] < end - 2 * STEP or gaps:
        result.problems.append(f"stopped firing before {expected.holds_until}")
    resolved = [at for _, at in notifications_for(stack, expected, "resolved", result.fired_at)
                if at < end]
    if resolved:
        result.problems.append(f"a receiver was told it resolved before {expected.holds_until}")


def check_alert(stack: Stack, expected: ExpectedAlert, scenario: Scenario,
                phases: dict[str, float], since: float, until: float,
                watch: SuppressionWatch) -> AlertResult:
    result = AlertResult(scenario.name, expected.key, expected.receiver,
                         {"alertname": expected.alertname, **dict(expected.labels)},
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
    if expected.receiver in NOT_DELIVERED:
        check_not_delivered(stack, expected, result, watch, since, until)
        return result
    # The Watchdog fires from the start, before any scenario, and is not repeated for an hour.
    delivered = notifications_for(stack, expected, "firing",
                                  0 if expected.resolve_by == "never" else since)
    result.delivered_to = sorted({hook for hook, _ in delivered})
    if not delivered:
        result.problems.append("no notification reached Alertmanager's webhooks")
    else:
        result.delivered_at = min(at for _, at in delivered)
        if result.delivered_to != sorted(expected.hooks):
            result.problems.append(f"delivered to {result.delivered_to}, "
                                   f"expected {sorted(expected.hooks)}")
    check_holds(stack, expected, result, phases)
    return result


def check_quiet(stack: Stack, scenario: Scenario, phases: dict[str, float],
                until: float) -> list[str]:
    """Every alert but the Watchdog that was even pending in the scenario's quiet phase,
    and every notification but the Watchdog's sent during it."""
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


def fired_alerts(stack: Stack, since: float, until: float) -> list[str]:
    series = stack.query_range('ALERTS{alertstate="firing"}', since, until, STEP)
    keys = set()
    for s in series:
        labels = s["metric"]
        window = labels.get("long_window")
        keys.add(labels["alertname"] + (f"{{long_window={window}}}" if window else ""))
    return sorted(keys)


def wait_until_quiet(stack: Stack, timeout: float = 30) -> None:
    """Start-up leaves alerts behind (OllamaRagAbsent before the first scrape): wait them out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not stack.query('ALERTS{alertname!="Watchdog"}'):
            return
        time.sleep(0.5)
    raise RuntimeError("alerts still pending or firing on an idle stack: "
                       f"{stack.query('ALERTS')}")


def rule_keys() -> list[str]:
    """Every alert rule, told apart by its SLO windows where names repeat."""
    keys = []
    for rule in alert_rules():
        labels = rule.get("labels", {})
        extra = ",".join(f"{k}={labels[k]}" for k in ("long_window", "short_window")
                         if k in labels)
        keys.append(f"{rule['alert']}{{{extra}}}" if extra else rule["alert"])
    return keys
