"""What the pipeline learns about the request being served, for its access log line and
its server span: the cache's answer and the error the client was given.

The request layer (``app/http/request_layer.py``) opens a record per request; code deeper
in (the RAG pipeline, the error handlers) notes on it without being handed it. Outside a
request, notes go nowhere.

    >>> with RecordScope() as record: note_cache("exact", 1.0)
    >>> record.cache
    'exact'
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestRecord:
    cache: str | None = None  # exact, semantic or miss; None: no lookup was made
    similarity: float | None = None
    error: str | None = None  # the error code the client got (or its stream ended with)
    error_detail: str | None = None


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("ollama_rag_request", default=None)


class RecordScope:
    """A new record, current for the block: a class rather than ``@contextmanager``, whose
    generator machinery cost more than the record on every request.

    >>> with RecordScope() as record: ...
    """

    __slots__ = ("_token",)

    def __enter__(self) -> RequestRecord:
        record = RequestRecord()
        self._token = _CURRENT.set(record)
        return record

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


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
