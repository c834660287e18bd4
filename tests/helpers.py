from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import SimulatorThread

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def set_faults(sim: SimulatorThread, **faults: Any) -> None:
    response = httpx.put(f"{sim.url}/_sim/faults", json=faults, timeout=5)
    response.raise_for_status()


def sim_stats(sim: SimulatorThread) -> dict[str, int]:
    """The simulator's counts: requests by ``"<method> <path>"``, ``"cancelled <path>"``..."""
    stats: dict[str, int] = httpx.get(f"{sim.url}/_sim/stats", timeout=5).json()
    return stats


def scrape(base_url: str, **headers: str) -> Samples:
    """Every sample on the service's /metrics, keyed by name and label set."""
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=5)
    response.raise_for_status()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one sample changed between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def ask(client: httpx.Client, question: str, **extra: Any) -> httpx.Response:
    return client.post("/api/query", json={"question": question, **extra})


def pipelined_statuses(base_url: str, requests: list[tuple[str, str]],
                       batch: int = 100) -> list[int]:
    """Send bodiless requests pipelined over one keep-alive connection; return the statuses.

    A plain socket, because an HTTP client library costs more than the server under test
    and 10,000 requests would take minutes.
    """
    host, port = base_url.removeprefix("http://").split(":")
    statuses: list[int] = []
    with socket.create_connection((host, int(port)), timeout=30) as sock, \
            sock.makefile("rb") as stream:
        for start in range(0, len(requests), batch):
            chunk = requests[start:start + batch]
            sock.sendall(b"".join(
                f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                for method, path in chunk))
            for _ in chunk:
                statuses.append(int(stream.readline().split()[1]))
                length = 0
                while (header := stream.readline()) not in (b"\r\n", b""):
                    name, _, raw = header.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(raw)
                stream.read(length)
    return statuses


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll until ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout:.0f}s: {condition}")
        time.sleep(0.05)


def assert_json_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body
