"""Documents and questions the store and ingestion tests share."""

from __future__ import annotations

import httpx

from tests.helpers import ask

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
