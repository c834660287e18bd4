"""How long each phase of a scenario lasts against the service it meets.

Compressed (the verifiers' stacks), a phase lasts its written seconds. In real time it lasts
at least those, and at least the service's own clocks it waits for (``Phase.waits_for``: the
breaker's reset timeout, the health check's interval, the read timeout, as the service
reports them on ``/api/breaker`` and ``/api/upstream``) plus a margin. Against the
repository's rules as they are, the fault is also stretched until the alerts it must raise
can fire, and the recovery until they can resolve, as far as the whole scenario stays within
``MAX_SECONDS``; an alert that would need longer (an SLO window of hours) is not waited for,
and the timetable says how long it would take::

    clocks = ServiceClocks.read("http://127.0.0.1:8000")
    table = timetable(scenario("outage"), "real", clocks, alerts=True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from alerts.durations import UNITS, duration_seconds
from alerts.rule_files import alert_rules, rule_groups
from alerts.slo import AVAILABILITY, LATENCY, WINDOWS
from app.core.settings import Settings
from loadtest.scenarios.compression import factor_for
from loadtest.scenarios.model import ExpectedAlert, Phase, Scenario

MAX_SECONDS = 600.0  # a scenario a person runs fits in ten minutes
# Beyond a clock: the probes or checks that follow it and a few answers at a real model's
# pace (a breaker closes after its success threshold of answered calls).
CLOCK_MARGIN = 15.0
# Two evaluations and a scrape at the repository's 15 s intervals, and a 5-minute ratio
# window that must first cross its threshold; Alertmanager's group wait on top.
SLACK_SECONDS = 90.0
OBJECTIVES = {AVAILABILITY.alert: AVAILABILITY, LATENCY.alert: LATENCY}
SPEEDS = ("real", "compressed")


@dataclass(frozen=True)
class ServiceClocks:
    """The service's clocks that shape a scenario (model.CLOCKS), in seconds."""

    breaker_reset_timeout: float
    health_check_interval: float
    read_timeout: float

    @classmethod
    def of(cls, settings: Settings) -> ServiceClocks:
        return cls(settings.breaker_reset_timeout, settings.health_check_interval,
                   settings.read_timeout)

    @classmethod
    def read(cls, service_url: str) -> ServiceClocks:
        """From the running service's ``/api/breaker`` and ``/api/upstream``."""
        with httpx.Client(base_url=service_url, timeout=10) as client:
            breaker = client.get("/api/breaker").raise_for_status().json()
            upstream = client.get("/api/upstream").raise_for_status().json()
        return cls(float(breaker["config"]["reset_timeout_seconds"]),
                   float(upstream["health_check_interval_seconds"]),
                   float(upstream["read_timeout_seconds"]))

    def seconds(self, phase: Phase) -> float:
        """How long ``phase`` must last for its clocks (0 when it waits for none)."""
        if not phase.waits_for:
            return 0.0
        return sum(getattr(self, name) for name in phase.waits_for) + CLOCK_MARGIN


@dataclass(frozen=True)
class NotWaited:
    """An alert's firing or resolution that the scenario does not wait for."""

    alert: str  # ExpectedAlert.key
    step: str  # "fire" or "resolve"
    seconds: float  # about how long it would take, from the fault's start or end

    @property
    def words(self) -> str:
        when = "after the fault starts" if self.step == "fire" else "after the fault ends"
        return f"would take up to {minutes(self.seconds)} {when}"


@dataclass(frozen=True)
class Timetable:
    seconds: tuple[float, ...]  # per phase, in the scenario's order
    not_waited: tuple[NotWaited, ...] = ()

    @property
    def total(self) -> float:
        return sum(self.seconds)

    def waits_for(self, expected: ExpectedAlert, step: str) -> bool:
        return not any(n.alert == expected.key and n.step == step for n in self.not_waited)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _matches(rule: dict, expected: ExpectedAlert) -> bool:
    return rule.get("alert") == expected.alertname and all(
        rule.get("labels", {}).get(k) == v for k, v in expected.labels)


def _rule(expected: ExpectedAlert) -> dict:
    return next(r for r in alert_rules() if _matches(r, expected))


def _group(expected: ExpectedAlert) -> str:
    return next(g["name"] for g in rule_groups() for r in g["rules"] if _matches(r, expected))


