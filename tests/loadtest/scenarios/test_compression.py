"""The compression factors of the live runs' rules."""

from __future__ import annotations

from loadtest.scenarios.compression import (
    COMPONENTS_RECORDING_GROUP,
    DEFAULT_FACTOR,
    compress_duration,
    factor_for,
)


def test_durations_are_divided_by_their_groups_factor() -> None:
    assert compress_duration("1m", DEFAULT_FACTOR) == "500ms"
    assert factor_for("ollama-rag.breaker") == DEFAULT_FACTOR
    assert factor_for(COMPONENTS_RECORDING_GROUP) == 60
    assert factor_for("any", "instance:ollama_rag_semcache_hits:ratio_rate5m") == 30
