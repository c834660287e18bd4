"""The collectors of one app, built from the catalog."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from app.core.catalog import Catalog
from app.telemetry.metrics import Metrics
from tests import ROOT
from tests.helpers import ask, wait_until
from tests.servers import ServiceThread

QUESTION = "What does a circuit breaker do when it is half-open?"


def test_metrics_can_be_switched_off_for_the_benchmark(
        make_service: Callable[..., ServiceThread]) -> None:
    service = make_service(metrics_enabled=False)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200)
        assert ask(client, QUESTION).status_code == 200
        assert ask(client, QUESTION).json()["cache"]["result"] == "exact"
        response = client.get("/metrics")
    assert response.status_code == 404 and "disabled" in response.json()["detail"]
    assert service.components.registry.get_sample_value(
        "ollama_rag_semcache_misses_total") is None


def test_two_apps_have_separate_registries() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    a = Metrics(first, chat_model="m", embed_model="e", version="1")
    Metrics(second, chat_model="m", embed_model="e", version="1")
    a.cache_misses.inc()
    assert first.get_sample_value("ollama_rag_semcache_misses_total") == 1
    assert second.get_sample_value("ollama_rag_semcache_misses_total") == 0
    assert b"ollama_rag_build_info" in generate_latest(first)


def test_a_type_checker_knows_each_metrics_kind(tmp_path: Path) -> None:
    """Each catalog entry, read on a ``Metrics``, is typed as its kind's collector: the one
    declaration gives the registry its names and its types (mypy's ``reveal_type``)."""
    attributes = list(Catalog.declared())
    probe = tmp_path / "probe.py"
    probe.write_text("from app.telemetry.metrics import Metrics\n\n"
                     "def probe(metrics: Metrics) -> None:\n"
                     + "".join(f"    reveal_type(metrics.{name})\n" for name in attributes))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
         "--ignore-missing-imports", str(probe)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    revealed = re.findall(r'Revealed type is "prometheus_client\.metrics\.(\w+)"', result.stdout)
    expected = [type(getattr(Catalog, name)).__name__.removesuffix("Spec")
                for name in attributes]
    assert revealed == expected, result.stdout + result.stderr
