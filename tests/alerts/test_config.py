"""alerts/config.py: the settings of a rendering, refused with the reason."""

from __future__ import annotations

import re

import pytest

from alerts.config import DEFAULT, ConfigError, RulesConfig, parse_selector


def test_a_selector_reads_into_matchers() -> None:
    assert parse_selector('job="a", namespace=~"llm-.*",team!="x"') == (
        ("job", "=", "a"), ("namespace", "=~", "llm-.*"), ("team", "!=", "x"))
    assert DEFAULT.job == "ollama-rag" and DEFAULT.scope_matchers == ()
    assert RulesConfig(selector='job="a",namespace="b"').scope_matchers == ('namespace="b"',)


@pytest.mark.parametrize("settings, words", [
    ({"selector": 'namespace="llm"'}, 'needs a job="..." matcher'),
    ({"selector": "job=my-rag"}, "cannot read a label matcher"),
    ({"latency_objective": 99}, "not a share between 0.5 and 1"),
    ({"grafana": "x"}, "unknown settings ['grafana']"),
    ({"alert_labels": {"severity": "info"}}, "['severity'] are set by the rules themselves"),
    ({"grafana_url": "https://grafana.example.com/"}, "drop the trailing '/'"),
])
def test_a_setting_it_cannot_use_is_named(settings: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        RulesConfig.from_mapping(settings)
