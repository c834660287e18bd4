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
from app.core.errors import StoreUnavailable
from app.core.labels import StoreEngine
from app.prober import check_store_forever, check_upstream_forever, probe_while_half_open
from app.rag.pipeline import RagService
from app.telemetry.runtime import measure_loop_lag

log = logging.getLogger(__name__)

CORPUS_RETRY_SECONDS = 2.0


async def load_corpus_until_done(rag: RagService) -> None:
    while not rag.ready:
        try:
            await rag.ensure_corpus()
        except Exception as exc:
            log.warning("built-in corpus not indexed yet (%s); retrying", exc)
            await asyncio.sleep(CORPUS_RETRY_SECONDS)


async def open_store(parts: Components) -> None:
    """A local store that cannot open stops the start (its message says why: a data
    directory in use, a disk error); a Chroma server that is down is retried by every call,
    and reported meanwhile (store_up 0, 503 store_unavailable)."""
    try:
        await parts.store.open()
    except StoreUnavailable as exc:
        if parts.store.engine is StoreEngine.SQLITE:
            raise
        log.warning("document store not reachable yet (%s); retrying on each call", exc)


def lifespan_of(parts: Components) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings = parts.settings
        await open_store(parts)
        tasks = [asyncio.create_task(check_store_forever(parts.store, parts.metrics,
                                                         settings.store_check_interval)),
                 asyncio.create_task(load_corpus_until_done(parts.rag)),
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
            await parts.store.close()
            await asyncio.to_thread(parts.tracing.shutdown)

    return lifespan
