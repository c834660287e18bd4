"""One logging configuration for the process: the service's loggers (``app.*``), uvicorn's,
the access log (``ollama_rag.access``) and any library's warnings all write JSON lines to
stdout with one schema: ``time``, ``level``, ``logger``, ``message``, ``trace_id`` and
``span_id`` (null outside a sampled span), then the record's own fields (``extra={"fields":
{...}}``) and ``exception`` when there is one.

    >>> uvicorn.Config(app, log_config=logging_config("info"))
    >>> log.info("breaker probe failed", extra={"fields": {"error": "upstream_timeout"}})
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from app.telemetry.tracing import current_ids

ACCESS_LOGGER = "ollama_rag.access"  # the access lines' "logger" field, for log pipelines
FIELDS = "fields"  # the ``extra`` key whose dict is merged into the line
# Made once: ``json.dumps`` with any argument builds a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    >>> handler.setFormatter(JsonFormatter())
    """

    def format(self, record: logging.LogRecord) -> str:
        ids = current_ids()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
            "trace_id": ids[0] if ids else None, "span_id": ids[1] if ids else None,
        }
        fields = getattr(record, FIELDS, None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a record is emitted (a redirect, a test's
    capture), not to the stream that was current when logging was configured.

    >>> logging.getLogger("app").addHandler(StdoutHandler())
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stdout


def log_fields(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """An info record with its fields, on the request path: the record is made here, so
    that ``Logger.info`` does not walk the stack for the caller's file and line, which no
    line of ours shows."""
    if logger.isEnabledFor(logging.INFO):
        record = logging.LogRecord(logger.name, logging.INFO, "", 0, message, None, None)
        record.fields = fields
        logger.handle(record)


def lean_log_records() -> None:
    """Stop collecting what no line shows (the thread's and process's names and ids, for
    every record): the logging module's documented optimisation, a few µs an access line."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` schema for the process, also uvicorn's
    ``log_config``: ``level`` for the service's and uvicorn's loggers; the access log writes
    at info whatever the level (``OLLAMA_RAG_ACCESS_LOG`` turns it off)."""
    level = level.upper()
    handler = {"handlers": ["stdout"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stdout": {"()": StdoutHandler, "formatter": "json"}},
        "loggers": {
            "app": {"level": level, **handler},
            "uvicorn": {"level": level, **handler},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": level, **handler},
            ACCESS_LOGGER: {"level": "INFO", **handler},
        },
        "root": {"level": "WARNING", "handlers": ["stdout"]},
    }
