"""Two background loops that talk to Ollama without a caller.

The half-open prober probes the upstream while the breaker is half-open and no caller is
doing so. Without it a breaker that opened during an outage stays open (or half-open) until a
user request arrives to be the probe: an idle service would report an open breaker forever,
and the first user after the outage would pay for the probe.

The health check asks Ollama for its version every interval, whatever the traffic and
outside the breaker, so that Ollama dying in a quiet hour is seen before the first user; and
for its models, so that a model never pulled is named before the first question.

The store check does the same for the document store (``store_up``, ``document_chunks``:
with a shared store, other replicas' ingestions show here too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.core.errors import CircuitOpenError, StoreUnavailable, UpstreamError
from app.store.base import DocumentStore
from app.telemetry.logs import FIELDS
from app.telemetry.metrics import Metrics
from app.upstream.breaker import State
from app.upstream.client import OllamaClient

log = logging.getLogger(__name__)


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
                log.info("breaker probe failed: %s", exc,
                         extra={FIELDS: {"error": exc.code, "breaker": State.HALF_OPEN}})


async def check_upstream_forever(client: OllamaClient, interval: float, timeout: float) -> None:
    """Run until cancelled; the first check is immediate."""
    while True:
        if not await client.health_check(timeout):
            log.warning("Ollama health check failed: %s", client.last_check_error)
        await asyncio.sleep(interval)


async def check_store_forever(store: DocumentStore, metrics: Metrics, interval: float) -> None:
    """Run until cancelled; the first check is immediate."""
    while True:
        try:
            metrics.document_chunks.set(await store.count())
        except StoreUnavailable as exc:
            log.warning("document store check failed: %s", exc)
        await asyncio.sleep(interval)
