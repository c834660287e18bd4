"""alerts/yaml_dump.py: PromQL stays readable and reads back the same."""

from __future__ import annotations

import yaml

from alerts.yaml_dump import dump, dump_all


def test_multi_line_strings_are_literal_blocks_and_round_trip() -> None:
    data = {"expr": "sum(a)\n/ sum(b)\n", "for": "5m", "labels": {"severity": "critical"}}
    text = dump(data)
    assert "expr: |\n  sum(a)\n  / sum(b)\n" in text
    assert yaml.safe_load(text) == data
    assert list(yaml.safe_load_all(dump_all([data, {"x": "="}]))) == [data, {"x": "="}]
