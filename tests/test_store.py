"""Documents survive a restart and every replica sees them: the local SQLite store on disk,
and a real Chroma server shared by two services; a store that is down is a 503, a metric and
a readiness failure, not a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from app.core.errors import StoreUnavailable
from app.core.settings import Settings
from app.store.base import Chunk, Document, DocumentChunks, unnamed_source
from app.store.local import IN_MEMORY, LocalStore
from app.store.vector_index import BLOCK_ROWS
from tests.helpers import ask, scrape, value, wait_until
from tests.servers import ChromaServer, ServiceProcess, ServiceThread, SimulatorThread

GUIDE = ("A bulkhead isolates the pools of a service so that one slow dependency cannot take "
         "every connection. Each dependency gets a pool of its own.")
DOCS = {"documents": [{"source": "guides/bulkhead.md", "text": GUIDE}]}
QUESTION = "What does a bulkhead isolate?"


def ingest(url: str, body: dict = DOCS) -> dict:
    response = httpx.post(f"{url}/api/documents", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sources(url: str, question: str = QUESTION) -> set[str]:
    with httpx.Client(base_url=url, timeout=10) as client:
        response = ask(client, question, top_k=20)
    assert response.status_code == 200, response.text
    return {s["source"] for s in response.json()["sources"]}


def embed_calls(sim: SimulatorThread) -> int:
    return int(httpx.get(f"{sim.url}/_sim/stats").json().get("POST /api/embed", 0))


def test_documents_on_disk_survive_a_restart_and_are_ingested_once(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread,
        tmp_path: Path) -> None:
    first = make_service(data_dir=str(tmp_path))
    wait_until(lambda: httpx.get(f"{first.url}/readyz").status_code == 200)
    stored = ingest(first.url)
    assert stored["chunks"] == 1 and stored["unchanged"] == 0
    total = stored["total_chunks"]
    first.close()
    assert (tmp_path / "documents.sqlite3").exists()

    second = make_service(data_dir=str(tmp_path))
    wait_until(lambda: httpx.get(f"{second.url}/readyz").status_code == 200)
    assert "guides/bulkhead.md" in sources(second.url)
    calls = embed_calls(sim)
    again = ingest(second.url)
    assert again == {"documents": 1, "chunks": 0, "unchanged": 1, "total_chunks": total}
    assert embed_calls(sim) == calls  # an unchanged document is not embedded again
    changed = ingest(second.url, {"documents": [{"source": "guides/bulkhead.md",
                                                 "text": GUIDE + " Size each pool."}]})
    assert changed["chunks"] == 1 and changed["total_chunks"] == total  # replaced, not added
    assert value(scrape(second.url), "ollama_rag_document_chunks") == total


def test_a_data_directory_has_one_owner(make_service: Callable[..., ServiceThread],
                                        tmp_path: Path) -> None:
    make_service(data_dir=str(tmp_path))
    with pytest.raises(StoreUnavailable, match=r"in use by another process.*STORE_URL"):
        asyncio.run(LocalStore(str(tmp_path)).open())


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    yield server
    server.stop()


def test_replicas_share_one_chroma_and_keep_it_across_restarts(
        make_service: Callable[..., ServiceThread], sim: SimulatorThread,
        chroma: ChromaServer) -> None:
    settings = {"store_url": chroma.url, "store_collection": "replicas_test"}
    one, two = make_service(**settings), make_service(**settings)
    for service in (one, two):
        wait_until(lambda s=service: httpx.get(f"{s.url}/readyz").status_code == 200, 20)
    stored = ingest(one.url)
    assert stored["chunks"] == 1
    assert "guides/bulkhead.md" in sources(two.url)  # ingested through the other replica
    assert ingest(two.url)["unchanged"] == 1  # no duplicate from the second replica
    one.close()
    two.close()
    chroma.stop()
    chroma.start()  # the engine restarted too: its volume keeps the collection
    three = make_service(**settings)
    wait_until(lambda: httpx.get(f"{three.url}/readyz").status_code == 200, 20)
    assert "guides/bulkhead.md" in sources(three.url)
    assert ingest(three.url)["total_chunks"] == stored["total_chunks"]
    samples = scrape(three.url)
    assert value(samples, "ollama_rag_store_up", engine="chroma") == 1


def test_a_store_that_is_down_is_a_503_a_metric_and_not_ready(
        make_service: Callable[..., ServiceThread], chroma: ChromaServer) -> None:
    service = make_service(store_url=chroma.url, store_collection="down_test",
                           store_timeout=2, store_check_interval=0.2)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, 20)
        chroma.stop()
        response = ask(client, "A question that needs retrieval while the store is down")
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "store_unavailable"
        assert response.headers["Retry-After"] == "5"
        ingested = client.post("/api/documents", json=DOCS)
        assert ingested.status_code == 503 and ingested.json()["error"] == "store_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"] == "store_unavailable"
        samples = scrape(service.url)
        assert value(samples, "ollama_rag_store_up", engine="chroma") == 0
        assert value(samples, "ollama_rag_store_errors_total", engine="chroma",
                     operation="search") >= 1
        chroma.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, 20)
        assert ask(client, "A question once the store is back").status_code == 200


def test_a_store_address_that_is_not_a_url_is_refused_at_start() -> None:
    for wrong in ("chroma:8000", "http://", "ftp://chroma:8000", "http://chroma:8000/x"):
        with pytest.raises(ValidationError, match="store_url"):
            Settings(store_url=wrong)
    assert Settings(store_url="http://chroma:8000").store_url == "http://chroma:8000"


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


def test_reingested_documents_keep_the_index_at_their_size() -> None:
    """New chunk ids for the same live chunks reuse their slots: the index never grows past
    the live count (rounded up to a block of rows)."""
    store = LocalStore(IN_MEMORY)
    rows = np.random.default_rng(0).standard_normal((500, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)

    async def rounds() -> tuple[int, int]:
        await store.open()
        for version in range(30):
            documents = [DocumentChunks(Document(f"doc-{d}", f"version {version}"),
                                        [Chunk(f"doc-{d}", c, f"chunk {c}") for c in range(10)],
                                        rows[d * 10:(d + 1) * 10])
                         for d in range(50)]
            await store.replace(documents)
        count = await store.count()
        assert store._index is not None
        slots = store._index.slots
        await store.close()
        return count, slots

    count, slots = asyncio.run(rounds())
    assert count == 500 and slots == BLOCK_ROWS


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
