"""What runs beside the requests for the app's life: indexing the built-in corpus until
Ollama has answered, probing the upstream while the breaker is half-open, checking that
Ollama answers at all, and measuring the event loop's lag; at the end, the upstream client is
closed and the spans still queued are exported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from fastapi import FastAPI

from app.components import Components
from app.prober import check_upstream_forever, probe_while_half_open
from app.rag import RagService
from app.runtime_metrics import measure_loop_lag

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
        if parts.metrics.enabled:
            tasks.append(asyncio.create_task(
                measure_loop_lag(parts.metrics, settings.loop_lag_interval)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await parts.client.aclose()
            await asyncio.to_thread(parts.tracing.shutdown)

    return lifespan
