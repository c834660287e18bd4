"""Time compression for the live runs (``make verify``, ``make compose-verify``): the factor
each rule group's durations are divided by. How long a scenario's phases last, compressed or
in real time, is ``timetable.py``'s."""

from __future__ import annotations

from alerts.durations import duration_seconds
from alerts.slo import slo_groups

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
