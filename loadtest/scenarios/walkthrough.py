"""The Docker walkthrough table of docs/docker.md, from the plan and the rules: per scenario,
how long it lasts in real time and which alerts fire, where, and after about how long.

``python -m loadtest.scenarios.walkthrough`` prints it; a test keeps docs/docker.md's copy equal.
"""

from __future__ import annotations

from alerts.durations import duration_seconds
from alerts.rule_files import alert_rules
from alerts.slo import AVAILABILITY, LATENCY, WINDOWS
from loadtest.scenarios.compression import phase_seconds
from loadtest.scenarios.model import INHIBITED, UNDELIVERABLE, ExpectedAlert, Scenario
from loadtest.scenarios.plan import RECOVERY, SCENARIOS

# Two evaluations and a scrape at the repository's 15 s intervals, and a 5-minute ratio
# window that must first cross its threshold.
SLACK_SECONDS = 90.0
OBJECTIVES = {AVAILABILITY.alert: AVAILABILITY, LATENCY.alert: LATENCY}
WHERE = {INHIBITED: "silenced by its cause's page", UNDELIVERABLE: "Prometheus only",
         "pager": "pager", "ticket": "ticket", "watchdog": "watchdog",
         "alerting-path": "pager and ticket"}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def detection_seconds(expected: ExpectedAlert, rules: list[dict],
                      fixed: float = 0.0) -> tuple[float, float]:
    """About how long after its fault starts the alert fires in real time: its `for`, plus
    the time a burn-rate alert's long window takes to burn past its threshold when every
    request is bad, plus the fault phase's ``fixed`` part where its cause waits it out (a read
    timeout); then up to SLACK_SECONDS more."""
    rule = next(r for r in rules if r["alert"] == expected.alertname
                and all(r.get("labels", {}).get(k) == v for k, v in expected.labels))
    low = duration_seconds(rule.get("for", "0s")) + (fixed if expected.after_fixed else 0)
    if expected.alertname in OBJECTIVES:
        window = next(w for w in WINDOWS if w.labels == expected.labels)
        budget = 1 - OBJECTIVES[expected.alertname].objective
        low += window.factor * budget * duration_seconds(window.long)
    return low, low + SLACK_SECONDS


def _lasts(scenario: Scenario) -> str:
    """Its length in real time, and what it waits for besides (Phase.until)."""
    length = _minutes(sum(phase_seconds(scenario, p, "real") for p in scenario.phases))
    waits = [p.until for p in scenario.phases if p.until is not None]
    return length + "".join(f" + until {u.what} (at most {_minutes(u.within)})" for u in waits)


def rows() -> list[list[str]]:
    rules = alert_rules()
    found = []
    for scenario in (*SCENARIOS[:-1], RECOVERY):
        fault = next(p for p in scenario.phases if p.name == scenario.fault_phase)
        alerts = []
        for expected in scenario.alerts:
            if expected.alertname == "Watchdog":
                alerts.append("Watchdog (watchdog, always)")
                continue
            low, high = detection_seconds(expected, rules, fault.fixed)
            name = expected.key.replace("long_window=", "").replace(",short_window=", "/")
            after = (f" after {fault.until.what}"
                     if expected.after_until and fault.until is not None else "")
            alerts.append(f"{name} ({WHERE[expected.receiver]}, "
                          f"{_minutes(low)}-{_minutes(high)}{after})")
        found.append([f"`{scenario.name}`", _lasts(scenario), "; ".join(alerts) or "none"])
    return found


def table() -> str:
    lines = ["| scenario | lasts | alerts (where, after about how long) |", "| --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
