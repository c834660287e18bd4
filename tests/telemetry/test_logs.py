"""One logging configuration: the service as deployed (``python -m app``) writes every line,
its own, uvicorn's and the access log's, as JSON with one schema, info records included."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.telemetry.logs import ACCESS_LOGGER, JsonFormatter, logging_config
from tests.helpers import ask, set_faults, wait_until
from tests.servers import ServiceProcess, SimulatorThread

SCHEMA = {"time", "level", "logger", "message", "trace_id", "span_id"}


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line the service wrote; each must be a JSON object (a bare line fails here)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_breaker_probe_failure_is_logged_as_json(tmp_path: Path,
                                                  sim: SimulatorThread) -> None:
    log = tmp_path / "service.log"
    service = ServiceProcess(sim.url, log, BREAKER_FAILURE_THRESHOLD="2",
                             BREAKER_RESET_TIMEOUT="0.5", READ_TIMEOUT="1")
    try:
        set_faults(sim, mode="error")
        with httpx.Client(base_url=service.url, timeout=10) as client:
            for i in range(2):
                assert ask(client, f"failing question {i}").status_code == 502

        def probe_failed() -> bool:
            return any(line["message"].startswith("breaker probe failed")
                       for line in log_lines(log))

        # The prober probes once the reset timeout has passed, and the model still fails.
        wait_until(probe_failed, timeout=10)
    finally:
        service.close()
    lines = log_lines(log)
    assert all(set(line) >= SCHEMA for line in lines), lines
    probe = next(line for line in lines if line["message"].startswith("breaker probe failed"))
    assert probe["logger"] == "app.prober" and probe["level"] == "info"
    assert probe["error"] == "upstream_server_error" and probe["breaker"] == "half_open"
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", ACCESS_LOGGER} <= loggers  # uvicorn's start-up, the requests
    access = [line for line in lines if line["logger"] == ACCESS_LOGGER
              and line["route"] == "/api/query"]
    assert [line["status"] for line in access] == [502, 502]
    assert access[0]["message"] == "POST /api/query 502"


def test_a_record_carries_its_fields_and_its_exception() -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError("broken")
    except ValueError as error:
        record = logging.LogRecord("app.x", logging.ERROR, __file__, 1, "failed: %s",
                                   ("it",), (type(error), error, error.__traceback__))
    record.fields = {"error": "store_unavailable"}
    line = json.loads(formatter.format(record))
    assert line["message"] == "failed: it" and line["level"] == "error"
    assert line["error"] == "store_unavailable" and "ValueError: broken" in line["exception"]
    assert line["trace_id"] is None


@pytest.mark.parametrize("level", ["info", "warning", "debug"])
def test_the_level_applies_to_the_service_and_uvicorn_not_to_the_access_log(
        level: str) -> None:
    loggers = logging_config(level)["loggers"]
    assert loggers["app"]["level"] == loggers["uvicorn"]["level"] == level.upper()
    assert loggers[ACCESS_LOGGER]["level"] == "INFO"
