"""A bare FastAPI endpoint returning the same JSON as a cached answer: the baseline that the
service's exact-hit path is compared with. ``python -m bench.bare_app --port P``."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI

CACHED_ANSWER: dict[str, Any] = {
    "answer": "An answer.", "sources": [], "cache": {"result": "exact", "similarity": 1.0},
    "model": "llama3.2", "timings_ms": {"cache_lookup": 0.01, "total": 0.02},
}


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/query")
    async def query(body: dict[str, Any]) -> dict[str, Any]:
        return CACHED_ANSWER

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_bare_app(), host="127.0.0.1", port=args.port, log_level="warning")
