"""Time compression for the live runs (``make verify``, ``make compose-verify``): the factor
each rule group's durations are divided by, and how long a scenario's phases last at either
speed: compressed, against those rules, or in real time, against the repository's rules as
they are (a person running Locust against compose)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from alerts.durations import duration_seconds
from alerts.rule_files import rule_groups
from alerts.slo import slo_groups

if TYPE_CHECKING:
    from loadtest.scenarios.model import Phase, Scenario

# Time compression for the live run. Every `for` and range duration of a rule group is
# divided by its group's factor; thresholds and expressions stay as they are. The SLO groups
# get a larger factor because their windows span 5 minutes to 3 days.
DEFAULT_FACTOR = 120
# The monitoring's own alerts read Alertmanager's failure counters, which move at most once
# per failing flush, and a flush retries for at least 10 s (Alertmanager's minimum timeout,
# not compressible): their 5-minute windows are compressed to 25 s, not 2.5 s.
META_GROUP = "ollama-rag.meta"
# The components' ratios and quantiles are compressed 60x: at a real model's pace the
# service answers a few questions a second, and a 5-minute window compressed 120x (2.5 s)
# holds a dozen lookups, too few for a steady ratio; 5 s hold twice as many. The alerts'
# `for` stay at 120x.
COMPONENTS_RECORDING_GROUP = "ollama-rag.components.recording"
GROUP_FACTORS = {**dict.fromkeys(slo_groups(), 240), META_GROUP: 12,
                 COMPONENTS_RECORDING_GROUP: 60}
# The cache's hit ratio and its volume guard are compressed 30x (10 s). The guard (0.1
# lookups a second) asks for 30 lookups in a real 5-minute window; at a real model's pace
# 16 users make about 7 a second, but now and then most of them wait on long answers at
# once and a 5-s window holds 6 lookups: a ratio of 6 is noise the real window never shows.
# A 10-s window holds tens of lookups at that pace, and a healthy ratio stays well above the
# alert's 0.3, where a 5-s window's can dip under it.
RECORD_FACTORS = dict.fromkeys((
    "instance:ollama_rag_semcache_lookups:rate5m",
    "instance:ollama_rag_semcache_hits:ratio_rate5m",
    "instance_type:ollama_rag_semcache_hits:ratio_rate5m",
), 30)
SCRAPE_INTERVAL = "500ms"


def compress_duration(text: str, factor: float) -> str:
    return f"{max(1, round(duration_seconds(text) * 1000 / factor))}ms"


def factor_for(group: str, record: str | None = None) -> float:
    """The factor the durations of ``group`` (of its recording rule ``record``, if given)
    are divided by."""
    if record in RECORD_FACTORS:
        return RECORD_FACTORS[record]
    return GROUP_FACTORS.get(group, DEFAULT_FACTOR)


# The speeds a scenario plays at: against the live runs' compressed rules, or in real time
# (the default for a person running Locust against compose).
SPEEDS = ("real", "compressed")


@functools.cache
def alert_groups() -> dict[str, str]:
    """The rule group of each alert (read once: every phase's length asks)."""
    return {rule["alert"]: group["name"] for group in rule_groups()
            for rule in group["rules"] if "alert" in rule}


def scenario_factor(scenario: Scenario) -> float:
    """How many times longer its phases last in real time: the largest factor of its alerts'
    rule groups (the defaults' where it expects none but Watchdog)."""
    groups = alert_groups()
    return max((factor_for(groups[a.alertname]) for a in scenario.alerts), default=DEFAULT_FACTOR)


def phase_seconds(scenario: Scenario, phase: Phase, speed: str) -> float:
    """How long ``phase`` lasts at ``speed``: its seconds as written (compressed), or, in
    real time, its fixed part (what no compression shortens: discovery, read timeouts) plus
    the rest times the scenario's factor."""
    if speed not in SPEEDS:
        raise ValueError(f"unknown speed {speed!r}; known: {', '.join(SPEEDS)}")
    if speed == "compressed":
        return phase.seconds
    return phase.fixed + (phase.seconds - phase.fixed) * scenario_factor(scenario)
