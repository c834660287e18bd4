"""The verdict's rows: only what was expected and not seen fails; what a run could not wait
for, or a stack cannot show, is said and does not."""

from __future__ import annotations

from loadtest.verify.findings import (
    NOT_CHECKED,
    NOT_SEEN,
    NOT_WAITED,
    SEEN,
    findings,
    passed,
    scenario_failures,
)
from loadtest.verify.results import AlertResult, ScenarioResult


def result(**fields: object) -> ScenarioResult:
    played = ScenarioResult("outage", "s", {"outage": 100.0}, 100.0, 99.0, 160.0)
    for name, value in fields.items():
        setattr(played, name, value)
    return played


def test_moves_holds_and_conditions_become_rows() -> None:
    rows = findings(result(
        moved={"m: the breaker opened during outage": True, "up: up == 0": None,
               "n: it closed": False},
        held={"no 504": True}, conditions={"before: the cache answers": 3.0}))
    by_what = {row.what: row.status for row in rows}
    assert by_what == {"before: the cache answers": SEEN,
                       "the breaker opened during outage": SEEN, "up == 0": NOT_CHECKED,
                       "it closed": NOT_SEEN, "no 504": SEEN}
    assert not passed(rows)


def test_an_alert_not_waited_for_is_said_and_does_not_fail() -> None:
    slow = AlertResult("outage", "Burn{1d}", "pager", not_waited="would take up to 83 min")
    fired = AlertResult("outage", "CircuitBreakerOpen", "pager", pending_at=150.0,
                        fired_at=160.0, delivered_at=161.0, delivered_to=["pager"],
                        resolved_at=200.0)
    missed = AlertResult("outage", "HighFailureRate", "pager", problems=["never fired"])
    rows = findings(result(alerts=[slow, fired, missed]))
    assert [row.status for row in rows] == [NOT_WAITED, SEEN, NOT_SEEN]
    assert rows[1].detail == ("pending +50 s, firing +60 s, delivered +61 s, resolved +100 s, "
                              "to pager")
    assert scenario_failures([result(alerts=[slow, fired, missed])]) == [
        "outage: alert HighFailureRate fires, delivered to pager, and resolves: never fired"]
