"""Shutting down without losing an answer. On SIGTERM (``app/serve.py``) the service drains:
``/readyz`` answers 503 at once so that load balancers stop sending, new work is refused with
a clear 503, and the requests in flight, streams included, get up to the drain timeout to
finish. Only then does uvicorn's own shutdown close the upstream client.

    >>> drain = Drain(); drain.begin()
    >>> finished = await drain.wait(25.0)
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response

from app.core.labels import OPERATIONAL_ROUTES
from app.http.error_handlers import error_response

# Polled by machines (Prometheus, load balancers), not asked by users: served while draining
# (their view of the shutdown), and never traced (app/http/request_telemetry.py).
OPERATIONAL_PATHS = frozenset(OPERATIONAL_ROUTES)
SHUTTING_DOWN = "shutting_down"


class Drain:
    """The requests in flight, and whether new ones are still taken."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.draining = True

    async def wait(self, timeout: float) -> bool:
        """Until no request is in flight (True) or ``timeout`` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()


def shutting_down() -> Response:
    """The answer to new work while draining: 503, Retry-After, ``Connection: close`` so
    that the client reconnects, through the load balancer, to an instance that stays."""
    return error_response(503, SHUTTING_DOWN, "this instance is shutting down; retry, another "
                          "one will answer", headers={"connection": "close"},
                          retry_after_seconds=1)
