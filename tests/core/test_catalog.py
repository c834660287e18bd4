"""The metric catalog is the contract: the exposition and the original design agree with it,
and promtool finds nothing to say about the exposition."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.core.catalog import CATALOG, CONTRACT_METRICS
from tests import ROOT
from tests.helpers import ask
from tests.servers import ServiceThread

ORIGINAL_DESIGN = ROOT / "docs" / "original-design.md"

# The original design's contract: names and label names (from its example output and its
# metric list).
CONTRACT = {
    "ollama_rag_circuit_breaker_state": ("breaker_name",),
    "ollama_rag_circuit_breaker_calls_total": ("breaker_name", "status"),
    "ollama_rag_circuit_breaker_transitions_total": ("breaker_name", "from_state", "to_state"),
    "ollama_rag_circuit_breaker_consecutive_failures": ("breaker_name",),
    "ollama_rag_circuit_breaker_last_state_change_timestamp": ("breaker_name",),
    "ollama_rag_connection_pool_requests_total": ("client_name",),
    "ollama_rag_connection_pool_size": ("client_name", "pool_type"),
    "ollama_rag_semcache_hits_total": ("type",),
    "ollama_rag_semcache_misses_total": (),
    "ollama_rag_semcache_size": (),
    "ollama_rag_semcache_fill_ratio": (),
}


def test_the_original_design_contract_is_in_the_catalog() -> None:
    assert {s.full_name: s.labels for s in CONTRACT_METRICS} == CONTRACT


def test_the_original_design_names_the_same_eleven_metrics() -> None:
    text = ORIGINAL_DESIGN.read_text()
    for name in CONTRACT:
        short = name.removeprefix("ollama_rag_")
        assert f"`{short}`" in text, short


def test_names_are_unique_and_namespaced() -> None:
    names = [s.full_name for s in CATALOG]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"ollama_rag_[a-z0-9_]+", s.full_name) for s in CATALOG
               if not s.standard)
    # The standard collectors' names are every Python exporter's.
    assert all(re.fullmatch(r"(process|python)_[a-z_]+", s.full_name) for s in CATALOG
               if s.standard)


def _exposed(text: str) -> dict[str, set[str]]:
    """Family name -> label names seen (histogram buckets' ``le`` left out)."""
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        labels = families.setdefault(family.name, set())
        for sample in family.samples:
            labels |= set(sample.labels) - {"le"}
    return families


def test_every_catalog_metric_is_exposed_with_its_labels(service: ServiceThread) -> None:
    with httpx.Client(base_url=service.url, timeout=10) as client:
        ask(client, "What is a semantic cache?", stream=True)
        ask(client, "What is a semantic cache?")
        text = client.get("/metrics").text
    exposed = _exposed(text)
    for spec in CATALOG:
        family = spec.full_name
        if spec.kind == "counter":
            family = family.removesuffix("_total")
        assert family in exposed, f"{spec.full_name} is not exposed"
        if spec.kind != "info":
            assert exposed[family] == set(spec.labels), spec.full_name
    catalog_families = {s.full_name.removesuffix("_total") for s in CATALOG}
    assert set(exposed) - catalog_families == set(), "exposed but not in the catalog"


def test_promtool_check_metrics_is_clean(service: ServiceThread) -> None:
    promtool = shutil.which("promtool")
    assert promtool, ("promtool is missing: install Debian's 'prometheus' package "
                      "(apt-get install prometheus), as `make test` does when run as root")
    with httpx.Client(base_url=service.url, timeout=10) as client:
        ask(client, "How does a breaker recover?", stream=True)
        ask(client, "How does a breaker recover?")
        text = client.get("/metrics").text
    result = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                            capture_output=True, timeout=30)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr)