def detection_seconds(expected: ExpectedAlert, fixed: float = 0.0) -> tuple[float, float]:
    """About how long after its fault starts the alert fires in real time: its `for`, plus
    the time a burn-rate alert's long window takes to burn past its threshold when every
    request is bad, plus the fault phase's ``fixed`` part where its cause waits it out (a read
    timeout); then up to SLACK_SECONDS more."""
    low = duration_seconds(_rule(expected).get("for", "0s"))
    low += fixed if expected.after_fixed else 0.0
    if expected.alertname in OBJECTIVES:
        window = next(w for w in WINDOWS if w.labels == expected.labels)
        budget = 1 - OBJECTIVES[expected.alertname].objective
        low += window.factor * budget * duration_seconds(window.long)
    return low, low + SLACK_SECONDS


_RANGE = re.compile(rf"\[((?:\d+(?:{UNITS}))+)\]")


def _window_seconds(expr: str, records: dict[str, str],
                    seen: frozenset[str] = frozenset()) -> float:
    """The longest range an expression reads, through the recording rules it names."""
    longest = max((duration_seconds(m) for m in _RANGE.findall(expr)), default=0.0)
    for name, body in records.items():
        if name not in seen and re.search(rf"\b{re.escape(name)}\b", expr):
            longest = max(longest, _window_seconds(body, records, seen | {name}))
    return longest


def resolution_seconds(expected: ExpectedAlert) -> float:
    """About how long after its fault ends the alert resolves in real time: once its longest
    window no longer holds the fault, plus evaluation lag."""
    if expected.alertname in OBJECTIVES:  # both windows must burn: the short one clears first
        window = next(w for w in WINDOWS if w.labels == expected.labels)
        return duration_seconds(window.short) + SLACK_SECONDS
    records = {rule["record"]: rule["expr"] for group in rule_groups()
               for rule in group["rules"] if "record" in rule}
    return _window_seconds(_rule(expected)["expr"], records) + SLACK_SECONDS


def _fault_span(scenario: Scenario) -> range:
    """The phases the fault lasts: from the fault phase to the one before the last (the
    recovery), or to the last where the fault phase is the last."""
    names = [p.name for p in scenario.phases]
    start = names.index(scenario.fault_phase)
    return range(start, max(start + 1, len(names) - 1))


def timetable(scenario: Scenario, speed: str, clocks: ServiceClocks,
              alerts: bool = True) -> Timetable:
    """The scenario's phase lengths at ``speed`` against a service with ``clocks``; in real
    time and with ``alerts``, stretched for the alerts as far as MAX_SECONDS allows."""
    if speed not in SPEEDS:
        raise ValueError(f"unknown speed {speed!r}; known: {', '.join(SPEEDS)}")
    if speed == "compressed":  # the verifiers' plan, written for their compressed clocks
        # Windows that outlast the scenario even compressed: the verifiers wait for them at
        # the run's end; one scenario played alone does not.
        return Timetable(tuple(p.seconds for p in scenario.phases), tuple(
            NotWaited(e.key, "resolve", resolution_seconds(e) / factor_for(_group(e)))
            for e in scenario.alerts if e.resolve_by == "run"))
    seconds = [max(p.seconds, clocks.seconds(p)) for p in scenario.phases]
    if not alerts:
        return Timetable(tuple(seconds))
    span = _fault_span(scenario)
    fault = scenario.phases[span.start]
    not_waited: list[NotWaited] = []
    waited: list[ExpectedAlert] = []
    for expected in sorted(scenario.alerts, key=lambda e: detection_seconds(e, fault.fixed)):
        need = detection_seconds(expected, fault.fixed)[1]
        extra = need - sum(seconds[i] for i in span)
        if extra <= MAX_SECONDS - sum(seconds):
            seconds[span[-1]] += max(0.0, extra)
            waited.append(expected)
        else:
            not_waited.append(NotWaited(expected.key, "fire", need))
    recovery = len(seconds) - 1
    if recovery > span[-1]:
        for expected in waited:
            if expected.resolve_by == "never":
                continue
            need = resolution_seconds(expected)
            extra = need - seconds[recovery]
            if expected.resolve_by == "scenario" and extra <= MAX_SECONDS - sum(seconds):
                seconds[recovery] += max(0.0, extra)
            else:
                not_waited.append(NotWaited(expected.key, "resolve", need))
    return Timetable(tuple(seconds), tuple(not_waited))
