"""deploy/mixin/: the mixin's outputs are the rules and dashboards rendered with
deploy/config.yaml, split as the convention wants, and current."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from alerts.render import render_rule_files
from deploy.mixin import ALERTS_FILE, DASHBOARDS_DIR, RULES_FILE, mixin_files, rule_groups
from deploy.paths import DEPLOY_DIR, ROOT
from deploy.settings import read_settings
from tests.alerts.test_rules import promtool, run


def test_the_committed_deploy_files_are_current() -> None:
    result = subprocess.run([sys.executable, "-m", "deploy", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_alerts_and_recording_rules_are_split_and_none_is_lost() -> None:
    config = read_settings().rules
    alerts = yaml.safe_load((DEPLOY_DIR / ALERTS_FILE).read_text())["groups"]
    rules = yaml.safe_load((DEPLOY_DIR / RULES_FILE).read_text())["groups"]
    assert all("alert" in r for g in alerts for r in g["rules"])
    assert all("record" in r for g in rules for r in g["rules"])
    every = [g for text in render_rule_files(config).values()
             for g in yaml.safe_load(text)["groups"]]
    assert sorted(g["name"] for g in alerts + rules) == sorted(g["name"] for g in every)
    assert (alerts, rules) == rule_groups(config)


def test_promtool_accepts_both_files() -> None:
    result = run([promtool(), "check", "rules", str(DEPLOY_DIR / ALERTS_FILE),
                  str(DEPLOY_DIR / RULES_FILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_links_to_the_configured_grafana_and_runbook() -> None:
    config = read_settings().rules
    alerts = [r for g in yaml.safe_load((DEPLOY_DIR / ALERTS_FILE).read_text())["groups"]
              for r in g["rules"]]
    for alert in alerts:
        assert alert["annotations"]["dashboard_url"].startswith(config.grafana_url + "/d/")
        assert alert["annotations"]["runbook_url"].startswith(config.runbook_url_base)
        assert alert["labels"]["namespace"] == read_settings().namespace
        assert "$externalLabels" not in json.dumps(alert)


def test_the_dashboards_are_one_file_each() -> None:
    files = mixin_files(read_settings().rules)
    dashboards = {name for name in files if name.startswith(DASHBOARDS_DIR)}
    on_disk = {f"{DASHBOARDS_DIR}/{p.name}" for p in (DEPLOY_DIR / DASHBOARDS_DIR).iterdir()}
    assert dashboards == on_disk
    for name in dashboards:
        assert json.loads(files[name])["uid"] == name.rsplit("/", 1)[1].removesuffix(".json")
