"""Probes the upstream while the breaker is half-open and no caller is doing so.

Without it a breaker that opened during an outage stays open (or half-open) until a user
request arrives to be the probe: an idle service would report an open breaker forever, and
the first user after the outage would pay for the probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.breaker import State
from app.errors import CircuitOpenError, UpstreamError
from app.ollama_client import OllamaClient

log = logging.getLogger("app")


def probe_interval(reset_timeout: float) -> float:
    """Often enough to notice the end of the reset timeout, never busier than 10 Hz."""
    return min(1.0, max(0.1, reset_timeout / 4))


async def probe_while_half_open(client: OllamaClient) -> None:
    """Run until cancelled."""
    breaker = client.breaker
    interval = probe_interval(breaker.config.reset_timeout)
    while True:
        await asyncio.sleep(interval)
        if breaker.state is not State.HALF_OPEN:  # reading the state also advances it
            continue
        with contextlib.suppress(CircuitOpenError):  # a caller holds every probe slot
            try:
                await client.probe()
            except UpstreamError as exc:
                log.info("breaker probe failed: %s", exc)
