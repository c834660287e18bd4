"""The local store: documents on disk survive a restart, a data directory has one owner,
and re-ingested documents keep the index at their size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.core.errors import StoreUnavailable
from app.store.base import Chunk, Document, DocumentChunks
from app.store.local import IN_MEMORY, LocalStore
from app.store.vector_index import BLOCK_ROWS
from app.store.vectors import unit_rows
from tests.documents import GUIDE, ingest, sources
from tests.helpers import scrape, value, wait_until
from tests.servers import ServiceThread, SimulatorThread


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


def test_reingested_documents_keep_the_index_at_their_size() -> None:
    """New chunk ids for the same live chunks reuse their slots: the index never grows past
    the live count (rounded up to a block of rows)."""
    store = LocalStore(IN_MEMORY)
    rows = unit_rows(np.random.default_rng(0).standard_normal((500, 384)))

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
