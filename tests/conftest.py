from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.api import create_app
from app.settings import Settings
from tests.servers import ServiceThread, SimulatorThread


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

