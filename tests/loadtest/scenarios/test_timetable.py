"""How long each phase lasts: compressed, as written; in real time, long enough for the
service's own clocks, and for the alerts that fit within ten minutes."""

from __future__ import annotations

import pytest

from alerts.durations import duration_seconds
from alerts.rule_files import alert_rules
from app.core.settings import Settings
from loadtest.scenarios import walkthrough
from loadtest.scenarios.compose_plan import COMPOSE_ONLY, scenario
from loadtest.scenarios.plan import SCENARIOS
from loadtest.scenarios.timetable import (
    CLOCK_MARGIN,
    MAX_SECONDS,
    SLACK_SECONDS,
    ServiceClocks,
    detection_seconds,
    timetable,
)
from tests import ROOT

DEFAULTS = ServiceClocks.of(Settings())
ALL = (*SCENARIOS, *COMPOSE_ONLY)


def test_compressed_is_the_plan_as_written() -> None:
    for plan in ALL:
        assert timetable(plan, "compressed", DEFAULTS).seconds == tuple(
            p.seconds for p in plan.phases)


def test_an_unknown_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown speed"):
        timetable(scenario("outage"), "fast", DEFAULTS)


def test_a_recovery_outlasts_the_breakers_reset_timeout_as_the_service_reports_it() -> None:
    outage = scenario("outage")
    for reset in (30.0, 90.0):
        clocks = ServiceClocks(reset, DEFAULTS.health_check_interval, DEFAULTS.read_timeout)
        seconds = timetable(outage, "real", clocks, alerts=False).seconds
        assert seconds[-1] == reset + CLOCK_MARGIN
        assert seconds[:-1] == (2, 16)  # the others as written


def test_every_scenario_a_person_runs_fits_in_ten_minutes_at_the_defaults() -> None:
    for plan in ALL:
        if plan.stack_actions:
            continue
        waits = sum(p.until.within for p in plan.phases if p.until is not None)
        for alerts in (False, True):
            assert timetable(plan, "real", DEFAULTS, alerts).total <= MAX_SECONDS, plan.name
        assert waits <= 240, plan.name


@pytest.mark.parametrize("name", ["outage", "ollama-gone", "malformed", "flapping"])
def test_in_real_time_the_fault_outlasts_each_alert_it_waits_for(name: str) -> None:
    plan = scenario(name)
    table = timetable(plan, "real", DEFAULTS)
    names = [p.name for p in plan.phases]
    fault = sum(table.seconds[names.index(plan.fault_phase):-1])
    waited = [a for a in plan.alerts if table.waits_for(a, "fire")]
    assert waited
    for expected in waited:
        rule = next(r for r in alert_rules() if r["alert"] == expected.alertname)
        assert fault >= duration_seconds(rule["for"]) + SLACK_SECONDS


def test_an_alert_hours_away_is_not_waited_for_and_says_how_long() -> None:
    table = timetable(scenario("outage"), "real", DEFAULTS)
    slow = {n.alert: n for n in table.not_waited if n.step == "fire"}
    day = slow["OllamaRagErrorBudgetBurn{long_window=1d,short_window=2h}"]
    assert day.seconds > MAX_SECONDS
    assert day.words.startswith("would take up to 83 min after the fault starts")


def test_a_burn_rate_alerts_detection_counts_its_window() -> None:
    """A page on 2% of the budget in an hour (14.4x a 0.5% budget) fires only once the hour's
    error ratio passes 7.2%: 4.3 minutes of errors, then its 2-minute `for`."""
    page = next(a for a in scenario("outage").alerts if ("long_window", "1h") in a.labels)
    low, high = detection_seconds(page)
    assert low == pytest.approx(0.072 * 3600 + 120)
    assert high == low + SLACK_SECONDS


def test_the_docker_walkthrough_table_is_generated() -> None:
    text = (ROOT / "docs" / "docker.md").read_text()
    block = text.split("<!-- walkthrough:start -->\n")[1].split("\n<!-- walkthrough:end -->")[0]
    assert block == walkthrough.table(), "run: python -m loadtest.scenarios.walkthrough"
