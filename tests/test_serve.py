"""Running one instance under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from app.http.drain import Drain
from app.serve import DrainingServer
from loadtest.stack.loop_thread import LoopThread
from tests.helpers import wait_until


class _StartUpObject:
    """An object the lifespan builds, in a reference cycle as a client's internals are."""

    def __init__(self) -> None:
        self.me = self


def test_what_the_service_built_to_start_is_frozen_out_of_the_collectors_way() -> None:
    built: list[_StartUpObject] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        built.append(_StartUpObject())  # as the lifespan opens the store's client
        yield

    config = uvicorn.Config(FastAPI(lifespan=lifespan), host="127.0.0.1", port=0,
                            log_level="warning")
    server = DrainingServer(config, Drain(), timeout=1.0)
    thread = LoopThread()
    task = asyncio.run_coroutine_threadsafe(server.serve(), thread.loop)
    try:
        wait_until(lambda: gc.get_freeze_count() > 0, timeout=10)
        assert server.started
        # Frozen objects are in no generation: the collector's passes never walk them.
        assert not any(obj is built[0] for obj in gc.get_objects())
    finally:
        server.should_exit = True
        task.result(10)
        thread.close()
        gc.unfreeze()  # the rest of the test run collects as usual
