"""Runtime metrics: the memory limit, the process collectors and the event loop's lag."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from app.telemetry.metrics import Metrics
from app.telemetry.runtime import measure_loop_lag, memory_limit_bytes
from tests.helpers import scrape, value, wait_until
from tests.servers import ServiceThread

MEMINFO = "MemTotal:       24682512 kB\nMemFree:         1000 kB\n"


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "meminfo").write_text(MEMINFO)
    return root


@pytest.mark.parametrize(("files", "expected"), [
    ({"memory.max": "536870912\n"}, 536870912),  # cgroup v2, a container's limit
    ({"memory.max": "max\n"}, 24682512 * 1024),  # v2 without a limit: the machine's
    ({"memory/memory.limit_in_bytes": "1073741824\n"}, 1073741824),  # cgroup v1
    ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 24682512 * 1024),
    ({}, 24682512 * 1024),  # no cgroup file at all
    ({"memory.max": "99999999999999\n"}, 24682512 * 1024),  # above the machine's memory
])
def test_the_memory_limit_is_the_cgroups_or_the_machines(
        tmp_path: Path, files: dict[str, str], expected: int) -> None:
    assert memory_limit_bytes(cgroup(tmp_path, files), tmp_path / "meminfo") == expected


def test_no_readable_limit_is_none(tmp_path: Path) -> None:
    assert memory_limit_bytes(tmp_path / "none", tmp_path / "none") is None


def test_the_service_exposes_its_runtime(service: ServiceThread) -> None:
    samples = scrape(service.url)
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "process_open_fds") > 0
    assert value(samples, "ollama_rag_memory_limit_bytes") >= value(
        samples, "process_resident_memory_bytes")
    assert any(name == "python_info" for name, _ in samples)


def test_a_blocked_event_loop_shows_as_lag(service: ServiceThread) -> None:
    def late_ticks() -> float:
        return value(scrape(service.url), "ollama_rag_event_loop_lag_seconds_bucket",
                     le="+Inf") - value(scrape(service.url),
                                        "ollama_rag_event_loop_lag_seconds_bucket", le="0.1")

    wait_until(lambda: value(scrape(service.url), "ollama_rag_event_loop_lag_seconds_count")
               >= 3, 10)
    before = late_ticks()

    async def block() -> None:
        time.sleep(0.4)  # what a long computation on the loop does to every request

    service.run(block())
    wait_until(lambda: late_ticks() >= before + 1, 5)
    with httpx.Client(base_url=service.url) as client:
        assert client.get("/healthz").status_code == 200


def test_the_lag_ticker_measures_how_late_it_wakes() -> None:
    """measure_loop_lag on a loop of its own: a 0.3 s block is seen once, late by more
    than 0.1 s."""
    registry = CollectorRegistry()
    metrics = Metrics(registry, chat_model="m", embed_model="e", version="1")

    async def run() -> None:
        task = asyncio.create_task(measure_loop_lag(metrics, 0.05))
        await asyncio.sleep(0.12)
        time.sleep(0.3)
        await asyncio.sleep(0.12)
        task.cancel()

    asyncio.run(run())
    late = registry.get_sample_value("ollama_rag_event_loop_lag_seconds_bucket",
                                     {"le": "+Inf"}) - registry.get_sample_value(
        "ollama_rag_event_loop_lag_seconds_bucket", {"le": "0.1"})
    assert late == 1
