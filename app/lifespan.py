"""What runs beside the requests for the app's life: indexing the built-in corpus until
Ollama has answered, probing the upstream while the breaker is half-open, and checking that
Ollama answers at all; at the end, the upstream client is closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from fastapi import FastAPI

from app.components import Components
from app.prober import check_upstream_forever, probe_while_half_open
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
        settings = parts.settings
        tasks = [asyncio.create_task(load_corpus_until_done(parts.rag)),
                 asyncio.create_task(probe_while_half_open(parts.client)),
                 asyncio.create_task(check_upstream_forever(
                     parts.client, settings.health_check_interval,
                     settings.health_check_timeout))]
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
