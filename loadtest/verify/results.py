"""What the verifier found: one result per expected alert and per scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    # Why its firing or its resolution was not waited for (timetable.NotWaited.words).
    not_waited: str = ""

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
    moved: dict[str, bool | None] = field(default_factory=dict)  # None: not checked
    also_fired: list[str] = field(default_factory=list)
    quiet_violations: list[str] = field(default_factory=list)
    locust_log: str = ""
    held: dict[str, bool] = field(default_factory=dict)  # queries that must stay at zero
    clients: list[dict[str, Any]] = field(default_factory=list)  # client_checks rows
    traces: dict[str, Any] = field(default_factory=dict)  # trace_checks.TraceFindings
    # Per phase condition (Phase.until_mark): seconds into its phase it was met, None if never.
    conditions: dict[str, float | None] = field(default_factory=dict)
    quiet_phase: str | None = None
    notes: list[str] = field(default_factory=list)  # what was not checked, and why
