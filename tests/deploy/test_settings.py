"""deploy/config.yaml: read, and refused with the reason when its parts disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.config import ConfigError
from deploy.paths import CONFIG
from deploy.settings import read_settings


def test_the_committed_settings_read() -> None:
    settings = read_settings()
    assert settings.rules.job == "ollama-rag"
    assert settings.rules.pipeline_alerts is False


@pytest.mark.parametrize("old, new, words", [
    ("namespace: ollama-rag\n", "namespace: llm\n", 'rules.selector: needs namespace="llm"'),
    ("release: kube-prometheus-stack", "release: Kube_Stack", "is not a Kubernetes name"),
    ("scrape_interval: 15s", "scrape_interval: 1m", "need 15s or less"),
    ("scrape_interval: 15s", "scrape_interval: soon", "not a Prometheus duration"),
    ("  alert_labels:\n    namespace: ollama-rag\n", "", "rules.alert_labels: needs namespace"),
    ("release:", "relase:", "expected the settings"),
])
def test_settings_that_disagree_are_refused_with_the_reason(
        tmp_path: Path, old: str, new: str, words: str) -> None:
    text = CONFIG.read_text()
    assert old in text
    (tmp_path / "config.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=words):
        read_settings(tmp_path / "config.yaml")
