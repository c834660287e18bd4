"""The simulator on its own event loop in a daemon thread, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

from loadtest.sim.server import UpstreamSimulator
from loadtest.stack.loop_thread import LoopThread


class BackgroundSimulator(LoopThread):
    """A simulated Ollama that synchronous code can start, reach and stop.

    >>> sim = BackgroundSimulator()  # listening on sim.url
    >>> sim.close()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 faults: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.sim = UpstreamSimulator()
        self.sim.faults.update(faults or {})
        self.run(self.sim.start(host, port))
        self.url = f"http://{host}:{self.sim.port}"

    def close(self) -> None:
        self.run(self.sim.stop())
        super().close()
