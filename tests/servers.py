"""Real servers on loopback for the tests: the service under uvicorn and the simulator,
each on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from app.components import Components
from app.telemetry.logs import logging_config
from loadtest.sim.faults import FAST_MODEL
from loadtest.stack.in_process import BackgroundSimulator
from loadtest.stack.loop_thread import LoopThread
from loadtest.stack.processes import ManagedProcess, free_port, start_chroma
from tests import ROOT


class SimulatorThread(BackgroundSimulator):
    """The simulator for a test, paced as a fast model unless told otherwise: the tests
    need answers in milliseconds (``test_simulator`` checks the realistic pace)."""

    def __init__(self, faults: dict[str, Any] | None = None) -> None:
        super().__init__(faults=FAST_MODEL | (faults or {}))


class ServiceThread:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.components: Components = app.state.components
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on", log_config=logging_config("warning"))
        self.server = uvicorn.Server(config)
        self._thread = LoopThread()
        self._task = asyncio.run_coroutine_threadsafe(self.server.serve(), self._thread.loop)
        for _ in range(500):
            if self.server.started or self._task.done():
                break
            threading.Event().wait(0.01)
        if not self.server.started:
            self._task.result(1)  # raises the start-up error, if any
            raise RuntimeError("the service did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine on the service's own loop (for its breaker, cache...)."""
        return self._thread.run(coro, timeout)

    def close(self) -> None:
        """Stop the service (again: a no-op)."""
        if self._thread.loop.is_closed():
            return
        self.server.should_exit = True
        self._task.result(15)
        self._thread.close()


class ChromaServer:
    """A real Chroma server (``chroma run``) on a free loopback port, its data under
    ``path``; ``stop``/``start`` restart it on the same port and data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ManagedProcess | None = None
        self.start()

    def start(self) -> None:
        self.process = start_chroma(self.path, self.path.parent / "chroma.log", self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=20)
        self.process = None


class ServiceProcess:
    """The service as deployed: ``python -m app`` in a process of its own (its memory and
    signals its own), pointed at ``ollama_url``, ready when constructed; output in ``log``.

        >>> service = ServiceProcess(sim.url, tmp_path / "service.log", ACCESS_LOG="false")
        >>> httpx.get(f"{service.url}/readyz")
    """

    def __init__(self, ollama_url: str, log: Path, **settings: str) -> None:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OLLAMA_RAG_OLLAMA_URL": ollama_url,
               **{f"OLLAMA_RAG_{name}": value for name, value in settings.items()}}
        self.log = log
        self._output = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)],
                                        env=env, stdout=self._output,
                                        stderr=subprocess.STDOUT, cwd=ROOT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the service did not become ready: see {log}")
            time.sleep(0.05)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self._output.close()
