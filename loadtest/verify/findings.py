"""The verdict of one scenario, row by row: each effect it must show (a phase's condition
met, a metric moved or held, what callers saw, an alert pending, firing, delivered and
resolved, nothing firing where nothing may, traces), seen or not. ``python -m
loadtest run`` prints these rows; the verifiers fail on the same rows not seen.

    for row in findings(result): print(row.status, row.what, row.detail)
"""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.scenarios.model import INHIBITED, UNDELIVERABLE
from loadtest.verify.results import AlertResult, ScenarioResult

SEEN = "seen"
NOT_SEEN = "NOT SEEN"  # the only status that fails a run
NOT_WAITED = "not waited for"  # longer than the scenario at this service's settings
NOT_CHECKED = "not checked"  # the stack given cannot show it


@dataclass(frozen=True)
class Finding:
    what: str
    status: str
    detail: str = ""


def _after(at: float | None, origin: float) -> str:
    return "" if at is None else f"{at - origin:+.0f} s"


def alert_finding(result: AlertResult, fault_at: float) -> Finding:
    """One row per expected alert: where it must go, and when each step happened."""
    where = {INHIBITED: "held back by an inhibition",
             UNDELIVERABLE: "shown by Prometheus only"}.get(result.receiver,
                                                           f"delivered to {result.receiver}")
    what = f"alert {result.alert} fires, {where}" + (
        "" if result.resolve_by == "never" else ", and resolves")
    steps = [f"{name} {_after(at, fault_at)}" for name, at in (
        ("pending", result.pending_at), ("firing", result.fired_at),
        ("delivered", result.delivered_at), ("resolved", result.resolved_at)) if at is not None]
    if result.delivered_to:
        steps.append("to " + ", ".join(result.delivered_to))
    detail = ", ".join(steps)
    if result.problems:
        return Finding(what, NOT_SEEN, "; ".join(result.problems + ([detail] if detail else [])))
    if result.not_waited and result.fired_at is None:
        return Finding(what, NOT_WAITED, result.not_waited)
    if result.not_waited:
        detail += f"; not resolved: {result.not_waited}"
    return Finding(what, SEEN, detail)


def findings(result: ScenarioResult) -> list[Finding]:
    rows = [Finding(mark, SEEN if after is not None else NOT_SEEN,
                    f"after {after:.0f} s" if after is not None
                    else "the phase went on without it (see the Locust log)")
            for mark, after in result.conditions.items()]
    for key, moved in result.moved.items():
        metric, _, words = key.partition(": ")
        status = NOT_CHECKED if moved is None else SEEN if moved else NOT_SEEN
        rows.append(Finding(words, status, "only Prometheus can tell" if moved is None
                            else metric))
    rows += [Finding(what, SEEN if ok else NOT_SEEN, "held" if ok else "it moved")
             for what, ok in result.held.items()]
    for row in result.clients:
        detail = f"{row['requests']} requests, {row['failures']} failed"
        service = row.get("service")
        if service is not None and service["count"]:
            detail += (f"; the service's p99 {service['p99_ms']:.1f} ms, "
                       f"{service['within_bound']:.1%} within the bound")
        rows.append(Finding(f"callers: {row['name']}", NOT_SEEN if row["problems"] else SEEN,
                            "; ".join(row["problems"]) or detail))
    rows += [alert_finding(alert, result.fault_at) for alert in result.alerts]
    if result.quiet_phase is not None:
        rows.append(Finding(f"nothing but Watchdog fires in {result.quiet_phase}",
                            NOT_SEEN if result.quiet_violations else SEEN,
                            "; ".join(result.quiet_violations)))
    rows += [Finding("traces", NOT_SEEN, problem)
             for problem in result.traces.get("problems", [])]
    rows += [Finding(note, NOT_CHECKED) for note in result.notes]
    return rows


def passed(rows: list[Finding]) -> bool:
    return all(row.status != NOT_SEEN for row in rows)


def scenario_failures(scenarios: list[ScenarioResult]) -> list[str]:
    """What the scenarios' own checks found wrong: their rows not seen."""
    return [f"{s.name}: {f.what}: {f.detail}" for s in scenarios for f in findings(s)
            if f.status == NOT_SEEN]
