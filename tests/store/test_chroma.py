"""A real Chroma server shared by two services."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.documents import ingest, sources
from tests.helpers import scrape, value, wait_until
from tests.servers import ChromaServer, ServiceThread, SimulatorThread


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
