"""The promtool test files moved to another configuration's rules (alerts/config.py): the
inputs carry its selector's labels, the expectations its job, links and alert labels, and
the cases of alerts it leaves out are dropped. Only promtool then decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from alerts.config import DEFAULT, RulesConfig
from alerts.render import PIPELINE_ALERTS, PIPELINE_GROUP, render_rule_files
from alerts.rule_files import rule_groups

DEFAULT_JOB = DEFAULT.job


def _pipeline_alert_names() -> set[str]:
    names = {r["alert"] for g in rule_groups() if g["name"] == PIPELINE_GROUP
             for r in g["rules"] if "alert" in r}
    return names | PIPELINE_ALERTS


def _selector_labels(config: RulesConfig) -> str:
    return ",".join(f'{label}="{value}"' for label, op, value in config.matchers if op == "=")


def _moved_text(text: str, config: RulesConfig) -> str:
    replacements = [
        (f'job="{DEFAULT_JOB}"', f'job="{config.job}"'),
        (f"job: {DEFAULT_JOB}", f"job: {config.job}"),
        (f"job {DEFAULT_JOB} ", f"job {config.job} "),
        (f"as {DEFAULT_JOB} sees it", f"as {config.job} sees it"),
        (f"var-job={DEFAULT_JOB}", f"var-job={config.job}"),
        ('dashboard_url: "/d/', f'dashboard_url: "{config.grafana_url}/d/'),
        (DEFAULT.runbook_url_base, config.runbook_url_base),
    ]
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _moved_case(case: dict[str, Any], config: RulesConfig, left_out: set[str]) -> None:
    # The inputs carry every label of the selector (the expectations only what the rules
    # keep: most aggregate by job and instance).
    for series in case.get("input_series", []):
        series["series"] = series["series"].replace(f'job="{config.job}"',
                                                    _selector_labels(config))
    case["alert_rule_test"] = [t for t in case.get("alert_rule_test", [])
                               if t["alertname"] not in left_out]
    for test in case["alert_rule_test"]:
        for alert in test.get("exp_alerts") or []:
            alert["exp_labels"] = {**alert.get("exp_labels", {}), **config.alert_labels}
    if not case["alert_rule_test"]:
        del case["alert_rule_test"]
    extra = "".join(f',{label}="{value}"' for label, value in config.alert_labels.items())
    for test in case.get("promql_expr_test", []):
        if test["expr"].startswith("ALERTS"):  # an alert's series carries its labels
            for sample in test.get("exp_samples", []):
                sample["labels"] = sample["labels"].removesuffix("}") + extra + "}"


def moved_test_file(path: Path, config: RulesConfig) -> str:
    """``path``'s test file as it reads against ``config``'s rules."""
    document = yaml.safe_load(_moved_text(path.read_text(), config))
    left_out = set() if config.pipeline_alerts else _pipeline_alert_names()
    for case in document["tests"]:
        _moved_case(case, config, left_out)
    document["tests"] = [c for c in document["tests"]
                         if "alert_rule_test" in c or "promql_expr_test" in c]
    return yaml.safe_dump(document, sort_keys=False, width=10_000)


def write_moved_suite(config: RulesConfig, directory: Path, test_files: list[Path]
                      ) -> list[Path]:
    """The rule files rendered for ``config`` in ``directory/rules`` and the moved test
    files in ``directory/tests`` (their ``rule_files`` paths unchanged); the test files."""
    (directory / "rules").mkdir(parents=True)
    (directory / "tests").mkdir()
    for name, text in render_rule_files(config).items():
        (directory / "rules" / name).write_text(text)
    moved = []
    for path in test_files:
        target = directory / "tests" / path.name
        target.write_text(moved_test_file(path, config))
        moved.append(target)
    return moved
