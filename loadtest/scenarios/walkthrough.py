"""The Docker walkthrough table of docs/docker.md, from the plan, the rules and the timetable:
per scenario, how long it lasts in real time against a service with the default settings,
which alerts it waits for (where, after about how long), and which it does not.

``python -m loadtest.scenarios.walkthrough`` prints it; a test keeps docs/docker.md's copy equal.
"""

from __future__ import annotations

from app.core.settings import Settings
from loadtest.scenarios.compose_plan import COMPOSE_ONLY
from loadtest.scenarios.model import INHIBITED, UNDELIVERABLE, Scenario
from loadtest.scenarios.plan import RECOVERY, SCENARIOS
from loadtest.scenarios.timetable import (
    ServiceClocks,
    Timetable,
    detection_seconds,
    minutes,
    timetable,
)

WHERE = {INHIBITED: "silenced by its cause's page", UNDELIVERABLE: "Prometheus only",
         "pager": "pager", "ticket": "ticket", "watchdog": "watchdog",
         "alerting-path": "pager and ticket"}
DEFAULTS = ServiceClocks.of(Settings())


def _lasts(scenario: Scenario, table: Timetable) -> str:
    """Its length in real time, and what it waits for besides (Phase.until)."""
    waits = [p.until for p in scenario.phases if p.until is not None]
    return minutes(table.total) + "".join(
        f" + until {u.what} (at most {minutes(u.within)})" for u in waits)


def _verifiers_only(scenario: Scenario) -> list[str]:
    """A scenario whose actions only a verifier's stack does: where, not when."""
    where = ("`make compose-verify`" if scenario in COMPOSE_ONLY else "`make verify`")
    alerts = [f"{e.key.replace('long_window=', '').replace(',short_window=', '/')} "
              f"({WHERE[e.receiver]})" for e in scenario.alerts]
    actions = ", ".join(f"`{a}`" for a in scenario.stack_actions)
    return [f"`{scenario.name}`", f"played by {where} only: its actions ({actions}) are the "
            "verifier's", "; ".join(alerts), "-"]


def row(scenario: Scenario) -> list[str]:
    if scenario.stack_actions:
        return _verifiers_only(scenario)
    table = timetable(scenario, "real", DEFAULTS)
    fault = next(p for p in scenario.phases if p.name == scenario.fault_phase)
    waited, not_waited = [], []
    for expected in scenario.alerts:
        name = expected.key.replace("long_window=", "").replace(",short_window=", "/")
        if expected.alertname == "Watchdog":
            waited.append("Watchdog (watchdog, always)")
        elif table.waits_for(expected, "fire"):
            low, high = detection_seconds(expected, fault.fixed)
            after = (f" after {fault.until.what}"
                     if expected.after_until and fault.until is not None else "")
            waited.append(f"{name} ({WHERE[expected.receiver]}, "
                          f"{minutes(low)}-{minutes(high)}{after})")
        else:
            need = next(n for n in table.not_waited if n.alert == expected.key)
            not_waited.append(f"{name} ({minutes(need.seconds)})")
    return [f"`{scenario.name}`", _lasts(scenario, table), "; ".join(waited) or "none",
            "; ".join(not_waited) or "none"]


def table() -> str:
    lines = ["| scenario | lasts | alerts it waits for (where, after about how long) "
             "| not waited for (would take up to) |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row(s))} |"
              for s in (*SCENARIOS[:-1], *COMPOSE_ONLY, RECOVERY)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
