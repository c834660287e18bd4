"""Stopping the work of a request whose caller went away.

Neither uvicorn nor Starlette cancels a handler when its client disconnects: a question
whose caller hung up would keep its call to Ollama running to the end, and a closed stream
would keep generating into a dead socket. Once the request body is read, a watcher listens
for ``http.disconnect`` and cancels the request's task; the upstream call's connection is
closed (``ollama_rag_upstream_requests_cancelled_total`` counts it) and the request is
recorded with status 499, nginx's "client closed request".

    >>> await run_until_disconnect(app, scope, receive, response, body)
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLIENT_CLOSED_REQUEST = 499
# The watcher starts only once a request has run this long: most requests (cache hits,
# shed answers) are over in a millisecond, and a task per request cost more than they did.
# A caller that hangs up sooner is noticed when the watcher starts (uvicorn remembers the
# disconnect), so no request is cancelled later than this after its caller left.
WATCH_AFTER_SECONDS = 0.02


class ResponseSend:
    """``send``, noting what the response did: its status (500, what the client sees, until
    the app starts a response), whether it started and whether it ended."""

    __slots__ = ("_send", "finished", "started", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500
        self.started = False
        self.finished = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.started = True
        elif kind == "http.response.body" and not message.get("more_body", False):
            self.finished = True
        await self._send(message)

    async def close_for_gone_caller(self) -> None:
        """End the response for what records it: 499 unless it had started (a stream keeps
        its 200); the server sends nothing to a client that is gone."""
        if not self.started:
            await self({"type": "http.response.start", "status": CLIENT_CLOSED_REQUEST,
                        "headers": []})
        await self({"type": "http.response.body", "body": b"", "more_body": False})


async def run_until_disconnect(app: ASGIApp, scope: Scope, receive: Receive,
                               response: ResponseSend, body: bytes) -> None:
    """Run ``app`` with ``body`` already read; cancel it if the caller disconnects before
    the response's last byte."""
    task = asyncio.current_task()
    assert task is not None
    gone = asyncio.Event()
    delivered = False

    async def app_receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def watch() -> None:
        # With the body read, the next message can only be the disconnect (or, once the
        # response is complete, uvicorn's notice of it, which changes nothing).
        while (await receive())["type"] != "http.disconnect":
            pass
        if not response.finished:
            gone.set()
            task.cancel()

    loop = asyncio.get_running_loop()
    watchers: list[asyncio.Task[None]] = []
    timer = loop.call_later(WATCH_AFTER_SECONDS, lambda: watchers.append(
        loop.create_task(watch())))
    try:
        await app(scope, app_receive, response)
    except asyncio.CancelledError:
        if not gone.is_set():
            raise  # cancelled from elsewhere (shutdown): not ours to absorb
        task.uncancel()
        await response.close_for_gone_caller()
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher
