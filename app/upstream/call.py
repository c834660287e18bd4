"""The bookkeeping of one call to Ollama: its client span, its admission slot, its breaker
permit, the in-flight gauge and its duration, and how it ended (succeeded, failed, or
abandoned by a caller who went away).

    >>> call = await UpstreamCall.start(client, UpstreamOperation.CHAT, "llama3.2")
    >>> with call.recording_failures(): ...; call.succeed(latency, busy)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
from opentelemetry.trace import Span

from app.core.errors import UpstreamError
from app.core.labels import CLIENT_NAME, AdmissionLaneName, ShedReason, UpstreamOperation
from app.core.labels import UpstreamOutcome as Outcome
from app.telemetry.metrics import Metrics
from app.telemetry.tracing import Tracing, describe_failure, mark_failed
from app.upstream.admission import UNLIMITED, Admission, Slot
from app.upstream.answers import GEN_AI_OPERATIONS, classify_transport_error
from app.upstream.breaker import CircuitBreaker, Permit


class Caller(Protocol):
    """What a call needs of the client making it (``app/upstream/client.py``)."""

    metrics: Metrics
    tracing: Tracing
    breaker: CircuitBreaker
    admission: Admission

    def span_attributes(self, operation: UpstreamOperation, model: str) -> dict[str, Any]: ...

# The admission lane of each call a request waits on; the probe goes unadmitted (it is one
# call, made while no other gets through).
LANES = {UpstreamOperation.CHAT: AdmissionLaneName.CHAT,
         UpstreamOperation.CHAT_STREAM: AdmissionLaneName.CHAT,
         UpstreamOperation.EMBED: AdmissionLaneName.EMBED}
# Outcomes that tell admission control Ollama is overloaded.
DROPS = (Outcome.TIMEOUT, Outcome.POOL_TIMEOUT, Outcome.OLLAMA_BUSY)
# How a caller that went away shows up in its call: the request's task is cancelled, or the
# stream's generator closed.
CANCELLATIONS = (asyncio.CancelledError, GeneratorExit)



class UpstreamCall:
    """Bookkeeping of one upstream call: its span, admission slot, breaker permit, in-flight
    gauge and duration. The span starts before admission and the breaker are asked, so that
    a refusal is traced. Start it with ``await UpstreamCall.start(...)``."""

    def __init__(self, client: Caller, operation: UpstreamOperation, model: str) -> None:
        self._metrics = client.metrics
        self._operation = operation
        self._tracing = client.tracing
        self.span: Span | None = None
        # Not the probe: no request waits on it.
        if client.tracing.enabled and operation in GEN_AI_OPERATIONS:
            self.span = client.tracing.start_span(f"{GEN_AI_OPERATIONS[operation]} {model}",
                                                  client.span_attributes(operation, model))
        self._slot = UNLIMITED
        self._charge: Slot | None = None  # the slot of the work this call is part of
        self._permit: Permit  # set by start()
        self._finished = False
        self.started = 0.0

    @classmethod
    async def start(cls, client: Caller, operation: UpstreamOperation, model: str,
                    slot: Slot | None = None, part_of: Slot | None = None) -> UpstreamCall:
        """Admitted (or on the ``slot`` admitted for it beforehand, or as ``part_of`` the
        work of another slot, which hears Ollama's time on it), then let through by the
        breaker; raises ``Overloaded`` or ``CircuitOpenError`` (the span records either)."""
        call = cls(client, operation, model)
        call._charge = part_of
        try:
            lane = LANES.get(operation)
            if slot is not None:
                call._slot = slot
            elif lane is not None and part_of is None:
                call._slot = await client.admission.admit(lane)
                if call.span is not None and call._slot.waited:
                    call.span.set_attribute("ollama_rag.admission.queue_wait_seconds",
                                            round(call._slot.waited, 6))
            call._permit = client.breaker.acquire()  # raises CircuitOpenError
        except BaseException as error:
            call._slot.release()
            if call.span is not None:
                mark_failed(call.span, *describe_failure(error))
                call.span.end()
            raise
        call.started = time.perf_counter()
        call._metrics.pool_requests.labels(CLIENT_NAME).inc()
        call._metrics.upstream_in_flight.labels(CLIENT_NAME).inc()
        return call

    @property
    def headers(self) -> dict[str, str]:
        """``traceparent`` for Ollama: its side of the call joins our trace."""
        return self._tracing.traceparent(self.span)

    def note(self, attributes: dict[str, Any]) -> None:
        if self.span is not None:
            self.span.set_attributes(attributes)

    def exemplar(self) -> dict[str, str] | None:
        return self._tracing.exemplar(self.span) if self.span is not None else None

    @contextmanager
    def recording_failures(self) -> Iterator[None]:
        """Whatever the block raises is classified as an upstream failure, recorded and
        raised; a cancellation (or a caller that went away) gives the permit back."""
        try:
            yield
        except httpx.HTTPError as exc:
            error = classify_transport_error(exc)
            self.fail(error)
            raise error from exc
        except UpstreamError as error:
            self.fail(error)
            raise
        except BaseException as error:
            self.abandon(error)
            raise

    def succeed(self, latency: float | None = None, busy: float = 0.0) -> None:
        """``latency``: how long Ollama took to start answering, the whole call's duration
        by default; ``busy``: the time Ollama reported working on it until then. Admission
        control hears the latency from the slot's admission: a question's chat admission
        also covers its embedding."""
        seconds = self._finish(Outcome.SUCCESS)
        waited = self.started - self._slot.admitted_at
        self._slot.succeed(waited + (seconds if latency is None else latency), busy)
        if self._charge is not None:
            self._charge.note_busy(busy)
        self._permit.success()

    def fail(self, error: UpstreamError) -> None:
        self._finish(error.outcome, error)
        lane = LANES.get(self._operation)
        if error.outcome is Outcome.OLLAMA_BUSY and lane is not None:
            self._metrics.admission_shed.labels(lane, ShedReason.OLLAMA_BUSY).inc()
        self._slot.fail(dropped=error.outcome in DROPS)
        if error.breaker_failure is None:
            self._permit.release()
        elif error.breaker_failure:
            self._permit.failure()
        else:
            self._permit.success()

    def abandon(self, error: BaseException | None = None) -> None:
        """The caller went away before the outcome was known (``error`` None: it closed
        the stream): the call to Ollama is closed, and counted as cancelled."""
        if not self._finished and (error is None or isinstance(error, CANCELLATIONS)):
            self._metrics.upstream_cancelled.labels(self._operation).inc()
        self._finish(None, error or asyncio.CancelledError())
        self._slot.release()
        self._permit.release()

    def _finish(self, outcome: Outcome | None, error: BaseException | None = None) -> float:
        """Records the end once; returns the call's duration."""
        seconds = time.perf_counter() - self.started
        if self._finished:
            return seconds
        self._finished = True
        self._metrics.upstream_in_flight.labels(CLIENT_NAME).dec()
        if outcome is not None:
            self._metrics.upstream_duration.labels(self._operation, outcome).observe(
                seconds, self.exemplar())
        if self.span is not None:
            if error is not None:
                mark_failed(self.span, *describe_failure(error))
            self.span.end()
        return seconds
