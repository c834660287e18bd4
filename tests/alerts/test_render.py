"""The rule files rendered for another deployment (alerts/render.py): the default rendering
is what alerts/rules/ holds, and the whole promtool suite passes against another job's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alerts.config import DEFAULT, RulesConfig
from alerts.paths import ROOT, RULE_TEST_FILES, RULES_DIR
from alerts.render import render_rule_files
from alerts.slo import objectives
from tests.alerts.moved_tests import write_moved_suite
from tests.alerts.test_rules import promtool, run

OTHER = RulesConfig(selector='job="my-rag"', grafana_url="https://grafana.example.com",
                    runbook_url_base="https://runbooks.example.com/ollama-rag.md#")


def test_the_default_rendering_is_what_alerts_rules_holds() -> None:
    for name, text in render_rule_files(DEFAULT).items():
        assert text == (RULES_DIR / name).read_text(), name


def test_the_whole_promtool_suite_passes_against_another_jobs_rules(tmp_path: Path) -> None:
    moved = write_moved_suite(OTHER, tmp_path, RULE_TEST_FILES)
    for path, original in zip(moved, RULE_TEST_FILES, strict=True):
        # Every file names the job or a link somewhere: each must really have moved.
        assert path.read_text() != original.read_text(), path.name
        assert not re.search(r'job[=:] ?"?ollama-rag\b', path.read_text()), path.name
    result = run([promtool(), "test", "rules", *map(str, moved)])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


NAMESPACED = RulesConfig(selector='job="my-rag", namespace="llm"')
NAMESPACE_TEST = """
rule_files: [rules/alerts.rules.yml]
evaluation_interval: 1m
tests:
  # Another namespace's job of the same name is down: not this deployment's alert.
  - interval: 1m
    input_series:
      - series: 'up{job="my-rag",namespace="other",instance="a:8000"}'
        values: '0x20'
      - series: 'up{job="my-rag",namespace="llm",instance="b:8000"}'
        values: '1x20'
    alert_rule_test:
      - {eval_time: 15m, alertname: OllamaRagInstanceDown}
      - {eval_time: 15m, alertname: OllamaRagDown}
      - {eval_time: 15m, alertname: OllamaRagAbsent}
  # Only the other namespace is scraped: this deployment is missing, named by its labels.
  - interval: 1m
    input_series:
      - series: 'up{job="my-rag",namespace="other",instance="a:8000"}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: OllamaRagDown
        exp_alerts:
          - exp_labels: {severity: critical, job: my-rag, namespace: llm}
            exp_annotations: %s
"""


def test_a_namespace_in_the_selector_scopes_the_generic_series(tmp_path: Path) -> None:
    rules = render_rule_files(NAMESPACED)["alerts.rules.yml"]
    for line in rules.splitlines():
        if re.search(r'\b(up|process_resident_memory_bytes)\{job="(?!alertmanager)', line):
            assert '{job="my-rag",namespace="llm"}' in line, line
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "alerts.rules.yml").write_text(rules)
    (down,) = [r for g in yaml.safe_load(rules)["groups"] for r in g["rules"]
               if r.get("alert") == "OllamaRagDown"]
    annotations = {k: v.replace("{{ $labels.job }}", "my-rag").replace("{{ $value | "
                                                                        "humanizePercentage }}",
                                                                        "100%")
                   .replace(DEFAULT.grafana_url, "")
                   for k, v in down["annotations"].items()}
    (tmp_path / "ns.test.yml").write_text(NAMESPACE_TEST % yaml.safe_dump(
        annotations, default_flow_style=True, width=10_000).strip())
    result = run([promtool(), "test", "rules", str(tmp_path / "ns.test.yml")])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_objectives_set_the_slo_thresholds() -> None:
    config = RulesConfig(availability_objective=0.999, latency_objective=0.95)
    availability, latency = objectives(config)
    text = render_rule_files(config)["slo.rules.yml"]
    assert "(14.4 * 0.001)" in text and "(14.4 * 0.05)" in text
    assert "availability 99.9% (budget 0.1%)" in text
    assert availability.budget == pytest.approx(0.001) and latency.budget == pytest.approx(0.05)


def test_without_pipeline_alerts_the_stack_s_own_are_left_to_it() -> None:
    files = render_rule_files(RulesConfig(pipeline_alerts=False))
    names = {r.get("alert") for t in files.values()
             for g in yaml.safe_load(t)["groups"] for r in g["rules"]}
    assert "Watchdog" not in names and "AlertmanagerDown" not in names
    assert "OllamaRagDown" in names


def test_the_command_renders_a_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("selector: 'job=\"my-rag\"'\n")
    result = subprocess.run([sys.executable, "-m", "alerts", "--config",
                             str(tmp_path / "config.yaml"), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "out" / "alerts.rules.yml").read_text()
    assert rendered == render_rule_files(RulesConfig(selector='job="my-rag"'))["alerts.rules.yml"]
    (tmp_path / "bad.yaml").write_text("selector: 'job=\"my-rag\"'\nbogus: 1\n")
    result = subprocess.run([sys.executable, "-m", "alerts", "--config",
                             str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown settings ['bogus']" in result.stderr
