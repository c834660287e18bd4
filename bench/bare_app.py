"""A bare FastAPI endpoint that does comparable work to the service's exact hit: it parses
the same JSON body with a pydantic model and returns the same small JSON; the baseline the
service's request path is compared with. ``python -m bench.bare_app --port P``."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

CACHED_ANSWER: dict[str, Any] = {
    "answer": "An answer.", "sources": [], "cache": {"result": "exact", "similarity": 1.0},
    "model": "llama3.2", "timings_ms": {"cache_lookup": 0.01, "total": 0.02},
}


class Question(BaseModel):
    question: str
    top_k: int | None = None
    stream: bool = False


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/query")
    async def query(body: Question) -> dict[str, Any]:
        return CACHED_ANSWER

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same server as the service's (uvicorn's defaults: uvloop and httptools).
    uvicorn.run(create_bare_app(), host="127.0.0.1", port=args.port, log_level="warning")
