"""The repository's Prometheus and Alertmanager configuration, adapted for a local run.

Each adaptation is mechanical and named here, so that what runs locally is what compose
runs: the alert sink's base URL, shorter Alertmanager timings, faster scrape and
evaluation intervals, and paths into a temporary directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerts.durations import UNITS
from alerts.paths import ALERTMANAGER_CONFIG, PROMETHEUS_CONFIG
from app.core.settings import Settings
from loadtest.scenarios.compression import (
    DEFAULT_FACTOR,
    SCRAPE_INTERVAL,
    compress_duration,
    factor_for,
)

SINK_BASE_URL = "http://alert-sink:9099"  # the alert sink's address in compose


def _routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The route and every route below it."""
    found = [route]
    for child in route.get("routes", []):
        found += _routes(child)
    return found


def alertmanager_config(sink_url: str, *, group_wait: str | None = None,
                        group_interval: str | None = None,
                        repeat_interval: str | None = None,
                        repeat_factor: float | None = None) -> str:
    """alerts/alertmanager.yml with the webhooks pointed at ``sink_url`` and, when given,
    every route's timings replaced, or its repeat interval divided by ``repeat_factor``."""
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
        if repeat_factor is not None and "repeat_interval" in route:
            route["repeat_interval"] = compress_duration(route["repeat_interval"], repeat_factor)
    return yaml.safe_dump(config, sort_keys=False)


_RANGE = re.compile(rf"\[((?:\d+(?:{UNITS}))+)\]")


def compressed_alertmanager_config(sink_url: str) -> str:
    """The configuration a live run uses: groups sent within a second, and repeats
    compressed like the rules (the watchdog's every 5 minutes is every 2.5 s, so a receiver
    that fails is retried, and seen failing, as it would be in real time)."""
    return alertmanager_config(sink_url, group_wait="1s", group_interval="1s",
                               repeat_factor=DEFAULT_FACTOR)


def compressed_rules(path: Path) -> str:
    """A rule file with every group's durations divided by the group's factor (or its
    record's, where one has its own)."""
    document = yaml.safe_load(path.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            factor = factor_for(group["name"], rule.get("record"))
            rule["expr"] = _RANGE.sub(
                lambda m, f=factor: f"[{compress_duration(m.group(1), f)}]", rule["expr"])
            if "for" in rule:
                rule["for"] = compress_duration(rule["for"], factor)
    return yaml.safe_dump(document, sort_keys=False)


def local_prometheus_config(own_port: int | None = None) -> str:
    """alerts/prometheus.yml with fast intervals and, given ``own_port``, Prometheus's own
    real address; rule files and targets keep their relative paths (the caller writes them
    beside it)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] |= {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL,
                         "evaluation_interval": SCRAPE_INTERVAL}
    for job in config["scrape_configs"]:
        if job["job_name"] == "prometheus" and own_port is not None:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{own_port}"]}]
    return yaml.safe_dump(config, sort_keys=False)


@dataclass(frozen=True)
class SettingChange:
    """One service setting the live run changes from its default, and why."""

    env: str
    value: str
    default: str
    why: str


def _compressed(field: str, why: str) -> SettingChange:
    """A setting's default divided by the compression factor."""
    default = float(Settings.model_fields[field].default)
    return SettingChange(f"OLLAMA_RAG_{field.upper()}", f"{default / DEFAULT_FACTOR:g}",
                         f"{default:g}", why)


# The service runs with its defaults except where time compression requires otherwise: the
# service's own clocks that the alert windows measure are divided by the same factor as the
# rules. Timeouts are not: they answer to the (simulated) model's real pace. The report
# lists each change.
SERVICE_SETTINGS: tuple[SettingChange, ...] = (
    _compressed("breaker_reset_timeout",
                f"time compression ({DEFAULT_FACTOR}x): CircuitBreakerFlapping counts trips over "
                "15 compressed minutes (7.5 s); an open breaker must be able to half-open and "
                "close again within them, as it can in 15 real minutes"),
    _compressed("health_check_interval",
                f"time compression ({DEFAULT_FACTOR}x): OllamaUnreachable waits 2 compressed "
                "minutes (1 s), which must hold several checks, as 2 real minutes hold eight"),
    SettingChange("OLLAMA_RAG_LOG_LEVEL", "warning", "info",
                  "a quieter service log; no behaviour changes"),
)
SERVICE_ENV = {change.env: change.value for change in SERVICE_SETTINGS}


# The local run turns tracing on (compose.yaml does it itself) and exports spans sooner than
# the SDK's default 5 s, so that each scenario's checks find its requests' spans.
TRACING_SETTINGS: tuple[SettingChange, ...] = (
    SettingChange("OTEL_EXPORTER_OTLP_ENDPOINT", "the verifier's OTLP receiver",
                  "unset (tracing off)",
                  "tracing on: the verifier checks every question's spans"),
    SettingChange("OTEL_BSP_SCHEDULE_DELAY", "500", "5000",
                  "spans leave within half a second, so a scenario's checks find them"),
)


def tracing_env(receiver_url: str) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver_url, "OTEL_SERVICE_NAME": "ollama-rag",
            "OTEL_BSP_SCHEDULE_DELAY": "500"}
