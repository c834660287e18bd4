"""ASGI middleware that refuses request bodies over a size limit with a JSON 413.

It reads the body before the application does (the limit is small, 1 MiB by default),
so a chunked upload without Content-Length is held to the same limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.error_handlers import error_response

_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


async def _send_error(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      detail: str) -> None:
    """The same ``ErrorBody`` as every other error; the connection is closed because the
    rest of the body is not read."""
    response = error_response(status, code, detail, headers={"connection": "close"})
    await response(scope, receive, send)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        too_large = f"the request body exceeds {self.max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_error(scope, receive, send, 400, "bad_request",
                                  "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await _send_error(scope, receive, send, 413, "body_too_large", too_large)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _send_error(scope, receive, send, 413, "body_too_large", too_large)
                return
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
