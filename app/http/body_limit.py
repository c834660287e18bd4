"""Reading a request body within the size limit (1 MiB by default), before the application
does, so that a chunked upload without Content-Length is held to the same limit.

    >>> outcome = await read_body(scope, receive, max_bytes=1 << 20)
    >>> if isinstance(outcome, BodyRefused): await outcome.response(scope, receive, send)
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope

from app.http.error_handlers import error_response

METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class BodyRefused:
    """The body cannot be taken: 400 or 413 with the same ``ErrorBody`` as every other
    error; the connection is closed because the rest of the body is not read."""

    status: int
    code: str
    detail: str

    @property
    def response(self) -> Response:
        return error_response(self.status, self.code, self.detail,
                              headers={"connection": "close"})


class CallerGone:
    """The caller disconnected before its body was read."""


CALLER_GONE = CallerGone()


def _declared_length(scope: Scope) -> bytes | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return bytes(value)
    return None


async def read_body(scope: Scope, receive: Receive,
                    max_bytes: int) -> bytes | BodyRefused | CallerGone:
    """The whole body, or why it cannot be had."""
    too_large = BodyRefused(413, "body_too_large", f"the request body exceeds {max_bytes} bytes")
    declared = _declared_length(scope)
    if declared is not None:
        if not declared.isdigit():
            return BodyRefused(400, "bad_request", "Content-Length is not a number")
        if int(declared) > max_bytes:
            return too_large
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return CALLER_GONE
        body += message.get("body", b"")
        if len(body) > max_bytes:
            return too_large
        if not message.get("more_body", False):
            return body
