"""The repository's Prometheus and Alertmanager configuration, adapted for a local run.

Each adaptation is mechanical and named here, so that what runs locally is what compose
runs: the alert sink's base URL, shorter Alertmanager timings, faster scrape and
evaluation intervals, and paths into a temporary directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALERTS_DIR = ROOT / "alerts"
ALERTMANAGER_CONFIG = ALERTS_DIR / "alertmanager.yml"
PROMETHEUS_CONFIG = ALERTS_DIR / "prometheus.yml"
RULE_FILES = sorted((ALERTS_DIR / "rules").glob("*.rules.yml"))
SINK_BASE_URL = "http://alert-sink:9099"  # the alert sink's address in compose


def _routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The route and every route below it."""
    found = [route]
    for child in route.get("routes", []):
        found += _routes(child)
    return found


def alertmanager_config(sink_url: str, *, group_wait: str | None = None,
                        group_interval: str | None = None,
                        repeat_interval: str | None = None) -> str:
    """alerts/alertmanager.yml with the webhooks pointed at ``sink_url`` and, when given,
    every route's timings replaced."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            if not hook["url"].startswith(SINK_BASE_URL):
                raise ValueError(f"receiver {receiver['name']} does not use the alert sink")
            hook["url"] = sink_url.rstrip("/") + hook["url"].removeprefix(SINK_BASE_URL)
    timings = {"group_wait": group_wait, "group_interval": group_interval,
               "repeat_interval": repeat_interval}
    for route in _routes(config["route"]):
        for key, value in timings.items():
            if value is not None and (route is config["route"] or key in route):
                route[key] = value
    return yaml.safe_dump(config, sort_keys=False)
