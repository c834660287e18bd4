"""Checks on alerts, against Prometheus's ``ALERTS`` series, Alertmanager's API and, where
the stack has one (the verifiers'), the alert sink: each expected alert went pending, fired,
reached its receiver (or was held back by an inhibition, as Alertmanager must say) and
resolved; nothing but the Watchdog fired where nothing may. Without a sink (a user's own
stack), "reached its receiver" is what Alertmanager's API says it routed the alert to, and
"resolved" is Prometheus no longer firing it: both read-only."""

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


class AlertmanagerWatch:
    """Polls Alertmanager's alerts twice a second (``GET /api/v2/alerts``, read-only) and
    remembers each one's receivers and whether an inhibition held it back, and when: an
    inhibition is only visible while both alerts fire.

    >>> watch = AlertmanagerWatch(stack.alertmanager_url).start()
    >>> watch.stop()
    """

    def __init__(self, alertmanager_url: str) -> None:
        self._base = alertmanager_url
        self._url = f"{alertmanager_url}/api/v2/alerts"
        # (when, labels, receivers, held back by an inhibition, by a silence)
        self._seen: list[tuple[float, dict[str, str], tuple[str, ...], bool, bool]] = []
        self.receivers: tuple[str, ...] = ()  # those Alertmanager's configuration names
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> AlertmanagerWatch:
        try:
            found = httpx.get(f"{self._base}/api/v2/receivers", timeout=5).json()
            self.receivers = tuple(r["name"] for r in found)
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self.receivers = ()
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
                self._seen += [(now, a["labels"],
                                tuple(r["name"] for r in a.get("receivers", [])),
                                bool(a["status"].get("inhibitedBy")),
                                bool(a["status"].get("silencedBy"))) for a in alerts]

    def _of(self, expected: ExpectedAlert, since: float, until: float) -> list[tuple]:
        with self._lock:
            return [item for item in self._seen if since <= item[0] <= until
                    and item[1].get("alertname") == expected.alertname
                    and all(item[1].get(k) == v for k, v in expected.labels)]

    def inhibited(self, expected: ExpectedAlert, since: float, until: float) -> bool:
        return any(inhibited for *_, inhibited, _ in self._of(expected, since, until))

    def routed(self, expected: ExpectedAlert, since: float,
               until: float) -> list[tuple[str, float]]:
        """(receiver, first seen) of each receiver Alertmanager routed it to, active: neither
        inhibited nor silenced."""
        first: dict[str, float] = {}
        for at, _, receivers, inhibited, silenced in self._of(expected, since, until):
            if not inhibited and not silenced:
                for name in receivers:
                    first.setdefault(name, at)
        return sorted(first.items())

    def silenced(self, expected: ExpectedAlert, since: float, until: float) -> bool:
        return any(silenced for *_, silenced in self._of(expected, since, until))


def first_sample_time(series: list[dict[str, Any]]) -> float | None:
    times = [float(t) for s in series for t, _ in s["values"]]
    return min(times) if times else None


def expected_hooks(expected: ExpectedAlert, watch: AlertmanagerWatch | None,
                   stack: Stack) -> list[str]:
    """Where it must arrive: the sink's webhooks; without a sink, Alertmanager's receiver
    of that name, or any receiver where Alertmanager has none by that name (a user's)."""
    if stack.sink is not None:
        return sorted(expected.hooks)
    if watch is not None and expected.receiver in watch.receivers:
        return [expected.receiver]
    return []


