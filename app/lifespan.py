"""What runs beside the requests for the app's life: indexing the built-in corpus until
Ollama has answered, and probing the upstream while the breaker is half-open; at the end,
the upstream client is closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from fastapi import FastAPI

from app.components import Components
from app.prober import probe_while_half_open
from app.rag import RagService

log = logging.getLogger("app")

CORPUS_RETRY_SECONDS = 2.0


async def load_corpus_until_done(rag: RagService) -> None:
    while not rag.ready:
        try:
            await rag.ensure_corpus()
        except Exception as exc:
            log.warning("built-in corpus not indexed yet (%s); retrying", exc)
            await asyncio.sleep(CORPUS_RETRY_SECONDS)


def lifespan_of(parts: Components) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(load_corpus_until_done(parts.rag)),
                 asyncio.create_task(probe_while_half_open(parts.client))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await parts.client.aclose()

    return lifespan
