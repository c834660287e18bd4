"""ASGI middleware that stops the work of a request whose caller went away.

Neither uvicorn nor Starlette cancels a handler when its client disconnects: a question
whose caller hung up would keep its call to Ollama running to the end, and a closed stream
would keep generating into a dead socket. Once the request body is read, this middleware
listens for ``http.disconnect`` and cancels the request's task; the upstream call's
connection is closed (``ollama_rag_upstream_requests_cancelled_total`` counts it) and the
request is recorded with status 499, nginx's "client closed request".
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLIENT_CLOSED_REQUEST = 499
_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}  # the ones that do upstream work


class CancelOnDisconnectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        body: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message)
            if not message.get("more_body", False):
                break
        await _Exchange(self.app, scope, receive, send, body).run()


class _Exchange:
    """One request: its app call in the request's own task, and a watcher that cancels that
    task when the caller disconnects before the response's last byte."""

    def __init__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                 body: list[Message]) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.body = body
        self.started = False
        self.finished = False
        self.gone = asyncio.Event()

    async def _app_receive(self) -> Message:
        if self.body:
            return self.body.pop(0)
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _app_send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True
        await self.send(message)

    async def _watch(self, task: asyncio.Task[None]) -> None:
        # With the body read, the next message can only be the disconnect.
        while (await self.receive())["type"] != "http.disconnect":
            pass
        if not self.finished:
            self.gone.set()
            task.cancel()

    async def run(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(task))
        try:
            await self.app(self.scope, self._app_receive, self._app_send)
        except asyncio.CancelledError:
            if not self.gone.is_set():
                raise  # cancelled from elsewhere (shutdown): not ours to absorb
            task.uncancel()
            await self._close()
        finally:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher

    async def _close(self) -> None:
        """End the response for the middlewares outside (metrics, access log): the server
        sends nothing to a client that is gone."""
        if not self.started:
            await self.send({"type": "http.response.start", "status": CLIENT_CLOSED_REQUEST,
                             "headers": []})
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})
