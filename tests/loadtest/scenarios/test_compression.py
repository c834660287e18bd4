"""Scenarios at both speeds: compressed for the live runs, real time for a person running
Locust against compose, where every fault lasts long enough for the real rules."""

from __future__ import annotations

import pytest

from alerts.durations import duration_seconds
from alerts.rule_files import alert_rules
from loadtest.scenarios import walkthrough
from loadtest.scenarios.compose_plan import COMPOSE_SCENARIOS
from loadtest.scenarios.compression import phase_seconds, scenario_factor
from loadtest.scenarios.model import Scenario
from loadtest.scenarios.plan import SCENARIOS
from loadtest.verify.alert_checks import rule_keys
from tests import ROOT

ALL = {s.name: s for s in (*SCENARIOS, *COMPOSE_SCENARIOS)}
# Two evaluation intervals and a scrape of the repository's rules (15 s each) and a ratio
# window that must first cross its threshold: a minute on top of an alert's `for`.
EVALUATION_SLACK = 60.0


def fault_span(scenario: Scenario, speed: str) -> float:
    """Seconds from the start of the fault phase to the recovery (or the end)."""
    names = [p.name for p in scenario.phases]
    span = scenario.phases[names.index(scenario.fault_phase):]
    return sum(phase_seconds(scenario, p, speed) for p in span if p.name != "recovery")


def test_compressed_is_the_plan_as_written() -> None:
    for scenario in ALL.values():
        assert [phase_seconds(scenario, p, "compressed") for p in scenario.phases] == [
            p.seconds for p in scenario.phases]


@pytest.mark.parametrize("name", sorted(n for n, s in ALL.items() if s.alerts))
def test_in_real_time_every_fault_outlasts_its_alerts_for(name: str) -> None:
    scenario = ALL[name]
    rules = dict(zip(rule_keys(), alert_rules(), strict=True))
    longest = max(duration_seconds(rules[a.key].get("for", "0s")) for a in scenario.alerts)
    assert fault_span(scenario, "real") >= longest + EVALUATION_SLACK
    # ... and compression shortened it by the scenario's factor, fixed parts aside.
    assert fault_span(scenario, "real") <= (
        fault_span(scenario, "compressed") * scenario_factor(scenario))


def test_fixed_parts_do_not_grow_in_real_time() -> None:
    service_down = ALL["service-down"]
    absent = next(p for p in service_down.phases if p.name == "absent")
    assert absent.fixed > 0
    assert phase_seconds(service_down, absent, "real") == pytest.approx(
        absent.fixed + (absent.seconds - absent.fixed) * scenario_factor(service_down))


def test_an_unknown_speed_is_refused() -> None:
    scenario = ALL["outage"]
    with pytest.raises(ValueError, match="unknown speed"):
        phase_seconds(scenario, scenario.phases[0], "fast")


def test_the_docker_walkthrough_table_is_generated() -> None:
    text = (ROOT / "docs" / "docker.md").read_text()
    block = text.split("<!-- walkthrough:start -->\n")[1].split("\n<!-- walkthrough:end -->")[0]
    assert block == walkthrough.table(), "run: python -m loadtest.scenarios.walkthrough"


def test_the_walkthrough_counts_a_burn_rate_alerts_window() -> None:
    """A page on 2% of the budget in an hour (14.4x a 0.5% budget) fires only once the hour's
    error ratio passes 7.2%: 4.3 minutes of errors, then its 2-minute `for`."""
    outage = ALL["outage"]
    page = next(a for a in outage.alerts if ("long_window", "1h") in a.labels)
    low, high = walkthrough.detection_seconds(page, alert_rules())
    assert low == pytest.approx(0.072 * 3600 + 120)
    assert high == low + walkthrough.SLACK_SECONDS
