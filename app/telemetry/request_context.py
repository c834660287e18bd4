"""What the pipeline learns about the request being served, for its access log line and
its server span: the cache's answer and the error the client was given.

The request middleware opens a record per request; code deeper in (the RAG pipeline, the
error handlers) notes on it without being handed it. Outside a request, notes go nowhere.

    >>> with request_record() as record: note_cache("exact", 1.0)
    >>> record.cache
    'exact'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestRecord:
    cache: str | None = None  # exact, semantic or miss; None: no lookup was made
    similarity: float | None = None
    error: str | None = None  # the error code the client got (or its stream ended with)
    error_detail: str | None = None


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("ollama_rag_request", default=None)


@contextmanager
def request_record() -> Iterator[RequestRecord]:
    record = RequestRecord()
    token = _CURRENT.set(record)
    try:
        yield record
    finally:
        _CURRENT.reset(token)


def current_record() -> RequestRecord | None:
    return _CURRENT.get()


def note_cache(result: str, similarity: float | None) -> None:
    record = _CURRENT.get()
    if record is not None:
        record.cache = result
        record.similarity = similarity


def note_error(code: str, detail: str) -> None:
    record = _CURRENT.get()
    if record is not None:
        record.error = code
        record.error_detail = detail