def notifications_for(stack: Stack, expected: ExpectedAlert, status: str, since: float,
                      watch: AlertmanagerWatch | None = None) -> list[tuple[str, float]]:
    """(receiver, received at) of each notification carrying this alert with this status;
    without a sink, each receiver Alertmanager routed it to while it fired."""
    if stack.sink is None:
        if watch is None or status != "firing":
            return []
        return watch.routed(expected, since, time.time())
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
                        timeout: float, watch: AlertmanagerWatch | None = None) -> None:
    """Alertmanager notifies a second or two after Prometheus fires: give it the time."""
    deadline = time.time() + timeout
    delivered = [e for e in expectations if e.receiver not in NOT_DELIVERED]
    def arrived(expected: ExpectedAlert) -> bool:
        hooks = {hook for hook, _ in notifications_for(
            stack, expected, "firing", 0 if expected.resolve_by == "never" else since, watch)}
        wanted = set(expected_hooks(expected, watch, stack))
        return hooks >= wanted if wanted else bool(hooks)

    while time.time() < deadline:
        if all(arrived(e) for e in delivered):
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
    if expected.receiver in NOT_DELIVERED or stack.sink is None:
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
                        watch: AlertmanagerWatch | None, since: float, until: float) -> None:
    """An inhibited alert: Alertmanager said it held it back. An undeliverable one: it fired
    while Prometheus had no Alertmanager to tell (it reaches one once the way is back)."""
    if expected.receiver == INHIBITED:
        if watch is None or not watch.inhibited(expected, since, until):
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
                watch: AlertmanagerWatch | None) -> AlertResult:
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
                                  0 if expected.resolve_by == "never" else since, watch)
    result.delivered_to = sorted({hook for hook, _ in delivered})
    wanted = expected_hooks(expected, watch, stack)
    if not delivered:
        silenced = watch is not None and watch.silenced(expected, since, until)
        result.problems.append("silenced in Alertmanager" if silenced else
                               "no notification reached Alertmanager's webhooks"
                               if stack.sink is not None else "Alertmanager never routed it")
    else:
        result.delivered_at = min(at for _, at in delivered)
        # The sink sees every webhook: exactly those; a user's Alertmanager may route further.
        exact = stack.sink is not None
        if wanted and (result.delivered_to != wanted if exact
                       else not set(wanted) <= set(result.delivered_to)):
            result.problems.append(f"delivered to {result.delivered_to}, expected {wanted}")
    check_holds(stack, expected, result, phases)
    return result


def check_quiet(stack: Stack, scenario: Scenario, phases: dict[str, float],
                until: float, strict: bool = True) -> list[str]:
    """Every alert but the Watchdog that was even pending (``strict``; else firing) in the
    scenario's quiet phase, and every notification but the Watchdog's that told of a firing
    alert during it (the resolved notice of an alert of an earlier phase is not one).

    Not strict in real time: a rule's 5-minute window still holds the warm-up's misses."""
    if scenario.quiet_phase is None:
        return []
    names = [p.name for p in scenario.phases]
    start = phases[scenario.quiet_phase]
    after = names.index(scenario.quiet_phase) + 1
    end = phases[names[after]] if after < len(names) and names[after] in phases else until
    state = "" if strict else ',alertstate="firing"'
    series = stack.query_range(f'ALERTS{{alertname!="Watchdog"{state}}}', start, end, STEP)
    problems = [f"{s['metric']['alertname']} was {s['metric']['alertstate']}" for s in series]
    received = stack.sink.log.all() if stack.sink is not None else []
    problems += firing_notices(received, start, end)
    return sorted(set(problems))


def firing_notices(received: list[dict[str, Any]], start: float, end: float) -> list[str]:
    """The notifications received between ``start`` and ``end`` (but the Watchdog's) that
    told of a firing alert, each as ``notification to <hook>: [<alertname>, ...]``."""
    notices = []
    for item in received:
        if not start <= item["received_at"] <= end or item["hook"] == "watchdog":
            continue
        firing = [a["labels"]["alertname"] for a in item["payload"]["alerts"]
                  if a["status"] == "firing"]
        if firing:
            notices.append(f"notification to {item['hook']}: {firing}")
    return notices


def fired_alerts(stack: Stack, since: float, until: float) -> list[str]:
    series = stack.query_range('ALERTS{alertstate="firing"}', since, until, STEP)
    keys = set()
    for s in series:
        labels = s["metric"]
        window = labels.get("long_window")
        keys.add(labels["alertname"] + (f"{{long_window={window}}}" if window else ""))
    return sorted(keys)


def wait_until_clear(stack: Stack, expectations: tuple[ExpectedAlert, ...],
                     timeout: float) -> list[str]:
    """Wait until none of the alerts a scenario must raise (the Watchdog aside) is pending
    or firing, as a scenario before it may have left one: it would be taken for the new
    scenario's own. Returns those still there after ``timeout`` seconds."""
    waited = [e for e in expectations if e.resolve_by != "never"]
    deadline = time.time() + timeout
    while True:
        left = [e.key for e in waited if stack.query(alert_selector(e))]
        if not left or time.time() >= deadline:
            return left
        time.sleep(0.5)


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
