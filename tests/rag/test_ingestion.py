"""Ingestion: nothing a client sends is lost or overwritten, and re-ingesting keeps memory flat."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.store.base import unnamed_source
from tests.helpers import ask, scrape, value
from tests.servers import ServiceProcess, SimulatorThread


def test_documents_without_a_source_are_kept_by_their_content(client: httpx.Client) -> None:
    """Each unnamed document is one of its own, named by its text: a second request of
    unnamed documents adds to the first instead of replacing it."""
    texts = [f"Unnamed note {i}: the {word} pattern keeps a service up when a dependency "
             "fails." for i, word in enumerate(("bulkhead", "retry", "timeout", "fallback"))]
    before = client.post("/api/documents", json={"documents": [{"text": "x" * 10}]}).json()
    first = client.post("/api/documents", json={"documents": [{"text": t} for t in texts[:2]]})
    second = client.post("/api/documents", json={"documents": [{"text": t} for t in texts[2:]]})
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["chunks"] == second.json()["chunks"] == 2
    assert second.json()["total_chunks"] == before["total_chunks"] + 4  # nothing replaced
    again = client.post("/api/documents", json={"documents": [{"text": texts[0]}]}).json()
    assert again["unchanged"] == 1 and again["total_chunks"] == before["total_chunks"] + 4
    answer = ask(client, texts[3], top_k=20).json()
    named = {s["source"] for s in answer["sources"]}
    assert unnamed_source(texts[3]) in named and unnamed_source(texts[0]) in named


def test_a_source_named_twice_with_two_texts_is_refused(client: httpx.Client) -> None:
    body = {"documents": [{"source": "a.md", "text": "one"}, {"source": "b.md", "text": "two"},
                          {"source": "a.md", "text": "three"}]}
    before = client.post("/api/documents", json={"documents": [{"text": "y" * 10}]}).json()
    refused = client.post("/api/documents", json=body)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_request"
    assert "documents[2] has the source 'a.md'" in refused.text
    after = client.post("/api/documents", json={"documents": [{"text": "y" * 10}]}).json()
    assert after["total_chunks"] == before["total_chunks"]  # nothing of it was stored
    same = {"documents": [{"source": "a.md", "text": "one"}, {"source": "a.md", "text": "one"}]}
    assert client.post("/api/documents", json=same).json()["chunks"] == 1


def _resident_mib(url: str) -> float:
    return value(scrape(url), "process_resident_memory_bytes") / 2**20


def test_reingestion_keeps_the_services_memory_flat(sim: SimulatorThread,
                                                    tmp_path: Path) -> None:
    """The service's own process (SQLite on disk, as deployed), 500 live chunks re-ingested
    60 times with new texts: its resident memory stays where the first rounds took it.
    Before chunk ids were mapped to reused slots, these rounds grew it by about 40 MiB."""
    service = ServiceProcess(sim.url, tmp_path / "service.log", ACCESS_LOG="false",
                             DATA_DIR=str(tmp_path / "data"), CHUNK_CHARS="100",
                             CHUNK_OVERLAP_CHARS="0")
    url = service.url
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            def ingest_round(version: int) -> int:
                body = {"documents": [{"source": f"doc-{d}", "text": " ".join(
                    f"v{version:03d} d{d:02d} c{c:02d} " + "w" * 84 for c in range(20))}
                    for d in range(25)]}
                response = client.post("/api/documents", json=body)
                assert response.status_code == 200, response.text
                return response.json()["total_chunks"]

            totals = [ingest_round(version) for version in range(10)]
            settled = _resident_mib(url)
            totals += [ingest_round(version) for version in range(10, 60)]
            grown = _resident_mib(url) - settled
        assert set(totals) == {totals[0]} and totals[0] >= 500
        assert grown < 16, f"resident memory grew by {grown:.1f} MiB over 50 re-ingestions"
    finally:
        service.close()
