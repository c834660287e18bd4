from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alerts.paths import PROMETHEUS_CONFIG, RULE_FILES
from app.core.settings import Settings
from app.factory import create_app
from loadtest.stack.processes import free_port, start_prometheus
from loadtest.stack.trace_receiver import TraceReceiver
from tests.servers import ChromaServer, ServiceThread, SimulatorThread


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    simulator = SimulatorThread()
    yield simulator
    simulator.close()


@pytest.fixture
def make_service(sim: SimulatorThread) -> Iterator[Callable[..., ServiceThread]]:
    """Start a service against the test's simulator; keyword arguments override settings."""
    started: list[ServiceThread] = []

    def start(**overrides: Any) -> ServiceThread:
        settings = Settings(**({
            "ollama_url": sim.url,
            "breaker_failure_threshold": 3,
            "breaker_reset_timeout": 0.5,
            "connect_timeout": 1.0,
            "read_timeout": 1.0,
            # Written after the response, from the service's thread: it would land in
            # pytest's output between tests. The tests of the access log turn it on.
            "access_log": False,
            # Nothing on disk unless a test asks for a data directory of its own.
            "data_dir": ":memory:",
        } | overrides))
        service = ServiceThread(create_app(settings))
        started.append(service)
        return service

    yield start
    for service in started:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., ServiceThread]) -> ServiceThread:
    return make_service()


@pytest.fixture
def client(service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as http:
        yield http



@pytest.fixture(scope="module")
def prometheus_api() -> Iterator[str]:
    """A real Prometheus with the repository's rules, evaluating every second, no targets."""
    with tempfile.TemporaryDirectory(prefix="ollama-rag-prom-") as tmp:
        workdir = Path(tmp)
        config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
        config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(p) for p in RULE_FILES]
        config["alerting"] = {"alertmanagers": []}
        config["scrape_configs"] = []
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        process = start_prometheus(workdir / "prometheus.yml", workdir, port)
        try:
            yield f"http://127.0.0.1:{port}/api/v1"
        finally:
            process.stop()


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[TraceReceiver]:
    server = TraceReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def traced(make_service: Callable[..., ServiceThread], receiver: TraceReceiver,
           monkeypatch: pytest.MonkeyPatch) -> ServiceThread:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ollama-rag-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    service = make_service(access_log=True)
    assert service.components.tracing.enabled
    return service
