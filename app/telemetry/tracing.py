"""Traces with OpenTelemetry, configured only by the standard ``OTEL_*`` variables.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
is set (and neither ``OTEL_SDK_DISABLED=true`` nor ``OTEL_TRACES_EXPORTER=none`` says
otherwise). Spans go over OTLP/HTTP from a background thread (the SDK's batch processor, tuned
by ``OTEL_BSP_*``); the sampler is ``OTEL_TRACES_SAMPLER``/``_ARG``; the service's name is
``OTEL_SERVICE_NAME``. Off, every hook here returns at once and no span object exists.

Each app has its own tracer provider (no global one), as it has its own registry.

    >>> tracing = Tracing.from_environment(service_version="0.1.0")
    >>> with tracing.span("retrieval") as span: span.set_attribute("ollama_rag.top_k", 4)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.core.errors import ApiError, CircuitOpenError, Overloaded, StoreUnavailable, UpstreamError

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
DEFAULT_SERVICE_NAME = "ollama-rag"
_PROPAGATOR = TraceContextTextMapPropagator()
Attributes = Mapping[str, str | bool | int | float]


class TracingConfigError(ValueError):
    """The ``OTEL_*`` variables ask for something this service cannot do."""


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the environment turns tracing on (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if exporter == "none":
        return False
    wanted = any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)
    if wanted and exporter != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={exporter!r}: this service exports traces over OTLP only "
            "(set it to 'otlp', or to 'none' to turn tracing off)")
    for name in PROTOCOL_VARIABLES:
        protocol = environ.get(name, "").strip()
        if wanted and protocol and protocol != "http/protobuf":
            raise TracingConfigError(
                f"{name}={protocol!r}: this service speaks OTLP over HTTP (http/protobuf) "
                "only; point it at the collector's HTTP port (4318 by default)")
    return wanted


def describe_failure(error: BaseException) -> tuple[str, str]:
    """``(error.type, description)`` of an exception, in the service's own error codes."""
    if isinstance(error, ApiError):
        return error.code, error.detail
    if isinstance(error, UpstreamError):
        return error.code, error.message
    if isinstance(error, CircuitOpenError | Overloaded | StoreUnavailable):
        return error.code, str(error)
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return "cancelled", "the caller went away before the answer"
    return type(error).__qualname__, "unexpected error; see the service's log"


def mark_failed(span: Span, code: str, description: str) -> None:
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, description))


class _NullSpan:
    """What a span hook yields with tracing off: records nothing. Callers set more than one
    attribute only after ``is_recording()``."""

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        pass


class _NullScope:
    """A reusable, stateless context manager: entering it costs a method call."""

    def __enter__(self) -> Any:
        return NULL_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


NULL_SPAN = _NullSpan()
NULL_SCOPE = _NullScope()


class _SpanScope:
    """``span`` current for the block and ended after it: what the SDK's
    ``start_as_current_span`` does, without its two nested generator context managers
    (on every request, with tracing on, they cost more than the span's own bookkeeping)."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span) -> None:
        self._span = span
        self._token: object = None

    def __enter__(self) -> Span:
        self._token = context_api.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: object) -> None:
        try:
            if error is not None:
                mark_failed(self._span, *describe_failure(error))
        finally:
            context_api.detach(self._token)  # type: ignore[arg-type]
            self._span.end()


class Tracing:
    """The app's tracer, or nothing at all when tracing is off."""

    def __init__(self, provider: TracerProvider | None) -> None:
        self.provider = provider
        self.enabled = provider is not None
        self._tracer = provider.get_tracer("ollama_rag") if provider is not None else None

    @classmethod
    def from_environment(cls, service_version: str) -> Tracing:
        """From ``os.environ``, where the SDK also reads its own variables (exporter
        endpoint, sampler, batch processor, resource); raises TracingConfigError."""
        if not tracing_requested(os.environ):
            return cls(None)
        # Imported only when tracing is on: the exporter pulls in protobuf and requests.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        resource = Resource.create({SERVICE_VERSION: service_version}).merge(
            Resource({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME")
                      or DEFAULT_SERVICE_NAME}))
        provider = TracerProvider(resource=resource)  # the sampler: OTEL_TRACES_SAMPLER
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        return cls(provider)

    def shutdown(self) -> None:
        """Export what is still queued, then stop (the batch processor's timeout bounds it)."""
        if self.provider is not None:
            self.provider.shutdown()

    def span(self, name: str, attributes: Attributes | None = None,
             kind: SpanKind = SpanKind.INTERNAL,
             context: Any = None) -> AbstractContextManager[Any]:
        """A child of the current span (or of ``context``), current inside the block; an
        exception leaving the block marks it failed, with the service's error code."""
        if self._tracer is None:
            return NULL_SCOPE
        return _SpanScope(self._tracer.start_span(
            name, context=context, kind=kind, attributes=attributes,
            record_exception=False, set_status_on_exception=False))

    def start_span(self, name: str, attributes: Attributes | None = None,
                   kind: SpanKind = SpanKind.CLIENT) -> Span | None:
        """A child of the current span that the caller ends (it outlives a block: a
        stream's upstream call ends when the stream does); None with tracing off."""
        if self._tracer is None:
            return None
        return self._tracer.start_span(name, kind=kind, attributes=attributes)

    @staticmethod
    def traceparent(span: Span | None) -> dict[str, str]:
        """The W3C ``traceparent`` (and ``tracestate``) headers naming ``span``."""
        headers: dict[str, str] = {}
        if span is not None:
            _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
        return headers

    @staticmethod
    def incoming(headers: Mapping[str, str]) -> Any:
        """The caller's trace context from its ``traceparent`` header, if it sent one."""
        return _PROPAGATOR.extract(headers)

    def exemplar(self, span: Span | None = None) -> dict[str, str] | None:
        """``{"trace_id", "span_id"}`` of ``span`` (default: the current one) when it is
        sampled: the OpenMetrics exemplar that links a histogram bucket to its trace."""
        if not self.enabled:
            return None
        context = (span or trace.get_current_span()).get_span_context()
        if not context.trace_flags.sampled:
            return None
        return {"trace_id": format(context.trace_id, "032x"),
                "span_id": format(context.span_id, "016x")}


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids (hex), for the access log; None outside one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
